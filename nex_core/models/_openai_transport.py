"""Which HTTP transport an OpenAI-compatible model's SDK client runs on."""

from __future__ import annotations

import urllib.parse
import urllib.request
from typing import Any

import openai

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


def http_client(transport: str) -> Any:
    """The ``http_client`` for ``AsyncOpenAI``: None keeps the SDK's httpx default."""
    if transport == "httpx":
        return None
    if transport == "http1":
        from nex_core.models.http1 import Http1Transport

        return openai.DefaultAsyncHttpxClient(transport=Http1Transport())
    return openai.DefaultAioHttpClient()
