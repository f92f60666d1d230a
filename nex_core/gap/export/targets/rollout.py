"""``rollout``: token-level rows for RL trainers (verl, SkyRL, NexRL, Agent Lightning).

One row per trajectory (its main line: the root agent and those it handed over to) or per agent
invocation (``--per invocation``)::

    prompt_ids     the first model call's prompt ids, as the endpoint tokenised them
    response_ids   everything after: each call's completion ids, and between two calls the ids
                   the next prompt adds (tool results, the template's turn markers)
    loss_mask      1 on ids the model wrote, 0 on the ids in between (aligned with response_ids)
    logprobs       the model's logprob of each id it wrote, 0.0 in between; null when a call of
                   the row has none
    rewards        the run's rewards by name (``outcome.rewards``); ``reward`` their sum
    step_rewards   each merged call's step rewards, in order ({} where it has none)
    cached_tokens  each merged call's cached prompt tokens (``Usage.cached_tokens``; 0 unknown)
    retokenized    false: ids as captured; true: rendered afterwards with ``--tokenizer``

Calls are merged into one row only where the next prompt's ids begin with the row's prompt and
response ids exactly (what the model saw is then one growing sequence); anywhere else a new row
starts (a rebuilt or truncated context, a template that re-renders the previous turn). The
manifest counts both: ``merges`` and ``splits``.

Without captured ids a sample is rendered through ``--tokenizer``/``--chat-template``
(:mod:`nex_core.tokens`) into one row marked ``retokenized``; without a tokenizer it is skipped
as ``no_token_ids``. A call whose ids disagree with what they claim rejects the row it falls in
(only that row: the sample's other rows are written), counted by reason in the manifest's
``rejected_calls``: logprobs not one per completion id, a usage count that is not the number of
ids, (with a tokenizer) completion ids that do not decode to the text and tool names the model
returned, and a call without ids among calls with them (``client_dropped_token_ids`` where the
recorder noted that the framework's client dropped them, else ``partial_token_ids``). A sample
with no row left is skipped under its first call's reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from nex_core.gap.export.columns import Column
from nex_core.gap.export.samples import owner_of
from nex_core.gap.export.targets.base import SkipSample, TrajectoryContext, TrajectoryTarget
from nex_core.models.token_capture import TOKEN_CAPTURE_KEY
from nex_core.trajectory.schema import LLMStep, Tokens, Trajectory


@dataclass
class _Row:
    prompt: list[int]
    response: list[int] = field(default_factory=list)
    mask: list[int] = field(default_factory=list)
    logprobs: list[float] | None = field(default_factory=list)
    step_rewards: list[dict[str, float]] = field(default_factory=list)
    cached: list[int] = field(default_factory=list)
    rejected: str | None = None
    """The reason of the first bad call in the row: the row is then not written."""

    def extend(self, ids: list[int], trained: bool, logprobs: list[float] | None) -> None:
        self.response += ids
        self.mask += [1 if trained else 0] * len(ids)
        if self.logprobs is not None:
            self.logprobs = None if logprobs is None else self.logprobs + logprobs


def _groups(trajectory: Trajectory, per: str) -> dict[str, list[LLMStep]]:
    """Model calls by invocation (``root`` or a sub-agent step id), in order."""
    by_id = {s.id: s for s in trajectory.steps}
    groups: dict[str, list[LLMStep]] = {}
    for step in trajectory.steps:
        if not isinstance(step, LLMStep) or step.response is None:
            continue
        owner = owner_of(by_id, step.parent_id, stop_at_tool_only=(per == "trajectory"))
        if per == "trajectory" and owner != "root":
            continue
        groups.setdefault(owner, []).append(step)
    return groups


class RolloutTarget(TrajectoryTarget):
    name = "rollout"
    columns = {
        "prompt_ids": Column.INT_LIST,
        "response_ids": Column.INT_LIST,
        "loss_mask": Column.INT_LIST,
        "logprobs": Column.FLOAT_LIST,
        "rewards": Column.JSON,
        "reward": Column.FLOAT,
        "step_rewards": Column.JSON,
        "cached_tokens": Column.INT_LIST,
        "retokenized": Column.BOOL,
        "metadata": Column.STRINGS,
    }

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.rejected_calls: Counter[str] = Counter()
        self._tokenizer: Any = None

    def prepare(self, context: TrajectoryContext) -> None:
        if context.tokenizer is not None:
            from nex_core.gap.export.tokens import load_chat_tokenizer

            self._tokenizer = load_chat_tokenizer(context.tokenizer, context.chat_template)

    def manifest(self) -> dict[str, Any]:
        keys = ("samples", "rows", "calls", "merges", "splits", "retokenized_rows")
        out: dict[str, Any] = {k: self.counts[k] for k in keys}
        if self.rejected_calls:  # absent when none, so a clean export's manifest stays as it was
            out["rejected_rows"] = self.counts["rejected_rows"]
            out["rejected_calls"] = dict(sorted(self.rejected_calls.items()))
        return out

    def rows(
        self, trajectory: Trajectory, context: TrajectoryContext
    ) -> Iterator[dict[str, Any] | SkipSample]:
        rewards = dict(trajectory.outcome.rewards) if trajectory.outcome else {}
        for invocation, calls in _groups(trajectory, context.per).items():
            self.counts["samples"] += 1
            meta = {**context.metadata, "invocation": invocation, "agent": calls[-1].agent or ""}
            try:
                if _has_ids(calls):
                    built, rejected = self._captured(calls)
                    if not built and rejected is not None:
                        raise SkipSample(rejected)  # every row rejected: nothing of it is left
                else:
                    built = self._retokenized(calls)
            except SkipSample as skip:
                yield skip
                continue
            for part, (row, retokenized) in enumerate(built):
                self.counts["rows"] += 1
                self.counts["retokenized_rows"] += retokenized
                yield {
                    "prompt_ids": row.prompt,
                    "response_ids": row.response,
                    "loss_mask": row.mask,
                    "logprobs": row.logprobs,
                    "rewards": rewards,
                    "reward": float(sum(rewards.values())),
                    "step_rewards": row.step_rewards,
                    "cached_tokens": row.cached,
                    "retokenized": retokenized,
                    "metadata": {**meta, "part": str(part)},
                }

    # ------------------------------------------------------------------ captured ids

    def _captured(self, calls: list[LLMStep]) -> tuple[list[tuple[_Row, bool]], str | None]:
        """The rows of the calls' captured ids, and the reason of the first rejected call.

        A bad call rejects only the row it falls in (with the calls merged into that row), not
        the whole sample: each row is a sample of its own for the trainer. A call without ids
        cannot be placed in a sequence, so it is rejected on its own and the next call starts
        a new row (its prompt then holds that call's answer as context)."""
        rows: list[_Row] = []
        current: _Row | None = None
        first: str | None = None
        for call in calls:
            self.counts["calls"] += 1
            tokens = _tokens(call)
            reason = _no_ids_reason(call) if tokens is None else self._check(call)
            if reason is not None:
                self.rejected_calls[reason] += 1
                first = first or reason
            if tokens is None:
                if current is not None:
                    self.counts["splits"] += 1
                current = None
                continue
            assert tokens.prompt_token_ids is not None
            completion = tokens.completion_token_ids or []
            prompt = tokens.prompt_token_ids
            if current is not None:
                seen = len(current.prompt) + len(current.response)
                if prompt[: len(current.prompt)] == current.prompt and (
                    prompt[len(current.prompt) : seen] == current.response
                ):
                    between = prompt[seen:]
                    current.extend(between, False, [0.0] * len(between))
                    self.counts["merges"] += 1
                else:
                    self.counts["splits"] += 1
                    current = None
            if current is None:
                current = _Row(prompt=list(prompt))
                rows.append(current)
            current.extend(completion, True, tokens.logprobs)
            current.step_rewards.append(dict(call.rewards or {}))
            current.cached.append(_cached(call))
            current.rejected = current.rejected or reason
        kept = [r for r in rows if r.rejected is None]
        self.counts["rejected_rows"] += len(rows) - len(kept)
        return [(r, False) for r in kept], first

    def _check(self, call: LLMStep) -> str | None:
        """Why the call's ids disagree with what they claim, or ``None`` when they agree."""
        assert call.response is not None
        tokens = _tokens(call)
        assert tokens is not None
        completion = tokens.completion_token_ids or []
        prompt = tokens.prompt_token_ids or []
        if tokens.logprobs is not None and len(tokens.logprobs) != len(completion):
            return "logprobs_length_mismatch"
        usage = call.response.usage
        if usage is not None and usage.completion_tokens and usage.completion_tokens != len(
            completion
        ):
            return "completion_ids_length_mismatch"
        if usage is not None and usage.prompt_tokens and usage.prompt_tokens != len(prompt):
            return "prompt_ids_length_mismatch"
        if self._tokenizer is not None:
            text = self._tokenizer.decode(completion)
            message = call.response.message
            wanted = [message.text().strip(), *(c.function.name for c in message.tool_calls or [])]
            if any(w and w not in text for w in wanted):
                return "completion_ids_decode_mismatch"
        return None

    # ------------------------------------------------------------------ re-tokenized

    def _retokenized(self, calls: list[LLMStep]) -> list[tuple[_Row, bool]]:
        if self._tokenizer is None:
            # The framework's client dropped the ids it was sent (the recorder's note): say so.
            dropped = any(_no_ids_reason(c) == "client_dropped_token_ids" for c in calls)
            kind = "client_dropped_token_ids" if dropped else "no_token_ids"
            raise SkipSample(f"{kind} (export with --tokenizer to re-tokenize)")
        from nex_core.errors import ChatTemplateError
        from nex_core.gap.export.tokens import hf_messages

        last = calls[-1]
        assert last.response is not None
        messages, tools = hf_messages(last)
        try:
            sample = self._tokenizer.tokenize(messages, tools or None)
        except (ChatTemplateError, ValueError) as exc:
            raise SkipSample(f"tokenizer:{exc}"[:120]) from None
        masks = sample.assistant_masks
        start = masks.index(1) if 1 in masks else len(masks)
        self.counts["calls"] += len(calls)
        row = _Row(
            prompt=sample.input_ids[:start],
            response=sample.input_ids[start:],
            mask=masks[start:],
            logprobs=None,
            step_rewards=[dict(c.rewards or {}) for c in calls],
            cached=[_cached(c) for c in calls],
        )
        return [(row, True)]


def _tokens(call: LLMStep) -> Tokens | None:
    tokens = call.response.tokens if call.response is not None else None
    if tokens is None or tokens.prompt_token_ids is None or tokens.completion_token_ids is None:
        return None
    return tokens


def _cached(call: LLMStep) -> int:
    usage = call.response.usage if call.response is not None else None
    return (usage.cached_tokens or 0) if usage is not None else 0


def _no_ids_reason(call: LLMStep) -> str:
    """Why a call of a sample with captured ids has none: its client dropped them (the
    recorder's note), or they were not captured for it."""
    note = call.metadata.get(TOKEN_CAPTURE_KEY)
    if isinstance(note, dict) and note.get("retokenize"):
        return "client_dropped_token_ids"
    return "partial_token_ids"


def _has_ids(calls: list[LLMStep]) -> bool:
    return any(_tokens(c) is not None for c in calls)
