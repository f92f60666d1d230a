"""The scrub's fast walk: one generated function per record class.

``scrub._strings`` visits every value of a trajectory through one generic loop (a type lookup
and a category test per value, Usage's integers and every datetime included). Here each record
class gets a walker, written once from its ``model_fields`` (as ``dataclasses`` writes
``__init__``), that hands the values of its plain fields to C in bulk: the text fields
(``str``, optional ``str``, ``Literal`` and ``StrEnum`` fields) go to one list with one
``itemgetter`` call, the number and time fields to another, and only fields that can hold a
nested value (records, lists, dicts, ``Any``) cost Python steps. Nothing is trusted on the
word of the annotation: what lands in the two lists is checked by exact type at the end, in C
(``issuperset(map(type, ...))``, before de-duplicating: a ``str`` subclass with an equality of
its own could otherwise be merged into an equal string), and a value of any kind the lists
may not hold (a number in a text field, text in a number field, a ``str`` subclass, a dict
subclass, another model) sends the whole trajectory back to the generic walk, which has always
handled those.

The texts are de-duplicated before the search (the same tool names, call ids, agent names and
constants recur in every step: a third of the characters are distinct); ``scrub`` then leaves
out the schema's constants (``"assistant"``, ``"function"``, ``StepStatus.OK`` ...) and the
strings earlier runs found clean, while no secret has been registered since.
"""

from __future__ import annotations

import types
import typing
from datetime import datetime
from enum import Enum
from itertools import compress, count
from operator import is_not, itemgetter, not_
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel

from nex_core.trajectory.schema import _Record


class _Odd(Exception):
    """A value the fast walk does not read; the generic walk takes over."""


_NUMBER_TYPES = frozenset({int, float, bool, datetime, type(None)})
"""What the number and time fields may hold: none of these has text in its JSON form."""
_NUMBERS = frozenset({int, float, bool})

_text_types: set[type] = {str, type(None)}
"""What the text list may hold and be de-duplicated as it is: ``str`` and the schema's own
``StrEnum`` classes (``str``'s equality and hash), added as walkers are built. A ``str``
subclass of an adapter's could define equality of its own, so it goes to the generic walk."""
_constants: set[str] = set()
"""Every ``Literal`` string and ``StrEnum`` value of the record classes walked."""

Walker = typing.Callable[[Any, list[Any], list[Any], set[int], list[Any]], None]


def _noop(value: Any, out: list[Any], nums: list[Any], seen: set[int], state: list[Any]) -> None:
    return None


def _text(value: Any, out: list[Any], nums: list[Any], seen: set[int], state: list[Any]) -> None:
    out.append(value)  # the end check sends a str subclass to the generic walk


def _odd(value: Any, out: list[Any], nums: list[Any], seen: set[int], state: list[Any]) -> None:
    raise _Odd


def _dict(value: dict[Any, Any], out: list[Any], nums: list[Any], seen: set[int],
          state: list[Any]) -> None:
    out += value  # the keys: one that is not a string fails the end check
    walkers = _walkers
    for item in value.values():
        kind = type(item)
        if kind is str:
            out.append(item)
        elif kind not in _NUMBERS and item is not None:
            walkers[kind](item, out, nums, seen, state)


def _list(value: list[Any] | tuple[Any, ...], out: list[Any], nums: list[Any], seen: set[int],
          state: list[Any]) -> None:
    # As the generic walk: a long list of numbers is decided in C, and a message list skips
    # what it shares with the list visited before it (scrub._shared_prefix), then the records
    # already visited. Strings and numbers are never in ``seen``.
    rest = value
    if len(value) > 4:
        if type(value[0]) in _NUMBERS and set(map(type, value)) <= _NUMBERS:
            return
        rest = value[_shared_prefix(value, state[0]):]
        state[0] = value
    walkers = _walkers
    for item in compress(rest, map(not_, map(seen.__contains__, map(id, rest)))):
        kind = type(item)
        if kind is str:
            out.append(item)
        elif kind not in _NUMBERS and item is not None:
            seen.add(id(item))  # only records are ever looked up
            walkers[kind](item, out, nums, seen, state)


class _Walkers(dict[type, Walker]):
    """A walker for every type met, made on first meeting it. A benign race: threads that
    build at once make equivalent walkers (one may call a class's walker through the generic
    dispatch where it was being built meanwhile, as for a class that holds itself)."""

    def __missing__(self, kind: type) -> Walker:
        walker: Walker
        if kind is dict:
            walker = _dict
        elif kind is list or kind is tuple:
            walker = _list
        elif isinstance(kind, type) and issubclass(kind, _Record):
            walker = _record_walker(kind)
        elif isinstance(kind, type) and issubclass(kind, BaseModel):
            walker = _odd  # another model: its JSON may hold more than its fields
        elif isinstance(kind, type) and issubclass(kind, str):
            walker = _text
        elif isinstance(kind, type) and issubclass(kind, int | float | datetime):
            walker = _noop
        else:  # a dict, list or tuple subclass too: its JSON form is not the walk's to predict
            walker = _odd
        self[kind] = walker
        return walker


_walkers = _Walkers()


# --------------------------------------------------------------------------- classes


_TEXT, _NUMBER, _RECORD, _RECORDS, _OTHER = range(5)


def _field_kind(annotation: Any) -> tuple[int, type | None]:
    """How a field of this annotation is read: its values in the text list, in the number
    list, as a record of one class, as a list of records of one class (``None``: of several),
    or through the generic dispatch."""
    options = [annotation]
    origin = get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        options = [a for a in get_args(annotation) if a is not type(None)]
    if len(options) != 1:
        return _OTHER, None
    (only,) = options
    origin = get_origin(only)
    if origin is Literal:
        values = get_args(only)
        if all(type(v) is str for v in values):
            _constants.update(values)
            return _TEXT, None
        if all(type(v) is int for v in values):
            return _NUMBER, None
        return _OTHER, None
    if origin is list:
        (item,) = get_args(only) or (Any,)
        if get_origin(item) is typing.Annotated:
            item = get_args(item)[0]
        if isinstance(item, type) and issubclass(item, _Record):
            return _RECORDS, item
        if get_origin(item) in (typing.Union, types.UnionType) and all(
            isinstance(a, type) and issubclass(a, _Record) for a in get_args(item)
        ):
            return _RECORDS, None
        return _OTHER, None
    if only is str:
        return _TEXT, None
    if isinstance(only, type) and issubclass(only, Enum) and issubclass(only, str):
        if only.__eq__ is str.__eq__ and only.__hash__ is str.__hash__:
            _text_types.add(only)
            _constants.update(member.value for member in only)
            return _TEXT, None
        return _OTHER, None
    if only in (int, float, bool, datetime):
        return _NUMBER, None
    if isinstance(only, type) and issubclass(only, _Record):
        return _RECORD, only
    return _OTHER, None


class _Plan:
    """A record class's fields, sorted by how the walker reads them."""

    def __init__(self, cls: type[_Record]) -> None:
        self.texts: list[str] = []
        self.numbers: list[str] = []
        self.records: list[tuple[str, type | None]] = []
        self.lists: list[tuple[str, type | None]] = []
        self.others: list[str] = []
        for name, info in cls.model_fields.items():
            kind, record = _field_kind(info.annotation)
            if kind == _TEXT:
                self.texts.append(name)
            elif kind == _NUMBER:
                self.numbers.append(name)
            elif kind == _RECORD:
                self.records.append((name, record))
            elif kind == _RECORDS:
                self.lists.append((name, record))
            else:
                self.others.append(name)
        self.leaf = not (self.records or self.lists or self.others)
        """Nothing but text and numbers (FunctionCall, Usage, ErrorInfo): read in line by the
        record that holds it, with no call of its own."""


_building: set[type] = set()
_sources: dict[type, str] = {}
"""Each walker's source, for reading (and tests)."""


def _plain_lines(plan: _Plan, record: str, namespace: dict[str, Any], indent: str,
                 d: str = "d") -> list[str]:
    """The bulk reads of ``record``'s text and number fields (``d`` names its ``__dict__``)."""
    lines = []
    for target, names in (("out", plan.texts), ("nums", plan.numbers)):
        if len(names) == 1:
            lines.append(f"{indent}{target}.append({d}[{names[0]!r}])")
        elif names:  # one C call for all of them
            getter = f"get_{target}_{record}"
            namespace[getter] = itemgetter(*names)
            lines.append(f"{indent}{target} += {getter}({d})")
    return lines


def _visit_lines(kind: type | None, value: str, namespace: dict[str, Any], indent: str,
                 mark: bool) -> list[str]:
    """Code visiting the value in ``value``, expected to be a record of class ``kind``; a
    value of any other class goes through the generic dispatch. ``mark``: skip it if visited
    (and mark it), for records that may also be met elsewhere."""
    generic = f"_walkers[type({value})]({value}, out, nums, seen, state)"
    if kind is None or kind in _building:  # several classes, or a class that holds itself
        return [f"{indent}{generic}"]
    name = f"{kind.__name__}_{id(kind)}"
    namespace[name] = kind
    plan = _Plan(kind)
    if plan.leaf:
        body = [f"{indent}    e = {value}.__dict__"]
        body += _plain_lines(plan, name, namespace, indent + "    ", d="e")
    else:
        namespace[f"walk_{name}"] = _walkers[kind]
        call = f"walk_{name}({value}, out, nums, seen, state)"
        body = ([f"{indent}    i = id({value})", f"{indent}    if i not in seen:",
                 f"{indent}        seen.add(i)", f"{indent}        {call}"]
                if mark and kind in _list_items() else [f"{indent}    {call}"])
    return [f"{indent}if type({value}) is {name}:", *body,
            f"{indent}elif {value} is not None:", f"{indent}    {generic}"]


def _list_items() -> set[type]:
    """The record classes held in lists (messages, tools, tool calls, steps): the ones a
    trajectory may hold more than once (a response's message is the next request's)."""
    found: set[type] = set()
    todo = [_Record]
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        for info in cls.model_fields.values():
            annotation = info.annotation
            union = get_origin(annotation) in (typing.Union, types.UnionType)
            for part in get_args(annotation) if union else (annotation,):
                if get_origin(part) is list:
                    (item,) = get_args(part)
                    if get_origin(item) is typing.Annotated:
                        item = get_args(item)[0]
                    for one in get_args(item) or (item,):
                        if isinstance(one, type) and issubclass(one, _Record):
                            found.add(one)
    return found


_PLAIN = frozenset({dict, list, tuple, str, int, float, bool})
"""Types whose falsy values (empty, zero) hold no text."""


def _record_walker(cls: type[_Record]) -> Walker:
    _building.add(cls)
    try:
        plan = _Plan(cls)
        namespace: dict[str, Any] = {"_walkers": _walkers, "_shared_prefix": _shared_prefix,
                                     "_PLAIN": _PLAIN}
        lines = ["def walk(r, out, nums, seen, state):", "    d = r.__dict__"]
        lines += _plain_lines(plan, "r", namespace, "    ")
        for name, kind in plan.records:
            lines.append(f"    v = d[{name!r}]")
            lines += _visit_lines(kind, "v", namespace, "    ", mark=True)
        for name, kind in plan.lists:
            lines += [
                f"    v = d[{name!r}]",
                "    if type(v) is list:",
                "        if len(v) > 4:  # a request's messages: skip what the last list shares",
                "            p = state[0]",
                "            state[0] = v",
                "            v = v[_shared_prefix(v, p):]",
                "        for m in v:",
                "            i = id(m)",
                "            if i not in seen:",
                "                seen.add(i)",
                *_visit_lines(kind, "m", namespace, "                ", mark=False),
                "    elif v is not None:",
                "        _walkers[type(v)](v, out, nums, seen, state)",
            ]
        for name in plan.others:
            lines += [
                f"    v = d[{name!r}]",
                "    if v:",
                "        k = type(v)",
                "        if k is str:",
                "            out.append(v)",
                "        else:",
                "            _walkers[k](v, out, nums, seen, state)",
                # A falsy object of a class of its own is not taken for empty.
                "    elif v is not None and type(v) not in _PLAIN:",
                "        _walkers[type(v)](v, out, nums, seen, state)",
            ]
        _sources[cls] = "\n".join(lines)
        exec(_sources[cls], namespace)  # source written above from the class's field names
        walker: Walker = namespace["walk"]
        walker.__qualname__ = walker.__name__ = f"walk_{cls.__name__}"
        return walker
    finally:
        _building.discard(cls)


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


def strings(root: _Record) -> set[str] | None:
    """The distinct strings of ``root`` (dict keys included), or ``None`` when it holds a value
    this walk does not read (the generic walk decides then)."""
    out: list[Any] = []
    nums: list[Any] = []
    try:
        _walkers[type(root)](root, out, nums, set(), [()])
    except (_Odd, KeyError):  # KeyError: a record built without one of its fields
        return None
    # issuperset of an iterator tests each type as it comes, building no set of them.
    if not (_NUMBER_TYPES.issuperset(map(type, nums)) and _text_types.issuperset(map(type, out))):
        return None
    found = set(out)
    found.discard(None)
    return found
