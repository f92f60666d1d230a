"""A chat model behind any OpenAI-compatible endpoint: OpenAI, vLLM, SGLang, Ollama, LiteLLM.

It wraps ``openai.AsyncOpenAI`` with the SDK's own retries turned off and runs its own loop
instead, so that every retry is counted, logged (redacted) and shaped the same way whatever the
server: exponential backoff with full jitter on 429, 408/409, 5xx, timeouts and connection errors,
``Retry-After`` honoured up to the backoff cap, and any other 4xx raised at once. The API key is
read from the environment, registered as a secret so it never reaches a trajectory or a log, and
kept out of ``repr``.

A non-streamed call takes the SDK's lower-level path: the JSON body is built here and posted with
``client.post``, and the raw JSON answer is read into an :class:`LLMResponse` directly. The typed
``chat.completions.create`` path costs about 1 ms of CPU a call in parameter transformation and
response model construction, which caps a single process at a few hundred calls a second; the
wire format, headers, errors and timeouts are the SDK's either way.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import math
import os
import random
import threading
import time
import urllib.parse
import urllib.request
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import openai
from openai.resources.chat.completions import AsyncCompletions

from nex_core.errors import ModelError, SpecError
from nex_core.models.base import ChatModel, ResponseChunk
from nex_core.protocol.secrets import resolve
from nex_core.protocol.spec import ModelSettings, ToolFormat
from nex_core.trajectory.redact import redact, register_secret
from nex_core.trajectory.schema import LLMRequest, LLMResponse, Message, ToolCall, Usage

log = logging.getLogger("nex.models.openai")

DEFAULT_BASE_URL = "https://api.openai.com/v1"
PLACEHOLDER_KEY = "not-needed"
"""Sent to endpoints other than OpenAI's when no key is set: local servers ignore it."""

_T = TypeVar("_T")

# Request fields the runtime or a caller may put in ``LLMRequest.params`` that are nex's own, or
# that this provider sets itself; they never go to the server as given.
_NEX_ONLY = frozenset({"agent", "tool_format", "model", "messages", "tools", "stream",
                       "stream_options", "timeout", "extra_headers", "extra_query"})
_TOOL_ONLY = ("tool_choice", "parallel_tool_calls")
_CREATE_KWARGS = frozenset(
    inspect.signature(AsyncCompletions.create).parameters
) - {"self", "extra_body"}


# --------------------------------------------------------------------------- retry policy


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait before trying a failed call again."""

    max_retries: int = 4
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0

    def delay(self, retry: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait before retry number ``retry`` (0-based).

        A server's ``Retry-After`` wins, capped at ``backoff_max_s``; otherwise full jitter:
        uniform in ``[0, min(max, base * 2**retry)]``, which spreads concurrent clients apart.
        """
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.backoff_max_s)
        ceiling = min(self.backoff_max_s, self.backoff_base_s * 2.0**retry)
        return rng.uniform(0.0, ceiling)


def retry_after_seconds(headers: Any) -> float | None:
    """``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date) as seconds, if present."""
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) / scale
        except ValueError:
            try:
                seconds = parsedate_to_datetime(value).timestamp() - time.time()
            except (TypeError, ValueError):
                continue
        if math.isfinite(seconds):
            return max(seconds, 0.0)
    return None


@dataclass
class ModelStats:
    """What a model instance did: calls, retries and their waits, and token usage in total."""

    calls: int = 0
    attempts: int = 0
    retries: int = 0
    failures: int = 0
    waits: list[float] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0

    @property
    def usage(self) -> Usage:
        return Usage(prompt_tokens=self.prompt_tokens, completion_tokens=self.completion_tokens,
                     total_tokens=self.total_tokens)


# --------------------------------------------------------------------------- conversion


def openai_messages(messages: list[Message]) -> list[dict[str, Any]]:
    """nex messages as chat.completions messages (``reasoning`` is nex's record, not sent)."""
    out = []
    for m in messages:
        data = m.model_dump(mode="json", exclude_none=True, exclude={"reasoning"})
        if m.role == "assistant" and "content" not in data:
            data["content"] = None
        out.append(data)
    return out


def request_kwargs(
    request: LLMRequest, model: str, defaults: dict[str, Any], tool_format: ToolFormat
) -> dict[str, Any]:
    """``chat.completions.create`` keyword arguments for ``request``.

    Request params override the model's sampling defaults. Parameters the SDK does not name
    (``top_k``, ``repetition_penalty`` ...) travel in ``extra_body``. Under a text tool format the
    runtime has already described the tools in the system prompt, so no ``tools`` are sent.
    """
    params = {**defaults, **request.params}
    extra_body = dict(params.pop("extra_body", None) or {})
    native = tool_format is ToolFormat.NATIVE and bool(request.tools)
    kwargs: dict[str, Any] = {"model": model, "messages": openai_messages(request.messages)}
    if native:
        kwargs["tools"] = [t.openai() for t in request.tools]
    for key, value in params.items():
        if key in _NEX_ONLY or key.startswith("nex_") or value is None:
            continue
        if key in _TOOL_ONLY and not native:
            continue
        if key in _CREATE_KWARGS:
            kwargs[key] = value
        else:
            extra_body[key] = value
    if extra_body:
        kwargs["extra_body"] = extra_body
    return kwargs


def request_body(
    request: LLMRequest, model: str, defaults: dict[str, Any], tool_format: ToolFormat
) -> dict[str, Any]:
    """The JSON body the SDK's ``create(**request_kwargs(...))`` sends, built directly:
    ``extra_body`` entries merged in last, as the SDK merges them."""
    kwargs = request_kwargs(request, model, defaults, tool_format)
    extra = kwargs.pop("extra_body", None)
    return {**kwargs, **extra} if extra else kwargs


def _extra_text(obj: Any, *names: str) -> str | None:
    # Reasoning servers return it beside the content under one of several names.
    for name in names:
        value = getattr(obj, name, None)
        if isinstance(value, str) and value:
            return value
    return None


def _usage(raw: Any) -> Usage | None:
    if raw is None:
        return None
    prompt = raw.prompt_tokens or 0
    completion = raw.completion_tokens or 0
    return Usage(prompt_tokens=prompt, completion_tokens=completion,
                 total_tokens=raw.total_tokens or prompt + completion)


def _text_field(data: dict[str, Any], *names: str) -> str | None:
    for name in names:
        value = data.get(name)
        if isinstance(value, str) and value:
            return value
    return None


def _usage_from_json(raw: Any) -> Usage | None:
    if not isinstance(raw, dict):
        return None
    prompt = raw.get("prompt_tokens") or 0
    completion = raw.get("completion_tokens") or 0
    return Usage(prompt_tokens=prompt, completion_tokens=completion,
                 total_tokens=raw.get("total_tokens") or prompt + completion)


def _no_choices() -> ModelError:
    return ModelError("the server answered with no choices; it may not support this model or "
                      "request. Check the model id and the server's logs.", retryable=True)


def response_from_json(data: Any) -> LLMResponse:
    """A chat.completions JSON answer (parsed) as an :class:`LLMResponse` (first choice).

    Reads the same fields as :func:`response_from_completion` from the plain dict, without
    building the SDK's typed ``ChatCompletion`` first.
    """
    if not isinstance(data, dict):
        raise ModelError(f"the server answered with {type(data).__name__} JSON, not a chat "
                         "completion. Check that it speaks the chat.completions API.")
    choices = data.get("choices")
    if not choices or not isinstance(choices, list) or not isinstance(choices[0], dict):
        raise _no_choices()
    choice = choices[0]
    message = choice.get("message")
    if not isinstance(message, dict):
        message = {}
    calls = []
    for i, tc in enumerate(message.get("tool_calls") or []):
        function = tc.get("function") if isinstance(tc, dict) else None
        if isinstance(function, dict):
            calls.append(ToolCall.make(tc.get("id") or f"call_{i + 1}", function.get("name") or "",
                                       function.get("arguments") or ""))
    return LLMResponse(
        message=Message.assistant(message.get("content"), calls or None,
                                  reasoning=_text_field(message, "reasoning_content", "reasoning")),
        finish_reason=choice.get("finish_reason"),
        usage=_usage_from_json(data.get("usage")),
    )


def response_from_completion(completion: Any) -> LLMResponse:
    """A ``ChatCompletion`` as an :class:`LLMResponse` (first choice)."""
    if not completion.choices:
        raise ModelError("the server answered with no choices; it may not support this model or "
                         "request. Check the model id and the server's logs.", retryable=True)
    choice = completion.choices[0]
    message = choice.message
    calls = [
        ToolCall.make(tc.id or f"call_{i + 1}", tc.function.name, tc.function.arguments or "")
        for i, tc in enumerate(message.tool_calls or [])
        if getattr(tc, "function", None) is not None
    ]
    return LLMResponse(
        message=Message.assistant(message.content, calls or None,
                                  reasoning=_extra_text(message, "reasoning_content", "reasoning")),
        finish_reason=choice.finish_reason,
        usage=_usage(completion.usage),
    )


@dataclass
class _PartialCall:
    id: str | None = None
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class StreamAssembler:
    """Turns ``ChatCompletionChunk``s into :class:`ResponseChunk`s and the whole response."""

    def __init__(self) -> None:
        self.content: list[str] = []
        self.reasoning: list[str] = []
        self.calls: dict[int, _PartialCall] = {}
        self.finish_reason: str | None = None
        self.usage: Usage | None = None

    def feed(self, chunk: Any) -> list[ResponseChunk]:
        out: list[ResponseChunk] = []
        if getattr(chunk, "usage", None) is not None:
            self.usage = _usage(chunk.usage)
        for choice in chunk.choices[:1]:
            delta = choice.delta
            reasoning = _extra_text(delta, "reasoning_content", "reasoning")
            if reasoning:
                self.reasoning.append(reasoning)
            if delta.content:
                self.content.append(delta.content)
                out.append(ResponseChunk(content=delta.content))
            for tc in delta.tool_calls or []:
                partial = self.calls.setdefault(tc.index, _PartialCall())
                name = tc.function.name if tc.function else None
                args = (tc.function.arguments if tc.function else None) or ""
                if tc.id:
                    partial.id = tc.id
                if name:
                    partial.name += name
                partial.arguments.append(args)
                out.append(ResponseChunk(tool_call_index=tc.index, tool_call_id=tc.id,
                                         tool_name=name, arguments_delta=args))
            if choice.finish_reason:
                self.finish_reason = choice.finish_reason
        return out

    def response(self) -> LLMResponse:
        calls = [
            ToolCall.make(p.id or f"call_{i + 1}", p.name, "".join(p.arguments))
            for i, (_, p) in enumerate(sorted(self.calls.items()))
        ]
        return LLMResponse(
            message=Message.assistant("".join(self.content) or None, calls or None,
                                      reasoning="".join(self.reasoning) or None),
            finish_reason=self.finish_reason,
            usage=self.usage,
        )


# --------------------------------------------------------------------------- the model

HTTP_TRANSPORTS = ("auto", "http1", "aiohttp", "httpx")


def aiohttp_available() -> bool:
    """Whether the SDK can run over aiohttp here (``openai[aiohttp]`` installed)."""
    if getattr(openai, "DefaultAioHttpClient", None) is None:
        return False
    try:
        import aiohttp  # noqa: F401
    except ImportError:
        return False
    return True


def _proxied(url: str) -> bool:
    """Whether the environment routes ``url`` through a proxy (httpx would honour it)."""
    parsed = urllib.parse.urlsplit(url)
    proxies = urllib.request.getproxies()
    if not (proxies.get(parsed.scheme) or proxies.get("all")):
        return False
    return not urllib.request.proxy_bypass(parsed.hostname or "")


def pick_transport(choice: str, base_url: str) -> str:
    """The transport ``auto`` means for ``base_url``: the lean HTTP/1.1 one for plain http
    without a proxy (local inference servers, where the client's CPU bounds throughput), else
    the SDK's default (TLS, proxies; hosted endpoints rate-limit long before CPU matters)."""
    if choice != "auto":
        return choice
    if base_url.startswith("http://") and not _proxied(base_url):
        return "http1"
    return "httpx"


def _http_client(transport: str) -> Any:
    """The ``http_client`` for ``AsyncOpenAI``: None keeps the SDK's httpx default."""
    if transport == "httpx":
        return None
    if transport == "http1":
        from nex_core.models.http1 import Http1Transport

        return openai.DefaultAsyncHttpxClient(transport=Http1Transport())
    return openai.DefaultAioHttpClient()


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

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_lock"], state["_clients"]
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
                                            http_client=_http_client(self.transport))
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

    # ------------------------------------------------------------------ calls

    def _kwargs(self, request: LLMRequest, tool_format: ToolFormat) -> dict[str, Any]:
        return request_kwargs(request, self.model_id, self.sampling, tool_format)

    async def acomplete(
        self,
        request: LLMRequest,
        *,
        agent: str | None = None,
        tool_format: ToolFormat = ToolFormat.NATIVE,
    ) -> LLMResponse:
        body = request_body(request, self.model_id, self.sampling, tool_format)

        async def attempt() -> LLMResponse:
            client = await self.client()
            raw = await client.post("/chat/completions", body=body, cast_to=bytes)
            try:
                data = json.loads(raw)
            except ValueError as exc:
                raise ModelError(f"{self._where} answered with a body that is not JSON. Check "
                                 "that it speaks the chat.completions API.") from exc
            return response_from_json(data)

        response = await self._with_retries(attempt)
        self._count_usage(response.usage)
        return response

    async def astream(
        self,
        request: LLMRequest,
        *,
        agent: str | None = None,
        tool_format: ToolFormat = ToolFormat.NATIVE,
    ) -> AsyncIterator[ResponseChunk]:
        """Stream with ``stream=True``. Opening the stream is retried like any call; once a chunk
        has been yielded a failure is raised, since the caller has already seen part of a reply."""
        kwargs = {**self._kwargs(request, tool_format), "stream": True,
                  "stream_options": {"include_usage": True}}
        self._begin_call()
        retry = 0
        while True:
            assembler = StreamAssembler()
            yielded = False
            try:
                self._count(attempts=1)
                client = await self.client()
                stream = await client.chat.completions.create(**kwargs)
                async with stream:
                    async for raw in stream:
                        for chunk in assembler.feed(raw):
                            yielded = True
                            yield chunk
                break
            except (openai.OpenAIError, ModelError) as exc:
                error = self._model_error(exc)
                if yielded or not error.retryable or retry >= self.policy.max_retries:
                    self._count(failures=1)
                    raise self._final_error(error, retry + 1) from exc
                await self._wait(retry, exc, error)
                retry += 1
        response = assembler.response()
        self._count_usage(response.usage)
        yield ResponseChunk(final=response)

    async def _with_retries(self, attempt: Callable[[], Awaitable[_T]]) -> _T:
        self._begin_call()
        retry = 0
        while True:
            try:
                self._count(attempts=1)
                return await attempt()
            except (openai.OpenAIError, ModelError) as exc:
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
        return ModelError(redact(f"{self._where} failed: {_detail(exc)}. Check the server's logs "
                                 "and that it speaks the chat.completions API."), retryable=False)

    def _status_error(self, status: int, detail: str) -> ModelError:
        retryable = status in (408, 409, 429) or status >= 500
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
