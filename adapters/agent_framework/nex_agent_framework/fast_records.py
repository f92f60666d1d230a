"""Records a recorded run makes once, built without pydantic's validation when their values
are already what validation keeps (``nex_core.trajectory._build.built``): the same fields, in
declaration order, and the same explicitly-set names, so their JSON is byte-identical
(``tests/test_af_fast_records.py`` compares each with the validated record). Any other value
goes through the validating constructor.
"""

from __future__ import annotations

from typing import Any, cast

from nex_core.trajectory import _build
from nex_core.trajectory.schema import Outcome, OutcomeStatus, Provenance, TaskInfo

_TASK_GIVEN = frozenset({"turns"})
_PROVENANCE_GIVEN = frozenset(
    {
        "framework",
        "framework_version",
        "adapter",
        "adapter_version",
        "nex_version",
        "model",
        "task_id",
    }
)


def text_task(text: str) -> TaskInfo:
    """``TaskInfo(turns=[text])`` for a ``str``, built without validation."""
    return cast(TaskInfo, _build.built(TaskInfo, {"id": None, "turns": [text]}, _TASK_GIVEN))


def recorded_provenance(
    framework: str,
    framework_version: str | None,
    adapter: str,
    adapter_version: str | None,
    nex_version: str,
    model: str | None,
    task_id: str | None,
) -> Provenance:
    """The provenance of a recorded run; built without validation when every value is already
    what validation keeps (once per recorded run)."""
    if (
        type(framework) is str
        and type(adapter) is str
        and type(nex_version) is str
        and (framework_version is None or type(framework_version) is str)
        and (adapter_version is None or type(adapter_version) is str)
        and (model is None or type(model) is str)
        and (task_id is None or type(task_id) is str)
    ):
        fields: dict[str, Any] = {
            "framework": framework,
            "framework_version": framework_version,
            "adapter": adapter,
            "adapter_version": adapter_version,
            "nex_version": nex_version,
            "spec_digest": None,
            "model": model,
            "sampling": {},
            "task_id": task_id,
        }
        return cast(Provenance, _build.built(Provenance, fields, _PROVENANCE_GIVEN))
    return Provenance(
        framework=framework,
        framework_version=framework_version,
        adapter=adapter,
        adapter_version=adapter_version,
        nex_version=nex_version,
        model=model,
        task_id=task_id,
    )


_OUTCOME_GIVEN = frozenset(
    {"status", "final_output", "stop_reason", "structured_output", "pending"}
)


def outcome(
    status: OutcomeStatus,
    final_output: str | None,
    stop_reason: str,
    structured_output: Any,
    pending: list[Any] | None,
) -> Outcome:
    """``Outcome(status=..., final_output=..., stop_reason=..., structured_output=...,
    pending=...)``, built without validation in the common case (plain text, no pending
    requests; ``structured_output`` is ``Any``, which validation keeps as it is)."""
    if (
        type(status) is OutcomeStatus
        and _build.plain(final_output)
        and type(stop_reason) is str
        and pending is None
    ):
        fields = {
            "status": status,
            "final_output": final_output,
            "stop_reason": stop_reason,
            "error": None,
            "structured_output": structured_output,
            "pending": None,
            "rewards": {},
            "labels": {},
        }
        return cast(Outcome, _build.built(Outcome, fields, _OUTCOME_GIVEN))
    return Outcome(
        status=status,
        final_output=final_output,
        stop_reason=stop_reason,
        structured_output=structured_output,
        pending=pending,
    )
