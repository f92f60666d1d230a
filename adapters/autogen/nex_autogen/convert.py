"""AutoGen objects → nex specs, with a report of what the protocol cannot express.

The declarative component config (``dump_component()``) is read where AutoGen can produce it; it
raises for tools that are not components (plain ``BaseTool`` subclasses, nex's own tools), and
then the agent's attributes are read instead. Objects this adapter built carry the spec pieces
AutoGen has no field for (tool bindings, limits), so a spec survives spec → AutoGen → spec.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping
from typing import Any

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.conditions import (
    FunctionalTermination,
    MaxMessageTermination,
    TextMentionTermination,
)
from autogen_agentchat.teams import BaseGroupChat, SelectorGroupChat, Swarm
from autogen_agentchat.tools._task_runner_tool import TaskRunnerTool
from autogen_core import CancellationToken
from autogen_core.model_context import UnboundedChatCompletionContext
from autogen_core.models import ChatCompletionClient
from autogen_core.tools import BaseTool, FunctionTool, StaticWorkbench

from nex_autogen.bridge import NexChatCompletionClient
from nex_autogen.build import METADATA_KEY, SELECTOR_PROMPT, answered
from nex_autogen.names import AgentNames, agent_names
from nex_autogen.tools import ProtocolAgentTool, ProtocolTeamTool, SchemaTool, is_protocol_agent
from nex_core.adapter import Conversion, ConversionReport
from nex_core.errors import AdapterError
from nex_core.protocol.output_model import is_schema_model, schema_of_model
from nex_core.protocol.spec import (
    AgentSpec,
    CallableBinding,
    ContextMode,
    ImportBinding,
    Limits,
    ModelSettings,
    SubAgentSpec,
    TeamSpec,
    Termination,
    ToolSpec,
)

DEFAULT_SUMMARY_FORMAT = "{result}"
_SAMPLING = ("temperature", "top_p", "max_tokens", "seed")


def to_spec(obj: Any) -> Conversion:
    """Convert an ``AssistantAgent``, a ``RoundRobinGroupChat``, ``SelectorGroupChat`` or
    ``Swarm``."""
    report = ConversionReport()
    names = agent_names(obj)  # the recorder's names, so a recording matches its conversion
    spec: AgentSpec | TeamSpec
    if isinstance(obj, Swarm):
        spec = _swarm(obj, report, names)
    elif isinstance(obj, BaseGroupChat):
        spec = _team(obj, report, names)
    elif isinstance(obj, AssistantAgent):
        spec = _Converter(report, names).agent(obj, obj.name)
    else:
        raise AdapterError(
            f"the autogen adapter converts AssistantAgent and group chats, not {type(obj).__name__}"
        )
    return Conversion(spec=spec, report=report)


# --------------------------------------------------------------------------- models


def model_settings(
    client: ChatCompletionClient, report: ConversionReport, where: str
) -> ModelSettings:
    """Model id and sampling from the client's declarative config (or the nex bridge)."""
    if isinstance(client, NexChatCompletionClient):
        return client.settings.model_copy(deep=True)
    try:
        component = client.dump_component()
    except Exception as exc:
        report.add(where, f"model client {type(client).__name__} has no declarative config ({exc})")
        return ModelSettings()
    config: Mapping[str, Any] = component.config
    if config.get("api_key"):
        report.add(
            where,
            "the model client's API key is not carried over (specs hold only "
            "references such as ${env:OPENAI_API_KEY})",
            "info",
        )
    provider = component.provider.rsplit(".", 1)[-1]
    if provider == "ReplayChatCompletionClient":
        report.add(where, "ReplayChatCompletionClient's scripted replies are not part of a spec")
    known = {k: config[k] for k in _SAMPLING if config.get(k) is not None}
    return ModelSettings(
        id=config.get("model"),
        provider=_provider_name(provider),
        base_url=config.get("base_url"),
        **known,
    )


def _provider_name(cls_name: str) -> str | None:
    lowered = cls_name.lower()
    for name in ("azure", "openai", "anthropic", "ollama", "replay"):
        if name in lowered:
            return name
    return None


# --------------------------------------------------------------------------- agents


def _declared(agent: AssistantAgent, report: ConversionReport, where: str) -> dict[str, Any]:
    try:
        return dict(agent.dump_component().config)
    except Exception as exc:
        report.add(
            where,
            f"declarative config unavailable ({type(exc).__name__}); "
            "read from the agent's attributes",
            "info",
        )
        return {}


def _nex_metadata(agent: AssistantAgent) -> dict[str, Any]:
    raw = (getattr(agent, "_metadata", None) or {}).get(METADATA_KEY)
    return json.loads(raw) if raw else {}


def _import_path(func: Any) -> str | None:
    module, qualname = getattr(func, "__module__", None), getattr(func, "__qualname__", "")
    if not module or "<" in qualname or module == "__main__":
        return None
    try:
        obj: Any = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        return None
    return f"{module}:{qualname}" if obj is func else None


class _Converter:
    """Converts agents, following sub-agents and (inside a Swarm) handoffs."""

    def __init__(
        self,
        report: ConversionReport,
        names: AgentNames,
        peers: Mapping[str, Any] | None = None,
    ) -> None:
        self.report = report
        self.names = names
        self.peers = dict(peers or {})
        self._visiting: list[str] = []

    def agent(self, agent: AssistantAgent, where: str) -> AgentSpec:
        self._visiting.append(agent.name)
        try:
            return self._agent(agent, where)
        finally:
            self._visiting.pop()

    def _agent(self, agent: AssistantAgent, where: str) -> AgentSpec:
        report = self.report
        clash = self.names.clash(agent)
        if clash is not None:
            report.add(where, clash, "info")
        config = _declared(agent, report, where)
        protocol = is_protocol_agent(agent)
        system = config.get("system_message")
        if system is None and agent._system_messages:
            system = agent._system_messages[0].content
        if len(agent._system_messages) > 1:
            report.add(where, "only the first system message is carried over")
        iterations = int(config.get("max_tool_iterations", agent._max_tool_iterations))
        reflect = bool(config.get("reflect_on_tool_use", agent._reflect_on_tool_use))
        max_steps = iterations + 1 if reflect else iterations
        if reflect:
            report.add(
                where,
                "reflect_on_tool_use: after the last tool round AutoGen makes one more "
                "model call without tools; approximated as max_steps = max_tool_iterations + 1",
                "approximated",
            )
        elif not protocol:
            report.add(
                where,
                f"after {iterations} tool round(s) AutoGen answers with a tool-call "
                "summary instead of a model reply; the protocol records that as max_steps",
                "approximated",
            )
        self._unexpressed(agent, config, where)
        extra = _nex_metadata(agent)
        limits = Limits(
            max_steps=max_steps,
            tool_timeout_s=extra.get("tool_timeout_s", Limits().tool_timeout_s),
            max_model_retries=extra.get("max_model_retries", 0),
            max_output_retries=getattr(agent, "max_output_retries", Limits().max_output_retries),
        )
        output_schema = self._output_schema(agent, protocol, f"{where}.output_content_type")
        tools, subs = self._tools(agent, where)
        subs += self._handoffs(agent, where)
        client = agent._model_client
        parallel = (
            client.parallel_tool_calls if isinstance(client, NexChatCompletionClient) else True
        )
        return AgentSpec(
            name=self.names.of(agent),
            description=agent.description,
            system_prompt=system or "",
            model=model_settings(client, report, where),
            tools=tools,
            sub_agents=subs,
            limits=limits,
            parallel_tool_calls=parallel,
            output_schema=output_schema,
            extensions=extra.get("extensions", {}),
        )

    def _output_schema(
        self, agent: AssistantAgent, protocol: bool, where: str
    ) -> dict[str, Any] | None:
        """``output_content_type`` as the JSON Schema of the answer."""
        kind = agent._output_content_type
        if kind is None:
            return None
        schema = schema_of_model(kind)
        if schema is None:
            self.report.add(where, f"answer type {kind!r} has no JSON Schema; not carried")
            return None
        if not is_schema_model(kind):
            self.report.add(
                where,
                f"the answer's Python type ({kind.__name__}) becomes its JSON Schema; "
                "recordings hold the answer as JSON",
                "info",
            )
        if agent._output_content_type_format:
            self.report.add(
                where, "output_content_type_format (the answer's text template) is not carried"
            )
        if not protocol:
            self.report.add(
                where,
                "AutoGen ends the run on an answer that fails the type; the spec's agent feeds "
                "it back to the model (limits.max_output_retries)",
                "approximated",
            )
        return schema

    def _unexpressed(self, agent: AssistantAgent, config: Mapping[str, Any], where: str) -> None:
        report = self.report
        if not isinstance(agent._model_context, UnboundedChatCompletionContext):
            report.add(
                where,
                f"model context {type(agent._model_context).__name__} (the protocol "
                "sends the whole history)",
            )
        if agent._memory:
            report.add(where, "memory stores are not part of the protocol")
        if (
            agent._tool_call_summary_format != DEFAULT_SUMMARY_FORMAT
            or agent._tool_call_summary_formatter
        ):
            report.add(where, "custom tool-call summary format")
        if agent._model_client_stream:
            report.add(
                where, "model_client_stream: the protocol does not say whether to stream", "info"
            )

    # ----------------------------------------------------------------- tools

    def _tools(
        self, agent: AssistantAgent, where: str
    ) -> tuple[list[ToolSpec], list[SubAgentSpec]]:
        tools: list[ToolSpec] = []
        subs: list[SubAgentSpec] = []
        for wb in agent._workbench:
            if not isinstance(wb, StaticWorkbench):
                self.report.add(
                    f"{where}.workbench",
                    f"{type(wb).__name__}: its tools are listed by "
                    "a server at run time and are not converted",
                )
                continue
            if wb._tool_overrides:
                self.report.add(
                    f"{where}.workbench", "tool name/description overrides are not kept"
                )
            for tool in wb._tools:
                if isinstance(tool, TaskRunnerTool):
                    # at the child's path: its name, which is the tool's unless they clashed
                    child = self.names.of(tool._task_runner, tool.name)
                    sub = self._sub_agent(tool, f"{where}.{child}")
                    if sub is not None:
                        subs.append(sub)
                else:
                    tools.append(self._tool(tool, f"{where}.{tool.name}"))
        return tools, subs

    def _tool(self, tool: BaseTool[Any, Any], where: str) -> ToolSpec:
        if isinstance(tool, SchemaTool):
            return tool.spec.model_copy(deep=True)
        schema = tool.schema
        parameters = dict(schema.get("parameters") or {"type": "object", "properties": {}})
        if isinstance(tool, FunctionTool):
            func = tool._func
            path = _import_path(func)
            if path is not None:
                binding: ImportBinding | CallableBinding = ImportBinding(path=path)
            else:
                binding = CallableBinding(ref=f"{func.__module__}.{func.__qualname__}", func=func)
                self.report.add(
                    where,
                    "function is not importable by path; bound in-process (not serialisable)",
                    "approximated",
                )
        else:
            binding = CallableBinding(ref=f"autogen:{tool.name}", func=_runner_of(tool))
            self.report.add(
                where,
                f"{type(tool).__name__} is bound in-process (not serialisable)",
                "approximated",
            )
        return ToolSpec(
            name=tool.name, description=tool.description, parameters=parameters, binding=binding
        )

    def _sub_agent(self, tool: TaskRunnerTool, where: str) -> SubAgentSpec | None:
        runner = tool._task_runner
        if isinstance(runner, Swarm):
            child = _swarm(runner, self.report, self.names, where)
        elif isinstance(runner, AssistantAgent):
            child = _Converter(self.report, self.names).agent(runner, where)
        else:
            self.report.add(
                where,
                f"{type(runner).__name__} used as a tool: a team cannot be a protocol sub-agent",
            )
            return None
        if not isinstance(tool, ProtocolAgentTool | ProtocolTeamTool):
            if not tool._return_value_as_last_message:
                self.report.add(
                    where,
                    "the tool returns the child's whole transcript; the "
                    "protocol returns its final answer",
                    "approximated",
                )
            self.report.add(
                where,
                "the child keeps its history between calls; the protocol starts it fresh",
                "approximated",
            )
        default_description = child.description or f"Ask the agent {child.name}."
        return SubAgentSpec(
            mode=ContextMode.TOOL,
            agent=child,
            tool_name=None if tool.name == child.name else tool.name,
            description=None if tool.description == default_description else tool.description,
        )

    def _handoffs(self, agent: AssistantAgent, where: str) -> list[SubAgentSpec]:
        subs = []
        for name, handoff in (agent._handoffs or {}).items():
            target = handoff.target
            here = f"{where}.{name}"
            if target in self._visiting:
                self.report.add(
                    here,
                    f"handoff back to '{target}': the protocol's handoffs form "
                    "a tree, so a cycle cannot be expressed",
                )
                continue
            peer = self.peers.get(target)
            if not isinstance(peer, AssistantAgent):
                self.report.add(
                    here, f"handoff to '{target}', which is not an AssistantAgent in the same Swarm"
                )
                continue
            child = self.agent(peer, f"{where}->{target}")
            if handoff.message != f"Transferred to {target}.":
                self.report.add(
                    here,
                    f"handoff result {handoff.message!r}; the protocol returns "
                    f"'Transferred to {target}.'",
                    "approximated",
                )
            default = f"Hand the conversation over to {target}. {child.description}".strip()
            subs.append(
                SubAgentSpec(
                    mode=ContextMode.HANDOFF,
                    agent=child,
                    tool_name=None if name == f"transfer_to_{target}" else name,
                    description=None if handoff.description == default else handoff.description,
                )
            )
        return subs


def _runner_of(tool: BaseTool[Any, Any]) -> Any:
    async def call(**arguments: Any) -> Any:
        return await tool.run_json(arguments, CancellationToken())

    return call


# --------------------------------------------------------------------------- teams


def _termination(team: BaseGroupChat, report: ConversionReport) -> Termination:
    where = f"{team.name}.termination"
    max_turns: int | None = team._max_turns
    text: str | None = None
    pending = [team._termination_condition] if team._termination_condition is not None else []
    while pending:
        condition = pending.pop()
        parts = getattr(condition, "_conditions", None)
        if parts is not None:
            if type(condition).__name__.startswith("And"):
                report.add(
                    where, "an AND of conditions is approximated as either one", "approximated"
                )
            pending += list(parts)
        elif isinstance(condition, TextMentionTermination):
            text = condition._termination_text
        elif isinstance(condition, MaxMessageTermination):
            turns = max(1, condition._max_messages - 1)
            max_turns = turns if max_turns is None else min(max_turns, turns)
            report.add(
                where,
                f"MaxMessageTermination({condition._max_messages}) counts the task "
                f"message too: max_turns={turns}",
                "info",
            )
        else:
            report.add(where, f"{type(condition).__name__} has no protocol equivalent")
    if max_turns is None:
        report.add(
            where, "no turn limit: the protocol's default max_turns=10 applies", "approximated"
        )
        max_turns = Termination().max_turns
    return Termination(max_turns=max_turns, text_mention=text)


def _team(team: BaseGroupChat, report: ConversionReport, names: AgentNames) -> TeamSpec:
    members = []
    for p in team._participants:
        if isinstance(p, AssistantAgent):
            members.append(_Converter(report, names).agent(p, f"{team.name}.{p.name}"))
        else:
            report.add(f"{team.name}.{p.name}", f"participant {type(p).__name__} is not converted")
    if not members:
        raise AdapterError(f"team '{team.name}' has no AssistantAgent participant to convert")
    spec: dict[str, Any] = {
        "name": team.name,
        "description": ""
        if team.description == getattr(type(team), "DEFAULT_DESCRIPTION", None)
        else team.description,
        "members": members,
        "termination": _termination(team, report),
    }
    if isinstance(team, SelectorGroupChat):
        spec["speaker_selection"] = "model"
        selector = model_settings(team._model_client, report, f"{team.name}.selector")
        spec["selector_model"] = None if selector == members[0].model else selector
        if team._selector_prompt != SELECTOR_PROMPT:
            report.add(
                team.name,
                "selector_prompt: the protocol's speaker selection writes its own prompt",
                "approximated",
            )
        if not team._allow_repeated_speaker:
            report.add(
                team.name,
                "allow_repeated_speaker=False: the protocol lets a speaker repeat",
                "approximated",
            )
        if team._selector_func is not None or team._candidate_func is not None:
            report.add(team.name, "selector_func / candidate_func are not part of the protocol")
    elif type(team).__name__ != "RoundRobinGroupChat":
        report.add(
            team.name, f"{type(team).__name__} is converted as a round-robin team", "approximated"
        )
    return TeamSpec(**spec)


def _swarm(
    swarm: Swarm, report: ConversionReport, names: AgentNames, where: str | None = None
) -> AgentSpec:
    where = where or swarm.name
    agents = [p for p in swarm._participants if isinstance(p, AssistantAgent)]
    if not agents:
        raise AdapterError(f"Swarm '{swarm.name}' has no AssistantAgent participant to convert")
    converter = _Converter(report, names, peers={a.name: a for a in agents})
    root = converter.agent(agents[0], f"{where}.{agents[0].name}")
    reached = {a.name for a in root.walk()}
    for a in agents[1:]:
        if a.name not in reached:
            report.add(f"{where}.{a.name}", "participant no handoff reaches from the first speaker")
    condition = swarm._termination_condition
    ours = isinstance(condition, FunctionalTermination) and condition._func is answered
    if not ours:
        report.add(
            f"{where}.termination",
            "the protocol ends a handoff chain when an agent "
            "answers instead of handing off; the Swarm's own termination is not kept",
            "approximated",
        )
    return root
