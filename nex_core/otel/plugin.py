"""The OpenTelemetry sinks and ``nex receive``, registered through nex's own hooks.

Importing this module needs nothing beyond nex-core: each sink factory imports the SDK when it is
used, and says which extra to install when it is missing.
"""

from __future__ import annotations

from typing import Any

import click

from nex_core.hookspecs import hookimpl


def _otlp(target: str = "", **options: Any) -> Any:
    from nex_core.otel.sink import OTLPSink

    return OTLPSink(target, **options)


def _otlp_grpc(target: str = "", **options: Any) -> Any:
    from nex_core.otel.sink import grpc_sink

    return grpc_sink(target, **options)


def _otlp_json(target: str = "", **options: Any) -> Any:
    from nex_core.errors import SpecError
    from nex_core.otel.files import OTLPJsonFileSink

    if not target:
        raise SpecError("the otlp-json sink needs a file: --sink otlp-json:PATH")
    return OTLPJsonFileSink(target, **options)


@hookimpl
def nex_sinks() -> dict[str, Any]:
    return {"otlp": _otlp, "otlp-grpc": _otlp_grpc, "otlp-json": _otlp_json}


@hookimpl
def nex_cli_commands() -> list[click.Command]:
    from nex_core.cli.receive import receive

    return [receive]
