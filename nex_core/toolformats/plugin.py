"""The built-in tool formats, registered through the same hook third-party formats use."""

from __future__ import annotations

from typing import Any

from nex_core.hookspecs import hookimpl


@hookimpl
def nex_tool_formats() -> dict[str, Any]:
    from nex_core.toolformats.registry import BUILTIN_FORMATS

    return dict(BUILTIN_FORMATS)
