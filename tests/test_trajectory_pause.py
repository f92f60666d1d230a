"""The optional records of paused and resumed runs: an input step, ``interrupted``, a session."""

from __future__ import annotations

from typing import Any

from nex_core.trajectory import InputStep, Outcome, OutcomeStatus, Provenance, Recorder, normalize
from nex_core.trajectory.schema import Trajectory


def _recorder(session: str | None = None) -> Recorder:
    provenance = Provenance(framework="test", adapter="test", nex_version="0")
    return Recorder(provenance=provenance, root_agent="a", session_id=session)


def test_interrupted_run_round_trips_with_its_pending_request() -> None:
    rec = _recorder("thread-1")
    traj = rec.finish(
        Outcome(
            status=OutcomeStatus.INTERRUPTED,
            stop_reason="interrupt",
            pending=[{"question": "approve?"}],
        )
    )
    again = Trajectory.model_validate_json(traj.to_json())
    assert again == traj and again.session_id == "thread-1"
    assert normalize(again)["outcome"] == {
        "status": "interrupted",
        "final_output": None,
        "pending": [{"question": "approve?"}],
    }


def test_resume_value_is_a_closed_input_step_that_orders_what_follows() -> None:
    rec = _recorder()
    step = rec.input(agent="a", value={"decision": "approve"}, mode="resume")
    rec.end_tool(rec.begin_tool(agent="a", name="t", call_id="c", arguments={}), "done")
    traj = rec.finish(Outcome(status=OutcomeStatus.COMPLETED, final_output="ok"))
    assert isinstance(step, InputStep) and step.ended_at is not None
    assert step.status.value == "ok"
    steps = normalize(Trajectory.model_validate_json(traj.to_json()))["steps"]
    assert steps[0] == {
        "kind": "input",
        "agent": "a",
        "status": "ok",
        "mode": "resume",
        "value": {"decision": "approve"},
    }
    assert steps[1]["kind"] == "tool"


def test_files_without_the_new_fields_read_as_before() -> None:
    traj = _recorder().finish(Outcome(status=OutcomeStatus.COMPLETED, final_output="x"))
    line = traj.to_json()
    for absent in ("session_id", "pending", "structured_output"):
        assert absent not in line


def test_inspect_shows_and_filters_paused_runs(tmp_path: Any) -> None:
    from click.testing import CliRunner

    from nex_core.cli.main import cli
    from nex_core.trajectory import JSONLSink

    path = tmp_path / "runs.jsonl"
    rec = _recorder("thread-1")
    rec.input(agent="a", value={"draft": "d"})
    with JSONLSink(path) as sink:
        sink.write(
            rec.finish(
                Outcome(
                    status=OutcomeStatus.INTERRUPTED,
                    stop_reason="interrupt",
                    pending=[{"question": "approve?"}],
                )
            )
        )
    result = CliRunner().invoke(cli, ["inspect", str(path), "--status", "interrupted"])
    assert result.exit_code == 0, result.output
    assert "input" in result.output and "waiting for" in result.output
    assert "approve?" in result.output
