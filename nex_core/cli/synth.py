"""``nex synth``: agent systems from a natural-language description, and ``nex synth stats``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from nex_core.cli.output import console, err_console, warn
from nex_core.cli.params import TextFile
from nex_core.errors import SpecError

REJECTED_EXIT = 1
"""Exit code when any system could not be made valid within the retry bound."""


class _SynthGroup(click.Group):
    """``nex synth DESCRIPTION ...`` generates; ``nex synth stats DIR`` reports. Anything that
    is not a subcommand's name is a description for ``generate``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["generate", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_SynthGroup)
def synth() -> None:
    """Generate agent systems from a description: nex synth DESCRIPTION|FILE --model REF -o DIR.

    \b
    nex synth "a support desk with a billing specialist" --model openai:gpt-4o -o out/synth
    nex synth stats out/synth

    Options of the first form (--n, --seed, --config, --tools, --max-retries ...):
    nex synth generate --help.
    """


def _description(text: str) -> str:
    path = Path(text)
    try:
        is_file = len(text) < 4096 and "\n" not in text and path.is_file()
    except (OSError, ValueError):
        is_file = False
    looks_like_file = not any(c.isspace() for c in text) and path.suffix in {".txt", ".md"}
    if looks_like_file and not is_file:
        raise SpecError(f"description file not found: {text}")
    if is_file:
        try:
            body = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SpecError(f"cannot read the description file {text}: {exc}") from None
        text = body
    if not text.strip():
        raise SpecError("the description is empty: say what agent system to build")
    return text


@synth.command()
@click.argument("description")
@click.option("--model", "model_ref", required=True,
              help="Generator model: PROVIDER:ARG (scripted:gen.yaml, openai:MODEL).")
@click.option("-o", "--out", required=True, type=click.Path(file_okay=False),
              help="New (or empty) folder for the systems, the manifest and the generator's "
              "trajectories.")
@click.option("--n", "count", type=click.IntRange(min=1), default=None,
              help="Systems to generate (default: the config's n, else 1).")
@click.option("--seed", type=int, default=None, help="Seed of the blueprint draws.")
@click.option("--config", "config_path", type=TextFile(), default=None,
              help="Diversity ranges, retries and the real-tool catalog (YAML).")
@click.option("--tools", "tools_path", type=TextFile(), default=None,
              help="Real-tool catalog (YAML: mcp_servers, imports); replaces the config's.")
@click.option("--max-retries", type=click.IntRange(min=0), default=None,
              help="Repairs asked of the generator per system (default: the config's, else 2).")
@click.option("--base-url", default=None, help="OpenAI-compatible endpoint (openai: models).")
@click.option("--api-key-env", default=None, help="Environment variable holding the API key.")
def generate(
    description: str,
    model_ref: str,
    out: str,
    count: int | None,
    seed: int | None,
    config_path: str | None,
    tools_path: str | None,
    max_retries: int | None,
    base_url: str | None,
    api_key_env: str | None,
) -> None:
    """Generate agent systems from DESCRIPTION (text, or a file holding it)."""
    import asyncio

    from nex_core.models.registry import make_model
    from nex_core.synth.config import load_catalog, load_synth_config
    from nex_core.synth.generate import synthesize

    text = _description(description)
    config = load_synth_config(config_path)
    updates: dict[str, Any] = {}
    if count is not None:
        updates["n"] = count
    if seed is not None:
        updates["seed"] = seed
    if max_retries is not None:
        updates["max_retries"] = max_retries
    if tools_path is not None:
        updates["tools"] = load_catalog(tools_path)
    config = config.model_copy(update=updates)
    options: dict[str, Any] = {}
    if model_ref.startswith("openai:"):
        options = {"base_url": base_url, "api_key_env": api_key_env}
    model = make_model(model_ref, **options)
    with err_console.status(f"generating {config.n} system(s)"):
        run = asyncio.run(synthesize(text, model, out, config, model_ref=model_ref))
    for system in run.systems:
        where = escape(system.path or "")
        if system.status == "valid":
            console.print(f"[green]valid[/green]     {system.index:03d} {escape(system.name or '')}"
                          f" ({system.attempts} attempt(s)) -> {where}", highlight=False)
            for note in system.warnings:
                warn(f"{system.index:03d}: {note}")
        elif system.status == "duplicate":
            console.print(f"[yellow]duplicate[/yellow] {system.index:03d} of "
                          f"{system.duplicate_of:03d} (same structure; not written)",
                          highlight=False)
        else:
            console.print(f"[red]rejected[/red]  {system.index:03d} after {system.attempts} "
                          f"attempt(s); replies and problems in {where}", highlight=False)
            for problem in system.problems:
                console.print(f"    {escape(problem)}", highlight=False)
    console.print(f"{len(run.valid)} valid, {len(run.rejected)} rejected; manifest "
                  f"{escape(str(Path(out) / 'synth.json'))}", style="dim", highlight=False)
    if run.rejected:
        sys.exit(REJECTED_EXIT)


@synth.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def stats(folder: str, as_json: bool) -> None:
    """The distribution of the systems in FOLDER (a nex synth output)."""
    import json

    from nex_core.synth.stats import synth_stats

    data = synth_stats(folder)
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    status = ", ".join(f"{k} {v}" for k, v in sorted(data["status"].items()))
    console.print(f"{data['systems']} blueprint(s): {escape(status)}", highlight=False)
    table = Table(title="valid systems")
    table.add_column("dimension")
    table.add_column("distribution")
    for name, counts in data["distribution"].items():
        table.add_row(escape(name), escape(", ".join(f"{k}: {v}" for k, v in counts.items())))
    console.print(table)
    for problem, n in data["rejected_problems"].items():
        console.print(f"rejected for {escape(problem)}: {n}", highlight=False)
