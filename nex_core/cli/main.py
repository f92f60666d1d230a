"""``nex``: run, inspect, validate, convert, schema, plugins (and commands plugins add)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from nex_core._version import __version__
from nex_core.errors import NexError
from nex_core.trajectory.reader import BadLine

console = Console()
err_console = Console(stderr=True)


def _fail(message: str, code: int = 1) -> None:
    err_console.print(f"[red]error:[/red] {message}", highlight=False)
    sys.exit(code)


class NexGroup(click.Group):
    """Adds plugin commands lazily and turns NexErrors into clean messages."""

    def _plugin_commands(self) -> dict[str, click.Command]:
        if not hasattr(self, "_plugins_cache"):
            from nex_core.plugins import get_plugin_manager

            found: dict[str, click.Command] = {}
            for commands in get_plugin_manager().hook.nex_cli_commands():
                for command in commands:
                    if command.name:
                        found.setdefault(command.name, command)
            self._plugins_cache = found
        return self._plugins_cache

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._plugin_commands()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, cmd_name) or self._plugin_commands().get(cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NexError as exc:
            _fail(str(exc))


@click.group(cls=NexGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nex")
def cli() -> None:
    """nex: one protocol and one trajectory record for agents across frameworks."""
    # Import paths in specs (`examples.calculator.tools:add`) resolve from where nex is run,
    # as they do with `python -m`.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())


# --------------------------------------------------------------------------- run


@cli.command()
@click.argument("spec", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--task", "turns", multiple=True, required=True, help="User message; repeat for more turns."
)
@click.option("--task-id", default=None, help="Task id recorded in the trajectory.")
@click.option(
    "--model",
    "model_ref",
    required=True,
    help="PROVIDER:ARG, e.g. scripted:script.yaml or openai:gpt-4o-mini.",
)
@click.option(
    "--base-url", default=None, help="OpenAI-compatible endpoint (with --model openai:...)."
)
@click.option(
    "--api-key-env",
    default="OPENAI_API_KEY",
    show_default=True,
    help="Environment variable holding the API key.",
)
@click.option(
    "--backend",
    default="native",
    show_default=True,
    help="Adapter that runs the spec (see `nex plugins`).",
)
@click.option(
    "--out",
    "out",
    default="runs/trajectories.jsonl",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="JSONL file the trajectory is appended to.",
)
@click.option("--quiet", is_flag=True, help="Print only the final output.")
def run(
    spec: str,
    turns: tuple[str, ...],
    task_id: str | None,
    model_ref: str,
    base_url: str | None,
    api_key_env: str,
    backend: str,
    out: str,
    quiet: bool,
) -> None:
    """Run the agent in SPEC on a task and record the trajectory."""
    from nex_core.models.registry import make_model
    from nex_core.plugins import get_adapter
    from nex_core.protocol.loader import load_spec
    from nex_core.trajectory.schema import TaskInfo
    from nex_core.trajectory.sinks import JSONLSink

    agent_spec = load_spec(spec)
    options: dict[str, Any] = {}
    if model_ref.startswith("openai:"):
        options = {"base_url": base_url, "api_key_env": api_key_env}
    model = make_model(model_ref, **options)
    adapter = get_adapter(backend)
    task = TaskInfo(id=task_id, turns=list(turns))
    counts = {"llm": 0, "tool": 0, "subagent": 0}

    def listen(step: Any) -> None:
        if step.ended_at is None:
            counts[step.kind] = counts.get(step.kind, 0) + 1
            status.update(
                f"running {agent_spec.name} on {backend}: "
                f"{counts['llm']} model calls, {counts['tool']} tool calls, "
                f"{counts['subagent']} sub-agent calls"
            )

    kwargs: dict[str, Any] = {}
    if backend == "native":
        kwargs["listeners"] = [listen]
    with (
        JSONLSink(out) as sink,
        err_console.status(f"running {agent_spec.name} on {backend}") as status,
    ):
        trajectory = asyncio.run(
            adapter.arun(agent_spec, task, model=model, sinks=[sink], **kwargs)
        )
    outcome = trajectory.outcome
    assert outcome is not None
    if quiet:
        click.echo(outcome.final_output or "")
    else:
        from nex_core.cli.render import trajectory_tree

        console.print(trajectory_tree(trajectory))
        console.print(f"[dim]trajectory {trajectory.id} appended to {out}[/dim]")
    if outcome.status.value != "completed":
        sys.exit(1)


# --------------------------------------------------------------------------- inspect / validate


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--index", type=int, default=None, help="Show only trajectory number INDEX (0-based)."
)
@click.option("--messages", is_flag=True, help="Show the messages each model call received.")
@click.option("--width", type=int, default=100, show_default=True, help="Clip texts to this width.")
def inspect(file: str, index: int | None, messages: bool, width: int) -> None:
    """Show the trajectories in a JSONL FILE as trees."""
    from nex_core.cli.render import trajectory_tree
    from nex_core.trajectory.reader import iter_trajectories

    bad: list[BadLine] = []
    shown = 0
    for i, traj in enumerate(iter_trajectories(file, on_error=bad.append)):
        if index is not None and i != index:
            continue
        console.print(trajectory_tree(traj, messages=messages, width=width))
        shown += 1
    for b in bad:
        err_console.print(f"[yellow]skipped[/yellow] {b}")
    if shown == 0:
        _fail(f"no trajectory to show in {file}")


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--kind",
    type=click.Choice(["auto", "spec", "trajectory", "script"]),
    default="auto",
    show_default=True,
)
def validate(file: str, kind: str) -> None:
    """Check a spec (YAML/JSON), a model script, or a trajectory file (JSONL)."""
    if kind == "auto":
        kind = "trajectory" if file.endswith(".jsonl") else "spec"
    if kind == "trajectory":
        from nex_core.trajectory.reader import iter_trajectories

        bad: list[BadLine] = []
        count = sum(1 for _ in iter_trajectories(file, on_error=bad.append))
        for b in bad:
            err_console.print(f"[red]invalid[/red] {b}")
        if bad:
            _fail(f"{len(bad)} invalid line(s), {count} valid trajectorie(s) in {file}")
        console.print(f"[green]ok[/green] {file}: {count} trajectories")
        return
    if kind == "script":
        from nex_core.models.scripted import Script
        from nex_core.protocol.loader import load_document

        load_document(file, Script)
        console.print(f"[green]ok[/green] {file}: valid model script")
        return
    from nex_core.protocol.loader import load_spec

    spec = load_spec(file)
    agents = spec.walk()
    console.print(
        f"[green]ok[/green] {file}: {spec.kind} '{spec.name}' with {len(agents)} agent(s)"
    )


# --------------------------------------------------------------------------- schema / plugins


def _schemas() -> dict[str, Any]:
    from pydantic import TypeAdapter

    from nex_core.models.scripted import Script
    from nex_core.protocol.spec import SystemSpec
    from nex_core.trajectory.schema import Trajectory

    return {
        "agent": lambda: TypeAdapter(SystemSpec).json_schema(),
        "trajectory": Trajectory.model_json_schema,
        "script": Script.model_json_schema,
    }


@cli.command()
@click.argument("what", type=click.Choice(["agent", "trajectory", "script"]))
def schema(what: str) -> None:
    """Print the JSON Schema of agent specs, trajectories or model scripts."""
    click.echo(json.dumps(_schemas()[what](), indent=2))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def plugins(as_json: bool) -> None:
    """List installed nex plugins, their adapters and capabilities."""
    import warnings

    from nex_core.plugins import PluginLoadWarning, get_plugin_manager

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PluginLoadWarning)
        pm = get_plugin_manager()
    adapters = pm.adapters()
    if as_json:
        data = {
            "plugins": [i.__dict__ for i in pm.infos],
            "adapters": {
                n: {
                    "framework": a.framework,
                    "framework_version": a.framework_version,
                    "version": a.version,
                    "capabilities": sorted(c.value for c in a.capabilities),
                }
                for n, a in adapters.items()
            },
        }
        click.echo(json.dumps(data, indent=2))
        return
    table = Table(title="nex plugins")
    for col in ("entry point", "distribution", "version", "status"):
        table.add_column(col)
    for info in pm.infos:
        status = (
            "[green]loaded[/green]" if info.error is None else f"[red]failed: {info.error}[/red]"
        )
        table.add_row(info.name, info.distribution, info.version, status)
    console.print(table)
    atable = Table(title="adapters")
    for col in ("adapter", "framework", "capabilities"):
        atable.add_column(col)
    for name, a in sorted(adapters.items()):
        atable.add_row(
            name,
            f"{a.framework} {a.framework_version or ''}",
            ", ".join(sorted(c.value for c in a.capabilities)),
        )
    console.print(atable)
    for info in pm.infos:
        if info.error:
            err_console.print(
                f"[yellow]warning:[/yellow] plugin '{info.name}' from "
                f"'{info.distribution}' failed to load: {info.error}"
            )


# --------------------------------------------------------------------------- convert

from nex_core.cli.convert import convert  # noqa: E402  (its own module: nex_core/cli/convert.py)

cli.add_command(convert)


def main() -> None:
    cli()
