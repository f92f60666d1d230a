"""The approval scenarios and subagent_then_handoff on native, LangGraph and AutoGen: a resume
stage is judged like a first run, plus its session; an adapter that does not declare
tool_approval gets n/a, never pass."""

from __future__ import annotations

import importlib.util

import pytest
from nex_conformance import Verdict, run_case, select
from nex_conformance.engine import Reference, _references

from nex_core import Capability, get_adapter
from nex_core.adapter import Adapter
from nex_core.trajectory.schema import Trajectory

APPROVAL = ["interrupt_resume", "rejected_tool_call", "edited_tool_call"]
MODULES = {"native": None, "langgraph": "nex_langgraph", "autogen": "nex_autogen"}


def adapter(name: str) -> Adapter:
    module = MODULES[name]
    if module is not None and importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed")
    return get_adapter(name)


@pytest.mark.parametrize("backend", list(MODULES))
@pytest.mark.parametrize("scenario_id", [*APPROVAL, "subagent_then_handoff"])
def test_new_scenarios_pass_or_are_not_applicable(backend: str, scenario_id: str) -> None:
    (scenario,) = select([scenario_id])
    runner = adapter(backend)
    result = run_case(runner, scenario)
    if set(scenario.capabilities) <= runner.capabilities:
        assert result.verdict is Verdict.PASS, result.explain()
    else:
        assert backend != "native" and Capability.TOOL_APPROVAL not in runner.capabilities
        assert result.verdict is Verdict.NOT_APPLICABLE
        assert result.missing_capabilities == ["tool_approval"]


class _NewSession(Adapter):
    """The native runtime, except that its resumed runs start a session of their own."""

    name = "new-session"
    framework = ""
    capabilities = get_adapter("native").capabilities

    async def arun(self, spec, task, *, model, sinks=()):  # type: ignore[no-untyped-def]
        return await get_adapter("native").arun(spec, task, model=model, sinks=sinks)

    async def aresume(self, spec, paused, decision, *, model, sinks=()):  # type: ignore[no-untyped-def]
        moved = paused.model_copy(update={"session_id": "elsewhere"})
        traj: Trajectory = await get_adapter("native").aresume(
            spec, moved, decision, model=model, sinks=()
        )
        traj.session_id = "elsewhere"
        for sink in sinks:
            sink.write(traj)
        return traj


def test_a_resume_outside_the_paused_session_fails_the_session_check() -> None:
    (scenario,) = select(["interrupt_resume"])
    result = run_case(_NewSession(), scenario)
    assert result.verdict is Verdict.FAIL
    (failed,) = result.failures()
    assert failed.name == "session" and "'elsewhere'" in failed.detail


def test_a_resume_stage_that_differs_from_the_reference_fails(native: Adapter) -> None:
    (scenario,) = select(["rejected_tool_call"])
    wrong = scenario.model_copy(deep=True)
    wrong.resume[0].decision = wrong.resume[0].decision.model_copy(  # type: ignore[union-attr]
        update={"message": "other words"}
    )
    result = run_case(native, wrong)
    assert result.verdict is Verdict.FAIL
    assert result.checks[0].name == "reference" and "other words" in result.checks[0].detail
    assert isinstance(_references.get(wrong.fingerprint()), Reference)
