"""Checking one generated bundle the way nex itself would use it, so nothing unusable is kept.

In order: the reply parses as a bundle; its files are written and loaded by nex's own loader
(sub-agent references, cycles, unknown fields, tool formats); every agent name is unique and
every file reachable from the root; every tool has a JSON Schema object for its arguments and a
binding that is real (a catalog MCP server tool or import path) or simulated; the bindings
resolve; and a dry run on the scripted model (a script derived from the spec:
:mod:`nex_core.synth.scripts`) completes with every tool answering. Each problem is one line the
generator is shown when it is asked to repair its output.
"""

from __future__ import annotations

import copy
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from nex_core.errors import NexError, SpecError
from nex_core.protocol.spec import (
    AgentSpec,
    CallableBinding,
    ImportBinding,
    MCPBinding,
    SimulatedBinding,
    TeamSpec,
)
from nex_core.runtime.mcp import MCPPool
from nex_core.synth.bundle import Bundle, parse_bundle
from nex_core.synth.catalog import ResolvedCatalog
from nex_core.synth.scripts import NoExample, derived_script
from nex_core.trajectory.schema import OutcomeStatus, TaskInfo, ToolStep, Trajectory

_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's when PyYAML has it


def dump_yaml(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True)


WIRING_ERRORS = frozenset(
    {"UnknownTool", "InvalidArguments", "ToolBindingError", "ModelError", "ScriptExhausted",
     "SubAgentFailed"}
)  # fmt: skip
"""Tool-step errors in the dry run that mean the system is wired wrong (a real tool refusing an
example argument is only a warning)."""


class BundleProblems(NexError):
    """A bundle failed its checks; ``problems`` are what the generator is told."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass
class Checked:
    """A bundle that passed every check, with what was built from it."""

    bundle: Bundle
    spec: AgentSpec | TeamSpec
    folder: Path
    """Where its spec files were written (and loaded from)."""
    dry_run: Trajectory
    warnings: list[str] = field(default_factory=list)


def _spec_problems(exc: SpecError, folder: Path) -> list[str]:
    text = str(exc).replace(f"{folder}/", "").replace(str(folder), ".")
    return [line.strip() for line in text.splitlines() if line.strip()]


def _walk(data: Any) -> Any:
    """Every mapping inside ``data``, depth first."""
    if isinstance(data, dict):
        yield data
        for value in data.values():
            yield from _walk(value)
    elif isinstance(data, list):
        for value in data:
            yield from _walk(value)


def _refs(document: Any) -> list[str]:
    return [m["ref"] for m in _walk(document) if isinstance(m.get("ref"), str)]


def _used_servers(files: dict[str, dict[str, Any]]) -> set[str]:
    return {
        str(m["binding"]["server"])
        for doc in files.values()
        for m in _walk(doc)
        if isinstance(m.get("binding"), dict) and "server" in m["binding"]
    }


def _prepare_files(bundle: Bundle, catalog: ResolvedCatalog) -> tuple[dict[str, Any], list[str]]:
    """The files as written: the catalog's servers the tools use declared where they run."""
    problems = []
    files = copy.deepcopy(bundle.files)  # the bundle stays as the generator wrote it
    for name, doc in files.items():
        if any("mcp_servers" in m for m in _walk(doc)):
            problems.append(
                f"{name}: do not declare mcp_servers; bind tools to the catalog's servers by name"
            )
    used = _used_servers(files)
    unknown = sorted(used - set(catalog.servers))
    for server in unknown:
        known = ", ".join(sorted(catalog.servers)) or "none"
        problems.append(f"a tool is bound to MCP server '{server}', which is not in the catalog "
                        f"(catalog servers: {known}); bind to a catalog tool or simulate it")
    servers = {s: catalog.servers[s].model_dump(mode="json", exclude_defaults=True)
               for s in sorted(used & set(catalog.servers))}  # fmt: skip
    if servers:
        root = files[bundle.root]
        if root.get("kind") == "team":
            for member in root.get("members") or []:
                if isinstance(member, dict):
                    member["mcp_servers"] = servers
        else:
            root["mcp_servers"] = servers
    return files, problems


def _reachability(bundle: Bundle) -> list[str]:
    seen: set[str] = set()
    todo = [bundle.root]
    while todo:
        name = todo.pop()
        if name in seen or name not in bundle.files:
            continue
        seen.add(name)
        todo += _refs(bundle.files[name])
    return [f"{name}: not reachable from the root '{bundle.root}' (refer to it or drop it)"
            for name in sorted(set(bundle.files) - seen)]  # fmt: skip


def _tool_problems(spec: AgentSpec | TeamSpec, catalog: ResolvedCatalog) -> list[str]:
    problems = []
    names = [a.name for a in spec.walk()]
    for repeated in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"agent name '{repeated}' is used by {names.count(repeated)} agents; "
                        "names must be unique in the system (one file per agent)")
    for agent in spec.walk():
        for tool in agent.tools:
            where = f"agent '{agent.name}', tool '{tool.name}'"
            binding = tool.binding
            if isinstance(binding, CallableBinding):
                problems.append(f"{where}: a callable binding cannot be bound from a file; "
                                "use a catalog tool or {kind: simulated}")
            elif isinstance(binding, ImportBinding) and binding.path not in catalog.import_paths:
                problems.append(f"{where}: import path '{binding.path}' is not in the catalog; "
                                "use a catalog tool or {kind: simulated}")
            elif isinstance(binding, MCPBinding) and binding.server in catalog.servers:
                if catalog.mcp_tool(binding.server, binding.tool or tool.name) is None:
                    problems.append(f"{where}: MCP server '{binding.server}' has no tool "
                                    f"'{binding.tool or tool.name}'")
            elif isinstance(binding, SimulatedBinding) and binding.model is not None:
                problems.append(f"{where}: leave the simulated binding's 'model' out "
                                "(the run's model plays the tool)")
            if tool.parameters is None:
                if not isinstance(binding, MCPBinding):
                    problems.append(f"{where}: 'parameters' (a JSON Schema object) is missing")
                continue
            problems += _schema_problems(where, tool.parameters)
    return problems


def _schema_problems(where: str, schema: dict[str, Any]) -> list[str]:
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        path = "/".join(str(p) for p in exc.path) or "(top)"
        return [f"{where}: 'parameters' is not a valid JSON Schema at {path}: {exc.message}"]
    if schema.get("type") != "object":
        return [f"{where}: 'parameters' must be a JSON Schema with type: object "
                f"(found type: {schema.get('type')!r})"]
    return []


async def _dry_run(
    spec: AgentSpec | TeamSpec, bundle: Bundle, warnings: list[str], pool: MCPPool | None
) -> tuple[Trajectory | None, list[str]]:
    from nex_core.models.scripted import ScriptedModel
    from nex_core.runtime.loop import run_native
    from nex_core.runtime.simulated import mark_simulated, simulated_tools

    task = bundle.tasks[0]
    answer = task.expected or "Done."
    try:
        script = derived_script(spec, answer, task.prompt)
    except NoExample as exc:
        return None, [f"a tool's parameters admit no simple example ({exc}); give the "
                      "parameter 'examples: [...]'"]
    model = ScriptedModel(script)
    with simulated_tools(model):
        trajectory = await run_native(
            spec, TaskInfo(id="dry-run", turns=[task.prompt]), model=model, mcp_pool=pool
        )
    mark_simulated(trajectory, spec)
    problems: list[str] = []
    for step in trajectory.steps:
        if isinstance(step, ToolStep) and step.error is not None:
            message = f"dry run: agent '{step.agent}', tool '{step.name}' failed: " \
                      f"{step.error.type}: {step.error.message}"
            (problems if step.error.type in WIRING_ERRORS else warnings).append(message)
    outcome = trajectory.outcome
    assert outcome is not None
    if outcome.status is not OutcomeStatus.COMPLETED:
        error = f": {outcome.error.type}: {outcome.error.message}" if outcome.error else ""
        problems.append(f"dry run: the system stopped with {outcome.status.value} "
                        f"({outcome.stop_reason}){error}")
    elif (outcome.final_output or "").strip() != answer.strip():
        warnings.append(f"dry run: final answer {outcome.final_output!r}, scripted {answer!r}")
    return trajectory, problems


async def check_reply(
    text: str, catalog: ResolvedCatalog, folder: Path, *, pool: MCPPool | None = None
) -> Checked:
    """Check a generator reply, writing its spec files into ``folder`` (emptied first); the dry
    run takes MCP servers from ``pool`` (else starts its own). Raises :class:`BundleProblems`
    listing everything wrong that could be found."""
    try:
        bundle = parse_bundle(text)
    except SpecError as exc:
        raise BundleProblems([line.strip() for line in str(exc).splitlines()]) from None
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    files, problems = _prepare_files(bundle, catalog)
    problems += _reachability(bundle)
    for name, doc in files.items():
        (folder / name).write_text(dump_yaml(doc), encoding="utf-8")
    from nex_core.protocol.loader import load_spec

    try:
        spec = load_spec(folder / bundle.root)
    except SpecError as exc:
        raise BundleProblems(problems + _spec_problems(exc, folder)) from None
    problems += _tool_problems(spec, catalog)
    if not problems:
        from nex_core.runtime.tools import resolve_bindings

        try:
            resolve_bindings(spec)
        except SpecError as exc:
            problems += _spec_problems(exc, folder)
    if problems:
        raise BundleProblems(problems)
    warnings: list[str] = []
    trajectory, problems = await _dry_run(spec, bundle, warnings, pool)
    if problems or trajectory is None:
        raise BundleProblems(problems)
    return Checked(bundle, spec, folder, trajectory, warnings)
