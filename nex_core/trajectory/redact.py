"""Keep secrets out of trajectories, logs, reports and exports.

Every secret nex resolves (API keys, ``${env:...}`` values in headers) is registered here; text that
leaves nex through a trajectory, a log record, a GAP report or an export passes through
:func:`redact` first. Token shapes are scrubbed as well, for secrets nex never saw resolved: the
``Bearer`` and ``sk-`` shapes nex has always known, and the provider key shapes that detect-secrets
(a maintained secret scanner) knows, read from its plugins (:mod:`nex_core.trajectory._shapes`).

Scrubbing is on the recorder's hot path, so no regex runs over text that cannot match it: each
pattern has literal markers (derived from the pattern itself), and a pattern runs only on text
holding one of them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

REDACTED = "[REDACTED]"

_lock = threading.Lock()
_secrets: set[str] = set()
_frozen: tuple[set[str], int, frozenset[str]] = (_secrets, 0, frozenset())
"""The copy of ``_secrets`` the scans read (twice a recorded run, once a log record), with the
set and size it was taken from: secrets are only ever added, so a scan takes the lock and copies
only after a registration (or after a test put another set in place)."""
_MIN_SECRET_LENGTH = 6  # shorter values would redact ordinary words


def register_secret(value: str | None) -> None:
    """Remember a secret value so it is scrubbed from everything nex writes."""
    if value and len(value) >= _MIN_SECRET_LENGTH:
        with _lock:
            _secrets.add(value)
        install_log_redaction()


def registered() -> frozenset[str]:
    global _frozen
    source, size, frozen = _frozen
    if source is _secrets and size == len(_secrets):
        return frozen
    with _lock:
        frozen = frozenset(_secrets)
        _frozen = (_secrets, len(frozen), frozen)
    return frozen


_shapes_module: Any = None
"""``nex_core.trajectory._shapes``, imported on the first scan (not at import: every nex module
that logs imports this one), then read from here: an import statement per scan cost more than
the search of a short text."""


def _candidates(text: str) -> list[Any]:
    """The shapes that may match ``text``: one search for any shape's marker (a regex of
    literal alternatives) decides for most text that none can."""
    global _shapes_module
    module = _shapes_module
    if module is None:
        from nex_core.trajectory import _shapes as module

        _shapes_module = module
    if not module.marker_found(text):
        return []
    return [shape for shape in module.shapes() if shape.may_match(text)]


def redact(text: str) -> str:
    """Replace registered secrets and token-shaped strings with ``[REDACTED]``."""
    for secret in registered():
        if secret in text:
            text = text.replace(secret, REDACTED)
    for shape in _candidates(text):
        text = shape.sub(text)
    return text


def needs_redaction(text: str) -> bool:
    """Whether :func:`redact` would change ``text`` (searches; builds no new text)."""
    for secret in registered():  # a loop, not any(): no generator for the common empty set
        if secret in text:
            return True
    return any(shape.search(text) for shape in _candidates(text))


_NUMBERS = frozenset({int, float, bool, type(None)})


def redact_data(value: Any) -> Any:
    """``value`` (JSON-like: dicts, lists, strings, numbers) with every string redacted; parts
    with nothing to redact are returned as they are."""
    if isinstance(value, str):
        return redact(value) if needs_redaction(value) else value
    if isinstance(value, list | tuple):
        if set(map(type, value)) <= _NUMBERS:  # token ids, logprobs, masks: nothing to search
            return value
        items = [redact_data(v) for v in value]
        if all(a is b for a, b in zip(items, value, strict=True)):
            return value
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, dict):
        pairs = [(redact_data(k), redact_data(v)) for k, v in value.items()]
        if all(k is k0 and v is v0 for (k, v), (k0, v0) in zip(pairs, value.items(), strict=True)):
            return value
        return dict(pairs)
    return value


# --------------------------------------------------------------------------- logs

_installed = False
_base_factory: Callable[..., logging.LogRecord] | None = None


_inside = threading.local()


def _redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    assert _base_factory is not None
    record = _base_factory(*args, **kwargs)
    if getattr(_inside, "active", False):  # a record logged while the shapes load
        return record
    _inside.active = True
    try:
        message = record.getMessage()
        if needs_redaction(message):
            record.msg, record.args = redact(message), None
    except Exception:  # a malformed record: logging reports it itself, at format time
        pass
    finally:
        _inside.active = False
    return record


def install_log_redaction() -> None:
    """Scrub every log record of the process (nex's, the SDKs', the transports') as it is made.

    A record factory rather than a handler filter: it sees records of every logger, whatever
    handlers an application installs later. Idempotent."""
    global _installed, _base_factory
    with _lock:
        if _installed:
            return
        _base_factory = logging.getLogRecordFactory()
        logging.setLogRecordFactory(_redacting_factory)
        _installed = True
