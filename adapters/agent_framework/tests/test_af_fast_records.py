"""The records a recorded run builds without validation equal the validated ones: fields in
order, values, explicitly-set names and JSON (``nex_agent_framework.fast_records``)."""

from __future__ import annotations

from typing import Any

import pytest
from nex_agent_framework.fast_records import outcome, recorded_provenance, text_task
from nex_agent_framework.run import given_turns

from nex_core.trajectory.schema import Outcome, OutcomeStatus, Provenance, TaskInfo


def _same(a: Any, b: Any) -> None:
    assert type(a) is type(b)
    assert list(a.__dict__) == list(b.__dict__)
    assert a.__dict__ == b.__dict__
    assert a.__pydantic_fields_set__ == b.__pydantic_fields_set__
    assert a.model_dump_json() == b.model_dump_json()
    assert a.model_dump(exclude_unset=True) == b.model_dump(exclude_unset=True)


def test_text_task() -> None:
    _same(text_task("Add ten times."), TaskInfo(turns=["Add ten times."]))
    info, turns = given_turns("hi")
    _same(info, TaskInfo(turns=["hi"]))
    assert turns == ["hi"] and turns is not info.turns


@pytest.mark.parametrize("model", ["scripted", None])
def test_provenance(model: str | None) -> None:
    args = ("agent-framework", "1.0", "agent-framework", "0.1", "0.9", model, None)
    validated = Provenance(
        framework=args[0],
        framework_version=args[1],
        adapter=args[2],
        adapter_version=args[3],
        nex_version=args[4],
        model=args[5],
        task_id=args[6],
    )
    _same(recorded_provenance(*args), validated)


def test_provenance_with_a_value_that_is_not_plain_is_validated() -> None:
    class Name(str):
        pass

    made = recorded_provenance("af", None, "af", None, "0.9", Name("m"), "t1")
    assert type(made.model) is str and made.task_id == "t1"


@pytest.mark.parametrize(
    "args",
    [
        (OutcomeStatus.COMPLETED, "done", "final_answer", None, None),
        (OutcomeStatus.COMPLETED, None, "no_turns", None, None),
        (OutcomeStatus.COMPLETED, '{"a": 1}', "final_answer", {"a": 1}, None),
        (OutcomeStatus.INTERRUPTED, None, "approval", None, [{"tool": "x"}]),
    ],
)
def test_outcome(args: tuple[Any, ...]) -> None:
    status, final_output, stop_reason, structured_output, pending = args
    validated = Outcome(
        status=status,
        final_output=final_output,
        stop_reason=stop_reason,
        structured_output=structured_output,
        pending=pending,
    )
    _same(outcome(*args), validated)
