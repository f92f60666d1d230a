"""What an export target is: a row shape for one consumer, built from a rendered conversation."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from nex_core.gap.export.columns import Column
from nex_core.gap.export.render import Conversation
from nex_core.trajectory.schema import ToolCall, Trajectory


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


@dataclass(frozen=True)
class TrajectoryContext:
    """What a trajectory-level target gets beside the trajectory."""

    metadata: dict[str, str]
    """``task_id``, ``trajectory_id``, ``backend``, ``model`` (as conversation rows have)."""
    per: Literal["trajectory", "invocation"] = "trajectory"
    tokenizer: str | None = None
    """``--tokenizer``: re-tokenise where no ids were captured, and check captured ids."""
    chat_template: str | None = None


class TrajectoryTarget(Target):
    """A row shape built from the whole trajectory, not from a rendered conversation (token-level
    RL rows, ATIF documents): written once per trajectory into ``OUT/<target>/``, whatever the
    tool formats. The exporter counts a yielded :class:`SkipSample` under its reason."""

    def row(self, conversation: Conversation, metadata: dict[str, str]) -> dict[str, Any]:
        raise TypeError(f"the '{self.name}' target writes whole trajectories (see rows())")

    def prepare(self, context: TrajectoryContext) -> None:
        """Called once before the first trajectory (load a tokenizer ...)."""

    @abstractmethod
    def rows(
        self, trajectory: Trajectory, context: TrajectoryContext
    ) -> Iterator[dict[str, Any] | SkipSample]:
        """The rows of one trajectory (exactly :attr:`columns` as keys), or skips."""

    def manifest(self) -> dict[str, Any]:
        """What the export's manifest records for this target (counts ...)."""
        return {}


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
