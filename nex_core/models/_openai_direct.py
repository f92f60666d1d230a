"""The direct request path of an OpenAI-compatible model: one POST over nex's HTTP/1.1 transport.

Why: at a GAP run's ceiling the client's CPU per call is the limit, and the SDK's ``client.post``
(its request options copied twice, headers built, an httpx request and response, the URL parsed
three times) costs about as much as everything else an episode does. For a plain-http endpoint the
non-streamed call needs none of that: the JSON body is built by nex already, so it is written on a
pooled connection with one ``write`` and the answer's bytes are read back whole
(:meth:`~nex_core.models.http1.Http1Transport.exchange`).

What stays the SDK's, so that the two paths record the same: the body's JSON encoding (the SDK's
own ``openapi_dumps``), the status errors (built by the SDK client's
``_make_status_error_from_response`` from the answer, on the error path only), and the exception
types a failed exchange turns into (``APITimeoutError`` for a timeout, ``APIConnectionError`` for
anything else the transport raises, each with the transport's error as its cause), which the
model classifies and retries exactly as it does the SDK's. Redirects are left to the SDK: a 3xx
answer is sent again through it.
"""

from __future__ import annotations

import asyncio
import urllib.parse
import weakref
import zlib
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

import httpx2 as httpx
import openai
from openai._utils._json import openapi_dumps

from nex_core._version import __version__
from nex_core.models.http1 import Exchange, Http1Transport

_KEEPALIVE = 1000
"""Idle connections kept per host: as many as the transport opens at most (its default)."""

StatusError = Callable[[httpx.Response], Awaitable[openai.APIStatusError]]
"""Builds the SDK's error for an answer with a 4xx/5xx status."""


class Redirected(Exception):
    """A 3xx answer: the caller sends the request through the SDK, which follows redirects."""


async def _closer(transport: Http1Transport) -> AsyncGenerator[None, None]:
    """Closes ``transport`` when the loop shuts down its async generators (as the SDK client's
    closer does in :mod:`nex_core.models.openai_compat`)."""
    try:
        yield
    finally:
        await transport.aclose()


class DirectPath:
    """Posts chat.completions bodies to one plain-http base URL; one pool per event loop."""

    def __init__(self, base_url: str, api_key: str, timeout_s: float) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        self.host = parsed.hostname or "localhost"
        self.port = parsed.port or 80
        self.url = base_url + "/chat/completions"
        self.path = (parsed.path.rstrip("/") + "/chat/completions").encode()
        self.timeout_s = timeout_s
        authority = self.host if self.port == 80 else f"{self.host}:{self.port}"
        # Built once: the head of every request is the same but for its length.
        self._head = b"\r\n".join([
            b"POST " + self.path + b" HTTP/1.1",
            b"Host: " + authority.encode(),
            b"Accept: application/json",
            b"Content-Type: application/json",
            b"Accept-Encoding: identity",
            b"User-Agent: " + f"nex/{__version__}".encode(),
            b"Authorization: Bearer " + api_key.encode(),
            b"Content-Length: ",
        ])
        self._pools: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, tuple[Http1Transport, AsyncGenerator[None, None]]
        ] = weakref.WeakKeyDictionary()

    async def _pool(self) -> Http1Transport:
        loop = asyncio.get_running_loop()
        entry = self._pools.get(loop)
        if entry is None:
            # Every connection a run's concurrency opened stays pooled (the default keeps 100):
            # at concurrency 128, the answers that came back together left more idle than
            # that, and the next round connected again, a few hundred connects a run.
            transport = Http1Transport(max_keepalive=_KEEPALIVE)
            closer = _closer(transport)
            self._pools[loop] = (transport, closer)
            await anext(closer)
            return transport
        return entry[0]

    async def post(self, body: dict[str, Any], status_error: StatusError) -> bytes:
        """The answer's body for a 2xx; the SDK's exception types otherwise."""
        content = openapi_dumps(body)
        payload = self._head + str(len(content)).encode() + b"\r\n\r\n" + content
        transport = await self._pool()
        try:
            answer = await transport.exchange(self.host, self.port, payload,
                                              timeout=self.timeout_s)
            data = _decoded(answer)
        except httpx.TimeoutException as exc:
            raise openai.APITimeoutError(request=self._request()) from exc
        except httpx.RequestError as exc:
            raise openai.APIConnectionError(request=self._request()) from exc
        if 200 <= answer.status < 300:
            return data
        if 300 <= answer.status < 400:
            raise Redirected()
        raise await status_error(self._response(answer, data))

    def _request(self) -> httpx.Request:
        return httpx.Request("POST", self.url)

    def _response(self, answer: Exchange, data: bytes) -> httpx.Response:
        # ``data`` is decoded already: a content coding left in the headers would decode twice.
        headers = [(k, v) for k, v in answer.headers if k.lower() != b"content-encoding"]
        return httpx.Response(answer.status, headers=headers, content=data,
                              request=self._request())

    async def aclose(self) -> None:
        entry = self._pools.pop(asyncio.get_running_loop(), None)
        if entry is not None:
            await entry[1].aclose()


def _decoded(answer: Exchange) -> bytes:
    """The body without a content coding; ``identity`` was asked for, but a server may compress
    anyway (httpx would decode gzip and deflate for the SDK path: so does this)."""
    coding = (answer.header(b"content-encoding") or b"identity").strip().lower()
    if coding in (b"identity", b""):
        return answer.body
    try:
        if coding in (b"gzip", b"x-gzip"):
            return zlib.decompress(answer.body, zlib.MAX_WBITS | 16)
        if coding == b"deflate":
            try:
                return zlib.decompress(answer.body)
            except zlib.error:
                return zlib.decompress(answer.body, -zlib.MAX_WBITS)
    except zlib.error as exc:
        raise httpx.DecodingError(f"the server's {coding.decode()} body does not decode: {exc}",
                                  request=None) from exc
    raise httpx.DecodingError(f"the server used content coding {coding.decode()!r}, which this "
                              "client does not decode", request=None)
