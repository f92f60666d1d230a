"""The kit can fail: each deliberately broken adapter is caught, by the check meant to catch it."""

from __future__ import annotations

import pytest
from kit_broken_adapters import (
    BindsLate,
    BreaksSchema,
    Crashes,
    DropsToolErrors,
    HiddenToolCall,
    IgnoresSequentialCalls,
    LosesNesting,
    MisreportsRequests,
    PhantomTools,
    ReordersSteps,
)
from nex_conformance import CaseResult, Verdict, run_case, select


def _case(adapter: object, scenario: str) -> CaseResult:
    (s,) = select([scenario])
    return run_case(adapter, s)  # type: ignore[arg-type]


def _failed(result: CaseResult) -> set[str]:
    return {c.name for c in result.failures()}


def _detail(result: CaseResult, check: str) -> str:
    return next(c.detail for c in result.checks if c.name == check)


def test_dropped_tool_error_is_caught_by_the_outline_normal_form_and_records() -> None:
    result = _case(DropsToolErrors(), "tool_error_fed_back")
    assert result.verdict is Verdict.FAIL
    # The record contradicts the scenario and the reference, and the tool really raised.
    assert _failed(result) == {"outline", "normal_form", "records"}
    outline = _detail(result, "outline")
    assert outline.startswith(
        "--- expected outline (scenario)\n+++ actual outline (adapter drops_tool_errors)"
    )
    assert '-      "error": {' in outline and '"no such city: Atlantis"' in outline
    assert (
        "raised ValueError: no such city: Atlantis, but the trajectory records result"
        in _detail(result, "records")
    )


def test_reordered_steps_are_caught_by_the_normal_form() -> None:
    # Reversing [llm, tool, llm] keeps the outline's shape: only the full normal form sees it.
    result = _case(ReordersSteps(), "single_tool_call")
    assert _failed(result) == {"normal_form"}
    detail = _detail(result, "normal_form")
    assert detail.startswith("--- expected normal form (native reference)")
    assert '"content": "What is 2 + 3?"' in detail


def test_reordering_is_visible_in_the_outline_when_the_steps_differ() -> None:
    result = _case(ReordersSteps(), "multi_step_chain")
    assert {"outline", "normal_form"} <= _failed(result)
    assert "records" not in _failed(result) and "schema" not in _failed(result)


def test_lost_nesting_is_caught_by_the_outline_and_normal_form() -> None:
    result = _case(LosesNesting(), "nested_sub_agents")
    assert _failed(result) == {"outline", "normal_form"}
    assert '"subagent": "manager"' in _detail(result, "outline")


def test_a_tool_call_that_never_ran_is_caught_by_the_side_records_only() -> None:
    # The trajectory is indistinguishable from the reference; only the tools' own log tells.
    result = _case(PhantomTools(), "parallel_tool_calls")
    assert _failed(result) == {"records"}
    detail = _detail(result, "records")
    assert detail.count("but no such invocation happened") == 2
    assert (
        'the trajectory claims tool \'lookup_city\' ran with arguments {"city": "Paris"}' in detail
    )


def test_an_unrecorded_tool_invocation_is_caught_by_the_side_records() -> None:
    result = _case(HiddenToolCall(), "single_tool_call")
    assert _failed(result) == {"records"}
    assert (
        'a real tool invocation is missing from the trajectory: add({"a": 1, "b": 1}) returned 2'
        in (_detail(result, "records"))
    )


def test_a_request_the_model_never_received_is_caught_by_the_side_records() -> None:
    result = _case(MisreportsRequests(), "single_tool_call")
    assert _failed(result) == {"records"}
    detail = _detail(result, "records")
    assert "the recorded request is not what the model received" in detail
    assert '+      "content": "You are a careful calculator. Use the tools.",' in detail


def test_sequential_calls_run_concurrently_are_caught_by_the_tools_own_log() -> None:
    result = _case(IgnoresSequentialCalls(), "sequential_tool_calls")
    assert result.verdict is Verdict.FAIL
    records = _detail(result, "records")
    assert "tool calls overlapped: append_note(" in records
    assert "(they must run one at a time)" in records
    # The overlapping read-modify-writes also lost notes, which the later call shows.
    assert '"result": "first, second, third"' in _detail(result, "outline")


def test_a_misordered_run_that_normalises_like_the_reference_fails_on_tool_runs() -> None:
    """Calls of one batch compare as a set in the normal form; only the tools' log can say that
    they ran in another order, or overlapped."""
    import asyncio

    from nex_conformance import toolkit
    from nex_conformance.checks import run_order_problems
    from nex_conformance.engine import reference
    from nex_conformance.models import RecordingModel

    from nex_core import TaskInfo, normalize
    from nex_core.runtime.loop import run_native

    (scenario,) = select(["sequential_tool_calls"])
    with toolkit.capture() as log:
        traj = asyncio.run(
            run_native(
                scenario.build(),
                TaskInfo(id=scenario.id, turns=scenario.turns),
                model=RecordingModel(scenario.script),
            )
        )
    assert normalize(traj) == asyncio.run(reference(scenario)).normal
    assert run_order_problems(log, scenario.expect.tool_runs) == []
    earlier, later = sorted(log, key=lambda inv: inv.started)[:2]
    earlier.started, later.started = later.started, earlier.started  # the second ran first
    problems = run_order_problems(log, scenario.expect.tool_runs)
    assert problems and problems[0].startswith(
        "the tools did not run in the order the scenario requires"
    )
    earlier.started, later.started = later.started, earlier.started  # in order again ...
    earlier.finished = later.started + 1  # ... but the first ends after the second starts
    (overlap,) = run_order_problems(log, scenario.expect.tool_runs)
    assert overlap.startswith('tool calls overlapped: append_note({"note": "second"})')


def test_a_binding_resolved_only_when_called_is_caught_by_the_outline() -> None:
    result = _case(BindsLate(), "unresolvable_tool_binding")
    assert result.verdict is Verdict.FAIL
    outline = _detail(result, "outline")
    assert '"type": "ToolBindingError"' in outline and '-  "steps": []' in outline


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_a_trajectory_that_breaks_the_schema_is_caught_by_the_schema_check() -> None:
    result = _case(BreaksSchema(), "single_tool_call")
    assert [c.name for c in result.checks] == ["schema"]
    assert "does not validate after a JSON round trip" in _detail(result, "schema")


def test_an_adapter_that_raises_fails_with_its_traceback() -> None:
    result = _case(Crashes(), "single_tool_call")
    assert result.verdict is Verdict.FAIL
    assert "RuntimeError: framework exploded" in _detail(result, "run")


@pytest.mark.parametrize(
    "adapter",
    [
        DropsToolErrors(),
        ReordersSteps(),
        LosesNesting(),
        PhantomTools(),
        IgnoresSequentialCalls(),
        BindsLate(),
    ],
    ids=lambda a: a.name,
)
def test_broken_adapters_fail_the_suite(adapter: object) -> None:
    from nex_conformance.cli import run_kit

    report = run_kit(adapters=[adapter])  # type: ignore[list-item]
    assert not report.ok
    assert any(r.verdict is Verdict.FAIL for r in report.results)
