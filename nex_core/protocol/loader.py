"""Load specs from YAML or JSON with errors that name the file, the line and the field."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from nex_core.errors import Location, SpecError
from nex_core.protocol._document import (
    LargeSpecWarning,
    LineIndex,
    gc_paused,
    parse_document,
    read_document_text,
)
from nex_core.protocol.spec import AgentSpec, SubAgentSpec, SystemSpec, TeamSpec

__all__ = [
    "LargeSpecWarning",
    "LineIndex",
    "dump_spec",
    "load_document",
    "load_spec",
    "parse_document",
    "read_document_text",
    "spec_from_data",
    "validate_data",
    "validation_problems",
]

Index = Mapping[tuple[Any, ...], int]

T = TypeVar("T")

_SYSTEM: TypeAdapter[AgentSpec | TeamSpec] = TypeAdapter(SystemSpec)


_BINDING_TAGS = {"import", "mcp", "callable", "simulated"}


def _document_path(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop the union tags pydantic inserts into error locations, leaving the document path."""
    out: list[Any] = []
    for i, part in enumerate(loc):
        if i == 0 and part in {"agent", "team"} and len(loc) > 1:
            continue
        if out and out[-1] == "binding" and part in _BINDING_TAGS:
            continue
        out.append(part)
    return tuple(out)


def _best_line(index: Index, path: tuple[Any, ...]) -> int | None:
    """Line of the deepest prefix of ``path`` the document has (a missing field: its parent)."""
    for cut in range(len(path), -1, -1):
        if path[:cut] in index:
            return index[path[:cut]]
    return None


def _field_name(path: tuple[Any, ...]) -> str:
    text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
    return text or "(document)"


def validation_problems(
    exc: ValidationError, source: str, index: Index
) -> list[tuple[Location, str]]:
    problems = []
    for err in exc.errors():
        path = _document_path(tuple(err["loc"]))
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown field (check its spelling, or put framework extras in 'extensions')"
        elif err["type"] == "missing":
            message = "required field is missing"
        problems.append((Location(source, _best_line(index, path), _field_name(path)), message))
    return problems


def validate_data(
    model: type[T] | TypeAdapter[T], data: Any, source: str, index: Index
) -> T:
    adapter = model if isinstance(model, TypeAdapter) else TypeAdapter(model)
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        raise SpecError(
            f"{source} is not a valid {_kind_name(model)}",
            validation_problems(exc, source, index),
        ) from None
    except RecursionError:
        raise SpecError(f"{source} is nested too deeply to validate",
                        [(Location(source), "flatten the document")]) from None


def _kind_name(model: Any) -> str:
    if isinstance(model, type) and issubclass(model, BaseModel):
        return model.__name__
    return "spec"


def load_document(path: str | Path, model: type[T] | TypeAdapter[T]) -> T:
    """Read a YAML/JSON file and validate it as ``model``."""
    return _load_document(path, model)[0]


def _load_document(path: str | Path, model: type[T] | TypeAdapter[T]) -> tuple[T, LineIndex]:
    text = read_document_text(path)
    with gc_paused():  # validation builds as many objects again as parsing did
        data, index = parse_document(text, str(path))
        return validate_data(model, data, str(path), index), index


def load_spec(path: str | Path) -> AgentSpec | TeamSpec:
    """Load an agent or team spec, resolving sub-agent ``ref`` files relative to each file."""
    return _load(Path(path).resolve(), stack=())


def _load(path: Path, stack: tuple[Path, ...]) -> AgentSpec | TeamSpec:
    if path in stack:
        chain = " -> ".join(str(p) for p in (*stack, path))
        raise SpecError(f"sub-agent references form a cycle: {chain}")
    spec, index = _load_document(path, _SYSTEM)
    for where, sub in list(_sub_agents(spec, ())):
        _resolve_ref(sub, path, (*stack, path), index, where)
    # Tool-name uniqueness can only be checked once refs are resolved.
    for agent in spec.walk():
        _check_resolved(agent, path)
    return spec


def _sub_agents(
    spec: AgentSpec | TeamSpec, at: tuple[Any, ...]
) -> Iterator[tuple[tuple[Any, ...], SubAgentSpec]]:
    """Every sub-agent written in this document, with its path in the document."""
    if isinstance(spec, TeamSpec):
        for i, member in enumerate(spec.members):
            yield from _sub_agents(member, (*at, "members", i))
        return
    for i, sub in enumerate(spec.sub_agents):
        yield (*at, "sub_agents", i), sub
        if sub.ref is None and sub.agent is not None:
            yield from _sub_agents(sub.agent, (*at, "sub_agents", i, "agent"))


def _shown(ref: str) -> str:
    text = repr(ref)
    return text if len(text) <= 80 else text[:77] + "..."


def _resolve_ref(
    sub: SubAgentSpec, base: Path, stack: tuple[Path, ...], index: Index, at: tuple[Any, ...]
) -> None:
    if sub.ref is None:
        return
    field = _field_name((*at, "ref"))
    where = Location(str(base), _best_line(index, (*at, "ref")), field)
    if "\0" in sub.ref:
        raise SpecError(f"sub-agent reference {_shown(sub.ref)} is not a path",
                        [(where, "it holds a NUL byte")])
    try:
        target = (base.parent / sub.ref).resolve()
        found = target.is_file()
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise SpecError(f"sub-agent reference {_shown(sub.ref)} is not a usable path",
                        [(where, reason)]) from None
    if not found:
        what = "a folder" if target.is_dir() else "no file"
        raise SpecError(f"sub-agent reference not found: {_shown(sub.ref)}",
                        [(where, f"{what} at {target}")])
    child = _load(target, stack)
    if not isinstance(child, AgentSpec):
        raise SpecError(f"{target} holds a team; a sub-agent reference must name an agent",
                        [(where, "refer to an agent spec")])
    sub.agent = child


def _check_resolved(agent: AgentSpec, source: Path) -> None:
    # Re-run only the cross-tool check: re-validating a dump would see both `ref` and the
    # resolved `agent` on each sub-agent and reject every spec that uses references.
    try:
        agent._unique_tool_names()  # type: ignore[operator]  # the validator, called directly
    except ValueError as exc:
        raise SpecError(
            f"{source} is not a valid spec once references are resolved",
            [(Location(str(source), None, "tools"), str(exc))],
        ) from None


def _drop_resolved(data: Any) -> Any:
    """Sub-agents given by ``ref`` are written as the reference, not as the resolved child."""
    if isinstance(data, list):
        return [_drop_resolved(v) for v in data]
    if not isinstance(data, dict):
        return data
    out = dict(data)
    for key in ("members", "sub_agents"):
        if isinstance(out.get(key), list):
            out[key] = [_drop_resolved(v) for v in out[key]]
    if "ref" in out and isinstance(out.get("agent"), dict):
        out.pop("agent")
    elif isinstance(out.get("agent"), dict):
        out["agent"] = _drop_resolved(out["agent"])
    return out


class _SpecDumper(yaml.SafeDumper):
    """PyYAML folds a raw NEL (U+0085) inside plain and single-quoted scalars into a space, so
    such strings would not survive a round trip; double quotes escape it as ``\\N``."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = '"' if "\x85" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_SpecDumper.add_representer(str, _represent_str)


def dump_spec(spec: AgentSpec | TeamSpec, *, fmt: str = "yaml") -> str:
    """Serialise a spec (defaults omitted, references kept as written)."""
    data = _drop_resolved(spec.model_dump(mode="json", exclude_defaults=True))
    data = {"kind": spec.kind, **data}
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return yaml.dump(data, Dumper=_SpecDumper, sort_keys=False, allow_unicode=True)


def spec_from_data(data: Any, source: str = "<data>") -> AgentSpec | TeamSpec:
    """Validate already-parsed data as a spec (no ref resolution)."""
    return validate_data(_SYSTEM, data, source, {})
