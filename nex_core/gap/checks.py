"""Verification and filtering: each check accepts an episode or rejects it with a reason.

Checks are plugins (``nex_verifiers`` hook); these are the built-ins:

``status``  the outcome status is one of ``allow`` (default: completed), and no tool call failed
            for an environmental reason (see :func:`environmental_failure`)
``task``    the task's own verifier: expected answer, a Python function, or an LLM judge
``loops``   the same tool call, the same tool error, or the same reply repeated too often
``length``  too many model calls, tool calls or tokens; too few model calls
``dedup``   the normalised trajectory was already accepted (``normalize.digest``)

A check may be stateful (dedup): :meth:`Check.observe` sees every accepted trajectory, those
found in the output on resume included, so a resumed run filters exactly as an unbroken one.
"""

from __future__ import annotations

import inspect
import json
import re
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nex_core.gap.tasks import Task
from nex_core.trajectory.normalize import digest
from nex_core.trajectory.schema import LLMRequest, LLMStep, Message, ToolStep, Trajectory


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str | None = None
    """Short, countable: ``wrong_answer``, ``outcome_error``, ``duplicate`` ..."""
    detail: str | None = None
    """Human-readable explanation."""
    rewards: Mapping[str, float] = field(default_factory=dict)
    """Rewards for the whole run, by name (the task verifier's score, a judge's ...); the
    pipeline adds them to the outcome's rewards, accepted or not (a failed rollout is RL data)."""
    step_rewards: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    """Rewards for single steps: step id -> {name: value} (a format penalty on one model call)."""

    @classmethod
    def accept(cls, detail: str | None = None, **kw: Any) -> Verdict:
        return cls(True, None, detail, **kw)

    @classmethod
    def reject(cls, reason: str, detail: str | None = None, **kw: Any) -> Verdict:
        return cls(False, reason, detail, **kw)

    def with_rewards(self, **rewards: float) -> Verdict:
        """This verdict with more run rewards (those it had win on a clash)."""
        return Verdict(
            self.ok, self.reason, self.detail, {**rewards, **self.rewards}, self.step_rewards
        )


class Check(ABC):
    """One verification or filter step."""

    name: str = "check"
    worker_safe: bool = False
    """Whether the check may run where the episode ran (a worker process, a Ray actor) rather
    than in the pipeline's process: its verdict depends on the trajectory and the task alone,
    and :meth:`observe` does nothing. The ``processes`` and ``ray`` executors then verify in the
    worker and the driver never parses the trajectory (see ``nex_core.gap.stored``). A check
    with run-wide state (dedup) keeps the default."""

    @abstractmethod
    async def check(self, trajectory: Trajectory, task: Task) -> Verdict:
        """Judge one episode's trajectory."""

    def observe(self, trajectory: Trajectory, gap: dict[str, Any]) -> None:  # noqa: B027
        """Called for every accepted trajectory (``gap`` is its pipeline metadata)."""


# --------------------------------------------------------------------------- status

ENVIRONMENTAL_TOOL_ERRORS: dict[str, str] = {
    # The binding could not be resolved: the tool never ran. ``SpecError`` is what a binding
    # that does not import raised before ``ToolBindingError`` existed.
    "ToolBindingError": "tool_unbound",
    "SpecError": "tool_unbound",
    # The server that serves the tool was down: failed to start, too slow to start, died.
    "ToolUnavailableError": "tool_unavailable",
    "MCPServerDied": "tool_unavailable",
    "TimeoutError": "tool_timeout",
}
"""Tool-step error types that are the environment's fault, by the reason they are rejected with.
Any other tool error (the tool raised on bad arguments, an MCP tool answered ``is_error``, an
unknown tool or invalid arguments) is the model's to handle and may be good training data."""


def environmental_failure(step: ToolStep) -> str | None:
    """The rejection reason of a tool step that failed for an environmental reason, else None."""
    if step.error is None:
        return None
    return ENVIRONMENTAL_TOOL_ERRORS.get(step.error.type)


class StatusCheck(Check):
    """The outcome is allowed, and no tool failed because of the environment: a sample whose
    tool results are ``ToolUnavailableError``, ``TimeoutError`` or an unresolved binding teaches
    nothing but the environment's failure. ``allow_tool_failures`` lists the reasons
    (``tool_unbound``, ``tool_unavailable``, ``tool_timeout``) to accept anyway."""

    name = "status"
    worker_safe = True

    def __init__(
        self, allow: list[str] | None = None, allow_tool_failures: list[str] | None = None
    ) -> None:
        self.allow = set(allow or ["completed"])
        known = set(ENVIRONMENTAL_TOOL_ERRORS.values())
        unknown = set(allow_tool_failures or []) - known
        if unknown:
            raise ValueError(
                f"allow_tool_failures: unknown reason(s) {sorted(unknown)} "
                f"(known: {', '.join(sorted(known))})"
            )
        self.allow_tool_failures = set(allow_tool_failures or [])

    async def check(self, trajectory: Trajectory, task: Task) -> Verdict:
        failed: Counter[str] = Counter()
        first: dict[str, str] = {}
        for step in trajectory.steps:
            if isinstance(step, ToolStep) and (why := environmental_failure(step)):
                if why in self.allow_tool_failures:
                    continue
                failed[why] += 1
                assert step.error is not None
                first.setdefault(why, f"{step.name}: {step.error.type}: {step.error.message}")
        if failed:
            why, n = failed.most_common(1)[0]
            return Verdict.reject(why, f"{n} tool call(s) failed, e.g. {first[why]}")
        outcome = trajectory.outcome
        status = outcome.status.value if outcome else "unfinished"
        if status in self.allow:
            return Verdict.accept()
        if outcome is None or outcome.error is None:
            return Verdict.reject(f"outcome_{status}")
        detail = f"{outcome.error.type}: {outcome.error.message}"
        # A run that failed before any tool ran (a binding unresolved, a server that would not
        # start for schema discovery) is counted under the environmental reason too.
        why = ENVIRONMENTAL_TOOL_ERRORS.get(outcome.error.type)
        if why is not None and why not in self.allow_tool_failures:
            return Verdict.reject(why, detail)
        return Verdict.reject(f"outcome_{status}", detail)


# --------------------------------------------------------------------------- task


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


JUDGE_PROMPT = (
    "You grade the final answer of an AI agent. Read the task, the grading notes and the answer. "
    "Reply with PASS or FAIL on the first line, then one sentence of reasons."
)


class TaskCheck(Check):
    """The task's expected answer, its verifier function, or the LLM judge."""

    name = "task"
    worker_safe = True

    def __init__(
        self,
        judge_model: str | None = None,
        judge_options: dict[str, Any] | None = None,
        require_verifier: bool = False,
    ) -> None:
        self.judge_model = judge_model
        self.judge_options = dict(judge_options or {})
        self.require_verifier = require_verifier
        self._judge: Any = None

    async def check(self, trajectory: Trajectory, task: Task) -> Verdict:
        """Rewards: ``task`` 1.0 or 0.0 for the expected answer, ``verifier`` the verifier's
        score (1.0/0.0 for a yes/no verifier), ``judge`` the judge's score (PASS 1.0, FAIL
        0.0, or its ``SCORE: x`` line)."""
        answer = (trajectory.outcome.final_output if trajectory.outcome else None) or ""
        rewards: dict[str, float] = {}
        if task.expected is not None:
            matched = _matches(answer, task.expected, task.match)
            rewards["task"] = 1.0 if matched else 0.0
            if not matched:
                return Verdict.reject(
                    "wrong_answer", f"expected {task.match} {task.expected!r}", rewards=rewards
                )
        if task.verifier is not None:
            verdict = await _call_verifier(task.verifier, trajectory, task)
            if "verifier" not in verdict.rewards:
                verdict = verdict.with_rewards(verifier=1.0 if verdict.ok else 0.0)
            verdict = verdict.with_rewards(**rewards)
            if not verdict.ok:
                return verdict
            rewards = dict(verdict.rewards)
        if task.rubric is not None or task.judge:
            return (await self._ask_judge(task, answer)).with_rewards(**rewards)
        if rewards:
            return Verdict.accept(rewards=rewards)
        if self.require_verifier and task.expected is None and task.verifier is None:
            return Verdict.reject("unverifiable", "the task has no expected answer or verifier")
        return Verdict.accept()

    async def _ask_judge(self, task: Task, answer: str) -> Verdict:
        if self.judge_model is None:
            return Verdict.reject(
                "no_judge", "the task asks for a judge; set judge_model on the task check"
            )
        from nex_core.models.registry import make_model

        stateful = self.judge_model.split(":", 1)[0] in {"scripted", "replay"}
        model = (
            make_model(self.judge_model, **self.judge_options)
            if stateful or self._judge is None
            else self._judge
        )
        if not stateful:
            self._judge = model
        notes = task.rubric or (f"The expected answer is: {task.expected}" if task.expected else "")
        prompt = "\n\n".join(
            [f"Task:\n{chr(10).join(task.turns)}", f"Grading notes:\n{notes}", f"Answer:\n{answer}"]
        )
        request = LLMRequest(messages=[Message.system(JUDGE_PROMPT), Message.user(prompt)])
        response = await model.acomplete(request, agent="judge")
        text = response.message.text().strip()
        first = text.splitlines()[0].strip().upper() if text else ""
        passed = first.startswith("PASS")
        score = _JUDGE_SCORE.search(text)
        reward = float(score.group(1)) if score else (1.0 if passed else 0.0)
        if passed:
            return Verdict.accept(text, rewards={"judge": reward})
        return Verdict.reject(
            "judge_fail", text or "the judge gave no verdict", rewards={"judge": reward}
        )


_JUDGE_SCORE = re.compile(r"^\s*score\s*[:=]\s*(-?\d+(?:\.\d+)?)\s*$", re.IGNORECASE | re.MULTILINE)


def _matches(answer: str, expected: str, how: str) -> bool:
    if how == "regex":
        return re.search(expected, answer) is not None
    if how == "exact":
        return _norm(answer) == _norm(expected)
    return _norm(expected) in _norm(answer)


async def _call_verifier(path: str, trajectory: Trajectory, task: Task) -> Verdict:
    from nex_core.runtime.tools import import_callable

    func = import_callable(path)
    result = func(trajectory, task)
    if inspect.isawaitable(result):
        result = await result
    if isinstance(result, Verdict):
        return result
    if isinstance(result, int | float) and not isinstance(result, bool):
        # A score: the reward as given; accepted when positive (as a truthy result always was).
        score = float(result)
        if score > 0:
            return Verdict.accept(rewards={"verifier": score})
        return Verdict.reject(
            "verifier_failed", f"{path} scored {score:g}", rewards={"verifier": score}
        )
    if isinstance(result, tuple):
        ok, why = bool(result[0]), str(result[1]) if len(result) > 1 else None
        return Verdict.accept(why) if ok else Verdict.reject("verifier_failed", why)
    return (
        Verdict.accept()
        if result
        else Verdict.reject("verifier_failed", f"{path} returned {result!r}")
    )


# --------------------------------------------------------------------------- loops


class LoopCheck(Check):
    """Rejects runs that repeat themselves: a sign of a stuck agent, poor training data."""

    name = "loops"
    worker_safe = True

    def __init__(
        self,
        max_repeated_calls: int = 3,
        max_repeated_errors: int = 2,
        max_repeated_replies: int = 3,
    ) -> None:
        self.max_calls = max_repeated_calls
        self.max_errors = max_repeated_errors
        self.max_replies = max_repeated_replies

    async def check(self, trajectory: Trajectory, task: Task) -> Verdict:
        calls: Counter[tuple[str | None, str, str]] = Counter()
        errors: Counter[tuple[str, str, str]] = Counter()
        for step in trajectory.steps:
            if not isinstance(step, ToolStep):
                continue
            args = json.dumps(
                step.arguments if step.arguments is not None else step.raw_arguments,
                sort_keys=True,
                default=str,
            )
            calls[(step.agent, step.name, args)] += 1
            if step.error is not None:
                errors[(step.name, step.error.type, step.error.message)] += 1
        if calls and max(calls.values()) > self.max_calls:
            (agent, name, _), n = calls.most_common(1)[0]
            return Verdict.reject(
                "tool_call_loop", f"{agent} called {name} with the same arguments {n} times"
            )
        if errors and max(errors.values()) > self.max_errors:
            (name, kind, _), n = errors.most_common(1)[0]
            return Verdict.reject("repeated_tool_error", f"{name} failed with {kind} {n} times")
        run, last = 0, None
        for step in trajectory.steps:
            if isinstance(step, LLMStep) and step.response is not None:
                m = step.response.message
                sig = (
                    step.agent,
                    m.text(),
                    tuple((c.name, c.function.arguments) for c in m.tool_calls or []),
                )
                run = run + 1 if sig == last else 1
                last = sig
                if run > self.max_replies:
                    return Verdict.reject(
                        "repeated_reply", f"{step.agent} gave the same reply {run} times"
                    )
        return Verdict.accept()


# --------------------------------------------------------------------------- length


class LengthCheck(Check):
    name = "length"
    worker_safe = True

    def __init__(
        self,
        max_llm_calls: int | None = None,
        max_tool_calls: int | None = None,
        max_total_tokens: int | None = None,
        min_llm_calls: int = 1,
        max_chars: int | None = None,
    ) -> None:
        self.max_llm = max_llm_calls
        self.max_tool = max_tool_calls
        self.max_tokens = max_total_tokens
        self.min_llm = min_llm_calls
        self.max_chars = max_chars

    async def check(self, trajectory: Trajectory, task: Task) -> Verdict:
        llm = [s for s in trajectory.steps if isinstance(s, LLMStep)]
        tools = sum(1 for s in trajectory.steps if isinstance(s, ToolStep))
        tokens = sum(s.response.usage.total_tokens for s in llm if s.response and s.response.usage)
        if len(llm) < self.min_llm:
            return Verdict.reject("too_short", f"{len(llm)} model calls < {self.min_llm}")
        if self.max_llm is not None and len(llm) > self.max_llm:
            return Verdict.reject("too_many_llm_calls", f"{len(llm)} > {self.max_llm}")
        if self.max_tool is not None and tools > self.max_tool:
            return Verdict.reject("too_many_tool_calls", f"{tools} > {self.max_tool}")
        if self.max_tokens is not None and tokens > self.max_tokens:
            return Verdict.reject("too_many_tokens", f"{tokens} > {self.max_tokens}")
        if self.max_chars is not None and llm:
            last = llm[-1]
            chars = sum(len(m.text()) for m in last.request.messages)
            if chars > self.max_chars:
                return Verdict.reject("too_long", f"{chars} characters > {self.max_chars}")
        return Verdict.accept()


# --------------------------------------------------------------------------- dedup


class DedupCheck(Check):
    """Keeps the first of trajectories whose normal forms are equal (across backends too,
    unless ``scope: backend``: the same behaviour seen through two frameworks is one sample)."""

    name = "dedup"

    def __init__(self, scope: str = "global") -> None:
        if scope not in {"global", "backend"}:
            raise ValueError("dedup scope must be 'global' or 'backend'")
        self.scope = scope
        self.seen: set[str] = set()

    def _key(self, adapter: str, value: str) -> str:
        return f"{adapter}:{value}" if self.scope == "backend" else value

    async def check(self, trajectory: Trajectory, task: Task) -> Verdict:
        value = trajectory.metadata.get("gap", {}).get("digest") or digest(trajectory)
        return self.check_digest(value, trajectory.provenance.adapter)

    def check_digest(self, value: str, adapter: str) -> Verdict:
        """The verdict from the digest and the adapter alone: what a driver that never parsed
        the trajectory has (``nex_core.gap.stored``)."""
        if self._key(adapter, value) in self.seen:
            return Verdict.reject(
                "duplicate", f"normalised trajectory {value[:12]} already accepted"
            )
        return Verdict.accept()

    def observe(self, trajectory: Trajectory, gap: dict[str, Any]) -> None:
        self.observe_digest(gap.get("digest") or digest(trajectory), trajectory.provenance.adapter)

    def observe_digest(self, value: str, adapter: str) -> None:
        self.seen.add(self._key(adapter, value))


BUILTIN_CHECKS: dict[str, Any] = {
    "status": StatusCheck,
    "task": TaskCheck,
    "loops": LoopCheck,
    "length": LengthCheck,
    "dedup": DedupCheck,
}
