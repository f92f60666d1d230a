"""Tool-invocation formats for training data: a re-export of :mod:`nex_core.toolformats`.

The formats live in ``nex_core/toolformats/`` (one module per model family), registered through
the ``nex_tool_formats`` hook so the exporter, the runtime and third-party code share one
registry. This module keeps the names the exporter has always imported.
"""

from __future__ import annotations

from nex_core.toolformats import (
    HermesToolFormat,
    JSONBlockToolFormat,
    NativeToolFormat,
    ParsedCall,
    PythonicToolFormat,
    ReActToolFormat,
    ToolCallFormat,
    XMLToolFormat,
)
from nex_core.toolformats.registry import BUILTIN_FORMATS

TextFormat = ToolCallFormat
"""Every format now has ``structured`` and ``render_answer`` (they moved to the interface)."""


def training_formats() -> dict[str, ToolCallFormat]:
    """The formats this module has always offered (the same instances the registry holds)."""
    return {
        name: BUILTIN_FORMATS[name] for name in ("native", "hermes", "react", "pythonic", "json")
    }


__all__ = [
    "HermesToolFormat",
    "JSONBlockToolFormat",
    "NativeToolFormat",
    "ParsedCall",
    "PythonicToolFormat",
    "ReActToolFormat",
    "TextFormat",
    "XMLToolFormat",
    "training_formats",
]
