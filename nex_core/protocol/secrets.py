"""Secret references: ``${env:NAME}``. Specs store the reference; only the runtime resolves it."""

from __future__ import annotations

import os
import re

from nex_core.errors import SpecError

_REFERENCE = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")


def is_reference(value: str) -> bool:
    """True if ``value`` is exactly one ``${env:NAME}`` reference."""
    return _REFERENCE.fullmatch(value.strip()) is not None


def resolve(value: str, *, environ: dict[str, str] | None = None) -> str:
    """Replace every ``${env:NAME}`` in ``value`` with the environment variable's value."""
    env = os.environ if environ is None else environ

    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise SpecError(f"environment variable {name} is not set (referenced as {match[0]})")
        return env[name]

    return _REFERENCE.sub(sub, value)


def resolve_optional(value: str | None) -> str | None:
    return None if value is None else resolve(value)
