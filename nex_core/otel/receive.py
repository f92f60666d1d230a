"""``nex receive``: an OTLP/HTTP trace endpoint that turns each completed trace into a trajectory.

Built on Starlette (the ASGI app) and uvicorn (the server). ``POST /v1/traces`` takes
``application/x-protobuf`` or ``application/json``, gzip-encoded or not, as every OTLP exporter
sends them; a request that cannot be read gets a 400 saying why and is counted, and the
receiver keeps serving. ``GET /stats`` tells what it has taken in. Trajectories go to the
sinks as their traces complete (see ``collect.TraceCollector``).
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import socket
import threading
import time
import zlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nex_core.errors import OutputError
from nex_core.otel._require import require
from nex_core.otel._wire import SpanRecord, WireError, spans_from_json, spans_from_protobuf
from nex_core.otel.collect import TraceCollector

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response

    from nex_core.trajectory.schema import Trajectory
    from nex_core.trajectory.sinks import TrajectorySink

MAX_BODY_BYTES = 64 * 1024 * 1024
PROTOBUF = "application/x-protobuf"


@dataclass
class ReceiverStats:
    requests: int = 0
    spans: int = 0
    bad_requests: int = 0
    trajectories: int = 0
    sink_errors: int = 0
    last_error: str | None = None


class Receiver:
    """The endpoint's state: the collector, the sinks, the counts."""

    def __init__(
        self,
        sinks: Sequence[TrajectorySink],
        *,
        settle_s: float = 0.5,
        idle_s: float = 30.0,
        on_trajectory: Callable[[Trajectory], None] | None = None,
    ) -> None:
        self.sinks = list(sinks)
        self.stats = ReceiverStats()
        self._on_trajectory = on_trajectory
        self._lock = threading.Lock()
        self.collector = TraceCollector(self._emit, settle_s=settle_s, idle_s=idle_s)

    def _emit(self, trajectory: Trajectory) -> None:
        with self._lock:
            for sink in self.sinks:
                try:
                    sink.write(trajectory)
                except Exception as exc:  # a sink failing must not stop the endpoint; counted
                    self.stats.sink_errors += 1
                    self.stats.last_error = f"sink {type(sink).__name__}: {exc}"
            self.stats.trajectories += 1
        if self._on_trajectory is not None:
            self._on_trajectory(trajectory)

    def take_spans(self, spans: list[SpanRecord]) -> int:
        self.collector.add(spans)
        with self._lock:
            self.stats.requests += 1
            self.stats.spans += len(spans)
        return len(spans)

    def bad(self, message: str) -> None:
        with self._lock:
            self.stats.bad_requests += 1
            self.stats.last_error = message

    def take(self, body: bytes, content_type: str, encoding: str) -> int:
        """Read one export request; returns its span count, raises ``WireError`` when bad."""
        if encoding == "gzip":
            try:
                body = gzip.decompress(body)
            except (OSError, EOFError, zlib.error) as exc:
                raise WireError(f"the body is not valid gzip ({exc})") from None
        elif encoding not in ("", "identity"):
            raise WireError(f"unsupported Content-Encoding '{encoding}' (use gzip or none)")
        if content_type == PROTOBUF:
            spans = spans_from_protobuf(body)
        elif content_type == "application/json":
            try:
                data = json.loads(body)
            except ValueError as exc:
                raise WireError(f"the body is not JSON ({exc})") from None
            spans = spans_from_json(data)
        else:
            raise WireError(
                f"unsupported Content-Type '{content_type}' (send {PROTOBUF} or application/json)"
            )
        return self.take_spans(spans)

    def close(self) -> None:
        self.collector.close()
        for sink in self.sinks:
            sink.close()

    def stats_dict(self) -> dict[str, Any]:
        return {**self.stats.__dict__, "open_traces": self.collector.open_traces}


def create_app(receiver: Receiver, *, poll_s: float = 0.2) -> Starlette:
    """The ASGI app of ``receiver``."""
    require("starlette", "nex receive")
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    async def traces(request: Request) -> Response:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        encoding = request.headers.get("content-encoding", "").strip().lower()
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            return _bad(receiver, 413, f"request body over {MAX_BODY_BYTES} bytes", content_type)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                return _bad(
                    receiver, 413, f"request body over {MAX_BODY_BYTES} bytes", content_type
                )
        try:
            await run_in_threadpool(receiver.take, bytes(body), content_type, encoding)
        except WireError as exc:
            return _bad(receiver, 400, str(exc), content_type)
        if content_type == PROTOBUF:
            return Response(b"", media_type=PROTOBUF)  # an empty ExportTraceServiceResponse
        return JSONResponse({})

    async def stats(request: Request) -> Response:
        return JSONResponse(receiver.stats_dict())

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async def poll() -> None:
            while True:
                await asyncio.sleep(poll_s)
                await run_in_threadpool(receiver.collector.poll)

        task = asyncio.create_task(poll())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await run_in_threadpool(receiver.close)

    return Starlette(
        routes=[Route("/v1/traces", traces, methods=["POST"]), Route("/stats", stats)],
        lifespan=lifespan,
    )


def _bad(receiver: Receiver, status: int, message: str, content_type: str) -> Response:
    from starlette.responses import JSONResponse

    receiver.bad(message)
    # OTLP/HTTP answers a bad request with a Status message; as JSON it reads for people too.
    return JSONResponse({"code": 3, "message": message}, status_code=status)


class ReceiverServer:
    """``Receiver`` served by uvicorn on ``host:port`` (port 0 picks a free one), in a thread
    (``start``/``stop``, for tests and notebooks) or in the foreground (``serve``). The socket
    is bound at construction, so ``port`` is known (and a port in use fails) before serving."""

    def __init__(self, receiver: Receiver, *, host: str = "127.0.0.1", port: int = 4318) -> None:
        uvicorn = require("uvicorn", "nex receive")
        self.receiver = receiver
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._socket = socket.socket(family, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._socket.bind((host, port))
        except OSError as exc:
            self._socket.close()
            raise OutputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        self._socket.listen(128)
        self.host = host
        self.port = int(self._socket.getsockname()[1])
        config = uvicorn.Config(
            create_app(receiver),
            log_level="warning",
            access_log=False,
            lifespan="on",
        )
        self.server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def serve(self) -> None:
        """Serve until Ctrl-C or SIGTERM (uvicorn's own handling), then write open traces."""
        self.server.run(sockets=[self._socket])

    def start(self, timeout_s: float = 10.0) -> ReceiverServer:
        self._thread = threading.Thread(target=self.serve, name="nex-receive", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise OutputError("the receiver did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=30)
        self._socket.close()

    def __enter__(self) -> ReceiverServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


class GrpcReceiver:
    """The same ``Receiver`` behind OTLP/gRPC (``TraceService/Export``) on grpcio's server,
    for apps whose exporter speaks gRPC (port 4317 by convention). A request that cannot be
    read is answered ``INVALID_ARGUMENT`` and counted."""

    def __init__(self, receiver: Receiver, *, host: str = "127.0.0.1", port: int = 4317) -> None:
        grpc = require("grpc", "nex receive --grpc-port")
        from concurrent.futures import ThreadPoolExecutor

        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

        from nex_core.otel._wire import spans_from_protobuf

        class _Servicer(trace_service_pb2_grpc.TraceServiceServicer):
            def Export(self, request: Any, context: Any) -> Any:
                try:
                    receiver.take_spans(spans_from_protobuf(request.SerializeToString()))
                except WireError as exc:
                    receiver.bad(str(exc))
                    context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
                return trace_service_pb2.ExportTraceServiceResponse()

        self.receiver = receiver
        self.server = grpc.server(ThreadPoolExecutor(max_workers=4, thread_name_prefix="nex-grpc"))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_Servicer(), self.server)
        address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        try:
            self.port = self.server.add_insecure_port(address)
        except RuntimeError as exc:
            raise OutputError(f"cannot listen on {address} (gRPC): {exc}") from None
        if not self.port:
            raise OutputError(f"cannot listen on {address} (gRPC): the port is in use")
        self.host = host

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> GrpcReceiver:
        self.server.start()
        return self

    def stop(self, grace_s: float = 2.0) -> None:
        self.server.stop(grace_s).wait()

    def __enter__(self) -> GrpcReceiver:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
