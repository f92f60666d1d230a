"""The checks one conformance case applies to a recorded trajectory.

- ``schema``: the trajectory survives a JSON round trip through ``Trajectory.model_validate_json``,
  and the sinks received exactly that trajectory.
- ``outline``: its outline equals the scenario's hand-written expectation.
- ``normal_form``: its ``nex_core.normalize`` form equals the native reference run's.
- ``records``: what the model and the tools really received (recorded on the side) matches what
  the trajectory claims, and, where the scenario lists ``tool_runs``, the tools ran exactly so:
  in that order, one at a time.

Each check returns a :class:`CheckResult`; a failed one carries a readable explanation, with a
unified diff of pretty JSON where two structures differ.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from nex_conformance.models import Exchange
from nex_conformance.scenario import (
    ErrorOutline,
    Expectation,
    InputOutline,
    LLMOutline,
    SubAgentOutline,
    ToolOutline,
    ToolRun,
)
from nex_conformance.toolkit import Invocation
from nex_core import Trajectory
from nex_core.runtime.tools import result_text
from nex_core.trajectory.recorder import to_jsonable
from nex_core.trajectory.schema import LLMRequest, LLMStep, Message, ToolStep

MAX_DIFF_LINES = 150
MAX_LINE = 200
LONG_RESULT = 1000
"""Tool results longer than this are compared in outlines by digest (``sha256:<hex>/<chars>``)."""


@dataclass
class CheckResult:
    name: str
    ok: bool
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


# --------------------------------------------------------------------------- diffs


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def diff(expected: Any, actual: Any, *, expected_label: str, actual_label: str) -> str:
    """A unified diff of the two values as pretty JSON, clipped to stay readable."""
    lines = list(
        difflib.unified_diff(
            pretty(expected).splitlines(),
            pretty(actual).splitlines(),
            fromfile=expected_label,
            tofile=actual_label,
            lineterm="",
        )
    )
    lines = [ln if len(ln) <= MAX_LINE else ln[:MAX_LINE] + " …" for ln in lines]
    if len(lines) > MAX_DIFF_LINES:
        lines = [*lines[:MAX_DIFF_LINES], f"… {len(lines) - MAX_DIFF_LINES} more diff lines"]
    return "\n".join(lines)


# --------------------------------------------------------------------------- (a) schema


def check_schema(
    traj: Trajectory, written: Sequence[Trajectory]
) -> tuple[CheckResult, Trajectory | None]:
    """Round-trip through JSON; returns the re-read trajectory the other checks use."""
    try:
        text = traj.to_json()
        again = Trajectory.model_validate_json(text)
    except (ValidationError, ValueError, TypeError) as exc:
        return CheckResult(
            "schema", False, f"the trajectory does not validate after a JSON round trip:\n{exc}"
        ), None
    if again.to_json() != text:
        return CheckResult("schema", False, "the JSON round trip changes the trajectory"), again
    if len(written) != 1:
        return CheckResult(
            "schema", False, f"the sinks received {len(written)} trajectories, expected 1"
        ), again
    if written[0].to_json() != text:
        return CheckResult(
            "schema", False, "the trajectory written to the sinks differs from the one returned"
        ), again
    return CheckResult("schema", True), again


# --------------------------------------------------------------------------- (b) outline


def _error(d: dict[str, Any]) -> ErrorOutline | None:
    e = d.get("error")
    return None if e is None else ErrorOutline(type=e["type"], message=e["message"])


def _status_note(d: dict[str, Any]) -> Any:
    implied = "error" if d.get("error") is not None else "ok"
    return None if d["status"] == implied else d["status"]


def _outline_step(
    d: dict[str, Any],
) -> LLMOutline | ToolOutline | SubAgentOutline | InputOutline:
    nested = [_outline_step(c) for c in d.get("steps", [])]
    if d["kind"] == "input":
        return InputOutline(input=d["mode"], value=d.get("value"))
    if d["kind"] == "llm":
        return LLMOutline(llm=d["agent"] or "", error=_error(d), status=_status_note(d))
    if d["kind"] == "tool":
        return ToolOutline(
            tool=d["name"],
            args=d["arguments"],
            raw_arguments=d.get("raw_arguments"),
            result=d.get("result"),
            error=_error(d),
            status=_status_note(d),
            steps=nested,
        )
    return SubAgentOutline(
        subagent=d["child"],
        mode=d["mode"],
        output=d["output"],
        error=_error(d),
        status=_status_note(d),
        steps=nested,
    )


def result_digest(text: str) -> str:
    """How an outline writes a long tool result."""
    if len(text) <= LONG_RESULT or text.startswith("sha256:"):
        return text
    return f"sha256:{hashlib.sha256(text.encode()).hexdigest()}/{len(text)}"


def _canonical(steps: list[Any]) -> list[dict[str, Any]]:
    """Dump outline steps; runs of tool/sub-agent steps between model calls become sorted sets."""
    out: list[dict[str, Any]] = []
    batch: list[dict[str, Any]] = []
    for step in steps:
        d = step.model_dump(mode="json", exclude_defaults=True, exclude={"steps"})
        if isinstance(d.get("result"), str):
            d["result"] = result_digest(d["result"])
        if getattr(step, "steps", None):
            d["steps"] = _canonical(step.steps)
        if isinstance(step, LLMOutline | InputOutline):  # sequence points, as in normalize
            out += sorted(batch, key=lambda x: json.dumps(x, sort_keys=True))
            batch = []
            out.append(d)
        else:
            batch.append(d)
    return out + sorted(batch, key=lambda x: json.dumps(x, sort_keys=True))


def outline_of(normal: dict[str, Any], traj: Trajectory | None = None) -> dict[str, Any]:
    """The outline of a normalised trajectory, in the form scenarios write (the outcome's error
    comes from ``traj``: the normal form leaves it out)."""
    outcome = normal.get("outcome") or {"status": None, "final_output": None}
    error = traj.outcome.error if traj is not None and traj.outcome is not None else None
    return {
        "steps": _canonical([_outline_step(s) for s in normal["steps"]]),
        "outcome": {
            "status": outcome["status"],
            "final_output": outcome["final_output"],
            "error": None if error is None else {"type": error.type, "message": error.message},
            "structured_output": outcome.get("structured_output"),
            "pending": _pending_outline(outcome.get("pending")),
        },
    }


def _pending_outline(pending: Any) -> list[dict[str, Any]] | None:
    if not pending:
        return None
    return [
        {"agent": p.get("agent"), "tool": p.get("tool"), "args": p.get("arguments") or {}}
        if isinstance(p, dict)
        else {"value": p}
        for p in pending
    ]


def expected_outline(expect: Expectation) -> dict[str, Any]:
    return {"steps": _canonical(expect.steps), "outcome": expect.outcome.model_dump(mode="json")}


def _texts_seen(traj: Trajectory) -> set[str]:
    return {m.text() for s in traj.steps if isinstance(s, LLMStep) for m in s.request.messages}


def check_outline(
    traj: Trajectory, normal: dict[str, Any], expect: Expectation, who: str
) -> CheckResult:
    want, got = expected_outline(expect), outline_of(normal, traj)
    problems = []
    if want != got:
        problems.append(
            diff(
                want,
                got,
                expected_label="expected outline (scenario)",
                actual_label=f"actual outline ({who})",
            )
        )
    seen = _texts_seen(traj)
    missing = [t for t in expect.model_saw if t not in seen]
    if missing:
        problems.append("the model never received a message with these texts: " + pretty(missing))
    return CheckResult("outline", not problems, "\n".join(problems))


# --------------------------------------------------------------------------- (b) normal form


def check_normal_form(normal: dict[str, Any], reference: dict[str, Any], who: str) -> CheckResult:
    if normal == reference:
        return CheckResult("normal_form", True)
    return CheckResult(
        "normal_form",
        False,
        diff(
            reference,
            normal,
            expected_label="expected normal form (native reference)",
            actual_label=f"actual normal form ({who})",
        ),
    )


# --------------------------------------------------------------------------- (c) side records


def _messages(ms: Sequence[Message]) -> list[dict[str, Any]]:
    """Messages exactly, except that empty content counts as no content (``""`` = ``None``)."""
    out = []
    for m in ms:
        d = m.model_dump(mode="json", exclude_none=True)
        if d.get("content") in ("", []):
            del d["content"]
        out.append(d)
    return out


def _request_key(agent: str | None, request: LLMRequest) -> str:
    return json.dumps(
        {
            "agent": agent,
            "messages": _messages(request.messages),
            "tools": [t.model_dump(mode="json") for t in request.tools],
        },
        sort_keys=True,
        ensure_ascii=False,
    )


def _model_problems(
    traj: Trajectory, exchanges: Sequence[Exchange], match_agents: bool = True
) -> list[str]:
    """Each LLM step is a call the model received, with the response it gave; none is missing.
    ``match_agents=False`` when the model cannot know the agents' names (an app whose names the
    adapter chose): calls are then matched on what was sent alone."""
    pending: dict[str, list[Exchange]] = {}
    for ex in exchanges:
        pending.setdefault(_request_key(ex.agent if match_agents else None, ex.request), []).append(
            ex
        )
    problems: list[str] = []
    unmatched: list[LLMStep] = []
    for step in (s for s in traj.steps if isinstance(s, LLMStep)):
        queue = pending.get(_request_key(step.agent if match_agents else None, step.request))
        if not queue:
            unmatched.append(step)
            continue
        ex = queue.pop(0)
        claimed = None if step.response is None else _messages([step.response.message])
        real = None if ex.response is None else _messages([ex.response.message])
        if claimed != real:
            problems.append(
                f"model call of agent '{step.agent}': "
                "the recorded response is not what the model returned\n"
                + diff(
                    real, claimed, expected_label="model returned", actual_label="trajectory claims"
                )
            )
    left = [ex for queue in pending.values() for ex in queue]
    for step in unmatched:
        same_agent = [ex for ex in left if ex.agent == step.agent or not match_agents]
        if same_agent:
            ex = same_agent[0]
            left.remove(ex)
            problems.append(
                f"model call of agent '{step.agent}': "
                "the recorded request is not what the model received\n"
                + diff(
                    {
                        "messages": _messages(ex.request.messages),
                        "tools": [t.name for t in ex.request.tools],
                    },
                    {
                        "messages": _messages(step.request.messages),
                        "tools": [t.name for t in step.request.tools],
                    },
                    expected_label="model received",
                    actual_label="trajectory claims",
                )
            )
        else:
            problems.append(
                f"the trajectory records a model call of agent '{step.agent}' "
                "that the model never received"
            )
    for ex in left:
        problems.append(
            f"the model received a call from agent '{ex.agent}' "
            f"({len(ex.request.messages)} messages) that the trajectory does not record"
        )
    return problems


def _outcome_matches(step: ToolStep, inv: Invocation) -> bool:
    if inv.error_type is None:
        return step.error is None and result_text(step.result) == result_text(
            to_jsonable(inv.result)
        )
    return step.error is not None and (step.error.type, step.error.message) == (
        inv.error_type,
        inv.error_message,
    )


def _describe(inv: Invocation) -> str:
    args = json.dumps(inv.arguments, ensure_ascii=False, default=str)
    if inv.error_type is None:
        return f"{inv.tool}({_clip(args)}) returned {_clip(result_text(to_jsonable(inv.result)))}"
    return f"{inv.tool}({_clip(args)}) raised {inv.error_type}: {inv.error_message}"


def _clip(text: str, width: int = 120) -> str:
    return text if len(text) <= width else text[:width] + " …"


def _tool_problems(
    traj: Trajectory, log: Sequence[Invocation], kit_tools: dict[str, str]
) -> list[str]:
    """Every real invocation appears as a tool step with the same arguments and outcome, and every
    tool step that claims a kit tool ran (status ok) matches a real invocation."""
    steps = [s for s in traj.steps if isinstance(s, ToolStep) and s.name in kit_tools]
    free = list(steps)
    problems: list[str] = []
    missing: list[Invocation] = []
    for inv in log:
        candidates = [
            s for s in free if kit_tools[s.name] == inv.tool and s.arguments == inv.arguments
        ]
        exact = [s for s in candidates if _outcome_matches(s, inv)]
        if exact:
            free.remove(exact[0])
        elif candidates:
            step = candidates[0]
            free.remove(step)
            claimed = (
                f"error {step.error.type}: {step.error.message}"
                if step.error
                else f"result {_clip(result_text(step.result))}"
            )
            problems.append(f"tool call {_describe(inv)}, but the trajectory records {claimed}")
        else:
            missing.append(inv)
    for inv in missing:
        problems.append(f"a real tool invocation is missing from the trajectory: {_describe(inv)}")
    for step in free:
        if step.error is None:
            problems.append(
                f"the trajectory claims tool '{step.name}' ran with arguments "
                f"{_clip(json.dumps(step.arguments, ensure_ascii=False))} and returned "
                f"{_clip(result_text(step.result))}, but no such invocation happened"
            )
    return problems


def run_order_problems(log: Sequence[Invocation], expected: Sequence[ToolRun] | None) -> list[str]:
    """The kit tools ran exactly as ``expected`` says: these calls, in this order, none
    overlapping the next (nothing to check when the scenario lists no ``tool_runs``)."""
    if expected is None:
        return []
    runs = sorted(log, key=lambda inv: inv.started)
    want = [{"tool": r.tool, "args": r.args} for r in expected]
    got = [{"tool": inv.tool, "args": inv.arguments} for inv in runs]
    problems = []
    if got != want:
        problems.append(
            "the tools did not run in the order the scenario requires\n"
            + diff(want, got, expected_label="tool_runs (scenario)", actual_label="tools ran")
        )
    for earlier, later in itertools.pairwise(runs):
        if later.started < earlier.finished:
            problems.append(
                f"tool calls overlapped: {_describe(later)} started before "
                f"{_describe(earlier)} had finished (they must run one at a time)"
            )
    return problems


def check_records(
    traj: Trajectory,
    exchanges: Sequence[Exchange],
    log: Sequence[Invocation],
    kit_tools: dict[str, str],
    tool_runs: Sequence[ToolRun] | None = None,
    match_agents: bool = True,
) -> CheckResult:
    problems = (
        _model_problems(traj, exchanges, match_agents)
        + _tool_problems(traj, log, kit_tools)
        + run_order_problems(log, tool_runs)
    )
    return CheckResult("records", not problems, "\n".join(problems))
