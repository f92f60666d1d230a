"""The stored form of a trajectory: each conversation prefix written once.

Every LLM request repeats the conversation so far, so a run of n model calls sends O(n²)
messages while holding only O(n) distinct ones. On disk a request may therefore say
``"messages_from": {"step": ID, "count": N}`` and list only its later messages: the messages sent
are the first N messages of the latest earlier LLM step with that id, followed by the listed
ones. The writer (``dumps``) references a step only when the shared messages serialise to
exactly the same text, so reading (``resolve``) gives back an equal trajectory; in memory
requests are always complete.

The writer compares a request with the latest earlier LLM step of the same agent under the same
parent, of the same agent, and of any agent, and references the one sharing the longest prefix.
That covers a growing conversation, a rebuilt system prompt (a different object with the same
text), handoffs that carry the history to another agent, and parallel sub-agents of one name.
Messages are compared by object identity first (the runtime and the readers share one object
per message across requests) and by serialised text where the objects differ.

Token ids (schema v2) have the same shape of growth: each call's prompt ids repeat the previous
call's prompt and completion. A stored response's ``tokens`` may say ``"prompt_from": {"step":
ID, "count": N}``: the prompt ids are the first N ids of that step's prompt ids followed by its
completion ids, then the ids listed. The writer uses it only where those ids match exactly.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import compress, count, islice
from operator import is_not
from typing import Any

from pydantic import BaseModel, TypeAdapter

from nex_core.trajectory import _build, schema
from nex_core.trajectory.schema import (
    LLMStep,
    Message,
    MessagesFrom,
    TokensFrom,
    Trajectory,
)

# Steps serialised each by its own class: the same JSON as ``list[Step]`` gives, without the
# discriminated union's per-item cost (about 40% of the whole on long runs).
_STEPS: TypeAdapter[list[Any]] = TypeAdapter(list[Any])
_REFERENCE_GIVEN = frozenset({"step", "count"})
_TRAJECTORY_TO_JSON = Trajectory.__pydantic_serializer__.to_json  # model_dump_json, as bytes


class _Planner:
    """Chooses, step by step, which earlier request each LLM request continues."""

    def __init__(self) -> None:
        self._texts: dict[int, str] = {}  # message object id -> its JSON
        self._written: list[tuple[str, list[Message]]] = []  # (step id, request messages)
        self._by_parent: dict[tuple[str | None, str | None], int] = {}  # -> index in _written
        self._by_agent: dict[str | None, int] = {}
        self._by_id: dict[str, int] = {}  # step id -> the latest LLM step with that id

    def plan(self, step: LLMStep) -> MessagesFrom | None:
        """The reference to write for ``step``'s request, if one saves space."""
        messages = step.request.messages
        parent_key = (step.agent, step.parent_id)
        written = self._written
        index = len(written)
        last = index - 1
        by_parent = self._by_parent.get(parent_key, -1)
        by_agent = self._by_agent.get(step.agent, -1)
        # The same candidate twice gives the same prefix: one agent's run (the common case)
        # compares with one step, not up to three times with the same one.
        candidates = (last,) if by_parent == by_agent == last else (by_parent, by_agent, last)
        best, common = -1, 0
        for other in candidates:
            if other < 0 or other == best:
                continue
            other_id, other_messages = written[other]
            if self._by_id[other_id] != other:
                continue  # a later LLM step reuses the id: a reference would resolve to that one
            shared = self._common_prefix(messages, other_messages)
            if shared > common:
                best, common = other, shared
        written.append((step.id, messages))
        self._by_parent[parent_key] = self._by_agent[step.agent] = self._by_id[step.id] = index
        if not common:
            return None
        target = written[best][0]
        # What the reference costs in the line: "messages_from":{"step":"ID","count":N},
        quoted = len(target) + 2 if target.isalnum() else len(json.dumps(target))
        if not self._saves(messages, common, quoted + len(str(common)) + 35):
            return None
        # Built, not validated: a str id and a positive int are what validation would keep.
        reference: MessagesFrom = _build.built(
            MessagesFrom, {"step": target, "count": common}, _REFERENCE_GIVEN
        )
        return reference

    def _common_prefix(self, messages: list[Message], other: list[Message]) -> int:
        """How many leading messages two requests share, compared exactly."""
        # Indices where the objects differ, found in C: the runtime and the reader share one
        # object per message across requests, and an object equals itself.
        for i in compress(count(), map(is_not, messages, other)):
            if not self._same(messages[i], other[i]):
                return i
        return min(len(messages), len(other))

    def _same(self, a: Message, b: Message) -> bool:
        """Whether two messages serialise to the same JSON."""
        if (
            type(a) is Message
            and type(b) is Message
            and type(a.content) is not list
            and type(b.content) is not list
        ):
            # Every field is a string, None or tool calls made of strings: == is exact.
            return a.__dict__ == b.__dict__
        # Content parts may hold numbers, where 1 == 1.0 == True but their JSON differs.
        return self._text(a) == self._text(b)

    def _text(self, m: Message) -> str:
        # Keyed by object id: every message is alive (held by the trajectory) meanwhile.
        found = self._texts.get(id(m))
        if found is None:
            found = self._texts[id(m)] = m.model_dump_json(exclude_none=True)
        return found

    def _saves(self, messages: list[Message], count: int, cost: int) -> bool:
        """Whether leaving out the first ``count`` messages saves more than ``cost`` characters."""
        saved = 0
        for m in islice(messages, count):  # usually the first, the system prompt, decides
            # A lower bound of the message's JSON length and comma: {"role":"user","content":""},
            saved += 29 + len(m.content) if type(m.content) is str else len(self._text(m)) + 1
            if saved > cost:
                return True
        return False


class _TokenPlanner:
    """Chooses which earlier call's prompt and completion ids each prompt continues."""

    MIN_SHARED = 16
    """Shorter shared prefixes are written in full: a reference costs about as much."""

    def __init__(self) -> None:
        # (agent, parent) -> (step index, step id, prompt + completion ids); likewise for any.
        self._latest: dict[tuple[str | None, str | None], tuple[int, str, list[int]]] = {}
        self._any: tuple[int, str, list[int]] | None = None
        self._index_of_id: dict[str, int] = {}  # step id -> index of the latest LLM step with it

    def skip(self, index: int, step: LLMStep) -> None:
        """A step without token ids: only its id's latest index changes."""
        self._index_of_id[step.id] = index

    def plan(self, index: int, step: LLMStep) -> TokensFrom | None:
        self._index_of_id[step.id] = index
        tokens = step.response.tokens if step.response is not None else None
        if tokens is None or tokens.prompt_token_ids is None:
            return None
        prompt = tokens.prompt_token_ids
        best: TokensFrom | None = None
        for entry in (self._latest.get((step.agent, step.parent_id)), self._any):
            if entry is None:
                continue
            at, other_id, full = entry
            n = len(full)
            # A later LLM step that reuses the id would be the one a reference resolves to.
            usable = self._index_of_id.get(other_id) == at and other_id != step.id
            longer = best is None or n > best.count
            if usable and longer and self.MIN_SHARED <= n <= len(prompt) and prompt[:n] == full:
                best = TokensFrom(step=other_id, count=n)
        entry = (index, step.id, prompt + (tokens.completion_token_ids or []))
        self._latest[(step.agent, step.parent_id)] = self._any = entry
        return best


def _stored(record: Any, **changes: Any) -> Any:
    """A shallow copy of ``record`` with ``changes``, for writing only (what ``model_copy``
    with ``update`` does, built directly: two copies an LLM step were a fifth of ``dumps``)."""
    fields = record.__dict__.copy()
    fields.update(changes)
    return _build.built(type(record), fields, record.__pydantic_fields_set__)


def _with_token_reference(step: LLMStep, reference: TokensFrom) -> LLMStep:
    assert step.response is not None and step.response.tokens is not None
    ids = step.response.tokens.prompt_token_ids or []
    tokens = _stored(
        step.response.tokens, prompt_token_ids=ids[reference.count :], prompt_from=reference
    )
    stored: LLMStep = _stored(step, response=_stored(step.response, tokens=tokens))
    return stored


_models_built = False


def _build_models() -> None:
    """Build every record model (they are built on first use, ``defer_build``). A trajectory
    read from a file was validated through the trajectory's schema alone, so its steps'
    classes may have no serialiser yet, and the steps are serialised each by its own class."""
    global _models_built
    for value in vars(schema).values():
        model = isinstance(value, type) and issubclass(value, BaseModel) and value is not BaseModel
        if model and not value.__pydantic_complete__:
            value.model_rebuild()
    _models_built = True


def dumps(traj: Trajectory) -> str:
    """The trajectory as one line of JSON in the stored form, ``None`` fields left out."""
    return dumps_bytes(traj).decode()


def dumps_bytes(traj: Trajectory) -> bytes:
    """:func:`dumps` as UTF-8 bytes, as the serialiser makes them (a sink writes these)."""
    if not _models_built:
        _build_models()
    planner = _Planner()
    token_planner = _TokenPlanner()
    steps = list(traj.steps)
    for index, step in enumerate(steps):
        if step.kind != "llm":  # a plain attribute: isinstance goes through pydantic's ABC check
            continue
        reference = planner.plan(step)
        response = step.response
        if response is not None and response.tokens is not None:
            token_reference = token_planner.plan(index, step)
            if token_reference is not None:
                step = steps[index] = _with_token_reference(step, token_reference)
        else:
            token_planner.skip(index, step)
        if reference is None:
            continue
        # The stored step lists only the messages after the shared prefix.
        request = step.request
        stored_request = _stored(
            request, messages=request.messages[reference.count :], messages_from=reference
        )
        steps[index] = _stored(step, request=stored_request)
    head = _TRAJECTORY_TO_JSON(traj, exclude_none=True, exclude={"steps"})
    body = _STEPS.dump_json(steps, exclude_none=True)
    return b"".join((head[:-1], b',"steps":', body, b"}"))


def resolve(steps: Sequence[Any]) -> None:
    """Expand every ``messages_from`` in ``steps`` (in place, in step order).

    A resolved request's list starts with the referenced request's own ``Message`` objects, so
    a long run read from disk holds each message once, as the recording did.
    """
    full: dict[str, list[Message]] = {}  # step id -> messages of the latest LLM step with it
    for index, step in enumerate(steps):
        if step.kind != "llm":
            continue
        request = step.request
        ref = request.messages_from
        if ref is not None:
            base = full.get(ref.step)
            if base is None:
                raise ValueError(_dangling(steps, index, ref.step))
            if ref.count > len(base):
                raise ValueError(
                    f"step {step.id!r} (steps[{index}]): messages_from takes the first "
                    f"{ref.count} messages of step {ref.step!r}, which sent only {len(base)}"
                )
            request.messages = base[: ref.count] + request.messages
            request.messages_from = None
        full[step.id] = request.messages


def resolve_tokens(steps: Sequence[Any]) -> None:
    """Expand every ``tokens.prompt_from`` in ``steps`` (in place, in step order)."""
    full: dict[str, list[int]] = {}  # step id -> prompt + completion ids of the latest LLM step
    for index, step in enumerate(steps):
        if step.kind != "llm":
            continue
        tokens = step.response.tokens if step.response is not None else None
        if tokens is None:
            full.pop(step.id, None)
            continue
        ref = tokens.prompt_from
        if ref is not None:
            base = full.get(ref.step)
            where = f"step {step.id!r} (steps[{index}]): tokens.prompt_from"
            if base is None:
                raise ValueError(
                    f"{where} refers to step {ref.step!r}, which is no earlier LLM step with "
                    "token ids"
                )
            if ref.count > len(base):
                raise ValueError(
                    f"{where} takes the first {ref.count} ids of step {ref.step!r}, which has "
                    f"only {len(base)}"
                )
            tokens.prompt_token_ids = base[: ref.count] + (tokens.prompt_token_ids or [])
            tokens.prompt_from = None
        if tokens.prompt_token_ids is None:
            full.pop(step.id, None)
        else:
            full[step.id] = tokens.prompt_token_ids + (tokens.completion_token_ids or [])


def _dangling(steps: Sequence[Any], index: int, target: str) -> str:
    where = f"step {steps[index].id!r} (steps[{index}]): messages_from refers to step {target!r}"
    for later, step in enumerate(steps):
        if step.id != target:
            continue
        if step.kind != "llm":
            return f"{where}, which is a {step.kind} step, not an LLM step"
        if later >= index:
            return f"{where}, which comes later (steps[{later}]); it must name an earlier LLM step"
    return f"{where}, which is not in this trajectory"
