"""Keep secrets out of trajectories and logs.

Every secret nex resolves (API keys, ``${env:...}`` values in headers) is registered here; text that
leaves nex through a trajectory or a log line passes through :func:`redact` first. Well-known token
shapes are scrubbed as well, for secrets nex never saw resolved.
"""

from __future__ import annotations

import re
import threading

REDACTED = "[REDACTED]"

_lock = threading.Lock()
_secrets: set[str] = set()
_PATTERNS = [
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"),
]
_MARKERS = ["bearer", "sk-"]
"""A lower-case substring each pattern's matches contain."""
_MIN_SECRET_LENGTH = 6  # shorter values would redact ordinary words


def register_secret(value: str | None) -> None:
    """Remember a secret value so it is scrubbed from everything nex writes."""
    if value and len(value) >= _MIN_SECRET_LENGTH:
        with _lock:
            _secrets.add(value)


def registered() -> frozenset[str]:
    with _lock:
        return frozenset(_secrets)


def _may_match(text: str) -> list[re.Pattern[str]]:
    # The token patterns are slow to run over a long trajectory (``\b`` and ``(?i)`` defeat the
    # regex engine's literal-prefix search); a substring check first skips them on clean text.
    lowered = text.lower()
    return [p for p, marker in zip(_PATTERNS, _MARKERS, strict=True) if marker in lowered]


def redact(text: str) -> str:
    """Replace registered secrets and token-shaped strings with ``[REDACTED]``."""
    for secret in registered():
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern in _may_match(text):
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
        else:
            text = pattern.sub(REDACTED, text)
    return text


def needs_redaction(text: str) -> bool:
    """Whether :func:`redact` would change ``text`` (searches; builds no new text)."""
    if any(secret in text for secret in registered()):
        return True
    return any(p.search(text) for p in _may_match(text))
