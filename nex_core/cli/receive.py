"""``nex receive``: an OTLP/HTTP endpoint on 127.0.0.1; completed traces become trajectories."""

from __future__ import annotations

import click

from nex_core.cli.output import err_console
from nex_core.errors import OutputError


@click.command("receive")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=4318,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port (4318 is OTLP/HTTP's; 0 picks a free one and prints it).",
)
@click.option(
    "-o",
    "--out",
    default="runs/received.jsonl",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="JSONL file the trajectories are appended to.",
)
@click.option(
    "--grpc-port",
    default=None,
    type=click.IntRange(0, 65535),
    help="Also receive OTLP/gRPC on this port (4317 is OTLP/gRPC's).",
)
@click.option(
    "--sink",
    "sink_refs",
    multiple=True,
    metavar="NAME[:TARGET]",
    help="Also write each trajectory to this sink (repeatable).",
)
@click.option(
    "--settle",
    "settle_s",
    default=0.5,
    show_default=True,
    type=click.FloatRange(0),
    help="Seconds to wait after a trace's root span for late spans.",
)
@click.option(
    "--idle",
    "idle_s",
    default=30.0,
    show_default=True,
    type=click.FloatRange(0),
    help="Seconds without spans after which a trace with no root is kept as partial.",
)
def receive(
    host: str,
    port: int,
    out: str,
    grpc_port: int | None,
    sink_refs: tuple[str, ...],
    settle_s: float,
    idle_s: float,
) -> None:
    """Receive OTLP traces over HTTP (POST /v1/traces, protobuf or JSON) and write each
    completed trace as a trajectory. Point an app's exporter at it, e.g.
    OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318. Ctrl-C stops it (open traces are
    written as partial trajectories first)."""
    from rich.markup import escape

    from nex_core.otel.receive import GrpcReceiver, Receiver, ReceiverServer
    from nex_core.trajectory.sinks import JSONLSink, open_sink

    sinks = [open_sink(ref) for ref in sink_refs]
    try:
        sinks.insert(0, JSONLSink(out))
    except OSError as exc:
        raise OutputError.from_os_error(out, exc, "open") from None

    def said(trajectory: object) -> None:
        meta = getattr(trajectory, "metadata", {}).get("otlp", {})
        lacks = "; ".join(meta.get("lacks", [])) or "nothing missing"
        err_console.print(
            f"trajectory {escape(str(meta.get('trajectory_id')))}: {meta.get('steps')} steps "
            f"({escape(lacks)})",
            highlight=False,
        )

    receiver = Receiver(sinks, settle_s=settle_s, idle_s=idle_s, on_trajectory=said)
    server = ReceiverServer(receiver, host=host, port=port)

    err_console.print(
        f"listening on {server.url}/v1/traces; trajectories go to {escape(out)}", highlight=False
    )
    grpc_server = None
    if grpc_port is not None:
        grpc_server = GrpcReceiver(receiver, host=host, port=grpc_port).start()
        err_console.print(f"listening on {grpc_server.url} (OTLP/gRPC)", highlight=False)
    try:
        server.serve()  # returns on Ctrl-C or SIGTERM, after writing the open traces
    except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C it handled: stopping is the norm
        pass
    finally:
        if grpc_server is not None:
            grpc_server.stop()
    stats = receiver.stats
    err_console.print(
        f"received {stats.requests} requests ({stats.spans} spans, {stats.bad_requests} bad); "
        f"wrote {stats.trajectories} trajectories to {escape(out)}",
        highlight=False,
    )
