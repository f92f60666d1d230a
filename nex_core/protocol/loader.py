"""Load specs from YAML or JSON with errors that name the file, the line and the field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from nex_core.errors import Location, SpecError
from nex_core.protocol.spec import AgentSpec, SubAgentSpec, SystemSpec, TeamSpec

T = TypeVar("T")

_SYSTEM: TypeAdapter[AgentSpec | TeamSpec] = TypeAdapter(SystemSpec)


def _line_index(node: yaml.Node, path: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], int]:
    """Map every path in a YAML node tree to its 1-based line."""
    index = {path: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            index[(*path, key)] = key_node.start_mark.line + 1
            for sub, line in _line_index(value_node, (*path, key)).items():
                index.setdefault(sub, line)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            index.update(_line_index(item, (*path, i)))
    return index


def parse_document(text: str, source: str) -> tuple[Any, dict[tuple[Any, ...], int]]:
    """Parse YAML (JSON is YAML) and return the data and a path → line index."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark else None
        raise SpecError(
            f"{source} is not valid YAML/JSON",
            [(Location(source, line), str(exc.problem or exc))],
        ) from None
    return data, (_line_index(node) if node is not None else {})


_BINDING_TAGS = {"import", "mcp", "callable"}


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


def _best_line(index: dict[tuple[Any, ...], int], path: tuple[Any, ...]) -> int | None:
    """Line of the deepest prefix of ``path`` the document has (a missing field: its parent)."""
    for cut in range(len(path), -1, -1):
        if path[:cut] in index:
            return index[path[:cut]]
    return None


def _field_name(path: tuple[Any, ...]) -> str:
    text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
    return text or "(document)"


def validation_problems(
    exc: ValidationError, source: str, index: dict[tuple[Any, ...], int]
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
    model: type[T] | TypeAdapter[T], data: Any, source: str, index: dict[tuple[Any, ...], int]
) -> T:
    adapter = model if isinstance(model, TypeAdapter) else TypeAdapter(model)
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        raise SpecError(
            f"{source} is not a valid {_kind_name(model)}",
            validation_problems(exc, source, index),
        ) from None


def _kind_name(model: Any) -> str:
    if isinstance(model, type) and issubclass(model, BaseModel):
        return model.__name__
    return "spec"


def load_document(path: str | Path, model: type[T] | TypeAdapter[T]) -> T:
    """Read a YAML/JSON file and validate it as ``model``."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"cannot read {p}: {exc.strerror}") from None
    data, index = parse_document(text, str(p))
    return validate_data(model, data, str(p), index)


def load_spec(path: str | Path) -> AgentSpec | TeamSpec:
    """Load an agent or team spec, resolving sub-agent ``ref`` files relative to each file."""
    return _load(Path(path).resolve(), stack=())


def _load(path: Path, stack: tuple[Path, ...]) -> AgentSpec | TeamSpec:
    if path in stack:
        chain = " -> ".join(str(p) for p in (*stack, path))
        raise SpecError(f"sub-agent references form a cycle: {chain}")
    spec = load_document(path, _SYSTEM)
    agents = spec.walk()
    for agent in agents:
        for sub in agent.sub_agents:
            _resolve_ref(sub, path, (*stack, path))
    # Tool-name uniqueness can only be checked once refs are resolved.
    for agent in spec.walk():
        _check_resolved(agent, path)
    return spec


def _resolve_ref(sub: SubAgentSpec, base: Path, stack: tuple[Path, ...]) -> None:
    if sub.ref is None:
        return
    target = (base.parent / sub.ref).resolve()
    if not target.exists():
        raise SpecError(
            f"sub-agent reference not found: {sub.ref}",
            [(Location(str(base), None, "sub_agents.ref"), f"no file at {target}")],
        )
    child = _load(target, stack)
    if not isinstance(child, AgentSpec):
        raise SpecError(f"{target} holds a team; a sub-agent reference must name an agent")
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
