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
_MIN_SECRET_LENGTH = 6  # shorter values would redact ordinary words


def register_secret(value: str | None) -> None:
    """Remember a secret value so it is scrubbed from everything nex writes."""
    if value and len(value) >= _MIN_SECRET_LENGTH:
        with _lock:
            _secrets.add(value)


def registered() -> frozenset[str]:
    with _lock:
        return frozenset(_secrets)


def redact(text: str) -> str:
    """Replace registered secrets and token-shaped strings with ``[REDACTED]``."""
    for secret in registered():
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern in _PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
        else:
            text = pattern.sub(REDACTED, text)
    return text


def needs_redaction(text: str) -> bool:
    return redact(text) != text
