"""The ``otel`` extra: one place that says what to install when it is missing."""

from __future__ import annotations

import functools
import importlib
from types import ModuleType
from typing import Any

from nex_core.errors import SpecError

INSTALL_HINT = "pip install 'nex-core[otel]'"


def require(module: str, what: str) -> ModuleType:
    """Import ``module`` or raise a ``SpecError`` naming the ``otel`` extra."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise SpecError(
            f"{what} needs the OpenTelemetry packages ({exc.name or module} is not installed); "
            f"install them with: {INSTALL_HINT}"
        ) from None


@functools.lru_cache(maxsize=8)
def resource_for(service_name: str) -> Any:
    """The SDK resource of nex's spans, made once per process: ``Resource.create`` runs the
    installed resource detectors, which scan every distribution's metadata (seconds on a large
    environment), and the answer does not change while the process runs."""
    from opentelemetry.sdk.resources import Resource

    return Resource.create({"service.name": service_name})
