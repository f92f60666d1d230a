"""The adapter contract: what a framework plugin implements.

An adapter recognises framework objects, converts them to the protocol (with a report of what
could not be expressed), builds framework objects from the protocol, runs them while recording a
trajectory, and bridges any nex model into the framework.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from abc import ABC, abstractmethod
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

from nex_core.errors import AdapterError

if TYPE_CHECKING:  # only annotations here: adapter plugins import this module cheaply
    from nex_core.protocol.approval import Decision
    from nex_core.protocol.spec import AgentSpec, TeamSpec
    from nex_core.trajectory.schema import TaskInfo, Trajectory
    from nex_core.trajectory.sinks import TrajectorySink

T = TypeVar("T")


class Capability(StrEnum):
    """What an adapter can do faithfully. Conformance scenarios requiring an undeclared
    capability are "not applicable", never "pass"."""

    TOOL_CALLS = "tool_calls"
    PARALLEL_TOOL_CALLS = "parallel_tool_calls"
    TOOL_ERRORS = "tool_errors"
    """Tool exceptions are fed back to the model, not fatal."""
    SUB_AGENTS = "sub_agents"
    """Agent-as-tool."""
    NESTED_SUB_AGENTS = "nested_sub_agents"
    PARALLEL_SUB_AGENTS = "parallel_sub_agents"
    HANDOFFS = "handoffs"
    TEAMS_ROUND_ROBIN = "teams_round_robin"
    TEAMS_SELECTOR = "teams_selector"
    MAX_STEPS = "max_steps"
    STOP_TOOLS = "stop_tools"
    MULTI_TURN = "multi_turn"
    MODEL_RETRY = "model_retry"
    """A retryable model error is recorded and the call retried."""
    TEXT_TOOL_FORMAT = "text_tool_format"
    """Tool calls parsed from model text; which formats, :meth:`Adapter.text_formats` says."""
    MCP_TOOLS = "mcp_tools"
    STRUCTURED_OUTPUT = "structured_output"
    """An agent's ``output_schema``: the answer is a JSON value valid against it, recorded as
    the outcome's ``structured_output``."""
    STRUCTURED_OUTPUT_RETRY = "structured_output_retry"
    """An answer that fails the output schema is fed back to the model, which answers again."""
    TOOL_APPROVAL = "tool_approval"
    """Tools with ``approval: required`` pause the run for a human's decision, and
    :meth:`Adapter.aresume` continues it (``nex_core.protocol.approval``)."""
    STREAMING = "streaming"
    CONVERT_FROM = "convert_from"
    """Framework object → nex spec."""
    CONVERT_TO = "convert_to"
    """nex spec → framework object."""
    RECORD_FOREIGN = "record_foreign"
    """Records framework objects the user built themselves."""


@dataclass(frozen=True)
class ReportItem:
    """Something a conversion could not carry over faithfully."""

    where: str
    """Path in the source object (``supervisor.nodes.router``)."""
    what: str
    """What was lost or approximated."""
    severity: str = "lost"
    """``lost`` (not in the spec), ``approximated``, or ``info``."""


@dataclass
class ConversionReport:
    items: list[ReportItem] = field(default_factory=list)

    def add(self, where: str, what: str, severity: str = "lost") -> None:
        self.items.append(ReportItem(where, what, severity))

    @property
    def lossless(self) -> bool:
        return not any(i.severity != "info" for i in self.items)

    def render(self) -> str:
        if not self.items:
            return "conversion report: nothing lost"
        lines = ["conversion report:"]
        lines += [f"  [{i.severity}] {i.where}: {i.what}" for i in self.items]
        return "\n".join(lines)


@dataclass
class Conversion:
    spec: AgentSpec | TeamSpec
    report: ConversionReport


class Adapter(ABC):
    """Base class for framework adapters; override what the framework supports."""

    name: ClassVar[str]
    """Backend name used on the command line (``native``, ``langgraph``, ``autogen``)."""
    framework: ClassVar[str]
    """Framework's distribution name."""
    capabilities: ClassVar[frozenset[Capability]] = frozenset()

    # ---------------------------------------------------------------- identity

    @property
    def version(self) -> str:
        return _dist_version(type(self).__module__.split(".")[0])

    @property
    def framework_version(self) -> str | None:
        return _dist_version(self.framework) if self.framework else None

    def supports(self, *needed: Capability) -> bool:
        return set(needed) <= self.capabilities

    def text_formats(self) -> frozenset[str]:
        """Names of the text tool formats (``tool_format`` other than ``native``) this adapter
        runs. By default ``xml`` for an adapter that declares ``TEXT_TOOL_FORMAT`` (all that
        capability meant before formats had names) and none otherwise."""
        if Capability.TEXT_TOOL_FORMAT in self.capabilities:
            return frozenset({"xml", "nex_xml"})
        return frozenset()

    def missing_text_formats(self, spec: AgentSpec | TeamSpec) -> list[str]:
        """The text formats ``spec``'s agents use that this adapter does not run."""
        used = {a.tool_format.value for a in spec.walk() if a.tool_format.is_text}
        return sorted(used - self.text_formats()) if used else []

    # ---------------------------------------------------------------- conversion

    def recognizes(self, obj: Any) -> bool:
        """True if ``obj`` is one of this framework's agents, graphs or teams."""
        return False

    def to_spec(self, obj: Any) -> Conversion:
        """Framework object → protocol spec, with a report of what could not be expressed."""
        raise AdapterError(f"adapter '{self.name}' cannot convert framework objects to specs")

    def from_spec(self, spec: AgentSpec | TeamSpec, *, model: Any) -> Any:
        """Protocol spec → framework object driven by the nex ``model``."""
        raise AdapterError(f"adapter '{self.name}' cannot build framework objects from specs")

    def to_code(self, spec: AgentSpec | TeamSpec) -> str:
        """Source of a runnable Python module that builds ``spec`` in this framework."""
        raise AdapterError(f"adapter '{self.name}' cannot write framework code")

    def code_report(self, spec: AgentSpec | TeamSpec) -> ConversionReport:
        """What the program :meth:`to_code` writes for ``spec`` does differently from the
        protocol (renamed tools, semantics the framework keeps its own way); ``nex convert``
        prints it after the source's report. Empty by default."""
        return ConversionReport()

    def bridge_model(self, model: Any, *, agent: str | None = None) -> Any:
        """A nex ``ChatModel`` as this framework's model interface."""
        raise AdapterError(f"adapter '{self.name}' has no model bridge")

    # ---------------------------------------------------------------- running

    @abstractmethod
    async def arun(
        self,
        spec: AgentSpec | TeamSpec,
        task: TaskInfo | str,
        *,
        model: Any,
        sinks: Sequence[TrajectorySink] = (),
    ) -> Trajectory:
        """Build ``spec`` in this framework, run ``task`` with ``model``, return the recorded
        trajectory (also written to ``sinks``). A failing run still returns its trajectory."""

    async def arecord(
        self,
        obj: Any,
        task: TaskInfo | str,
        *,
        sinks: Sequence[TrajectorySink] = (),
    ) -> Trajectory:
        """Run a framework object the user built, recording it."""
        raise AdapterError(f"adapter '{self.name}' cannot record foreign objects")

    async def aresume(
        self,
        spec: AgentSpec | TeamSpec,
        paused: Trajectory,
        decision: Decision | Mapping[str, Decision],
        *,
        model: Any,
        sinks: Sequence[TrajectorySink] = (),
    ) -> Trajectory:
        """Continue ``paused`` (a run of ``spec`` that ended ``interrupted`` for approval) with
        the human's ``decision`` (one for all pending calls, or one per ``tool_call_id``).
        Returns the resumed run's trajectory, with ``paused``'s session id, beginning with the
        resume ``InputStep`` (contract: ``nex_core.protocol.approval``). An adapter whose
        framework keeps the paused state (a checkpointer, a run state) may keep it in-process
        per session; one that cannot resume raises ``AdapterError`` saying so."""
        raise AdapterError(f"adapter '{self.name}' cannot resume a paused run")

    def resume(
        self,
        spec: AgentSpec | TeamSpec,
        paused: Trajectory,
        decision: Decision | Mapping[str, Decision],
        **kw: Any,
    ) -> Trajectory:
        """Synchronous :meth:`aresume`."""
        return run_sync(self.aresume(spec, paused, decision, **kw))

    def run(self, spec: AgentSpec | TeamSpec, task: TaskInfo | str, **kw: Any) -> Trajectory:
        """Synchronous :meth:`arun`; works whether or not an event loop is running (a notebook,
        an async app), as :meth:`ChatModel.complete` does."""
        return run_sync(self.arun(spec, task, **kw))


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion from synchronous code.

    With no event loop running in this thread it is ``asyncio.run``. Inside a running loop (a
    notebook cell, an async web handler) that would raise, and blocking that loop's thread on
    its own task would deadlock, so the coroutine runs on a fresh loop in a worker thread, with
    the caller's context variables (a shared MCP pool, the recorder's parent), while this
    thread waits.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    context = contextvars.copy_context()
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = context.run(asyncio.run, coro)
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=target, name="nex-run-sync", daemon=True)
    worker.start()
    worker.join()
    if "error" in box:
        raise box["error"]
    return cast(T, box["value"])


def as_task(task: TaskInfo | str) -> TaskInfo:
    if not isinstance(task, str):
        return task
    global _task_info
    if _task_info is None:  # imported on first use (see the imports), then read from here
        from nex_core.trajectory.schema import TaskInfo

        _task_info = TaskInfo
    return _task_info(turns=[task])


_task_info: Any = None
"""``TaskInfo``: an import statement per call cost more than the rest of ``as_task``."""


def _dist_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    for candidate in (name, name.replace("_", "-")):
        try:
            return version(candidate)
        except PackageNotFoundError:
            continue
    return "unknown"
