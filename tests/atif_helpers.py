"""Generated trajectories for the ATIF round trip (tests/test_atif.py): a hypothesis strategy that
records runs the way the native runtime does (through the Recorder), with parallel tool calls,
tool errors, malformed arguments, model-call errors, sub-agents as tools nested two deep,
handoffs, several user turns, resume values, rebuilt contexts, token ids and rewards."""

from __future__ import annotations

import itertools
import json
from typing import Any

from hypothesis import strategies as st

from nex_core.trajectory.recorder import Recorder
from nex_core.trajectory.schema import (
    LLMRequest,
    LLMResponse,
    Message,
    Outcome,
    OutcomeStatus,
    Provenance,
    TaskInfo,
    Tokens,
    ToolCall,
    ToolSchema,
    Trajectory,
    Usage,
)

TOOLS = [ToolSchema(name=n, description=f"the {n} tool") for n in ("add", "search", "clock")]
words = st.text(alphabet="abcdefgh xyz", min_size=1, max_size=12)
results = st.one_of(
    words, st.integers(-5, 99), st.dictionaries(words, st.integers(0, 9), max_size=2)
)


@st.composite
def calls(draw: Any, depth: int) -> list[dict[str, Any]]:
    kinds = ["ok", "error", "malformed"] + (["subagent"] if depth < 2 else [])
    return draw(
        st.lists(
            st.fixed_dictionaries(
                {"kind": st.sampled_from(kinds), "tool": st.sampled_from(TOOLS), "result": results,
                 "arguments": st.dictionaries(words, st.integers(0, 9), max_size=2)}
            ),
            max_size=3,
        )
    )


@st.composite
def invocations(draw: Any, depth: int = 0) -> dict[str, Any]:
    rounds = draw(st.lists(calls(depth), max_size=2))
    children = [draw(invocations(depth + 1)) for r in rounds for c in r if c["kind"] == "subagent"]
    return {
        "agent": f"agent{depth}{draw(st.sampled_from('abc'))}",
        "rounds": rounds,
        "children": children,
        "retry": draw(st.booleans()),
        "rebuild": draw(st.booleans()),
        "tokens": draw(st.booleans()),
        "reasoning": draw(st.one_of(st.none(), words)),
        "answer": draw(words),
        "reward": draw(st.one_of(st.none(), st.floats(-1, 1, allow_nan=False))),
    }


@st.composite
def plans(draw: Any) -> dict[str, Any]:
    return {
        "root": draw(invocations()),
        "turns": draw(st.lists(words, min_size=1, max_size=2)),
        "handoff": draw(st.one_of(st.none(), invocations(depth=2))),
        "resume": draw(st.one_of(st.none(), st.dictionaries(words, st.integers(0, 9), max_size=2))),
        "rewards": draw(st.dictionaries(st.sampled_from(["task", "judge"]),
                                        st.floats(0, 1, allow_nan=False), max_size=2)),
    }


class _Builder:
    def __init__(self) -> None:
        self.recorder = Recorder(
            provenance=Provenance(framework="gen", adapter="gen", nex_version="0", model="m"),
            task=TaskInfo(id="gen"), root_agent="agent0",
        )
        self.ids = itertools.count(1)
        self.token = itertools.count(1000)

    def llm(
        self, agent: str, history: list[Message], response: Message | None, spec: dict[str, Any]
    ) -> None:
        rec = self.recorder
        step = rec.begin_llm(agent=agent, model="m", request=LLMRequest(
            messages=list(history), tools=list(TOOLS), params={"temperature": 0}))
        if response is None:
            rec.end_llm(step, None, error=TimeoutError("the model did not answer"))
            return
        tokens = None
        if spec["tokens"]:
            prompt = [next(self.token) for _ in range(3 * len(history))]
            completion = [next(self.token) for _ in range(4)]
            tokens = Tokens(prompt_token_ids=prompt, completion_token_ids=completion,
                            logprobs=[-0.5] * len(completion))
        if spec["reward"] is not None:
            step.rewards = {"format": spec["reward"]}
        prompt_n = len(tokens.prompt_token_ids or []) if tokens else 5
        usage = Usage(prompt_tokens=prompt_n, completion_tokens=4, total_tokens=prompt_n + 4)
        rec.end_llm(step, LLMResponse(message=response, finish_reason="stop", tokens=tokens,
                                      usage=usage))

    def invocation(self, spec: dict[str, Any], history: list[Message]) -> str:
        """Record one agent's conversation (the recorder's current parent holds it)."""
        agent = spec["agent"]
        children = iter(spec["children"])
        if spec["retry"]:
            self.llm(agent, history, None, spec)
        for batch in spec["rounds"]:
            tool_calls = []
            for c in batch:
                call_id = f"call_{next(self.ids)}"
                arguments = "{oops" if c["kind"] == "malformed" else json.dumps(c["arguments"])
                tool_calls.append((c, ToolCall.make(call_id, c["tool"].name, arguments)))
            message = Message.assistant(None, [t for _, t in tool_calls] or None,
                                        reasoning=spec["reasoning"])
            self.llm(agent, history, message, spec)
            history = [*history, message]
            for c, call in tool_calls:
                history.append(Message.tool(call.id, self.tool(agent, c, call, children)))
            if spec["rebuild"] and len(history) > 3:  # a context rebuilt from its ends
                history = [history[0], history[-1]]
        final = Message.assistant(spec["answer"])
        self.llm(agent, history, final, spec)
        return spec["answer"]

    def tool(self, agent: str, c: dict[str, Any], call: ToolCall, children: Any) -> str:
        rec = self.recorder
        malformed = c["kind"] == "malformed"
        step = rec.begin_tool(agent=agent, call_id=call.id, name=call.function.name,
                              arguments=call.function.arguments)
        if c["kind"] in ("error", "malformed"):
            why = ValueError("invalid arguments" if malformed else "the tool failed")
            rec.end_tool(step, error=why)
            return f"Error: {why}"
        if c["kind"] == "subagent":
            child = next(children)
            with rec.under(step.id):
                sub = rec.begin_subagent(agent=agent, child=child["agent"], mode="tool",
                                         call_id=call.id, input=[Message.user("do it")])
                with rec.under(sub.id):
                    start = [Message.system("child"), Message.user("do it")]
                    output = self.invocation(child, start)
                rec.end_subagent(sub, output=output)
            rec.end_tool(step, result=output)
            return output
        rec.end_tool(step, result=c["result"])
        value = c["result"]
        return value if isinstance(value, str) else json.dumps(value)


def build(plan: dict[str, Any]) -> Trajectory:
    """The trajectory of ``plan``, recorded as the runtime records one."""
    b = _Builder()
    rec = b.recorder
    history = [Message.system("You are root.")]
    answer = ""
    for number, turn in enumerate(plan["turns"]):
        if number and plan.get("resume") is not None:  # a paused run resumed with a value
            rec.input(agent="agent0", value=plan["resume"], mode="resume")
        history = [*history, Message.user(turn)]
        answer = b.invocation(plan["root"], history)
        history = [*history, Message.assistant(answer)]
    if plan["handoff"] is not None:
        handoff = plan["handoff"]
        call = ToolCall.make(f"call_{next(b.ids)}", "transfer", {})
        b.llm("agent0", history, Message.assistant(None, [call]), plan["root"])
        tool = rec.begin_tool(agent="agent0", call_id=call.id, name="transfer", arguments="{}")
        rec.end_tool(tool, result="transferred")
        sub = rec.begin_subagent(agent="agent0", child=handoff["agent"], mode="handoff",
                                 call_id=call.id, input=list(history))
        with rec.under(sub.id):
            answer = b.invocation(handoff, [Message.system("taken over"), *history[1:]])
        rec.end_subagent(sub, output=answer)
    return rec.finish(Outcome(status=OutcomeStatus.COMPLETED, final_output=answer,
                              rewards=dict(plan["rewards"])))
