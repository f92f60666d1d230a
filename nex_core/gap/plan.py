"""Episodes: the cells of tasks x agents x backends x models x samples, and their keys.

An episode's key names it across runs: re-running a config skips every key already in the output.
The plan is a generator, so a run over millions of tasks never holds them all in memory.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic_core import from_json, to_json

from nex_core.adapter import Adapter, Capability
from nex_core.errors import Location, PluginError, SpecError, ToolBindingError
from nex_core.gap.config import GapConfig
from nex_core.gap.tasks import Task, iter_tasks
from nex_core.protocol.spec import (
    AgentSpec,
    ContextMode,
    MCPBinding,
    MCPServerSpec,
    TeamSpec,
    ToolFormat,
)


@dataclass(frozen=True, slots=True)
class EpisodeKey:
    task: str
    agent: str
    backend: str
    model: str
    sample: int

    def text(self) -> str:
        """The key as one string: a JSON array, so no field value can forge another key."""
        return json.dumps([self.task, self.agent, self.backend, self.model, self.sample])

    def as_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "agent": self.agent,
            "backend": self.backend,
            "model": self.model,
            "sample": self.sample,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EpisodeKey:
        return cls(
            str(data["task"]),
            str(data["agent"]),
            str(data["backend"]),
            str(data["model"]),
            int(data["sample"]),
        )


@dataclass(frozen=True, slots=True)
class Episode:
    key: EpisodeKey
    task: Task

    def to_json(self) -> str:
        return json.dumps({"key": self.key.as_dict(), "task": self.task.model_dump(mode="json")})

    @classmethod
    def from_json(cls, text: str) -> Episode:
        data = json.loads(text)
        return cls(EpisodeKey.from_dict(data["key"]), Task.model_validate(data["task"]))

    def to_wire(self) -> bytes:
        """The episode as the ``processes`` executor hands it to a worker: the key as a JSON
        array, a tab, the task's JSON. Both by pydantic-core's serialiser (the task's is what
        ``model_dump(mode="json")`` gives, as in :meth:`to_json`): :meth:`to_json` through the
        ``json`` module took 12 µs an episode in the driver, this 1 µs (the worker's parse is
        about the same either way: the task's validation is most of it). JSON escapes every
        control character inside a string, so the first tab is the separator and the line has
        no newline."""
        k = self.key
        return b"%s\t%s" % (to_json((k.task, k.agent, k.backend, k.model, k.sample)),
                             self.task.__pydantic_serializer__.to_json(self.task))

    @classmethod
    def from_wire(cls, data: bytes) -> Episode:
        key, _, task = data.partition(b"\t")
        name, agent, backend, model, sample = from_json(key)
        return cls(EpisodeKey(str(name), str(agent), str(backend), str(model), int(sample)),
                   Task.model_validate_json(task))


def agent_names(
    config: GapConfig, specs: dict[str, AgentSpec | TeamSpec] | None = None
) -> list[str]:
    specs = specs if specs is not None else load_specs(config)
    return list(specs)


def load_specs(config: GapConfig) -> dict[str, AgentSpec | TeamSpec]:
    """Load every agent spec, keyed by the entry's name (default: the spec's own name)."""
    from nex_core.protocol.loader import load_spec

    out: dict[str, AgentSpec | TeamSpec] = {}
    problems: list[tuple[Location, str]] = []
    for i, entry in enumerate(config.agents):
        path = config.path(entry.spec)
        if not path.exists():
            problems.append((config.where("agents", i, "spec"), f"no spec file at {path}"))
            continue
        try:
            spec = load_spec(path)
        except SpecError as exc:
            problems.append((config.where("agents", i, "spec"), str(exc)))
            continue
        name = entry.name or spec.name
        try:
            variants = _format_variants(config, name, spec)
        except ValueError as exc:
            problems.append((config.where("formats"), str(exc)))
            continue
        for variant, variant_spec in variants:
            if variant in out:
                problems.append(
                    (config.where("agents", i), f"two agents are named '{variant}'; set 'name'")
                )
            out[variant] = variant_spec
    if problems:
        raise SpecError(f"{config._source}: agent specs cannot be loaded", problems)
    return out


def iter_all_tasks(config: GapConfig) -> Iterator[Task]:
    seen: set[str] = set()
    for source in config.tasks:
        for task in iter_tasks(config.path(source)):
            if task.id in seen:
                raise SpecError(
                    f"task id '{task.id}' appears twice (in {source}); ids must be unique"
                )
            seen.add(task.id)
            yield task


def _format_variants(
    config: GapConfig, name: str, spec: AgentSpec | TeamSpec
) -> list[tuple[str, AgentSpec | TeamSpec]]:
    """The agent once, or once per entry of the config's ``formats`` axis, named NAME/FORMAT,
    with every agent of the system invoking tools in that format."""
    if not config.formats:
        return [(name, spec)]
    out: list[tuple[str, AgentSpec | TeamSpec]] = []
    for fmt in config.formats:
        variant = spec.model_copy(deep=True)
        for agent in variant.walk():
            agent.tool_format = ToolFormat.known(fmt)
        out.append((f"{name}/{fmt}", variant))
    return out


def required_capabilities(spec: AgentSpec | TeamSpec) -> set[Capability]:
    """What an adapter must declare to run ``spec`` faithfully."""
    need: set[Capability] = set()
    if isinstance(spec, TeamSpec):
        need.add(
            Capability.TEAMS_ROUND_ROBIN
            if spec.speaker_selection == "round_robin"
            else Capability.TEAMS_SELECTOR
        )
    for agent in spec.walk():
        if any(isinstance(t.binding, MCPBinding) for t in agent.tools):
            need.add(Capability.MCP_TOOLS)
        if agent.tool_format.is_text:
            need.add(Capability.TEXT_TOOL_FORMAT)
        for sub in agent.sub_agents:
            need.add(
                Capability.HANDOFFS if sub.mode is ContextMode.HANDOFF else Capability.SUB_AGENTS
            )
    return need


def configured_adapters(config: GapConfig) -> dict[str, Adapter]:
    """The adapters of the config's backends, importing only their plugins: every installed
    adapter (``adapters()``) imports LangGraph, AutoGen and Agent Framework, about 1.2 s of a
    run's start-up when it only runs ``native``. A backend not installed is left out."""
    from nex_core.plugins import get_plugin_manager

    pm = get_plugin_manager()
    out: dict[str, Adapter] = {}
    for backend in config.backends:
        try:
            out[backend] = pm.adapter(backend)
        except PluginError:  # check_config reports it; here its pairs are not applicable
            continue
    return out


def applicable_pairs(
    config: GapConfig, specs: dict[str, AgentSpec | TeamSpec]
) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """(agent, backend) pairs to run, and why the others are not applicable.

    A backend whose adapter lacks a capability the spec needs is skipped for that spec, never
    run to fail: its episodes are reported as not applicable.
    """

    adapters = configured_adapters(config)
    pairs: list[tuple[str, str]] = []
    skipped: dict[str, str] = {}
    for agent, spec in specs.items():
        need = required_capabilities(spec)
        for backend in config.backends:
            adapter = adapters.get(backend)
            missing = (
                sorted(c.value for c in need - adapter.capabilities) if adapter else ["adapter"]
            )
            if adapter and Capability.TEXT_TOOL_FORMAT in need:
                missing += [f"tool format {f}" for f in adapter.missing_text_formats(spec)]
            if missing:
                skipped[f"{agent}@{backend}"] = f"{backend} lacks {', '.join(missing)}"
            else:
                pairs.append((agent, backend))
    return pairs, skipped


def iter_episodes(config: GapConfig, pairs: list[tuple[str, str]]) -> Iterator[Episode]:
    """Every episode, task-major, so the samples of one task run close together."""
    for task in iter_all_tasks(config):
        for agent, backend in pairs:
            for model in config.models:
                for sample in range(config.samples):
                    yield Episode(EpisodeKey(task.id, agent, backend, model.name, sample), task)


def check_config(config: GapConfig) -> None:
    """Check a parsed config against the installation; every problem names its field."""
    from nex_core.plugins import get_plugin_manager

    pm = get_plugin_manager()
    problems: list[tuple[Location, str]] = []
    for i, source in enumerate(config.tasks):
        if not config.path(source).exists():
            problems.append((config.where("tasks", i), f"no task file at {config.path(source)}"))
    for i, backend in enumerate(config.backends):
        try:
            pm.adapter(backend)
        except PluginError as exc:  # names the installed adapters and what to install
            problems.append((config.where("backends", i), str(exc)))
    providers = pm.merged("nex_model_providers")
    for i, model in enumerate(config.models):
        if ":" not in model.ref or model.provider not in providers:
            problems.append(
                (
                    config.where("models", i, "ref"),
                    f"'{model.ref}' must be PROVIDER:ARG with PROVIDER one of "
                    f"{', '.join(sorted(providers))}",
                )
            )
    checks = pm.merged("nex_verifiers")
    for i, entry in enumerate(config.check_entries()):
        if entry.name not in checks:
            problems.append(
                (
                    config.where("checks", i, "name"),
                    f"unknown check '{entry.name}' (known: {', '.join(sorted(checks))})",
                )
            )
            continue
        try:  # the options are the check's keyword arguments: a wrong one fails here, not mid-run
            checks[entry.name](**entry.options)
        except (TypeError, ValueError) as exc:
            problems.append((config.where("checks", i), f"check '{entry.name}': {exc}"))
    executors = pm.merged("nex_executors")
    if config.executor not in executors:
        problems.append((config.where("executor"), _missing_executor(config.executor, executors)))
    formats = pm.merged("nex_tool_formats")
    for i, fmt in enumerate(config.formats or []):
        if fmt not in formats:
            problems.append(
                (
                    config.where("formats", i),
                    f"unknown tool format '{fmt}' (known: {', '.join(sorted(formats))})",
                )
            )
    if config.export is not None:
        for i, fmt in enumerate(config.export.formats):
            if fmt not in formats:
                problems.append(
                    (
                        config.where("export", "formats", i),
                        f"unknown tool format '{fmt}' (known: {', '.join(sorted(formats))})",
                    )
                )
        targets = pm.merged("nex_exporters")
        for i, name in enumerate(config.export.targets):
            if name not in targets:
                problems.append(
                    (
                        config.where("export", "targets", i),
                        f"unknown export target '{name}' (available: {', '.join(sorted(targets))})",
                    )
                )
    if problems:
        raise SpecError(f"{config._source} is not a runnable GAP config", problems)
    check_bindings(config, load_specs(config))


def check_bindings(config: GapConfig, specs: dict[str, AgentSpec | TeamSpec]) -> None:
    """Every tool of every spec can be bound here: import paths import and name a callable,
    in-process callables are supplied (:func:`~nex_core.runtime.tools.resolve_bindings`), and
    MCP-bound tools name a server the config or the spec declares. A run would otherwise fail
    every episode of that spec, one by one, with the same ``ToolBindingError``."""
    from nex_core.runtime.tools import resolve_bindings

    problems: list[tuple[Location, str]] = []
    for i, spec in enumerate(specs.values()):  # in the order of config.agents
        where = config.where("agents", i, "spec")
        try:
            resolve_bindings(spec, check_mcp_servers=False)
        except ToolBindingError as exc:
            found = [message for _, message in exc.problems] or [exc.summary]
            problems += [(where, f"{message}{_IMPORT_HINT}") for message in found]
        declared = set(config.mcp_servers)
        for agent in spec.walk():
            declared |= set(agent.mcp_servers)
        for agent in spec.walk():
            for tool in agent.tools:
                binding = tool.binding
                if isinstance(binding, MCPBinding) and binding.server not in declared:
                    problems.append(
                        (
                            where,
                            f"agent '{agent.name}', tool '{tool.name}': MCP server "
                            f"'{binding.server}' is not declared (declared: "
                            f"{', '.join(sorted(declared)) or 'none'})",
                        )
                    )
    if problems:
        raise ToolBindingError(
            f"{config._source}: tool bindings cannot be resolved", _unique(problems)
        )


_IMPORT_HINT = (
    " (import paths resolve from the folder nex runs in and from PYTHONPATH; in-process "
    "callables cannot be bound in a GAP run, which reads specs from files)"
)


def _unique(problems: list[tuple[Location, str]]) -> list[tuple[Location, str]]:
    # Two agents may share a tool, one spec may be run under two names: say each problem once.
    return list(dict.fromkeys(problems))


def servers_in_use(
    config: GapConfig, specs: dict[str, AgentSpec | TeamSpec]
) -> tuple[dict[str, MCPServerSpec], dict[str, set[str]]]:
    """The MCP servers the episodes use (the config's win over the specs' of the same name,
    as in the worker's pool) and, per server, the tool names bound to it."""
    servers: dict[str, MCPServerSpec] = {}
    tools: dict[str, set[str]] = {}
    for spec in specs.values():
        for agent in spec.walk():
            for tool in agent.tools:
                if isinstance(tool.binding, MCPBinding):
                    server = tool.binding.server
                    tools.setdefault(server, set()).add(tool.binding.tool or tool.name)
    for spec in specs.values():
        for agent in spec.walk():
            for server, server_spec in agent.mcp_servers.items():
                if server in tools:
                    servers.setdefault(server, config.mcp_servers.get(server, server_spec))
    for server, server_spec in config.mcp_servers.items():
        if server in tools:
            servers.setdefault(server, server_spec)
    return servers, tools


def _missing_executor(name: str, known: dict[str, Any]) -> str:
    from nex_core.plugins import unknown_name_hint

    hint = unknown_name_hint(name, sorted(known), shipped={"ray": "nex-ray"})
    return f"no executor named '{name}' (installed: {', '.join(sorted(known))}); {hint}"


def executor_factory(name: str) -> Any:
    from nex_core.plugins import get_plugin_manager

    known = get_plugin_manager().merged("nex_executors")
    if name not in known:
        raise PluginError(_missing_executor(name, known))
    return known[name]
