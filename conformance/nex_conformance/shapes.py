"""Recording-shape cases: apps no spec can express, built by the adapter, recorded, checked.

A spec always names its agents and its state is always messages, so two things issue 11 asks the
kit to hold every adapter to cannot be written as spec scenarios: unnamed agents and workflows
whose state is not messages. A ``kind: recording_shape`` scenario names a shape instead; the
adapter's optional hook builds a framework-native app of that shape, written as the framework's
documentation writes it, driven by the kit's model::

    def kit_shape_app(self, shape: str, model: ChatModel) -> object | NotApplicable | None

(looked up on the adapter object, like ``conformance_baseline``). The kit records the app twice
through ``adapter.arecord`` — the adapter's zero-change recording path — and checks each run's
schema, outline (with ``$name`` placeholders for the names the framework or adapter chose) and
side records, then that every agent name is unique and the same in both runs, and, for an
adapter that converts framework objects, that its conversion names the same agents and reports
each as unnamed. ``None`` or :class:`NotApplicable` (a framework without the shape) makes the
case "not applicable" with the reason.
"""

from __future__ import annotations

import asyncio
import json
import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nex_conformance import toolkit
from nex_conformance.checks import (
    CheckResult,
    check_records,
    check_schema,
    diff,
    expected_outline,
    outline_of,
)
from nex_conformance.models import RecordingModel
from nex_conformance.scenario import (
    LLMOutline,
    ShapeExpectation,
    ShapeScenario,
    SubAgentOutline,
    ToolOutline,
)
from nex_core import Adapter, MemorySink, TaskInfo, normalize
from nex_core.adapter import Capability
from nex_core.models.scripted import Script
from nex_core.trajectory.schema import LLMRequest, LLMResponse, LLMStep, ToolCall, Trajectory

HOOK = "kit_shape_app"
"""The optional adapter method that builds a shape's app."""

RUNS = 2
"""How many times one app is recorded (names must not change between runs)."""


@dataclass(frozen=True)
class NotApplicable:
    """What ``kit_shape_app`` returns for a shape its framework does not have."""

    reason: str


SHAPES: dict[str, str] = {
    "unnamed_agent_as_tool": (
        "a parent agent with no name given whose one tool runs a child agent with no name given "
        "(or the framework's default names, where it requires one), the way the framework's "
        "documentation writes an agent used as a tool; the child holds the kit tool "
        "nex_conformance.toolkit.country_of; both call the kit's model"
    ),
    "non_message_state": (
        "a workflow whose state is {question, docs, answer} and not messages: node `rewrite` "
        "asks the kit's model for a search query and stores it as `question`, node `retrieve` "
        "sets `docs` to nex_conformance.toolkit.search_docs(question), node `generate` asks the "
        "model for the answer and stores it as `answer`; the output is the final state"
    ),
}
"""Each shape's contract: what ``kit_shape_app(shape, model)`` builds."""

WITHOUT_HOOK: dict[str, str] = {
    "unnamed_agent_as_tool": (
        "the adapter has no kit_shape_app hook: it runs specs only, and a spec always names "
        "its agents"
    ),
    "non_message_state": (
        "the adapter has no kit_shape_app hook: it runs specs only, and a spec's state is "
        "always messages"
    ),
}

_PLACEHOLDER = re.compile(r"^\$[a-z_][a-z0-9_]*$")


def is_placeholder(value: Any) -> bool:
    return isinstance(value, str) and bool(_PLACEHOLDER.match(value))


# --------------------------------------------------------------------------- the model


class ShapeModel(RecordingModel):
    """The recording model, with the script's placeholder tool names and argument names filled
    in from the request: an app written with a framework's default names offers a tool whose
    name and argument the scenario cannot know in advance."""

    def finish(self, request: LLMRequest, response: LLMResponse) -> LLMResponse:
        calls = response.message.tool_calls
        if not calls:
            return response
        filled = [_fill(call, request) for call in calls]
        if filled == calls:
            return response
        message = response.message.model_copy(update={"tool_calls": filled})
        return response.model_copy(update={"message": message})


def _fill(call: ToolCall, request: LLMRequest) -> ToolCall:
    name = call.name
    if is_placeholder(name):
        offered = [t.name for t in request.tools if t.name not in toolkit.TOOLS]
        if len(offered) != 1:  # left as it is: the run then shows the unresolved name
            return call
        name = offered[0]
    try:
        arguments = call.parsed_arguments()
    except ValueError:
        return call
    tool = next((t for t in request.tools if t.name == name), None)
    required = list((tool.parameters.get("required") or []) if tool else [])
    if len(required) == 1:
        arguments = {required[0] if is_placeholder(k) else k: v for k, v in arguments.items()}
    return ToolCall.make(call.id, name, arguments)


def repeated(script: Script, times: int = RUNS) -> Script:
    """``script`` with every queue repeated, for recording one app ``times`` times."""
    return Script(
        model=script.model,
        replies=list(script.replies) * times,
        agents={agent: list(replies) * times for agent, replies in script.agents.items()},
    )


# --------------------------------------------------------------------------- placeholders


def bind(expected: Any, actual: Any, bindings: dict[str, Any]) -> None:
    """Bind the placeholders of ``expected`` to what stands in the same places of ``actual``
    (the first value met wins; a later disagreement shows in the comparison)."""
    if is_placeholder(expected):
        bindings.setdefault(expected, actual)
    elif isinstance(expected, dict) and isinstance(actual, dict):
        loose_expected = [k for k in expected if k not in actual]
        loose_actual = [k for k in actual if k not in expected]
        if len(loose_expected) == 1 == len(loose_actual) and is_placeholder(loose_expected[0]):
            bindings.setdefault(loose_expected[0], loose_actual[0])
        for key, value in expected.items():
            target = bindings.get(key, key) if is_placeholder(key) else key
            if target in actual:
                bind(value, actual[target], bindings)
    elif isinstance(expected, list) and isinstance(actual, list):
        for e, a in zip(expected, actual, strict=False):
            bind(e, a, bindings)


def substitute(value: Any, bindings: dict[str, Any]) -> Any:
    if is_placeholder(value):
        return bindings.get(value, value)
    if isinstance(value, dict):
        return {
            (bindings.get(k, k) if is_placeholder(k) else k): substitute(v, bindings)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [substitute(v, bindings) for v in value]
    return value


def agent_placeholders(expect: ShapeExpectation) -> list[str]:
    """The placeholders that stand for agent names, in order of appearance."""
    found: list[str] = []

    def visit(steps: list[Any]) -> None:
        for step in steps:
            name = None
            if isinstance(step, LLMOutline):
                name = step.llm
            elif isinstance(step, SubAgentOutline):
                name = step.subagent
            if is_placeholder(name) and name not in found:
                found.append(str(name))
            if isinstance(step, ToolOutline | SubAgentOutline):
                visit(step.steps)

    if is_placeholder(expect.root_agent):
        found.append(str(expect.root_agent))
    visit(expect.steps)
    return found


def check_shape_outline(
    traj: Trajectory, normal: dict[str, Any], expect: ShapeExpectation, who: str
) -> tuple[CheckResult, dict[str, Any]]:
    """The outline check of a shape run; also returns what each placeholder stood for."""
    got = outline_of(normal, traj)
    got["root_agent"] = traj.root_agent
    want = expected_outline(expect)
    want["root_agent"] = expect.root_agent if expect.root_agent is not None else traj.root_agent
    bindings: dict[str, Any] = {}
    bind(want, got, bindings)
    # Substituted in the expectation itself, so batches are sorted again with the real names.
    filled = ShapeExpectation.model_validate(
        substitute(expect.model_dump(mode="json", exclude_defaults=True), bindings)
    )
    want = {**expected_outline(filled), "root_agent": want["root_agent"]}
    want["root_agent"] = substitute(want["root_agent"], bindings)
    problems = []
    if want != got:
        problems.append(
            diff(
                want,
                got,
                expected_label="expected outline (scenario, placeholders filled in)",
                actual_label=f"actual outline ({who})",
            )
        )
    seen = {m.text() for s in traj.steps if isinstance(s, LLMStep) for m in s.request.messages}
    missing = [t for t in expect.model_saw if t not in seen]
    if missing:
        problems.append("the model never received a message with these texts: " + str(missing))
    return CheckResult("outline", not problems, "\n".join(problems)), bindings


def names_problems(expect: ShapeExpectation, runs: list[dict[str, Any]]) -> list[str]:
    """Every agent placeholder stands for a non-empty name, no two for the same one, and each
    for the same name in every run."""
    agents = agent_placeholders(expect)
    problems: list[str] = []
    for number, bindings in enumerate(runs, 1):
        named = {p: bindings.get(p) for p in agents}
        empty = [p for p, n in named.items() if not isinstance(n, str) or not n]
        if empty:
            problems.append(f"run {number}: no agent name recorded for {', '.join(empty)}")
        by_name: dict[Any, list[str]] = {}
        for p, n in named.items():
            by_name.setdefault(n, []).append(p)
        for n, ps in by_name.items():
            if len(ps) > 1 and n:
                problems.append(
                    f"run {number}: the agents {' and '.join(ps)} are both recorded as {n!r} "
                    "(names must be unique)"
                )
    first = {p: runs[0].get(p) for p in agents} if runs else {}
    for number, bindings in enumerate(runs[1:], 2):
        now = {p: bindings.get(p) for p in agents}
        if now != first:
            problems.append(
                f"agent names changed between run 1 and run {number}: {first} then {now}"
            )
    return problems


def report_problems(adapter: Adapter, app: Any, names: dict[str, Any]) -> list[str]:
    """The adapter's conversion of the app names the agents as its recordings do, and reports
    each as unnamed (an item at the agent's path that speaks of its name)."""
    try:
        conversion = adapter.to_spec(app)
    except Exception as exc:
        return [f"adapter.to_spec raised on the shape's app: {type(exc).__name__}: {exc}"]
    converted = {a.name for a in conversion.spec.walk()}
    problems = []
    recorded = {n for n in names.values() if isinstance(n, str)}
    if recorded != converted:
        problems.append(
            f"the conversion names the agents {sorted(converted)}, "
            f"the recordings {sorted(recorded)}"
        )
    told: set[str] = set()
    for placeholder, name in names.items():
        if not isinstance(name, str) or name in told:  # unrecorded: the names check says so
            continue
        told.add(name)
        said = any(
            "name" in item.what.lower() and (item.where == name or item.where.endswith(f".{name}"))
            for item in conversion.report.items
        )
        if not said:
            problems.append(
                f"the conversion report does not say that agent {name!r} ({placeholder}) had "
                f"no name of its own:\n{conversion.report.render()}"
            )
    return problems


# --------------------------------------------------------------------------- one case


def _raised(what: str, exc: BaseException) -> CheckResult:
    detail = "".join(traceback.format_exception(exc, limit=6))
    return CheckResult("run", False, f"{what} raised:\n{detail}")


def _task(scenario: ShapeScenario) -> Any:
    if isinstance(scenario.input, str):
        return TaskInfo(id=scenario.id, turns=[scenario.input])
    return json.loads(json.dumps(scenario.input))  # a fresh copy: the app may change it


async def arun_shape(
    adapter: Adapter, scenario: ShapeScenario, timeout_s: float
) -> tuple[list[CheckResult], str | None]:
    """The checks of one shape case, or the reason it is not applicable."""
    hook: Callable[[str, Any], Any] | None = getattr(adapter, HOOK, None)
    if hook is None:
        return [], WITHOUT_HOOK[scenario.shape]
    model = ShapeModel(repeated(scenario.script))
    try:
        app = hook(scenario.shape, model)
    except Exception as exc:
        return [_raised(f"{HOOK}({scenario.shape!r})", exc)], None
    if app is None:
        return [], f"the adapter's {HOOK} builds no app of shape {scenario.shape}"
    if isinstance(app, NotApplicable):
        return [], app.reason
    checks: list[CheckResult] = []
    runs: list[dict[str, Any]] = []
    kit_tools = {name: name for name in toolkit.TOOLS}
    for number in range(1, RUNS + 1):
        sink, seen, who = (
            MemorySink(),
            len(model.exchanges),
            f"adapter {adapter.name}, run {number}",
        )
        with toolkit.capture() as log:
            try:
                traj = await asyncio.wait_for(
                    adapter.arecord(app, _task(scenario), sinks=[sink]), timeout_s
                )
            except Exception as exc:
                return [*checks, _raised(f"adapter.arecord (run {number})", exc)], None
        schema, again = check_schema(traj, sink.trajectories)
        if again is None:
            return [*checks, schema], None
        outline, bindings = check_shape_outline(again, normalize(again), scenario.expect, who)
        records = check_records(again, model.exchanges[seen:], log, kit_tools, match_agents=False)
        checks += [schema, outline, records]
        runs.append(bindings)
    problems = names_problems(scenario.expect, runs)
    checks.append(CheckResult("names", not problems, "\n".join(problems)))
    if (
        scenario.shape == "unnamed_agent_as_tool"
        and Capability.CONVERT_FROM in adapter.capabilities
    ):
        names = {p: runs[0].get(p) for p in agent_placeholders(scenario.expect)}
        problems = report_problems(adapter, app, names)
        checks.append(CheckResult("report", not problems, "\n".join(problems)))
    return checks, None
