"""``nex conformance``: the command-line front end, contributed through ``nex_cli_commands``."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.table import Table

from nex_core import Adapter, hookimpl

if TYPE_CHECKING:
    from nex_conformance.report import SuiteReport


def select_adapters(names: Sequence[str]) -> list[Adapter]:
    """The named adapters, or every installed one (native first)."""
    from nex_core import get_plugin_manager

    pm = get_plugin_manager()
    if names:
        return [pm.adapter(n) for n in names]
    found = pm.adapters()
    return sorted(found.values(), key=lambda a: (a.name != "native", a.name))


def run_kit(
    adapter_names: Sequence[str] = (),
    scenario_ids: Sequence[str] = (),
    baseline_files: Sequence[str] = (),
    adapters: Sequence[Adapter] | None = None,
) -> SuiteReport:
    """Run the kit and return its :class:`~nex_conformance.report.SuiteReport`."""
    from nex_conformance.baseline import baseline_for
    from nex_conformance.engine import arun_suite
    from nex_conformance.report import build_report
    from nex_conformance.scenario import select

    chosen = list(adapters) if adapters is not None else select_adapters(adapter_names)
    scenarios = select(list(scenario_ids))
    baselines = {a.name: baseline_for(a, baseline_files) for a in chosen}
    t0 = time.perf_counter()
    results = asyncio.run(arun_suite(chosen, scenarios, baselines))
    return build_report(chosen, scenarios, results, baselines, time.perf_counter() - t0)


def matrix_table(report: SuiteReport) -> Table:
    from nex_conformance.engine import Verdict

    style = {
        Verdict.PASS: "[green]pass[/green]",
        Verdict.FAIL: "[bold red]FAIL[/bold red]",
        Verdict.NOT_APPLICABLE: "[dim]n/a[/dim]",
        Verdict.XFAIL: "[yellow]xfail[/yellow]",
        Verdict.STALE: "[bold magenta]STALE[/bold magenta]",
    }
    table = Table(title="nex conformance: scenarios by adapters")
    table.add_column("scenario", no_wrap=True)
    for name in report.adapters:
        table.add_column(name, justify="center")
    for s in report.scenarios:
        row = [s["id"]]
        for name in report.adapters:
            r = report.cell(s["id"], name)
            row.append(style[r.verdict] if r else "")
        table.add_row(*row)
    table.add_section()
    for verdict in Verdict:
        table.add_row(
            f"[dim]{verdict.value}[/dim]",
            *[str(report.counts(n).get(verdict.value, 0)) for n in report.adapters],
        )
    return table


@click.group("conformance", invoke_without_command=True)
@click.option(
    "--adapter",
    "adapter_names",
    multiple=True,
    metavar="NAME",
    help="Adapter to check (repeatable; default: every installed adapter).",
)
@click.option(
    "--scenario",
    "scenario_ids",
    multiple=True,
    metavar="ID",
    help="Run only this scenario (repeatable).",
)
@click.option(
    "--baseline",
    "baseline_files",
    multiple=True,
    metavar="FILE",
    type=click.Path(exists=True, dir_okay=False),
    help="Expected-failure baseline (YAML; repeatable).",
)
@click.option(
    "--report",
    "report_dir",
    default=None,
    metavar="DIR",
    type=click.Path(file_okay=False),
    help="Write DIR/report.json and DIR/matrix.md.",
)
@click.option(
    "--details/--no-details",
    default=True,
    show_default=True,
    help="Explain each failure (readable diffs).",
)
@click.pass_context
def conformance(
    ctx: click.Context,
    adapter_names: tuple[str, ...],
    scenario_ids: tuple[str, ...],
    baseline_files: tuple[str, ...],
    report_dir: str | None,
    details: bool,
) -> None:
    """Prove adapters faithful: run the conformance scenarios and print the matrix.

    Exits 1 when a scenario fails that no baseline lists, or when a baseline lists one that
    now passes (stale).
    """
    if ctx.invoked_subcommand is not None:
        return
    from nex_conformance.engine import Verdict

    console = Console()
    report = run_kit(adapter_names, scenario_ids, baseline_files)
    console.print(matrix_table(report))
    if details:
        for r in report.results:
            if r.verdict in (Verdict.FAIL, Verdict.STALE):
                console.rule(f"{r.scenario} on {r.adapter}: {r.verdict.value}")
                console.print(r.explain(), markup=False, highlight=False, soft_wrap=True)
    for adapter, ids in report.unknown_baseline_entries.items():
        console.print(
            f"[yellow]warning:[/yellow] baseline of {adapter} names unknown "
            f"scenarios: {', '.join(ids)}"
        )
    if report_dir:
        paths = report.write(report_dir)
        console.print(f"[dim]wrote {paths['json']} and {paths['markdown']}[/dim]")
    verdict = "[green]conformance passed[/green]" if report.ok else "[red]conformance FAILED[/red]"
    console.print(f"{verdict} ({report.duration_s:.1f} s)")
    sys.exit(0 if report.ok else 1)


@conformance.command("matrix")
@click.argument("reports", nargs=-1, required=True, metavar="REPORT...")
@click.option(
    "--report",
    "report_dir",
    default=None,
    metavar="DIR",
    type=click.Path(file_okay=False),
    help="Write the merged DIR/report.json and DIR/matrix.md.",
)
def matrix_command(reports: tuple[str, ...], report_dir: str | None) -> None:
    """Merge reports of separate runs (each a report.json or the folder --report wrote) into
    one matrix of every adapter side by side.

    Exits 1 when any merged run failed, as that run did.
    """
    from nex_conformance.merge import merge_reports

    console = Console()
    report = merge_reports(reports)
    console.print(matrix_table(report))
    adapters = Table(title="adapters")
    for column in ("adapter", "framework", "capabilities"):
        adapters.add_column(column)
    for name, info in report.adapters.items():
        framework = f"{info.get('framework')} {info.get('framework_version') or ''}".strip()
        adapters.add_row(name, framework, ", ".join(info.get("capabilities") or []))
    console.print(adapters)
    if report_dir:
        paths = report.write(report_dir)
        console.print(f"[dim]wrote {paths['json']} and {paths['markdown']}[/dim]")
    verdict = "[green]conformance passed[/green]" if report.ok else "[red]conformance FAILED[/red]"
    console.print(f"{verdict} ({len(report.adapters)} adapters from {len(reports)} reports)")
    sys.exit(0 if report.ok else 1)


@conformance.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of scenario files."""
    from nex_conformance.scenario import scenario_schema

    click.echo(json.dumps(scenario_schema(), indent=2, ensure_ascii=False))


@conformance.command("list")
def list_command() -> None:
    """List the scenarios and the capabilities each needs."""
    from nex_conformance.scenario import builtin_scenarios

    table = Table(title="conformance scenarios")
    for col in ("scenario", "capabilities", "description"):
        table.add_column(col)
    for s in builtin_scenarios():
        table.add_row(s.id, ", ".join(c.value for c in s.capabilities), s.description)
    Console().print(table)


@hookimpl
def nex_cli_commands() -> list[click.Command]:
    return [conformance]
