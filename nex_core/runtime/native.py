"""The native runtime's loop: the reference implementation of the nex protocol.

The ReAct loop is :meth:`NativeRun.run_agent`: call the model, record, run the tools it asked for
(concurrently), record, then stop or go on. Everything else here is how sub-agents, handoffs and
teams compose that loop. A run of a spec starts at :func:`nex_core.runtime.loop.run_native`.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from nex_core.errors import ModelError, NexError, StructuredOutputError, ToolFormatError
from nex_core.models.base import ChatModel
from nex_core.protocol.approval import APPROVAL_STOP_REASON
from nex_core.protocol.spec import AgentSpec, MCPBinding, TeamSpec
from nex_core.runtime import approval
from nex_core.runtime.mcp import MCPPool
from nex_core.runtime.paused import member_view
from nex_core.runtime.results import (
    AgentResult,
    CarriedCall,
    ChildRun,
    SubAgentFailed,
    _CallResult,
    paused_below,
)
from nex_core.runtime.structured import feedback_text, parse_output, response_format
from nex_core.runtime.tools import (
    InvalidArguments,
    ToolHandle,
    UnknownTool,
    describe_error,
    result_text,
    tool_handles,
    validate_arguments,
)
from nex_core.toolformats import ToolCallFormat, get_format
from nex_core.trajectory import _build
from nex_core.trajectory.recorder import Recorder, parse_arguments
from nex_core.trajectory.schema import (
    LLMRequest,
    LLMResponse,
    LLMStep,
    Message,
    OutcomeStatus,
    ToolCall,
    ToolSchema,
    ToolStep,
)

MAX_HANDOFF_DEPTH = 32


class NativeRun:
    """State of one run: the model, the recorder and the MCP sessions it shares."""

    def __init__(self, model: ChatModel, recorder: Recorder, mcp: MCPPool) -> None:
        self.model = model
        self.recorder = recorder
        self.mcp = mcp
        self._handles: dict[int, dict[str, ToolHandle]] = {}
        self._formats: dict[str, ToolCallFormat] = {}
        self._system: dict[int, tuple[str, Message]] = {}
        # Per agent: the tool schemas offered and the request params (the same for every call).
        self._offer: dict[
            int, tuple[dict[str, ToolHandle], list[ToolSchema], dict[str, Any], bool]
        ] = {}
        self.approvals = False
        """Whether any tool of the spec needs approval (else the loop never asks)."""

    # ------------------------------------------------------------------ the loop

    async def run_agent(self, agent: AgentSpec, history: list[Message]) -> AgentResult:
        """ReAct: call the model, run its tool calls, feed results back, until it answers."""
        handles = await self.handles(agent)
        fmt = self._text_format(agent)
        invalid_outputs = 0
        for _ in range(agent.limits.max_steps):
            request = self._request(agent, handles, history, fmt)
            response, step = await self._call_model(agent, request)
            history.append(response.message)
            calls, format_error = self._tool_calls(agent, handles, response.message, fmt)
            if fmt is not None:
                step.metadata["tool_format"] = _parse_record(agent, calls, format_error)
            if format_error is not None:
                history.append(Message.user(f"Error: ToolFormatError: {format_error}"))
                continue
            if not calls and agent.output_schema is not None:
                try:
                    value = parse_output(response.message.text(), agent.output_schema)
                except StructuredOutputError as exc:
                    # Fed back like a tool error; past the bound the run fails with it.
                    step.metadata["output_error"] = str(exc)
                    invalid_outputs += 1
                    if invalid_outputs > agent.limits.max_output_retries:
                        raise
                    history.append(Message.user(feedback_text(exc)))
                    continue
                return AgentResult(
                    OutcomeStatus.COMPLETED,
                    json.dumps(value, ensure_ascii=False),  # as every adapter writes it
                    "final_answer",
                    structured_output=value,
                )
            if not calls:
                return AgentResult(OutcomeStatus.COMPLETED, response.message.text(), "final_answer")
            if self.approvals and (pending := approval.pending(agent, handles, calls)):
                # Before any call of the batch runs: the resume runs the whole batch.
                return AgentResult(
                    OutcomeStatus.INTERRUPTED, None, APPROVAL_STOP_REASON, pending=pending
                )
            results = await self._run_calls(agent, handles, calls)
            if self.approvals and (pending := paused_below(results)):
                return AgentResult(
                    OutcomeStatus.INTERRUPTED, None, APPROVAL_STOP_REASON, pending=pending
                )
            if fmt is not None:  # in the family's roles: a user turn, or tool/ipython turns
                history.extend(
                    fmt.result_messages([(r.call.name, r.call.id, r.text) for r in results])
                )
            else:
                for r in results:
                    history.append(_build.tool_message(r.call.id, r.text))
            if (ended := _ending(agent, results)) is not None:
                return ended
        return AgentResult(OutcomeStatus.MAX_STEPS, None, "max_steps")

    # ------------------------------------------------------------------ composition

    async def converse(
        self, agent: AgentSpec, history: list[Message], depth: int = 0
    ) -> tuple[AgentResult, AgentSpec]:
        """Run ``agent`` and follow handoffs; returns the result and the agent that answered."""
        result = await self.run_agent(agent, history)
        if result.handoff_to is None:
            return result, agent
        if depth >= MAX_HANDOFF_DEPTH:
            raise NexError(f"more than {MAX_HANDOFF_DEPTH} consecutive handoffs; stopping")
        child = result.handoff_to.child
        with self.recorder.subagent(
            agent=agent.name,
            child=child.name,
            mode="handoff",
            call_id=result.handoff_call_id,
            input=list(history),
        ) as step:
            final, answered_by = await self.converse(child, history, depth + 1)
            step.output = final.final_output
        return final, answered_by

    async def run_team(
        self,
        team: TeamSpec,
        transcript: list[Message],
        start: int = 0,
        carried: tuple[AgentSpec, ChildRun] | None = None,
    ) -> AgentResult:
        """Members take turns on a shared transcript until a termination condition holds.

        A resumed run starts at the paused turn ``start``, whose member ``carried`` names and
        carries on (no speaker is chosen again)."""
        stop = team.termination
        last: str | None = None
        for turn in range(start, stop.max_turns):
            go = carried[1] if carried is not None and turn == start else None
            if go is not None and carried is not None:
                member = carried[0]
            else:
                member = await self._next_speaker(team, transcript, turn)
            view = member_view(member.name, transcript)
            with self.recorder.subagent(
                agent=team.name, child=member.name, mode="team_turn", input=list(view)
            ) as step:
                result, _ = await (go() if go is not None else self.converse(member, view))
                step.output = result.final_output
                if result.pending:  # the whole run pauses; this turn goes on in the resume
                    approval.close_paused(step, result.pending)
                    result.pending = approval.nest(result.pending, team.name)
            if result.status is not OutcomeStatus.COMPLETED:
                return result
            last = result.final_output or ""
            transcript.append(Message.assistant(last, name=member.name))
            if stop.text_mention and stop.text_mention in last:
                return AgentResult(
                    OutcomeStatus.COMPLETED, last, f"text_mention:{stop.text_mention}"
                )
        return AgentResult(OutcomeStatus.COMPLETED, last, "max_turns")

    async def _next_speaker(
        self, team: TeamSpec, transcript: list[Message], turn: int
    ) -> AgentSpec:
        members = {m.name: m for m in team.members}
        if team.speaker_selection == "round_robin":
            return team.members[turn % len(team.members)]
        roles = "\n".join(f"{m.name}: {m.description}" for m in team.members)
        prompt = (
            "You are choosing who speaks next in a conversation. The participants are:\n"
            f"{roles}\nReply with the name of the next speaker only."
        )
        conversation = "\n".join(f"{m.name or m.role}: {m.text()}" for m in transcript)
        request = LLMRequest(messages=[Message.system(prompt), Message.user(conversation)])
        fake_agent = AgentSpec(name=team.name, model=team.selector_model or team.members[0].model)
        response, _ = await self._call_model(fake_agent, request)
        choice = response.message.text().strip()
        for name, member in members.items():
            if choice == name or name in choice:
                return member
        return team.members[turn % len(team.members)]

    # ------------------------------------------------------------------ model

    def _request(
        self,
        agent: AgentSpec,
        handles: dict[str, ToolHandle],
        history: list[Message],
        fmt: ToolCallFormat | None,
    ) -> LLMRequest:
        offer = self._offer.get(id(agent))
        if offer is None or offer[0] is not handles:
            schemas = [h.schema for h in handles.values()]
            params = agent.model.sampling()
            if agent.output_schema is not None:
                params["response_format"] = response_format(agent.output_schema)
            if fmt is None and schemas and not agent.parallel_tool_calls:
                params["parallel_tool_calls"] = False
            plain = all(type(k) is str for k in params)
            offer = self._offer[id(agent)] = (handles, schemas, params, plain)
        _, schemas, params, plain = offer
        system = agent.system_prompt
        if fmt is not None and schemas:
            system = fmt.system_prompt(system, schemas).strip()
        messages = [self._system_message(agent, system), *history] if system else list(history)
        if plain:
            # Values nex made (messages, schemas) or copied from the spec: each request gets its
            # own lists and params, as validation would have copied them.
            return _build.request(messages, list(schemas) if fmt is None else [], dict(params))
        return LLMRequest(messages=messages, tools=schemas if fmt is None else [], params=params)

    def _system_message(self, agent: AgentSpec, text: str) -> Message:
        # One message object per agent and prompt, as the history's messages are: every request
        # shares it, so the recorder's scrub and the sink's stored form see it once per run.
        cached = self._system.get(id(agent))
        if cached is None or cached[0] != text:
            cached = self._system[id(agent)] = (text, Message.system(text))
        return cached[1]

    async def _call_model(
        self, agent: AgentSpec, request: LLMRequest
    ) -> tuple[LLMResponse, LLMStep]:
        attempts = agent.limits.max_model_retries + 1
        for attempt in range(attempts):
            step = self.recorder.begin_llm(
                agent=agent.name, request=request, model=self.model.model_id
            )
            try:
                response = await self.model.acomplete(
                    request, agent=agent.name, tool_format=agent.tool_format
                )
            except ModelError as exc:
                self.recorder.end_llm(step, error=exc)
                if exc.retryable and attempt + 1 < attempts:
                    continue
                raise
            except BaseException as exc:
                self.recorder.end_llm(step, error=exc)
                raise
            self.recorder.end_llm(step, response)
            return response, step
        raise AssertionError("unreachable")

    def _text_format(self, agent: AgentSpec) -> ToolCallFormat | None:
        """The agent's text format (``None`` for native function calling), from the registry."""
        if not agent.tool_format.is_text:
            return None
        name = agent.tool_format.value
        if name not in self._formats:
            self._formats[name] = get_format(name)
        return self._formats[name]

    def _tool_calls(
        self,
        agent: AgentSpec,
        handles: dict[str, ToolHandle],
        message: Message,
        fmt: ToolCallFormat | None,
    ) -> tuple[list[ToolCall], str | None]:
        """The calls of a reply: structured, or parsed from its text (an error to feed back)."""
        if fmt is None:
            return list(message.tool_calls or []), None
        try:
            _, parsed = fmt.parse(message.text(), [h.schema for h in handles.values()])
        except ToolFormatError as exc:
            return [], str(exc)
        prefix = agent.tool_format.value
        return [
            ToolCall.make(p.call_id or f"{prefix}_call_{i + 1}", p.name, p.arguments)
            for i, p in enumerate(parsed)
        ], None

    # ------------------------------------------------------------------ tools

    async def handles(self, agent: AgentSpec) -> dict[str, ToolHandle]:
        key = id(agent)
        if key not in self._handles:
            handles = tool_handles(agent)
            for handle in handles.values():
                if (
                    handle.kind == "mcp"
                    and handle.tool is not None
                    and handle.tool.parameters is None
                ):
                    binding = handle.tool.binding
                    assert isinstance(binding, MCPBinding)
                    description, schema = await self.mcp.tool_schema(
                        binding.server, binding.tool or handle.tool.name
                    )
                    handle.schema = handle.schema.model_copy(
                        update={
                            "parameters": schema,
                            "description": handle.schema.description or description,
                        }
                    )
            self._handles[key] = handles
        return self._handles[key]

    async def _run_calls(
        self, agent: AgentSpec, handles: dict[str, ToolHandle], calls: list[ToolCall]
    ) -> list[_CallResult]:
        if len(calls) == 1:  # the common batch: no list to build, no comprehension coroutine
            return [await self._run_call(agent, handles, calls[0])]
        if agent.parallel_tool_calls:
            return list(await asyncio.gather(*(self._run_call(agent, handles, c) for c in calls)))
        results = []
        for call in calls:
            results.append(r := await self._run_call(agent, handles, call))
            if r.pending:  # a sub-agent paused: the rest of the batch runs in the resume
                break
        return results

    async def _run_call(
        self,
        agent: AgentSpec,
        handles: dict[str, ToolHandle],
        call: ToolCall,
        carried: CarriedCall | None = None,
    ) -> _CallResult:
        rec = self.recorder
        step = rec.begin_tool(
            agent=agent.name,
            name=call.name,
            call_id=call.id,
            arguments=call.function.arguments,
            metadata=carried.metadata if carried is not None else None,
        )
        handle = handles.get(call.name)
        try:
            if handle is None:
                known = ", ".join(sorted(handles)) or "none"
                raise UnknownTool(f"unknown tool '{call.name}'; available tools: {known}")
            arguments = _tool_arguments(step, call.function.arguments)
            if arguments is None:
                raise InvalidArguments(f"arguments are not a JSON object: {step.raw_arguments!r}")
            validate_arguments(arguments, handle.schema.parameters)
            with rec.under(step.id):
                if handle.kind == "function":  # most calls: one coroutine fewer
                    result = await handle.call_function(arguments)
                else:
                    result = await self._execute(agent, handle, call, arguments, carried)
        except approval.Paused as paused:
            approval.close_paused(step, paused.pending)
            return _CallResult(call, "", False, handle, paused.pending)
        except TimeoutError:
            rec.end_tool(
                step,
                error=TimeoutError(
                    f"tool '{call.name}' timed out after {handle.timeout_s if handle else '?'} s"
                ),
            )
        except Exception as exc:
            rec.end_tool(step, error=exc)
        except BaseException as exc:  # cancellation: record, then let it through
            rec.end_tool(step, error=exc)
            raise
        else:
            rec.end_tool(step, result)
            return _CallResult(call, result_text(result), True, handle)
        assert step.error is not None
        return _CallResult(call, describe_error(step.error), False, handle)

    async def _execute(
        self,
        agent: AgentSpec,
        handle: ToolHandle,
        call: ToolCall,
        arguments: dict[str, Any],
        carried: CarriedCall | None = None,
    ) -> Any:
        if handle.kind == "function":
            return await handle.call_function(arguments)
        if handle.kind == "mcp":
            assert handle.tool is not None and isinstance(handle.tool.binding, MCPBinding)
            binding = handle.tool.binding
            # The timeout bounds the call only: a server (re)started for it has its own.
            name = binding.tool or handle.tool.name
            return await self.mcp.call(binding.server, name, arguments, handle.timeout_s)
        assert handle.sub_agent is not None
        child = handle.sub_agent.child
        if handle.kind == "handoff":
            return f"Transferred to {child.name}."
        task = [Message.user(str(arguments["task"]))]
        with self.recorder.subagent(
            agent=agent.name, child=child.name, mode="tool", call_id=call.id, input=task
        ) as step:
            run = carried.child() if carried is not None else self.converse(child, list(task))
            result, _ = await run
            step.output = result.final_output
            if result.pending:  # closed here: raising inside the block would end it with an error
                approval.close_paused(step, result.pending)
            elif result.status is not OutcomeStatus.COMPLETED:
                raise SubAgentFailed(
                    f"agent '{child.name}' stopped without an answer ({result.stop_reason})"
                )
        if result.pending:
            raise approval.Paused(approval.nest(result.pending, agent.name))
        if child.output_schema is not None:
            return result.structured_output  # the value; the parent reads its JSON text
        return result.final_output or ""


def _tool_arguments(step: ToolStep, text: str) -> dict[str, Any] | None:
    """The arguments to call the tool with: those the recorder parsed from ``text``, when
    nothing in them is mutable (a tool changing a list it was given must not change the
    record), else ``text`` parsed again."""
    arguments = step.arguments
    if arguments is None:
        return None
    if all(type(v) in _SCALARS for v in arguments.values()):
        return dict(arguments)
    parsed, _ = parse_arguments(text)
    return parsed


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _ending(agent: AgentSpec, results: list[_CallResult]) -> AgentResult | None:
    """How a batch's results end the agent's turn, if they do: a handoff first, then a stop
    tool (in the order of the calls)."""
    stop: _CallResult | None = None
    for r in results:
        if not r.ok:
            continue
        if r.handle is not None and r.handle.kind == "handoff":
            return AgentResult(
                OutcomeStatus.COMPLETED,
                None,
                f"handoff:{r.call.name}",
                handoff_to=r.handle.sub_agent,
                handoff_call_id=r.call.id,
            )
        if stop is None and agent.stop_tools and r.call.name in agent.stop_tools:
            stop = r
    if stop is None:
        return None
    return AgentResult(OutcomeStatus.COMPLETED, stop.text, f"stop_tool:{stop.call.name}")


def _parse_record(agent: AgentSpec, calls: list[ToolCall], error: str | None) -> dict[str, Any]:
    """What nex read from a text-format reply, kept on its LLM step: the calls it parsed, or
    the format error that went back to the model instead."""
    record: dict[str, Any] = {"name": agent.tool_format.value}
    if error is not None:
        record["error"] = error
    else:
        record["calls"] = [
            {"id": c.id, "name": c.function.name, "arguments": c.function.arguments} for c in calls
        ]
    return record
