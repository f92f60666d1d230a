"""``nex import otlp FILE|DIR``: OTLP traces (JSON or protobuf files) into trajectories."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.markup import escape

from nex_core.cli.output import console, err_console
from nex_core.errors import OutputError


@click.command("otlp")
@click.argument("source", type=click.Path(exists=True))
@click.option(
    "-o",
    "--out",
    default="runs/imported.jsonl",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="JSONL file the trajectories are appended to.",
)
@click.option(
    "--report",
    "report_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="Also write the per-trajectory import reports here (JSON).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the reports as JSON on stdout.")
def otlp(source: str, out: str, report_path: str | None, as_json: bool) -> None:
    """Turn the traces in SOURCE (OTLP JSON lines, a JSON document, or protobuf; a file or a
    folder of them) into trajectories: GenAI-convention and OpenInference spans become model,
    tool and sub-agent steps; each trajectory's report says what its spans lacked."""
    from nex_core.otel.read import import_otlp
    from nex_core.trajectory.sinks import JSONLSink

    problems: list[str] = []
    reports: list[dict[str, Any]] = []
    try:
        sink = JSONLSink(out)
    except OSError as exc:
        raise OutputError.from_os_error(out, exc, "open") from None
    with sink:
        for trajectory in import_otlp(source, on_error=problems.append):
            sink.write(trajectory)
            reports.append(trajectory.metadata.get("otlp", {}))
    if report_path:
        with open(report_path, "w", encoding="utf-8") as f:
            json.dump({"trajectories": reports, "problems": problems}, f, indent=2)
    if as_json:
        click.echo(json.dumps({"trajectories": reports, "problems": problems}, indent=2))
    else:
        for report in reports:
            lacks = report.get("lacks") or []
            line = (
                f"{report.get('trajectory_id')}: {report.get('steps')} steps "
                f"from {report.get('spans')} spans"
            )
            console.print(escape(line), highlight=False)
            for what in lacks:
                console.print(f"  [yellow]lacks[/yellow] {escape(str(what))}", highlight=False)
        for problem in problems:
            err_console.print(f"[yellow]warning:[/yellow] {escape(problem)}", highlight=False)
        console.print(f"{len(reports)} trajectories appended to {out}", style="dim", markup=False)
    if not reports:
        raise SystemExit(1)
