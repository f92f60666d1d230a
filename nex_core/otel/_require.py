"""The ``otel`` extra: one place that says what to install when it is missing."""

from __future__ import annotations

import importlib
from types import ModuleType

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
