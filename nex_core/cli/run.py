"""``nex run``: run a spec on a backend, record the trajectory, and survive Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import click
from rich.markup import escape

from nex_core.cli.output import INTERRUPTED_EXIT, console, err_console
from nex_core.cli.params import TextFile
from nex_core.errors import OutputError

T = TypeVar("T")

def run_interruptibly(coro: Coroutine[Any, Any, T], *, on_interrupt: Any) -> T:
    """``asyncio.run(coro)``, except that Ctrl-C ends the process promptly.

    The first Ctrl-C cancels the run (asyncio's own SIGINT handling), and the backend records
    the cancellation: the trajectory, with every step that finished, is written as
    ``cancelled``. What asyncio would then do is wait for the worker threads of sync tools to
    return, however long a tool sleeps; a command line cannot do that, so after the record is
    written ``on_interrupt()`` reports it and the process exits at once (sinks fsync each
    trajectory as they write it, so nothing written is lost).
    """
    with asyncio.Runner() as runner:
        runner.get_loop().set_default_executor(ThreadPoolExecutor(thread_name_prefix="nex-tool"))
        try:
            return runner.run(coro)
        except KeyboardInterrupt:
            on_interrupt()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(INTERRUPTED_EXIT)


class _CountingSink:
    """Passes trajectories on to a sink and counts them, so Ctrl-C can say what was kept."""

    def __init__(self, sink: Any) -> None:
        self.sink = sink
        self.written = 0

    def write(self, trajectory: Any) -> None:
        try:
            self.sink.write(trajectory)
        except OSError as exc:  # a full disk: name the file (os.write's error names none)
            raise OutputError.from_os_error(self.sink.path, exc) from None
        self.written += 1

    def close(self) -> None:
        self.sink.close()


@click.command()
@click.argument("spec", type=TextFile())
@click.option(
    "--task", "turns", multiple=True, help="User message; repeat for more turns."
)
@click.option(
    "--resume",
    "resume_ref",
    default=None,
    metavar="PAUSED.jsonl[#ID]",
    help="Resume a run paused for approval (the file's last, or trajectory ID) instead of "
    "starting one; needs --decision.",
)
@click.option(
    "--decision",
    "decision_texts",
    multiple=True,
    metavar="[CALL_ID=]DECISION",
    help="With --resume: approve, reject[:WHY] or edit:JSON, for every pending call or, as "
    "CALL_ID=..., for one (repeat for each).",
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
    default=None,
    help="Environment variable holding the API key (default: the spec's model.api_key "
    "reference, else OPENAI_API_KEY).",
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
@click.option(
    "--sink",
    "sink_refs",
    multiple=True,
    metavar="NAME[:TARGET]",
    help="Also write the trajectory to this sink (repeatable), e.g. "
    "otlp:http://127.0.0.1:4318, otlp-grpc:http://127.0.0.1:4317, otlp-json:FILE.",
)
@click.option("--quiet", is_flag=True, help="Print only the final output.")
def run(
    spec: str,
    turns: tuple[str, ...],
    resume_ref: str | None,
    decision_texts: tuple[str, ...],
    task_id: str | None,
    model_ref: str,
    base_url: str | None,
    api_key_env: str | None,
    backend: str,
    out: str,
    sink_refs: tuple[str, ...],
    quiet: bool,
) -> None:
    """Run the agent in SPEC on a task and record the trajectory."""
    from nex_core.cli import resume as resuming
    from nex_core.cli.output import fail
    from nex_core.models.registry import model_for_spec
    from nex_core.plugins import get_adapter
    from nex_core.protocol.loader import load_spec
    from nex_core.trajectory.schema import TaskInfo
    from nex_core.trajectory.sinks import JSONLSink, open_sink

    if resume_ref is None and decision_texts:
        fail("--decision needs --resume PAUSED.jsonl")
    if resume_ref is None and not turns:
        raise click.UsageError("Missing option '--task' (or --resume a paused run).")
    if resume_ref is not None and turns:
        fail("--task cannot be given with --resume: the paused run's task goes on")
    agent_spec = load_spec(spec)
    paused = resuming.find_paused(resume_ref) if resume_ref is not None else None
    if paused is not None:
        resuming.check_digest(spec, agent_spec, paused)
        decision = resuming.read_decisions(decision_texts, paused)
    options: dict[str, Any] = {}
    if model_ref.startswith("openai:"):
        options = {"base_url": base_url, "api_key_env": api_key_env}
    # The spec's model settings (its `api_key: ${env:...}` above all) reach the model on every
    # backend, and every key it references is registered as a secret before anything runs.
    model = model_for_spec(model_ref, agent_spec, **options)
    adapter = get_adapter(backend)
    task = TaskInfo(id=task_id, turns=list(turns))
    counts = {"llm": 0, "tool": 0, "subagent": 0}
    what = escape(f"{agent_spec.name} on {backend}")  # status lines are rich markup

    def listen(step: Any) -> None:
        if step.ended_at is None:
            counts[step.kind] = counts.get(step.kind, 0) + 1
            status.update(
                f"running {what}: "
                f"{counts['llm']} model calls, {counts['tool']} tool calls, "
                f"{counts['subagent']} sub-agent calls"
            )

    def interrupted() -> None:
        status.stop()
        for extra in extra_sinks:  # the process exits at once: send what the sinks still hold
            extra.close()
        if counting.written:
            err_console.print(
                f"[yellow]interrupted:[/yellow] the run was recorded as cancelled in {escape(out)}",
                highlight=False,
            )
        else:  # a backend that did not record its cancellation: say so, never pretend
            err_console.print(
                f"[red]error:[/red] interrupted; backend '{escape(backend)}' recorded nothing "
                f"in {escape(out)}",
                highlight=False,
            )

    kwargs: dict[str, Any] = {}
    if backend == "native":
        kwargs["listeners"] = [listen]
    extra_sinks = [open_sink(ref) for ref in sink_refs]
    try:
        opened = JSONLSink(out)
    except OSError as exc:  # a parent that is a file, a read-only folder, a full disk
        raise OutputError.from_os_error(out, exc, "open") from None
    from nex_core.runtime.simulated import MarkingSink, simulated_tools

    with (
        opened as sink,
        err_console.status(f"running {what}") as status,
        simulated_tools(model),  # the run's model plays its simulated tools
    ):
        counting = _CountingSink(sink)
        try:
            # the marking sink comes first: it marks simulated steps in place, so the
            # exporting sinks after it see them marked too
            sinks = [MarkingSink(counting, agent_spec), *extra_sinks]
            trajectory = run_interruptibly(
                adapter.arun(agent_spec, task, model=model, sinks=sinks, **kwargs)
                if paused is None
                else adapter.aresume(
                    agent_spec, paused, decision, model=model, sinks=sinks, **kwargs
                ),
                on_interrupt=interrupted,
            )
        finally:
            for extra in extra_sinks:  # an exporting sink sends what it still holds
                extra.close()
    outcome = trajectory.outcome
    assert outcome is not None
    if quiet:
        click.echo(outcome.final_output or "")
    else:
        from nex_core.cli.render import trajectory_tree

        console.print(trajectory_tree(trajectory))
        console.print(f"trajectory {trajectory.id} appended to {out}", style="dim", markup=False)
    if outcome.status.value == "interrupted" and outcome.pending:
        err_console.print(
            f"paused for approval: resume with `nex run {spec} --resume {out}#{trajectory.id} "
            "--decision approve|reject[:WHY]|edit:JSON` (and the model)",
            style="yellow",
            markup=False,
            highlight=False,
        )
    if outcome.status.value != "completed":
        sys.exit(1)
