"""What an export target is: a row shape for one consumer, built from a rendered conversation."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

from nex_core.gap.export.columns import Column
from nex_core.gap.export.render import Conversation
from nex_core.trajectory.schema import ToolCall


class SkipSample(Exception):
    """Raised by a target or a per-sample transform: this sample cannot be written this way.

    The exporter counts the sample under ``reason`` in the manifest and goes on; it is never
    an error the user sees. Keep reasons short and free of per-sample detail, so they count.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Target(ABC):
    """One consumer's row shape (Hugging Face/TRL, the OpenAI fine-tuning API, ShareGPT ...).

    A target only reads the :class:`Conversation`; the trajectory never changes to suit it.
    """

    name: ClassVar[str]
    columns: ClassVar[Mapping[str, Column]]
    """Every column of every row, in order, with how it is stored (see ``columns.py``)."""

    @abstractmethod
    def row(self, conversation: Conversation, metadata: dict[str, str]) -> dict[str, Any]:
        """One row with exactly :attr:`columns` as keys; raise :class:`SkipSample` to skip."""


def arguments_object(call: ToolCall) -> dict[str, Any]:
    """A call's arguments as a JSON object; a sample whose arguments are not one is skipped.

    Arguments are recorded as the model wrote them. Malformed JSON (kept raw in the trajectory)
    or a JSON value that is not an object cannot be written as an object, and as a string the
    chat templates would double-encode it, teaching the model to write escaped JSON.
    """
    text = call.function.arguments
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        raise SkipSample("malformed_arguments") from None
    if not isinstance(value, dict):
        raise SkipSample("arguments_not_an_object")
    return value
