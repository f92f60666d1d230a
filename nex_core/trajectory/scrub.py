"""The end-of-run secret scrub every recorded trajectory passes through."""

from __future__ import annotations

from datetime import datetime
from itertools import compress, count
from operator import is_not, not_
from typing import Any

from nex_core.trajectory.redact import needs_redaction, redact
from nex_core.trajectory.schema import Trajectory, _Record


def scrub(trajectory: Trajectory) -> Trajectory:
    """The trajectory with every registered secret replaced by ``[REDACTED]``.

    Every recorded run passes through here, so the common case (nothing to redact) must be cheap:
    the strings of the trajectory (each shared message object visited once) are searched without
    serialising the trajectory. Only a run that holds a secret is rebuilt, copying just the
    records on the way to a redacted string. Values whose JSON form the walk cannot predict (an
    adapter's unusual metadata) fall back to scrubbing the serialised text.
    """
    strings = _strings(trajectory)
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


def _shared_prefix(items: list[Any] | tuple[Any, ...], other: list[Any] | tuple[Any, ...]) -> int:
    """How many leading items of ``items`` are equal to ``other``'s (their strings are then
    the same ones). Sequence equality runs in C and takes identical objects as equal without
    calling their ``__eq__``: the common case (a request that repeats or extends the previous
    one) costs a few nanoseconds an item, not a Python step."""
    n = min(len(items), len(other))
    if n == 0:
        return 0
    if len(items) <= len(other):
        if items == other[:n]:
            return n
    elif items[:n] == other:
        return n
    return next(compress(count(), map(is_not, items, other)), n)


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
