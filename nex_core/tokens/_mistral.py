"""Mistral's own tokenizers and chat encoder, from ``mistral-common`` (no Jinja template).

``mistral-common:VERSION`` takes a tokenizer the package ships (``v1``, ``v2``, ``v3``,
``v3-tekken``, ``v7``; the sentencepiece ones need ``sentencepiece``) or a path to a tokenizer
file (``tekken.json``, ``tokenizer.model.v*``) for later versions.

The loss mask comes from the encoder itself: ``encode_instruct`` encodes message by message, so
this module wraps the encoder's per-message methods on its own instance and records how many
tokens each message gave; the assistant messages' tokens (``[TOOL_CALLS]…``, text, ``</s>``)
are the model's. The recorded lengths must add up to the whole encoding, or the sample fails
(a mistral-common whose encoder works differently is caught, never mis-masked).

Mistral's validator wants tool-call ids of nine letters and digits; other ids are mapped to
nine hex digits of their SHA-256, one to one within a sample, so the model sees ids in the
shape it would write. Reasoning cannot be expressed by these encoder versions: a sample with
reasoning fails (counted by the exporter) rather than losing it silently.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from nex_core.errors import ChatTemplateError, SpecError
from nex_core.tokens._chat import IGNORE, ChatTokenizer, TokenizedSample
from nex_core.tokens._encoders import missing
from nex_core.tokens._messages import template_messages, tool_definitions

_SHIPPED = {
    "v1": "tokenizer.model.v1",
    "v2": "mistral_instruct_tokenizer_240216.model.v2",
    "v3": "mistral_instruct_tokenizer_240323.model.v3",
    "v3-tekken": "tekken_240718.json",
    "v7": "mistral_instruct_tokenizer_241114.model.v7",
}
VERSIONS = tuple(_SHIPPED)
_ID = re.compile(r"^[a-zA-Z0-9]{9}$")
_PER_MESSAGE = (
    "encode_system_message",
    "encode_user_message",
    "encode_tool_message",
    "encode_assistant_message",
)


def _file_of(version: str) -> str:
    from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

    if version in _SHIPPED:
        return str(Path(MistralTokenizer._data_path()) / _SHIPPED[version])
    if Path(version).is_file():
        return version
    raise SpecError(
        f"unknown mistral-common tokenizer '{version}' (shipped: {', '.join(VERSIONS)}; "
        "or the path of a tekken.json / tokenizer.model file)"
    )


class MistralChatTokenizer(ChatTokenizer):
    mask_method = "mistral-common"

    def __init__(self, version: str) -> None:
        try:
            from mistral_common.protocol.instruct.validator import ValidationMode
            from mistral_common.tokens.tokenizers.mistral import MistralTokenizer
        except ImportError:
            raise missing("mistral-common") from None
        self.spec = f"mistral-common:{version}"
        try:
            # finetuning mode: a conversation may end with the assistant's reply.
            self._tok = MistralTokenizer.from_file(
                _file_of(version), mode=ValidationMode.finetuning
            )
        except ImportError as exc:  # sentencepiece for the .model files
            raise SpecError(f"{self.spec}: {exc}") from None
        self._record: list[tuple[str, int]] | None = None
        instruct = self._instruct = cast(Any, self._tok.instruct_tokenizer)
        for name in _PER_MESSAGE:
            setattr(instruct, name, self._recording(name, getattr(instruct, name)))

    def _recording(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            result = method(*args, **kwargs)
            tokens = result[0] if isinstance(result, tuple) else result
            if self._record is not None:
                self._record.append((name, len(tokens or [])))
            return result

        return wrapper

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "version": str(self._instruct.tokenizer.version)}

    def decode(self, ids: list[int]) -> str:
        from mistral_common.tokens.tokenizers.base import SpecialTokenPolicy

        return str(self._tok.decode(ids, special_token_policy=SpecialTokenPolicy.KEEP))

    def tokenize(
        self,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]] | None = None,
    ) -> TokenizedSample:
        from mistral_common.exceptions import MistralCommonException

        request = self._request(template_messages(messages), tool_definitions(tools))
        self._record = []
        try:
            tokens = list(self._tok.encode_chat_completion(request).tokens)
        except (MistralCommonException, ValueError, AssertionError) as exc:
            raise ChatTemplateError(f"{self.spec}: {exc}") from None
        finally:
            record, self._record = self._record, None
        start = len(self._instruct.start())
        if start + sum(n for _, n in record) != len(tokens):
            raise ChatTemplateError(
                f"{self.spec}: the encoder's per-message tokens do not add up to its output; "
                "this mistral-common version encodes differently from what nex expects"
            )
        labels = [IGNORE] * start
        pos = start
        for name, n in record:
            own = name == "encode_assistant_message"
            labels += tokens[pos : pos + n] if own else [IGNORE] * n
            pos += n
        if all(label == IGNORE for label in labels):
            raise ChatTemplateError("the sample has no tokens written by the model to train on")
        return TokenizedSample(tokens, labels)

    def _request(self, msgs: list[dict[str, Any]], defs: list[dict[str, Any]]) -> Any:
        from mistral_common.protocol.instruct.messages import (
            AssistantMessage,
            SystemMessage,
            ToolMessage,
            UserMessage,
        )
        from mistral_common.protocol.instruct.request import ChatCompletionRequest
        from mistral_common.protocol.instruct.tool_calls import (
            Function,
            FunctionCall,
            Tool,
            ToolCall,
        )

        ids = _IdMap()
        out: list[Any] = []
        for i, m in enumerate(msgs):
            role = m["role"]
            if role == "system":
                out.append(SystemMessage(content=m["content"]))
            elif role == "user":
                out.append(UserMessage(content=m["content"]))
            elif role == "tool":
                out.append(
                    ToolMessage(
                        content=m["content"],
                        tool_call_id=ids(str(m.get("tool_call_id", ""))),
                        name=m.get("name"),
                    )
                )
            elif role == "assistant":
                if m.get("reasoning_content"):
                    raise ChatTemplateError(
                        f"{self.spec}: message {i} has reasoning, which this encoder cannot express"
                    )
                calls = [
                    ToolCall(
                        id=ids(str(c["id"])),
                        function=FunctionCall(
                            name=c["function"]["name"], arguments=c["function"]["arguments"]
                        ),
                    )
                    for c in m.get("tool_calls", [])
                ]
                out.append(AssistantMessage(content=m["content"] or None, tool_calls=calls or None))
            else:
                raise ChatTemplateError(f"{self.spec}: message {i} has role '{role}'")
        tools = [
            Tool(
                function=Function(
                    name=d["function"]["name"],
                    description=d["function"].get("description", ""),
                    parameters=d["function"].get("parameters", {}),
                )
            )
            for d in defs
        ]
        return ChatCompletionRequest(messages=out, tools=tools or None)


class _IdMap:
    """Tool-call ids in Mistral's shape, one to one within a sample."""

    def __init__(self) -> None:
        self._map: dict[str, str] = {}
        self._used: set[str] = set()

    def __call__(self, original: str) -> str:
        if original in self._map:
            return self._map[original]
        new = original
        salt = 0
        while not _ID.match(new) or new in self._used:
            new = hashlib.sha256(f"{salt}:{original}".encode()).hexdigest()[:9]
            salt += 1
        self._map[original] = new
        self._used.add(new)
        return new
