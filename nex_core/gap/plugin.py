"""The pipeline's built-ins, registered through the same hooks third parties use."""

from __future__ import annotations

from typing import Any

import click

from nex_core.hookspecs import hookimpl


@hookimpl
def nex_executors() -> dict[str, Any]:
    from nex_core.gap.executor import LocalExecutor
    from nex_core.gap.processes import ProcessExecutor

    return {"local": LocalExecutor, "processes": ProcessExecutor}


@hookimpl
def nex_verifiers() -> dict[str, Any]:
    from nex_core.gap.checks import BUILTIN_CHECKS
    from nex_core.gap.rewards import FormatCheck

    return {**BUILTIN_CHECKS, "format": FormatCheck}


@hookimpl
def nex_exporters() -> dict[str, Any]:
    from nex_core.gap.export.targets import BUILTIN_TARGETS

    return dict(BUILTIN_TARGETS)


@hookimpl
def nex_tool_formats() -> dict[str, Any]:
    from nex_core.gap.export.formats import training_formats

    return dict(training_formats())


@hookimpl
def nex_cli_commands() -> list[click.Command]:
    from nex_core.gap.cli import COMMANDS

    return list(COMMANDS)
