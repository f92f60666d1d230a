"""nex spec → the source of a Python module that builds it in LangGraph.

The module is runnable as a script (``python agent_langgraph.py "task" --model scripted:s.yaml``)
and importable (``build(model)`` returns the compiled graph). The spec travels inside it as JSON,
so the module needs nothing but nex-langgraph; tools stay bound by their import paths.
"""

from __future__ import annotations

import json

from nex_core.errors import AdapterError
from nex_core.protocol.spec import AgentSpec, CallableBinding, TeamSpec
from nex_langgraph._build import check_buildable

_TEMPLATE = '''"""LangGraph build of the nex agent {name!r}.

Written by `nex convert --to langgraph`.

Run it:    python {{this file}} "your task" --model scripted:script.yaml
Import it: graph = build(make_model("openai:gpt-4o-mini"))
"""

from __future__ import annotations

import argparse
import json

from nex_core import make_model
from nex_core.protocol.loader import spec_from_data
from nex_langgraph import from_spec, run

SPEC = spec_from_data(json.loads({spec_json!r}))


def build(model):
    """The compiled LangGraph graph, driven by a nex model."""
    return from_spec(SPEC, model=model)


def main() -> None:
    parser = argparse.ArgumentParser(description=SPEC.description or SPEC.name)
    parser.add_argument("task", nargs="+", help="user turns, in order")
    parser.add_argument("--model", required=True, help="nex model, e.g. scripted:script.yaml")
    args = parser.parse_args()
    trajectory = run(SPEC, _task(args.task), model=make_model(args.model))
    outcome = trajectory.outcome
    print(outcome.final_output if outcome and outcome.final_output is not None else outcome)


def _task(turns):
    from nex_core import TaskInfo

    return TaskInfo(turns=list(turns))


if __name__ == "__main__":
    main()
'''


def to_code(spec: AgentSpec | TeamSpec) -> str:
    """Source of a module that builds and runs ``spec`` with LangGraph."""
    check_buildable(spec)
    for agent in spec.walk():
        for tool in agent.tools:
            if isinstance(tool.binding, CallableBinding):
                raise AdapterError(
                    f"tool '{tool.name}' of agent '{agent.name}' is an in-process callable; "
                    "generated code can only bind tools by import path"
                )
    data = spec.model_dump(mode="json", exclude_defaults=True)
    data = {"kind": spec.kind, **data}
    return _TEMPLATE.format(name=spec.name, spec_json=json.dumps(data, ensure_ascii=False))
