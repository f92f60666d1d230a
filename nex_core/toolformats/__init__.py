"""Tool-invocation formats: how tool calls look when they live in model text.

Native function calling needs no format: calls are structured fields of the response. Models
without it write calls into their text, each family its own way; a :class:`ToolCallFormat` tells
a model how (a system-prompt section), parses what it wrote, and renders results back. The
runtime runs agents in any registered format and the GAP exporters render training data with
the same renderers. One module per family:

==============  ===========================================================================
native          provider function calling (text form: OpenAI JSON)
nex_xml, xml    nex's own ``<tool_call name="add">{"a": 1}</tool_call>``
hermes          Hermes / Qwen2.5 / Qwen3 ``<tool_call>{"name", "arguments"}</tool_call>``
qwen3_coder     Qwen3-Coder / 3.5 / 3.6 ``<tool_call><function=N><parameter=K>V``
llama3_json     Llama 3.1 / 3.2 ``{"name", "parameters"}``, results in ``ipython``
mistral         Mistral pre-v11 ``[TOOL_CALLS][{...}]`` / ``[TOOL_RESULTS]``
mistral_v11     Mistral v11+ ``[TOOL_CALLS]N[ARGS]{...}``
deepseek_v3     DeepSeek-V3 ``<|tool_calls_begin|>`` … ```json fences (fullwidth bars)
deepseek_v31    DeepSeek-V3.1 ``<|tool_call_begin|>N<|tool_sep|>{...}``
glm45           GLM-4.5 ``<tool_call>N<arg_key>K</arg_key><arg_value>V</arg_value>``
kimi_k2         Kimi-K2 ``<|tool_calls_section_begin|>`` … ``functions.N:0``
gpt_oss         gpt-oss harmony ``to=functions.N<|channel|>commentary json<|message|>``
minimax_m2      MiniMax-M2 ``<minimax:tool_call><invoke name=N>``
nexau           NexAU ``<tool_use><tool_name>N</tool_name><parameter>…``
pythonic        Llama-4 / vLLM pythonic ``[add(a=1, b=2)]``
react           ReAct ``Action:`` / ``Action Input:`` / ``Observation:``
json            a fenced ```json ``{"tool_calls": [...]}`` block
==============  ===========================================================================
"""

import typing as _typing

from nex_core._lazy import lazy_exports as _lazy_exports

# Imported on first use (nex_core/_lazy.py), so importing one module of the package is cheap.
if _typing.TYPE_CHECKING:
    from nex_core.toolformats._base import ParsedCall, Result, ToolCallFormat
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
    from nex_core.toolformats.registry import (
        BUILTIN_FORMATS,
        FORMAT_CLASSES,
        available_formats,
        builtin_formats,
        get_format,
        text_format_names,
    )

__all__ = [
    "BUILTIN_FORMATS",
    "FORMAT_CLASSES",
    "DeepSeekV3ToolFormat",
    "DeepSeekV31ToolFormat",
    "GLM45ToolFormat",
    "GptOssToolFormat",
    "HermesToolFormat",
    "JSONBlockToolFormat",
    "KimiK2ToolFormat",
    "Llama3JSONToolFormat",
    "MiniMaxM2ToolFormat",
    "MistralToolFormat",
    "MistralV11ToolFormat",
    "NativeToolFormat",
    "NexAUToolFormat",
    "ParsedCall",
    "PythonicToolFormat",
    "Qwen3CoderToolFormat",
    "ReActToolFormat",
    "Result",
    "ToolCallFormat",
    "XMLToolFormat",
    "available_formats",
    "builtin_formats",
    "get_format",
    "text_format_names",
]

if not _typing.TYPE_CHECKING:  # type checkers see the imports above, not a catch-all __getattr__
    __getattr__, __dir__ = _lazy_exports(__name__, __file__, globals())
