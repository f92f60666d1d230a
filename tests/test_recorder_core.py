"""The recorder's written-out hot paths and the scrub's per-type walk (branch ``recordcore``):
what they record and find is what the general paths did."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from typing import Any

import pytest

from nex_core.trajectory import redact
from nex_core.trajectory import scrub as scrub_mod
from nex_core.trajectory._values import to_jsonable
from nex_core.trajectory.recorder import Recorder, scrub
from nex_core.trajectory.schema import (
    LLMRequest,
    LLMResponse,
    LLMStep,
    Message,
    Outcome,
    OutcomeStatus,
    Provenance,
    StepStatus,
    Tokens,
    ToolStep,
)

PROV = Provenance(framework="t", adapter="t", nex_version="0")
SECRET = "hunter2-very-secret"


@pytest.fixture(autouse=True)
def registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(redact, "_secrets", set())
    redact.register_secret(SECRET)
    yield


def _one_round(listener: Any = None) -> tuple[Recorder, LLMStep, ToolStep]:
    rec = Recorder(provenance=PROV, listeners=[listener] if listener else [])
    llm = rec.begin_llm(agent="a", request=LLMRequest(messages=[Message.user("u")]), model="m")
    rec.end_llm(llm, LLMResponse(message=Message.assistant("x")))
    tool = rec.begin_tool(agent="a", name="add", call_id="c1", arguments='{"a": 1}')
    rec.end_tool(tool, 3)
    return rec, llm, tool


def test_closed_steps_equal_validated_ones() -> None:
    _, llm, tool = _one_round()
    assert llm.status is StepStatus.OK and llm.ended_at is not None
    assert tool.status is StepStatus.OK and tool.latency_ms is not None and tool.result == 3
    for step in (llm, tool):
        again = type(step).model_validate(step.model_dump())
        assert step.model_dump_json() == again.model_dump_json()
        assert step.model_fields_set >= {"ended_at", "status"}
    assert {"response"} <= llm.model_fields_set
    assert {"result", "latency_ms"} <= tool.model_fields_set


def test_listeners_see_every_begin_and_end_in_order() -> None:
    seen: list[tuple[str, str]] = []
    _one_round(lambda step: seen.append((step.kind, step.status.value)))
    assert seen == [("llm", "running"), ("llm", "ok"), ("tool", "running"), ("tool", "ok")]


def test_errors_and_start_times_kept_only_for_tools() -> None:
    rec = Recorder(provenance=PROV)
    llm = rec.begin_llm(agent="a", request=LLMRequest(messages=[]))
    tool = rec.begin_tool(agent="a", name="t", call_id=None, arguments=None)
    assert list(rec._t0) == [id(tool)]  # a model call's latency is not measured
    rec.end_llm(llm, error=ValueError("boom"))
    rec.end_tool(tool, error="bad")
    assert llm.status is StepStatus.ERROR and llm.error and llm.error.type == "ValueError"
    assert tool.status is StepStatus.ERROR and tool.result is None and tool.latency_ms is not None
    assert rec._t0 == {}


def test_to_jsonable_copies_plain_dicts_and_converts_the_rest() -> None:
    args = {"a": 1, "b": "x", "c": None, "d": 2.5, "e": True}
    copy = to_jsonable(args)
    assert copy == args and copy is not args
    assert to_jsonable({1: "x"}) == {"1": "x"}
    assert to_jsonable({"a": (1, 2)}) == {"a": [1, 2]}


class Colour(enum.StrEnum):
    RED = SECRET


class Level(enum.IntEnum):
    LOW = 1


class Tagged(str):
    pass


def _finished(metadata: dict[str, Any]) -> Any:
    rec = Recorder(provenance=PROV)
    llm = rec.begin_llm(agent="a", request=LLMRequest(messages=[Message.user("u")]))
    rec.end_llm(llm, LLMResponse(message=Message.assistant("x")))
    llm.metadata.update(metadata)  # as adapters do after the step closed
    return rec.finish(Outcome(status=OutcomeStatus.COMPLETED))


@pytest.mark.parametrize(
    "value",
    [
        Tagged(SECRET),
        Colour.RED,
        [1, 2, 3, 4, 5, SECRET],  # a list that starts like token ids
        [1.0, 2.0, 3.0, 4.0, 5.0, [SECRET]],
        {"k": [[], {}, "", {"deep": (SECRET,)}]},
        {SECRET: 1},
    ],
)
def test_a_secret_in_any_string_like_value_is_found(value: Any) -> None:
    done = _finished({"v": value})
    assert SECRET not in done.to_json()


def test_values_the_walk_does_not_know_fall_back_to_the_text() -> None:
    class Box(dict[str, Any]):
        pass

    rec = Recorder(provenance=PROV)
    step = rec.begin_tool(agent="a", name="t", call_id=None, arguments=None)
    rec.end_tool(step, "ok")
    step.metadata["v"] = Box(a=SECRET)
    assert scrub_mod._strings(rec.trajectory) is None  # a dict subclass: not the walk's to read
    assert SECRET not in rec.finish(Outcome(status=OutcomeStatus.COMPLETED)).to_json()


def test_numbers_and_number_lists_hold_no_text() -> None:
    done = _finished({"ids": list(range(50)), "level": Level.LOW, "ok": True})
    strings = scrub_mod._strings(done)
    assert strings is not None and not any(isinstance(s, int) for s in strings)


def test_token_ids_in_a_response_are_skipped_but_its_text_is_not() -> None:
    rec = Recorder(provenance=PROV)
    llm = rec.begin_llm(agent="a", request=LLMRequest(messages=[Message.user("u")]))
    tokens = Tokens(completion_token_ids=list(range(100)), logprobs=[-0.5] * 100)
    rec.end_llm(llm, LLMResponse(message=Message.assistant(SECRET), tokens=tokens))
    done = rec.finish(Outcome(status=OutcomeStatus.COMPLETED))
    assert SECRET not in done.to_json()
    assert llm.response is not None and llm.response.tokens == tokens


def test_a_secret_registered_after_a_scan_is_seen_by_the_next() -> None:
    clean = _finished({"v": "later-secret-value"})
    assert scrub(clean) is clean
    redact.register_secret("later-secret-value")
    assert "later-secret-value" not in scrub(clean).to_json()
