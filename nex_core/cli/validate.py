"""``nex validate`` (specs with their tool bindings, model scripts, GAP configs, trajectory files)
and ``nex schema``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.markup import escape

from nex_core.cli.output import err_console, fail, ok
from nex_core.cli.params import TextFile

if TYPE_CHECKING:
    from nex_core.protocol.spec import AgentSpec, TeamSpec
    from nex_core.trajectory.reader import BadLine

KINDS = ("auto", "spec", "trajectory", "script", "gap")
SCRIPT_KEYS = frozenset({"model", "replies", "agents"})
GAP_KEYS = frozenset({"tasks", "models", "output"})
SERVER_START_TIMEOUT_S = 30.0
_TOP_LEVEL_KEY = re.compile(r"^([A-Za-z_][\w-]*)\s*:", re.MULTILINE)


def top_level_keys(text: str) -> set[str] | None:
    """The document's top-level keys, without parsing it (a spec can be tens of MB): JSON
    objects through the C parser, YAML mappings from their unindented ``key:`` lines."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except ValueError:
            return None
        return set(data) if isinstance(data, dict) else None
    return set(_TOP_LEVEL_KEY.findall(text)) or None


def detect_kind(path: str) -> str:
    """What ``path`` holds: a trajectory file by its ``.jsonl`` name, else by its content."""
    if path.endswith(".jsonl"):
        return "trajectory"
    keys = top_level_keys(Path(path).read_text(encoding="utf-8"))
    if keys and keys <= SCRIPT_KEYS and keys & {"replies", "agents"}:
        return "script"
    if keys and keys >= GAP_KEYS:
        return "gap"
    return "spec"


# --------------------------------------------------------------------------- bindings


def binding_problems(spec: AgentSpec | TeamSpec) -> list[str]:
    """Every tool binding of ``spec`` that cannot be resolved here, resolved exactly as a run
    resolves them before its first model call (``resolve_bindings``)."""
    from nex_core.errors import ToolBindingError
    from nex_core.runtime.tools import resolve_bindings

    try:
        resolve_bindings(spec)
    except ToolBindingError as exc:
        return [message for _, message in exc.problems] or [exc.summary]
    except Exception as exc:  # a tool's own module failed while importing
        return [f"importing a tool's module raised {type(exc).__name__}: {exc}"]
    return []


async def server_problems(spec: AgentSpec | TeamSpec) -> list[str]:
    """Start every MCP server of ``spec`` and check it serves the tools bound to it."""
    import asyncio

    from nex_core.protocol.spec import MCPBinding
    from nex_core.runtime.mcp import MCPPool

    agents = spec.walk()
    declared = {name: s for agent in agents for name, s in agent.mcp_servers.items()}
    wanted: dict[str, set[str]] = {name: set() for name in declared}
    for agent in agents:
        for tool in agent.tools:
            if isinstance(tool.binding, MCPBinding) and tool.binding.server in wanted:
                wanted[tool.binding.server].add(tool.binding.tool or tool.name)
    problems: list[str] = []
    pool = MCPPool(declared)
    try:
        for name, tools in wanted.items():
            try:
                served = await asyncio.wait_for(pool.list_tools(name), SERVER_START_TIMEOUT_S)
            except TimeoutError:
                problems.append(
                    f"MCP server '{name}': not ready after {SERVER_START_TIMEOUT_S:.0f} s"
                )
                continue
            except Exception as exc:
                problems.append(f"MCP server '{name}': {exc}")
                continue
            missing = tools - {t.name for t in served}
            if missing:
                problems.append(
                    f"MCP server '{name}' does not serve {', '.join(sorted(missing))} "
                    f"(it serves: {', '.join(sorted(t.name for t in served)) or 'nothing'})"
                )
    finally:
        await pool.aclose()
    return problems


# --------------------------------------------------------------------------- commands


@click.command()
@click.argument("file", type=TextFile())
@click.option(
    "--kind",
    type=click.Choice(KINDS),
    default="auto",
    show_default=True,
    help="What FILE holds (auto: .jsonl is a trajectory file, otherwise told by its content).",
)
@click.option(
    "--check-servers",
    is_flag=True,
    help="Also start the spec's MCP servers and check they serve the tools bound to them.",
)
def validate(file: str, kind: str, check_servers: bool) -> None:
    """Check a spec (YAML/JSON) and its tool bindings, a model script, a GAP config, or a
    trajectory file (JSONL)."""
    if kind == "auto":
        kind = detect_kind(file)
    if kind == "trajectory":
        _validate_trajectories(file)
    elif kind == "script":
        from nex_core.models.scripted import Script
        from nex_core.protocol.loader import load_document

        script = load_document(file, Script)
        replies = len(script.replies) + sum(len(r) for r in script.agents.values())
        ok(f"{file}: model script with {replies} replies")
    elif kind == "gap":
        from nex_core.gap.config import load_config

        config = load_config(file, check=False)
        ok(
            f"{file}: GAP config '{config.name}' (`nex gap check` also checks it against what is "
            "installed)"
        )
    else:
        _validate_spec(file, check_servers)


def _validate_trajectories(file: str) -> None:
    from nex_core.trajectory.reader import iter_trajectories

    bad: list[BadLine] = []
    count = sum(1 for _ in iter_trajectories(file, on_error=bad.append))
    for b in bad:
        err_console.print(f"[red]invalid[/red] {escape(str(b))}", highlight=False, soft_wrap=True)
    if bad:
        fail(f"{len(bad)} invalid line(s), {count} valid trajectorie(s) in {file}")
    ok(f"{file}: {count} trajectories")


def _validate_spec(file: str, check_servers: bool) -> None:
    import asyncio

    from nex_core.protocol.loader import load_spec

    spec = load_spec(file)
    problems = binding_problems(spec)
    if check_servers:
        problems += asyncio.run(server_problems(spec))
    if problems:
        details = "".join(f"\n  {p}" for p in problems)
        fail(
            f"{file}: {len(problems)} tool binding(s) cannot be resolved (import paths resolve "
            f"from the current folder and PYTHONPATH, as in `nex run`){details}"
        )
    agents = spec.walk()
    tools = sum(len(a.tools) for a in agents)
    checked = "bindings and servers checked" if check_servers else "bindings checked"
    ok(f"{file}: {spec.kind} '{spec.name}': {len(agents)} agent(s), {tools} tool(s), {checked}")


def _schemas() -> dict[str, Any]:
    from pydantic import TypeAdapter

    from nex_core.gap.config import GapConfig
    from nex_core.models.scripted import Script
    from nex_core.protocol.spec import SystemSpec
    from nex_core.trajectory.schema import Trajectory

    return {
        "agent": lambda: TypeAdapter(SystemSpec).json_schema(),
        "trajectory": Trajectory.model_json_schema,
        "script": Script.model_json_schema,
        "gap": GapConfig.model_json_schema,
    }


@click.command()
@click.argument("what", type=click.Choice(["agent", "trajectory", "script", "gap"]))
def schema(what: str) -> None:
    """Print the JSON Schema of agent specs, trajectories, model scripts or GAP configs."""
    click.echo(json.dumps(_schemas()[what](), indent=2))
