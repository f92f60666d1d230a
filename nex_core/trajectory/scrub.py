"""The end-of-run secret scrub every recorded trajectory passes through."""

from __future__ import annotations

from datetime import datetime
from itertools import compress
from operator import not_
from typing import Any

from nex_core.trajectory import _walk
from nex_core.trajectory._walk import _shared_prefix
from nex_core.trajectory.redact import needs_redaction, redact, registered
from nex_core.trajectory.schema import Trajectory, _Record


def scrub(trajectory: Trajectory) -> Trajectory:
    """The trajectory with every registered secret replaced by ``[REDACTED]``.

    Every recorded run passes through here, so the common case (nothing to redact) must be cheap:
    the strings of the trajectory (each shared message object visited once) are searched without
    serialising the trajectory. Only a run that holds a secret is rebuilt, copying just the
    records on the way to a redacted string. Values whose JSON form the walk cannot predict (an
    adapter's unusual metadata) fall back to scrubbing the serialised text.

    Each string is searched on its own (NUL keeps them apart), so each distinct string is
    searched once, and strings known to be clean (the schema's constants) not at all. The
    fast walk (``_walk``: generated per record class) reads the common trajectory; what it
    does not read, the generic walk below does, as before.
    """
    distinct = _walk.strings(trajectory)
    if distinct is not None:
        distinct -= _clean_constants()
        if not needs_redaction("\0".join(distinct)):
            return trajectory
        return _redacted(trajectory, {})
    strings = _strings(trajectory)  # a value the fast walk does not read
    if strings is None:
        return _scrub_text(trajectory)
    try:
        # NUL never occurs in a token or a secret, and it keeps neighbouring strings apart.
        text = "\0".join(strings)
    except TypeError:  # a dict key that is not a string
        return _scrub_text(trajectory)
    if not needs_redaction(text):
        return trajectory
    return _redacted(trajectory, {})


_clean: tuple[frozenset[str], int, frozenset[str]] = (frozenset(), -1, frozenset())
"""The schema constants that may be left out of the search, with the secrets and the number
of constants known when they were checked."""


def _clean_constants() -> frozenset[str]:
    """The schema's constants (``"assistant"``, ``"function"``, ``StepStatus.OK`` ...) that
    hold no registered secret or token shape: all of them, unless a secret is found in one,
    which must then be searched (and redacted) like any text. A copy, checked as it is: a
    walker built meanwhile by another thread may add constants, checked on the next call."""
    global _clean
    secrets, size, clean = _clean
    now = registered()
    constants = _walk._constants
    if secrets is not now or size != len(constants):
        taken = frozenset(constants)
        clean = taken if not needs_redaction("\0".join(sorted(taken))) else frozenset()
        _clean = (now, len(taken), clean)
    return clean


def _scrub_text(trajectory: Trajectory) -> Trajectory:
    text = trajectory.to_json()
    if not needs_redaction(text):
        return trajectory
    return Trajectory.model_validate_json(redact(text))


_TEXT, _SKIP, _NESTED, _RECORD, _UNKNOWN = range(5)
_categories: dict[type, int] = {
    str: _TEXT,
    int: _SKIP,
    float: _SKIP,
    bool: _SKIP,
    datetime: _SKIP,
    type(None): _SKIP,
    dict: _NESTED,
    list: _NESTED,
    tuple: _NESTED,
}
"""What the walk does with a value of each type, decided once per type: ``isinstance`` against
the record base class goes through pydantic's metaclass (an ABC check), which cost more than the
rest of the walk together when it ran for every value."""


_NUMBERS = frozenset({int, float, bool})


def _category(kind: type) -> int:
    if issubclass(kind, _Record):
        category = _RECORD
    elif issubclass(kind, str):  # the schema's enums
        category = _TEXT
    elif issubclass(kind, int | float | datetime):  # no text a secret could hide in
        category = _SKIP
    else:  # a dict, list or tuple subclass too: its JSON form is not the walk's to predict
        category = _UNKNOWN
    _categories[kind] = category  # a benign race: every thread computes the same value
    return category


def _strings(root: _Record) -> list[Any] | None:
    """Every string in ``root`` (dict keys included, in no particular order); ``None`` when it
    holds a value of a kind this walk does not know (other pydantic models among them: their
    JSON may hold more than their fields). Records shared by several requests (the messages of a
    conversation) are visited once."""
    out: list[Any] = []
    add = out.append
    seen: set[int] = set()
    stack: list[Any] = [root]
    push, pop = stack.append, stack.pop
    category_of = _categories.get
    previous: list[Any] | tuple[Any, ...] = ()
    while stack:
        container = pop()
        kind = type(container)
        if kind is dict:
            out.extend(container)  # the keys; one that is not a string makes the join fail
            items = container.values()
        elif kind is list or kind is tuple:
            # Every request's message list repeats the run's earlier (shared) messages, and
            # requests are visited one after another: skip the leading items that are the very
            # objects of the list visited before (visited, so nothing new), then drop the
            # records already seen, both in C. Strings and numbers are never in ``seen``.
            rest = container
            if len(container) > 4:  # a short list (tools, content parts) costs little anyway
                if type(container[0]) in _NUMBERS and set(map(type, container)) <= _NUMBERS:
                    continue  # token ids, logprobs, masks: no text, decided in C
                rest = container[_shared_prefix(container, previous) :]
                previous = container
            items = compress(rest, map(not_, map(seen.__contains__, map(id, rest))))
        else:  # a record, pushed once
            items = container.__dict__.values()
        for item in items:
            if item is None:  # most optional fields of most records
                continue
            kind = type(item)
            if kind is str:
                add(item)
                continue
            category = category_of(kind)
            if category is None:
                category = _category(kind)
            if category == _SKIP:
                continue
            if category == _NESTED:
                if item:  # most steps' metadata and most requests' params are empty
                    push(item)
            elif category == _RECORD:
                # Shared between requests (messages): marked at push, so pushed once.
                if id(item) not in seen:
                    seen.add(id(item))
                    push(item)
            elif category == _TEXT:
                add(item)
            else:
                return None
    return out


def _redacted(value: Any, memo: dict[int, Any]) -> Any:
    """``value`` with its strings redacted; unchanged parts (and shared records) are reused."""
    if isinstance(value, str):
        return _redacted_text(value)
    if isinstance(value, _Record):
        done = memo.get(id(value))
        if done is None:
            changes = {}
            for name, item in value.__dict__.items():
                new = _redacted(item, memo)
                if new is not item:
                    changes[name] = new
            done = value
            if changes:
                done = value.model_copy()
                done.__dict__.update(changes)
            memo[id(value)] = done
        return done
    if isinstance(value, list | tuple):
        items = [_redacted(item, memo) for item in value]
        if all(a is b for a, b in zip(items, value, strict=True)):
            return value
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, dict):
        pairs = [
            (_redacted_text(k) if isinstance(k, str) else k, _redacted(v, memo))
            for k, v in value.items()
        ]
        if all(k is k0 and v is v0 for (k, v), (k0, v0) in zip(pairs, value.items(), strict=True)):
            return value
        return dict(pairs)
    return value


def _redacted_text(text: str) -> str:
    if not needs_redaction(text):  # most strings: no secret, no marker
        return text
    return redact(text)
