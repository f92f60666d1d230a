"""The formats nex ships, and looking one up by name through the ``nex_tool_formats`` hook."""

from __future__ import annotations

from nex_core.errors import ToolFormatError
from nex_core.toolformats._base import ToolCallFormat
from nex_core.toolformats.deepseek import DeepSeekV3ToolFormat, DeepSeekV31ToolFormat
from nex_core.toolformats.glm import GLM45ToolFormat
from nex_core.toolformats.harmony import GptOssToolFormat
from nex_core.toolformats.hermes import HermesToolFormat
from nex_core.toolformats.jsonblock import JSONBlockToolFormat
from nex_core.toolformats.kimi import KimiK2ToolFormat
from nex_core.toolformats.llama3 import Llama3JSONToolFormat
from nex_core.toolformats.minimax import MiniMaxM2ToolFormat
from nex_core.toolformats.mistral import MistralToolFormat, MistralV11ToolFormat
from nex_core.toolformats.native import NativeToolFormat
from nex_core.toolformats.nex_xml import XMLToolFormat
from nex_core.toolformats.nexau import NexAUToolFormat
from nex_core.toolformats.pythonic import PythonicToolFormat
from nex_core.toolformats.qwen3_coder import Qwen3CoderToolFormat
from nex_core.toolformats.react import ReActToolFormat

FORMAT_CLASSES: tuple[type[ToolCallFormat], ...] = (
    NativeToolFormat,
    XMLToolFormat,
    HermesToolFormat,
    Qwen3CoderToolFormat,
    Llama3JSONToolFormat,
    MistralToolFormat,
    MistralV11ToolFormat,
    DeepSeekV3ToolFormat,
    DeepSeekV31ToolFormat,
    GLM45ToolFormat,
    KimiK2ToolFormat,
    GptOssToolFormat,
    MiniMaxM2ToolFormat,
    NexAUToolFormat,
    PythonicToolFormat,
    ReActToolFormat,
    JSONBlockToolFormat,
)


def builtin_formats() -> dict[str, ToolCallFormat]:
    """Every built-in format by name and by alias (an alias maps to the same instance)."""
    out: dict[str, ToolCallFormat] = {}
    for cls in FORMAT_CLASSES:
        fmt = cls()
        for name in (cls.name, *cls.aliases):
            out[name] = fmt
    return out


BUILTIN_FORMATS: dict[str, ToolCallFormat] = builtin_formats()


def available_formats() -> dict[str, ToolCallFormat]:
    """Every registered format (built-in and from plugins), by name."""
    from nex_core.plugins import get_plugin_manager

    return get_plugin_manager().merged("nex_tool_formats")


def get_format(name: str) -> ToolCallFormat:
    formats = available_formats()
    if name not in formats:
        raise ToolFormatError(f"unknown tool format '{name}' (known: {', '.join(sorted(formats))})")
    return formats[name]


def text_format_names() -> frozenset[str]:
    """Names of the registered formats whose calls live in model text (all but ``native``)."""
    return frozenset(n for n, f in available_formats().items() if not f.structured)
