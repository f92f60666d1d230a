"""Properties that must hold for any input, checked with hypothesis.

- a spec survives YAML and JSON unchanged; a trajectory survives JSON unchanged;
- the XML tool-call parser, fed any text, raises nothing but ToolFormatError;
- rendering calls as XML and parsing them gives the calls back.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nex_core.errors import ToolFormatError
from nex_core.protocol import dump_spec, spec_from_data
from nex_core.toolformats import XMLToolFormat
from nex_core.trajectory.schema import (
    ErrorInfo,
    LLMRequest,
    LLMResponse,
    LLMStep,
    Message,
    Outcome,
    OutcomeStatus,
    Provenance,
    StepStatus,
    SubAgentStep,
    TaskInfo,
    ToolCall,
    ToolSchema,
    ToolStep,
    Trajectory,
    Usage,
)

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

names = st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_.-]{0,12}\Z")
texts = st.text(max_size=40)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | texts
    | st.floats(allow_nan=False, allow_infinity=False)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)
json_objects = st.dictionaries(texts, json_values, max_size=3)


# --------------------------------------------------------------------------- specs


@st.composite
def tool_data(draw: st.DrawFn, name: str) -> dict[str, Any]:
    binding = draw(
        st.one_of(
            st.builds(
                lambda m, f: f"{m}.mod:{f}",
                names.filter(lambda n: "." not in n and "-" not in n),
                names.filter(lambda n: "." not in n and "-" not in n),
            ),
            st.builds(lambda s, t: {"server": s, "tool": t}, names, st.none() | names),
        )
    )
    data: dict[str, Any] = {"name": name, "binding": binding, "description": draw(texts)}
    if draw(st.booleans()):
        data["parameters"] = {
            "type": "object",
            "properties": {
                k: {"type": "string"} for k in draw(st.lists(names, max_size=3, unique=True))
            },
        }
    if draw(st.booleans()):
        data["timeout_s"] = draw(st.floats(min_value=0.01, max_value=1e4))
    return data


@st.composite
def agent_data(draw: st.DrawFn, depth: int = 0) -> dict[str, Any]:
    tool_names = draw(st.lists(names, max_size=3, unique=True))
    data: dict[str, Any] = {
        "name": draw(names),
        "description": draw(texts),
        "system_prompt": draw(st.text(max_size=200)),
        "tools": [draw(tool_data(n)) for n in tool_names],
        "limits": {
            "max_steps": draw(st.integers(1, 100)),
            "tool_timeout_s": draw(st.none() | st.floats(min_value=0.1, max_value=600)),
            "max_model_retries": draw(st.integers(0, 5)),
        },
        "parallel_tool_calls": draw(st.booleans()),
        "tool_format": draw(st.sampled_from(["native", "xml"])),
        "extensions": draw(st.dictionaries(names, json_values, max_size=2)),
        "model": {
            "id": draw(st.none() | texts),
            "temperature": draw(st.none() | st.floats(0, 2)),
            "max_tokens": draw(st.none() | st.integers(1, 10**6)),
            "api_key": draw(
                st.none() | names.map(lambda n: f"${{env:{n.replace('.', '_').replace('-', '_')}}}")
            ),
            "extra": draw(st.dictionaries(names, json_values, max_size=2)),
        },
        "mcp_servers": draw(
            st.dictionaries(
                names,
                st.builds(
                    lambda c, a: {"command": c, "args": a}, names, st.lists(texts, max_size=3)
                ),
                max_size=2,
            )
        ),
    }
    if tool_names and draw(st.booleans()):
        data["stop_tools"] = [tool_names[0]]
    if depth < 1:
        children = draw(st.lists(agent_data(depth + 1), max_size=2))
        taken = set(tool_names)
        subs = []
        for child in children:
            mode = draw(st.sampled_from(["tool", "handoff"]))
            tool_name = child["name"] if mode == "tool" else f"transfer_to_{child['name']}"
            if tool_name in taken:
                continue
            taken.add(tool_name)
            subs.append({"mode": mode, "agent": child, "description": draw(st.none() | texts)})
        data["sub_agents"] = subs
    return data


@SETTINGS
@given(agent_data())
def test_spec_survives_yaml_and_json(data: dict[str, Any]) -> None:
    spec = spec_from_data(data)
    assert spec_from_data(yaml.safe_load(dump_spec(spec))) == spec
    assert spec_from_data(json.loads(dump_spec(spec, fmt="json"))) == spec


@SETTINGS
@given(st.lists(agent_data(depth=1), min_size=1, max_size=3, unique_by=lambda a: a["name"]))
def test_team_spec_survives_yaml(members: list[dict[str, Any]]) -> None:
    spec = spec_from_data({"kind": "team", "name": "team", "members": members})
    assert spec_from_data(yaml.safe_load(dump_spec(spec))) == spec


# --------------------------------------------------------------------------- trajectories

T0 = datetime(2025, 1, 1, tzinfo=UTC)
times = st.integers(0, 10**12).map(lambda us: T0 + timedelta(microseconds=us))
tool_calls = st.builds(lambda i, n, a: ToolCall.make(i, n, a), names, names, json_objects | texts)
messages = st.one_of(
    st.builds(Message.system, texts),
    st.builds(Message.user, texts, st.none() | names),
    st.builds(
        lambda t, c, r: Message.assistant(t, c or None, reasoning=r),
        st.none() | texts,
        st.lists(tool_calls, max_size=2),
        st.none() | texts,
    ),
    st.builds(Message.tool, names, texts),
)
errors = st.none() | st.builds(ErrorInfo, type=names, message=texts)
common = {
    "id": names,
    "parent_id": st.none() | names,
    "agent": st.none() | names,
    "started_at": times,
    "ended_at": st.none() | times,
    "status": st.sampled_from(list(StepStatus)),
    "error": errors,
    "metadata": json_objects,
}
steps = st.one_of(
    st.builds(
        LLMStep,
        **common,
        model=st.none() | texts,
        request=st.builds(
            LLMRequest,
            messages=st.lists(messages, max_size=3),
            tools=st.lists(st.builds(ToolSchema, name=names, description=texts), max_size=2),
            params=json_objects,
        ),
        response=st.none()
        | st.builds(
            LLMResponse,
            message=messages,
            finish_reason=st.none() | texts,
            usage=st.none() | st.builds(Usage, prompt_tokens=st.integers(0, 10**6)),
        ),
    ),
    st.builds(
        ToolStep,
        **common,
        call_id=st.none() | names,
        name=names,
        arguments=st.none() | json_objects,
        raw_arguments=st.none() | texts,
        result=json_values,
        latency_ms=st.none() | st.floats(0, 1e6),
    ),
    st.builds(
        SubAgentStep,
        **common,
        child=names,
        mode=st.sampled_from(["tool", "handoff", "team_turn"]),
        call_id=st.none() | names,
        input=st.lists(messages, max_size=2),
        output=st.none() | texts,
    ),
)
trajectories = st.builds(
    Trajectory,
    id=names,
    provenance=st.builds(
        Provenance,
        framework=names,
        adapter=names,
        nex_version=names,
        sampling=json_objects,
        model=st.none() | texts,
    ),
    task=st.builds(TaskInfo, id=st.none() | names, turns=st.lists(texts, max_size=3)),
    root_agent=st.none() | names,
    started_at=times,
    ended_at=st.none() | times,
    steps=st.lists(steps, max_size=4),
    outcome=st.none()
    | st.builds(
        Outcome,
        status=st.sampled_from(list(OutcomeStatus)),
        final_output=st.none() | texts,
        error=errors,
        rewards=st.dictionaries(names, st.floats(-1e6, 1e6)),
        labels=json_objects,
    ),
    metadata=json_objects,
)


@SETTINGS
@given(trajectories)
def test_trajectory_survives_json(traj: Trajectory) -> None:
    again = Trajectory.model_validate_json(traj.to_json())
    assert again == traj
    # to_json writes what pydantic would, but for repeated message prefixes (tests/
    # test_compact_encoding.py checks the stored form itself).
    assert json.loads(again.model_dump_json(exclude_none=True)) == json.loads(
        traj.model_dump_json(exclude_none=True)
    )


@SETTINGS
@given(st.lists(messages, min_size=1, max_size=4), st.integers(1, 4))
def test_shared_messages_serialise_like_pydantic(history: list[Message], rounds: int) -> None:
    # As the runtime records them: each request repeats the same message objects.
    steps = [
        LLMStep(id=f"s{i}", started_at=T0, request=LLMRequest(messages=history[: i + 1]))
        for i in range(rounds)
    ]
    traj = Trajectory(
        id="t",
        provenance=Provenance(framework="f", adapter="a", nex_version="0"),
        started_at=T0,
        steps=steps,
    )
    again = Trajectory.model_validate_json(traj.to_json())
    assert json.loads(again.model_dump_json(exclude_none=True)) == json.loads(
        traj.model_dump_json(exclude_none=True)
    )


# --------------------------------------------------------------------------- XML tool format

XML = XMLToolFormat()
fragments = st.sampled_from(
    [
        "<tool_call",
        "</tool_call>",
        "</tool_call >",
        ' name="',
        " name='",
        '"',
        "'",
        ">",
        "<",
        "{",
        "}",
        '{"a": 1}',
        "&amp;",
        "&quot;",
        "\n",
        " ",
        "x",
        "tool_call",
        "name=",
        "<\\/",
    ]
)
xmlish = st.lists(fragments | st.text(max_size=5), max_size=20).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.text() | xmlish)
def test_xml_parser_raises_only_tool_format_errors(text: str) -> None:
    try:
        prose, calls = XML.parse(text)
    except ToolFormatError:
        return
    assert isinstance(prose, str)
    assert all(isinstance(c.name, str) and isinstance(c.arguments, str) for c in calls)


prose_text = st.text(max_size=60).filter(lambda t: "<tool_call" not in t and "</tool_call" not in t)


@settings(max_examples=200, deadline=None)
@given(prose_text, st.lists(st.tuples(st.text(min_size=1, max_size=20), json_objects), max_size=4))
def test_xml_render_then_parse_gives_the_calls_back(
    text: str, specs: list[tuple[str, dict]]
) -> None:
    calls = [ToolCall.make(f"c{i}", name, args) for i, (name, args) in enumerate(specs)]
    rendered = XML.render_calls(text, calls)
    prose, parsed = XML.parse(rendered)
    assert prose == text.strip()
    assert [p.name for p in parsed] == [c.function.name for c in calls]
    assert [json.loads(p.arguments) for p in parsed] == [args for _, args in specs]
