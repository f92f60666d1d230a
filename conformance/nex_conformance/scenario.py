"""Scenarios: what a conformance case runs, and what it must produce.

A scenario is one YAML document (see ``scenarios/*.yaml``, the JSON Schema in
``scenario.schema.json``): the capabilities it needs, the agent system as nex spec data, the user
turns, the scripted model replies, and the expected outline of the trajectory, written by hand.
The outline is the explicit, non-circular expectation: every adapter, the native reference
included, must produce it.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, TypeAdapter

from nex_core import AgentSpec, Capability, SpecError, TeamSpec
from nex_core.models.scripted import Script
from nex_core.protocol.approval import Decision
from nex_core.protocol.loader import load_document
from nex_core.protocol.spec import SystemSpec

SCENARIO_VERSION = 1


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class ErrorOutline(_Strict):
    type: str
    """Exception class name, as recorded (``ValueError``, ``UnknownTool`` ...)."""
    message: str
    """The error message, exactly."""


class LLMOutline(_Strict):
    """A model call."""

    llm: str
    """The agent that called the model."""
    error: ErrorOutline | None = None
    """Set when the call failed (a scripted model error)."""
    status: Literal["ok", "error", "cancelled"] | None = None
    """Only when the status disagrees with ``error`` (a step marked failed without an error, or
    cancelled); scenarios normally leave it out."""


class ToolOutline(_Strict):
    """A tool call (including the tool call that starts an agent-as-tool or a handoff)."""

    tool: str
    """Tool name as the model called it."""
    args: dict[str, Any] | None = Field(default_factory=dict)
    """Parsed arguments; ``null`` when they could not be parsed."""
    raw_arguments: str | None = None
    """The argument text, when it could not be parsed."""
    result: str | None = None
    """The result as the text the model saw (``null`` on error). A result longer than 1000
    characters is written as ``sha256:<hex digest of its UTF-8>/<length in characters>``."""
    error: ErrorOutline | None = None
    """Set when the call failed."""
    status: Literal["ok", "error", "cancelled"] | None = None
    """Only when the status disagrees with ``error`` (a step marked failed without an error, or
    cancelled); scenarios normally leave it out."""
    steps: list[OutlineStep] = Field(default_factory=list)
    """Steps nested under the tool call (the agent-as-tool's sub-agent step)."""


class SubAgentOutline(_Strict):
    """A sub-agent invocation: agent-as-tool, handoff, or a turn in a team."""

    subagent: str
    """The child agent's name."""
    mode: Literal["tool", "handoff", "team_turn"]
    """How context passed."""
    output: str | None = None
    """What the child returned."""
    error: ErrorOutline | None = None
    """Set when the child failed."""
    status: Literal["ok", "error", "cancelled"] | None = None
    """Only when the status disagrees with ``error`` (a step marked failed without an error, or
    cancelled); scenarios normally leave it out."""
    steps: list[OutlineStep] = Field(default_factory=list)
    """The child's own steps."""


class InputOutline(_Strict):
    """Input that reached the run other than as a turn: a resumed run's decisions."""

    input: Literal["input", "resume"]
    """The input step's mode (``resume`` begins every resumed run)."""
    value: Any = None
    """The value as recorded (for a resume: ``{tool_call_id: decision}``; give the calls ids in
    the script so they are the same in every framework)."""


def _outline_kind(value: Any) -> str:
    if isinstance(value, BaseModel):
        return {
            LLMOutline: "llm",
            ToolOutline: "tool",
            SubAgentOutline: "subagent",
            InputOutline: "input",
        }[type(value)]
    if isinstance(value, dict):
        for key in ("llm", "tool", "subagent", "input"):
            if key in value:
                return key
    return ""


OutlineStep = Annotated[
    Annotated[LLMOutline, Tag("llm")]
    | Annotated[ToolOutline, Tag("tool")]
    | Annotated[SubAgentOutline, Tag("subagent")]
    | Annotated[InputOutline, Tag("input")],
    Discriminator(_outline_kind),
]


class PendingOutline(_Strict):
    """A call a paused run waits on (an ``ApprovalRequest`` without its call id)."""

    agent: str
    tool: str
    args: dict[str, Any] = Field(default_factory=dict)


class OutcomeOutline(_Strict):
    status: Literal["completed", "max_steps", "error", "cancelled", "interrupted"]
    """How the run ended (``interrupted``: paused for approval, before a ``resume`` stage)."""
    pending: list[PendingOutline] | None = None
    """``interrupted``: the calls it waits on, in the model's order."""
    final_output: str | None = None
    """The final answer (``null`` when there is none)."""
    error: ErrorOutline | None = None
    """The error that ended the run (its type and message), when it failed."""
    structured_output: Any = None
    """The structured answer (a JSON value), for an agent with an ``output_schema``."""


class ToolRun(_Strict):
    """One real invocation of a kit tool."""

    tool: str
    """The kit function (``nex_conformance.toolkit:NAME``)."""
    args: dict[str, Any] = Field(default_factory=dict)
    """The arguments it received."""


class Expectation(_Strict):
    """The trajectory a faithful adapter records, in outline."""

    steps: list[OutlineStep]
    """Top-level steps in order; tool and sub-agent steps between two model calls (one parallel
    batch) are compared as a set."""
    outcome: OutcomeOutline
    """The run's outcome."""
    model_saw: list[str] = Field(default_factory=list)
    """Texts that must each be the content of some message the model received (for example the
    error text a failing tool fed back)."""
    tool_runs: list[ToolRun] | None = None
    """When set, the kit tools' real invocations, exactly these and in this order, each ending
    before the next starts (an agent with ``parallel_tool_calls: false``). Checked against the
    tools' own log, so a run that normalises like the reference but ran its calls concurrently
    or in another order fails."""


class ResumeStage(_Strict):
    """A resume of the paused run before it, with a human's decision (``tool_approval``)."""

    decision: Decision | dict[str, Decision]
    """One decision for every pending call, or one per ``tool_call_id``."""
    expect: Expectation
    """The expected outline of the resumed run (it begins with ``{input: resume}``)."""


class Scenario(_Strict):
    """One conformance case."""

    version: int = SCENARIO_VERSION
    """Scenario format version."""
    kind: Literal["spec"] = "spec"
    """A spec run by every adapter (the default), or ``recording_shape``
    (:class:`ShapeScenario`)."""
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    """Unique id (the file name without ``.yaml``)."""
    description: str
    """What the case exercises and why it matters."""
    capabilities: list[Capability]
    """Adapter capabilities the case needs; an adapter lacking one gets "not applicable"."""
    system: SystemSpec
    """The agent or team, as nex spec data. Tools bind to ``nex_conformance.toolkit:NAME``."""
    turns: list[str] = Field(min_length=1)
    """User turns, in order."""
    script: Script
    """The scripted model's replies (shared ``replies`` or per-agent ``agents`` queues)."""
    expect: Expectation
    """The expected outline of the trajectory."""
    resume: list[ResumeStage] = Field(default_factory=list)
    """Runs that resume the one before (each ended ``interrupted``), in order, each continuing
    the same scripted model's replies."""

    def build(self) -> AgentSpec | TeamSpec:
        """A fresh copy of the system, so no run can change what the next one receives."""
        return self.system.model_copy(deep=True)

    def fingerprint(self) -> str:
        return json.dumps(self.model_dump(mode="json"), sort_keys=True)


Shape = Literal["unnamed_agent_as_tool", "non_message_state"]
"""The recording-only shapes (see :mod:`nex_conformance.shapes`)."""


class ShapeExpectation(Expectation):
    """A shape's expected outline. Strings of the form ``$name`` are placeholders: each stands
    for one name the adapter chose (an unnamed agent's, a defaulted tool's or argument's), the
    same in every place it appears; two placeholders in agent positions (``llm``,
    ``subagent``, ``root_agent``) must stand for two different names."""

    root_agent: str | None = None
    """The trajectory's ``root_agent`` (a placeholder, or the name itself)."""


class ShapeScenario(_Strict):
    """A case no spec can express (every spec agent is named, every spec state is messages):
    the adapter's ``kit_shape_app`` hook builds a framework-native app of the named shape, the
    kit records it through the adapter's own recording path, twice, and checks the outline."""

    version: int = SCENARIO_VERSION
    """Scenario format version."""
    kind: Literal["recording_shape"]
    """Marks a recording-shape case."""
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    """Unique id (the file name without ``.yaml``)."""
    description: str
    """What the case exercises and why it matters."""
    shape: Shape
    """The app the hook builds (its contract: :data:`nex_conformance.shapes.SHAPES`)."""
    capabilities: list[Capability] = Field(default_factory=lambda: [Capability.RECORD_FOREIGN])
    """Adapter capabilities the case needs (recording apps the user built, by default)."""
    input: str | dict[str, Any]
    """What the app is run with: user text, or the graph's input state as given."""
    script: Script
    """The scripted model's replies for one run; a tool call named ``$name`` calls the one
    non-kit tool the request offers, and an argument named ``$name`` is that tool's one
    required parameter (so the script does not depend on the names a framework defaults)."""
    expect: ShapeExpectation
    """The expected outline of each of the two runs."""

    def fingerprint(self) -> str:
        return json.dumps(self.model_dump(mode="json"), sort_keys=True)


def _document_kind(value: Any) -> str:
    if isinstance(value, BaseModel):
        return getattr(value, "kind", "spec")
    return str(value.get("kind", "spec")) if isinstance(value, dict) else "spec"


AnyScenario = Annotated[
    Annotated[Scenario, Tag("spec")] | Annotated[ShapeScenario, Tag("recording_shape")],
    Discriminator(_document_kind),
]
"""A scenario document of either kind."""

ToolOutline.model_rebuild()
SubAgentOutline.model_rebuild()
Expectation.model_rebuild()
ResumeStage.model_rebuild()
Scenario.model_rebuild()
ShapeExpectation.model_rebuild()
ShapeScenario.model_rebuild()

_SCENARIO: TypeAdapter[Scenario | ShapeScenario] = TypeAdapter(AnyScenario)


def scenario_schema() -> dict[str, Any]:
    """The JSON Schema of scenario documents (published as ``scenario.schema.json``)."""
    schema = _SCENARIO.json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "nex conformance scenario"
    return schema


def load_scenario(path: str | Path) -> Scenario | ShapeScenario:
    """Read and validate one scenario file (errors name the file, line and field)."""
    scenario = load_document(path, _SCENARIO)
    if Path(path).stem != scenario.id:
        raise SpecError(f"{path}: scenario id '{scenario.id}' must match the file name")
    return scenario


@cache
def builtin_scenarios() -> tuple[Scenario | ShapeScenario, ...]:
    """Every scenario shipped with the kit, sorted by id."""
    folder = resources.files("nex_conformance") / "scenarios"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".yaml"):
            with resources.as_file(entry) as path:
                found.append(load_scenario(path))
    ids = [s.id for s in found]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise SpecError(f"duplicate scenario ids: {sorted(duplicates)}")
    return tuple(sorted(found, key=lambda s: s.id))


def select(ids: list[str] | tuple[str, ...] | None = None) -> list[Scenario | ShapeScenario]:
    """Built-in scenarios, optionally only those with the given ids (unknown ids are an error)."""
    everything = builtin_scenarios()
    if not ids:
        return list(everything)
    known = {s.id: s for s in everything}
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise SpecError(
            f"unknown scenario id(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})"
        )
    return [known[i] for i in ids]
