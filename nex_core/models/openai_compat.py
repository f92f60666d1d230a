"""A chat model behind any OpenAI-compatible endpoint: OpenAI, vLLM, SGLang, Ollama, LiteLLM.

It wraps ``openai.AsyncOpenAI`` with the SDK's own retries turned off and runs its own loop
instead, so that every retry is counted, logged (redacted) and shaped the same way whatever the
server: exponential backoff with full jitter on 429, 408/409, 5xx, timeouts and connection errors,
``Retry-After`` honoured up to the backoff cap, and any other 4xx raised at once. The API key is
read from the environment, registered as a secret so it never reaches a trajectory or a log, and
kept out of ``repr``.

Calls take the SDK's lower-level path: the JSON body is built here
(:mod:`nex_core.models._openai_request`) and posted with ``client.post``; the raw JSON answer is
read into an :class:`LLMResponse` directly (:mod:`nex_core.models._openai_response`), and a
stream's raw event-stream body is read by :mod:`nex_core.models._openai_stream`. The typed
``chat.completions.create`` path costs about 1 ms of CPU a call in parameter transformation and
response model construction, which caps a single process at a few hundred calls a second, and its
stream class lets decoding errors escape and takes an empty or non-SSE body for an empty answer;
the wire format, errors and timeouts are the SDK's either way. On a plain-http endpoint a
non-streamed call skips ``client.post`` too (:mod:`nex_core.models._openai_direct`). Whatever
the server sends, a call ends in an :class:`LLMResponse` or a :class:`ModelError`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import threading
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx2 as httpx
import openai

from nex_core.errors import ModelError, SpecError
from nex_core.models._openai_direct import DirectPath, Redirected
from nex_core.models._openai_request import openai_messages, request_body, request_kwargs
from nex_core.models._openai_response import response_from_completion, response_from_json
from nex_core.models._openai_retry import ModelStats, RetryPolicy, retry_after_seconds
from nex_core.models._openai_stream import StreamAssembler, aparse_sse, not_an_event_stream
from nex_core.models._openai_tokens import CAPTURE_FIELDS, capture_fields, tokens_from_json
from nex_core.models._openai_transport import (
    HTTP_TRANSPORTS,
    aiohttp_available,
    http_client,
    pick_transport,
)
from nex_core.models.base import ChatModel, ResponseChunk
from nex_core.protocol.secrets import resolve
from nex_core.protocol.spec import ModelSettings, ToolFormat
from nex_core.trajectory.redact import redact, register_secret
from nex_core.trajectory.schema import LLMRequest, LLMResponse, Usage

__all__ = [
    "DEFAULT_BASE_URL",
    "HTTP_TRANSPORTS",
    "PLACEHOLDER_KEY",
    "ModelStats",
    "OpenAICompatibleModel",
    "RetryPolicy",
    "StreamAssembler",
    "aiohttp_available",
    "openai_messages",
    "pick_transport",
    "request_body",
    "request_kwargs",
    "response_from_completion",
    "response_from_json",
    "retry_after_seconds",
]

log = logging.getLogger("nex.models.openai")

DEFAULT_BASE_URL = "https://api.openai.com/v1"
PLACEHOLDER_KEY = "not-needed"
"""Sent to endpoints other than OpenAI's when no key is set: local servers ignore it."""

_T = TypeVar("_T")
_RAW_STREAM = {"X-Stainless-Raw-Response": "stream"}
"""Asks the SDK for the unread HTTP response (what its ``with_streaming_response`` does)."""
_NOT_JSON_SAMPLE = 80


@dataclass
class _LoopClient:
    client: openai.AsyncOpenAI
    closer: AsyncGenerator[None, None]


async def _closer(client: openai.AsyncOpenAI) -> AsyncGenerator[None, None]:
    """Closes ``client`` when finalised. Started once, it is one of the loop's live async
    generators, which ``loop.shutdown_asyncgens()`` closes before the loop ends: the one hook
    asyncio offers for cleaning up at loop shutdown."""
    try:
        yield
    finally:
        await client.close()


class OpenAICompatibleModel(ChatModel):
    """A :class:`ChatModel` over the chat.completions API of any OpenAI-compatible server.

    ``base_url`` defaults to ``$OPENAI_BASE_URL``, then OpenAI's. The key comes from the
    environment variable named by ``api_key_env`` (or the ``${env:...}`` reference in
    ``settings.api_key``); endpoints other than OpenAI's get a placeholder when none is set.
    ``timeout_s`` is how long an attempt may wait on the server at any point (connecting, or
    between bytes: for a non-streamed reply, the whole generation); ``max_retries`` counts
    attempts after the first; ``sampling`` holds defaults that request params override;
    ``jitter_seed`` makes the backoff jitter reproducible. ``http_transport`` picks the SDK's HTTP
    transport: ``http1`` (:mod:`nex_core.models.http1`, plain http only), ``aiohttp`` (the SDK's
    ``DefaultAioHttpClient``; needs ``openai[aiohttp]``), ``httpx`` (its default), or ``auto``:
    http1 for a plain-http endpoint without a proxy, else httpx. The transport's CPU per request
    is what bounds one process driving a local server at high concurrency: httpx's pool rescans
    every connection twice a request (about 1.5 ms of CPU a call in all, against 0.8 ms).
    ``capture_tokens`` asks the server for the prompt and completion token ids
    (``return_token_ids``, as vLLM serves it) and ``logprobs`` for each generated token's log
    probability (``0``) and its top-k candidates (``k``); both default to the model settings'
    and are recorded in the response's ``tokens``. ``direct`` (default: on with the http1
    transport, unless ``NEX_OPENAI_DIRECT=0``) sends non-streamed calls over the transport
    itself rather than through the SDK's ``client.post``, at about half the client CPU per call;
    the recorded fields, errors and retries are the same either way.
    """

    provider = "openai"

    def __init__(
        self,
        model: str | None = None,
        *,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        timeout_s: float = 60.0,
        max_retries: int = 4,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 30.0,
        sampling: dict[str, Any] | None = None,
        settings: ModelSettings | None = None,
        jitter_seed: int | None = None,
        http_transport: str = "auto",
        capture_tokens: bool | None = None,
        logprobs: int | None = None,
        direct: bool | None = None,
    ) -> None:
        model = model or (settings.id if settings else None)
        if not model:
            raise SpecError("an OpenAI-compatible model needs a model id (openai:MODEL, or id: in "
                            "the spec's model settings)")
        if settings is not None and base_url is None and settings.base_url:
            base_url = resolve(settings.base_url)
        base_url = base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
        self.base_url = base_url.rstrip("/")
        self.api_key_env = api_key_env
        self._api_key = self._find_key(settings)
        self.model_id = model
        self.timeout_s = timeout_s
        self.policy = RetryPolicy(max_retries, backoff_base_s, backoff_max_s)
        self.sampling = {**(settings.sampling() if settings else {}), **(sampling or {})}
        if capture_tokens is None:
            capture_tokens = settings.capture_tokens if settings is not None else False
        if logprobs is None and settings is not None:
            logprobs = settings.logprobs
        if logprobs is not None and logprobs < 0:
            raise SpecError(f"logprobs must be 0 (the chosen tokens) or a number of top "
                            f"candidates, not {logprobs}")
        self.capture_tokens = capture_tokens
        self.logprobs = logprobs
        self._capture = capture_fields(capture_tokens, logprobs)
        self.stats = ModelStats()
        self._rng = random.Random(jitter_seed)
        if http_transport not in HTTP_TRANSPORTS:
            raise SpecError(f"http_transport must be one of {', '.join(HTTP_TRANSPORTS)}, "
                            f"not {http_transport!r}")
        if http_transport == "aiohttp" and not aiohttp_available():
            raise SpecError("http_transport 'aiohttp' needs the aiohttp package: "
                            "pip install 'openai[aiohttp]'")
        self.http_transport = http_transport
        self.transport = pick_transport(http_transport, self.base_url)
        """The transport in use: ``http1``, ``aiohttp`` or ``httpx``."""
        if direct is None:
            direct = self.transport == "http1" and os.environ.get("NEX_OPENAI_DIRECT") != "0"
        elif direct and self.transport != "http1":
            raise SpecError(f"direct requests need the http1 transport (a plain-http endpoint "
                            f"without a proxy); {self.base_url} uses {self.transport}")
        self.direct = direct
        """Whether non-streamed calls take the direct path (:mod:`._openai_direct`)."""
        self._init_runtime_state()

    def _find_key(self, settings: ModelSettings | None) -> str:
        if settings is not None and settings.api_key:
            key: str | None = resolve(settings.api_key)
            source = settings.api_key
        else:
            key = os.environ.get(self.api_key_env) or None
            source = f"${self.api_key_env}"
        if key:
            register_secret(key)
            return key
        if self.base_url == DEFAULT_BASE_URL:
            raise SpecError(f"no API key for {self.base_url}: {source} is not set. Export the key "
                            f"in {self.api_key_env} (or name another variable with --api-key-env), "
                            "or point --base-url at a local server that needs none.")
        return PLACEHOLDER_KEY

    def _init_runtime_state(self) -> None:
        # An httpx client's connections belong to the event loop that opened them, and the sync
        # ``complete`` runs each call in a fresh loop: keep one client per live loop.
        self._lock = threading.Lock()
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopClient]
        self._clients = weakref.WeakKeyDictionary()
        self._direct = (DirectPath(self.base_url, self._api_key, self.timeout_s)
                        if self.direct else None)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_lock"], state["_clients"], state["_direct"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        register_secret(self._api_key)
        self._init_runtime_state()

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(model={self.model_id!r}, base_url={self.base_url!r}, "
                f"api_key_env={self.api_key_env!r})")

    async def client(self) -> openai.AsyncOpenAI:
        """The SDK client for the running event loop, created on first use in that loop and
        closed when the loop shuts down (``asyncio.run`` and friends)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            entry = self._clients.get(loop)
            if entry is None:
                client = openai.AsyncOpenAI(base_url=self.base_url, api_key=self._api_key,
                                            timeout=self.timeout_s, max_retries=0,
                                            http_client=http_client(self.transport))
                entry = self._clients[loop] = _LoopClient(client, _closer(client))
                fresh = True
            else:
                fresh = False
        if fresh:
            await anext(entry.closer)
        return entry.client

    async def aclose(self) -> None:
        """Close the running loop's client and its connections now."""
        with self._lock:
            entry = self._clients.pop(asyncio.get_running_loop(), None)
        if entry is not None:
            await entry.closer.aclose()
        if self._direct is not None:
            await self._direct.aclose()

    # ------------------------------------------------------------------ calls

    def _body(self, request: LLMRequest, tool_format: ToolFormat) -> dict[str, Any]:
        body = request_body(request, self.model_id, self.sampling, tool_format)
        return {**body, **self._capture} if self._capture else body

    async def acomplete(
        self,
        request: LLMRequest,
        *,
        agent: str | None = None,
        tool_format: ToolFormat = ToolFormat.NATIVE,
    ) -> LLMResponse:
        body = self._body(request, tool_format)

        async def attempt() -> LLMResponse:
            raw = await self._post(body)
            try:
                data = json.loads(raw)
            except ValueError:
                # A 200 whose body is not JSON is as likely cut short (a proxy, a restart) as a
                # body that stops mid-JSON: both may come through whole next time.
                sample = raw[:_NOT_JSON_SAMPLE].decode("utf-8", "replace")
                raise ModelError(f"{self._where} answered with a body that is not JSON: "
                                 f"{sample!r}. Check that it speaks the chat.completions API.",
                                 retryable=True) from None
            response = response_from_json(data)
            tokens = tokens_from_json(data)
            if tokens is not None:
                response.tokens = tokens
            return response

        response = await self._with_retries(attempt)
        self._count_usage(response.usage)
        return response

    async def _post(self, body: dict[str, Any]) -> bytes:
        """One non-streamed attempt's raw answer: the direct path where it applies, else (and
        for a redirect) the SDK's ``client.post``."""
        if self._direct is not None:
            try:
                return await self._direct.post(body, self._status_error_from)
            except Redirected:
                pass
        client = await self.client()
        return await client.post("/chat/completions", body=body, cast_to=bytes)

    async def _status_error_from(self, response: httpx.Response) -> openai.APIStatusError:
        # The SDK's own reading of an error answer, so both paths raise the same error.
        client = await self.client()
        return client._make_status_error_from_response(response)

    async def astream(
        self,
        request: LLMRequest,
        *,
        agent: str | None = None,
        tool_format: ToolFormat = ToolFormat.NATIVE,
    ) -> AsyncIterator[ResponseChunk]:
        """Stream with ``stream=True``. Opening the stream is retried like any call, and so is a
        stream that fails before its first chunk; once a chunk has been yielded a failure is
        raised, since the caller has already seen part of a reply."""
        body = {**self._body(request, tool_format), "stream": True,
                "stream_options": {"include_usage": True}}
        self._begin_call()
        retry = 0
        while True:
            assembler = StreamAssembler()
            yielded = False
            try:
                self._count(attempts=1)
                client = await self.client()
                answer = await client.post("/chat/completions", body=body,
                                           cast_to=httpx.Response,
                                           options={"headers": _RAW_STREAM})
                try:
                    async for chunk in self._chunks(answer, assembler):
                        yielded = True
                        yield chunk
                    response = assembler.response()
                finally:
                    await answer.aclose()
                break
            except (openai.OpenAIError, ModelError, httpx.HTTPError) as exc:
                error = self._model_error(exc)
                if yielded or not error.retryable or retry >= self.policy.max_retries:
                    self._count(failures=1)
                    raise self._final_error(error, retry + 1) from exc
                await self._wait(retry, exc, error)
                retry += 1
        self._count_usage(response.usage)
        yield ResponseChunk(final=response)

    async def _chunks(
        self, answer: httpx.Response, assembler: StreamAssembler
    ) -> AsyncIterator[ResponseChunk]:
        content_type = answer.headers.get("content-type", "")
        if "text/event-stream" not in content_type:
            raise not_an_event_stream(content_type, await answer.aread())
        async for event in aparse_sse(answer.aiter_lines()):
            for chunk in assembler.event(event):
                yield chunk
            if assembler.done:
                break

    async def _with_retries(self, attempt: Callable[[], Awaitable[_T]]) -> _T:
        self._begin_call()
        retry = 0
        while True:
            try:
                self._count(attempts=1)
                return await attempt()
            except (openai.OpenAIError, ModelError, httpx.HTTPError) as exc:
                error = self._model_error(exc)
                if not error.retryable or retry >= self.policy.max_retries:
                    self._count(failures=1)
                    raise self._final_error(error, retry + 1) from exc
                await self._wait(retry, exc, error)
                retry += 1

    async def _wait(self, retry: int, exc: BaseException, error: ModelError) -> None:
        headers = getattr(getattr(exc, "response", None), "headers", None)
        delay = self.policy.delay(retry, retry_after_seconds(headers), self._rng)
        with self._lock:
            self.stats.retries += 1
            self.stats.waits.append(delay)
        log.info(redact(f"{error} (attempt {retry + 1} of {self.policy.max_retries + 1}); "
                        f"retrying in {delay:.2f} s"))
        await asyncio.sleep(delay)

    # ------------------------------------------------------------------ bookkeeping

    def _begin_call(self) -> None:
        self._count(calls=1)

    def _count(self, **deltas: int) -> None:
        with self._lock:
            for name, delta in deltas.items():
                setattr(self.stats, name, getattr(self.stats, name) + delta)

    def _count_usage(self, usage: Usage | None) -> None:
        if usage is not None:
            self._count(prompt_tokens=usage.prompt_tokens,
                        completion_tokens=usage.completion_tokens,
                        total_tokens=usage.total_tokens)

    # ------------------------------------------------------------------ errors

    @property
    def _where(self) -> str:
        return f"model '{self.model_id}' at {self.base_url}"

    def _model_error(self, exc: BaseException) -> ModelError:
        """Classify an SDK exception: what happened, what to do, and whether to retry."""
        if isinstance(exc, ModelError):
            return exc
        if isinstance(exc, openai.APITimeoutError) and not _refused(exc):
            return ModelError(f"{self._where} did not answer within {self.timeout_s:g} s. Raise "
                              "timeout_s, or check that the server is not overloaded.",
                              retryable=True)
        if isinstance(exc, openai.APIConnectionError):  # also a timeout _refused() unmasked
            cause = exc.__cause__ or exc
            return ModelError(redact(f"could not connect to {self._where}: {cause}. Check that the "
                                     "server is running and the base URL is right."),
                              retryable=True)
        if isinstance(exc, openai.APIStatusError):
            return self._status_error(exc.status_code, _detail(exc))
        if isinstance(exc, httpx.TimeoutException):  # reading a stream, past the SDK's reach
            return ModelError(f"{self._where} stopped sending its stream for {self.timeout_s:g} "
                              "s. Raise timeout_s, or check that the server is not overloaded.",
                              retryable=True)
        if isinstance(exc, httpx.HTTPError):
            return ModelError(redact(f"the stream from {self._where} broke off: {exc or type(exc)}"
                                     ". Check the server's logs."), retryable=True)
        return ModelError(redact(f"{self._where} failed: {_detail(exc)}. Check the server's logs "
                                 "and that it speaks the chat.completions API."), retryable=False)

    def _status_error(self, status: int, detail: str) -> ModelError:
        retryable = status in (408, 409, 429) or status >= 500
        rejected = [f for f in self._capture if f in detail]
        if status in (400, 422) and rejected:
            settings = [s for s, on in (("capture_tokens", self.capture_tokens),
                                        ("logprobs", self.logprobs is not None)) if on]
            return ModelError(redact(
                f"{self._where} rejected the token-capture field(s) {', '.join(rejected)} "
                f"(HTTP {status}: {detail}). This server does not support "
                f"{' / '.join(settings)}: turn {' and '.join(settings)} off in the model "
                "settings, or serve the model with vLLM >= 0.10.2, which returns token ids."),
                retryable=False, status=status)
        if status in (401, 403):
            advice = (f"Check that ${self.api_key_env} holds a key this endpoint accepts.")
        elif status == 404:
            advice = f"Check the model id '{self.model_id}' and the base URL."
        elif status == 429:
            advice = "The endpoint is rate limiting: lower the concurrency or raise max_retries."
        elif status >= 500:
            advice = "The server failed; check its logs, or try again later."
        elif retryable:
            advice = "Try again later."
        else:
            advice = ("The server rejected the request; check the model id and the request "
                      "parameters (sampling, tools) against what this server supports.")
            if self._capture:
                advice += (" Token capture is on (capture_tokens/logprobs): a server without "
                           f"{'/'.join(CAPTURE_FIELDS)} may reject it.")
        return ModelError(redact(f"{self._where} answered HTTP {status}: {detail}. {advice}"),
                          retryable=retryable, status=status)

    def _final_error(self, error: ModelError, attempts: int) -> ModelError:
        if not error.retryable or attempts <= 1:
            return error
        return ModelError(f"gave up after {attempts} attempts; last error: {error}",
                          retryable=True, status=error.status)


def _refused(exc: BaseException) -> bool:
    """Whether an SDK timeout error is really a failed connection: the SDK's aiohttp transport
    reports a refused connection as a connect timeout. The cause chain tells them apart."""
    seen: set[int] = set()
    cause: BaseException | None = exc.__cause__
    refused = False
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, TimeoutError):
            return False
        refused = refused or (isinstance(cause, OSError) and not isinstance(cause, TimeoutError))
        cause = cause.__cause__ or cause.__context__
    return refused


def _detail(exc: BaseException) -> str:
    """The server's own message from an SDK error, without the SDK's wrapping."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        message = inner.get("message") if isinstance(inner, dict) else inner
        if isinstance(message, str) and message:
            return message.rstrip(".")
    return str(getattr(exc, "message", None) or exc).rstrip(".")
