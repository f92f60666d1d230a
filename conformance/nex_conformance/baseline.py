"""Expected-failure baselines: the scenarios an adapter is known to fail, each with a reason.

A baseline file is YAML, either flat (applies to every adapter the run covers)::

    handoff: "the framework's handoff tool returns a Command, not text (issue #12)"

or per adapter::

    adapters:
      langgraph:
        handoff: "..."

Sources, later ones overriding earlier ones for the same scenario:
1. the kit's own ``nex_conformance/baselines/<adapter>.yaml``;
2. the adapter's optional ``conformance_baseline`` attribute (a path, or a mapping id → reason);
3. files given on the command line (``--baseline``) or to pytest (``--nex-baseline``).

A listed scenario that fails is "expected failure"; one that passes is "stale" and fails the run,
so a baseline shrinks as an adapter improves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from nex_core import Adapter, SpecError
from nex_core.protocol._document import parse_document, read_document_text

ATTRIBUTE = "conformance_baseline"


@dataclass(frozen=True)
class Expected:
    """One listed expected failure."""

    reason: str
    source: str


Baseline = dict[str, Expected]
"""Scenario id → why it is expected to fail (for one adapter)."""


def _entries(data: Any, source: str) -> dict[str, str]:
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise SpecError(f"{source}: a baseline maps scenario ids to reasons")
    out: dict[str, str] = {}
    for scenario, reason in data.items():
        if not isinstance(reason, str) or not reason.strip():
            raise SpecError(f"{source}: scenario '{scenario}' needs a reason (a non-empty string)")
        out[str(scenario)] = reason.strip()
    return out


def read_file(path: str | Path) -> dict[str | None, dict[str, str]]:
    """Parse a baseline file: adapter name (``None`` = every adapter) → entries."""
    p = Path(path)
    # nex's document reader, as for specs: errors with the line, and the cap on alias expansion.
    data, _ = parse_document(read_document_text(p), str(p))
    if isinstance(data, Mapping) and set(data) == {"adapters"}:
        adapters = data["adapters"] or {}
        if not isinstance(adapters, Mapping):
            raise SpecError(f"{p}: 'adapters' maps adapter names to baselines")
        return {
            str(name): _entries(entries, f"{p} (adapter {name})")
            for name, entries in adapters.items()
        }
    return {None: _entries(data, str(p))}


def _builtin(adapter: str) -> tuple[dict[str, str], str] | None:
    entry = resources.files("nex_conformance") / "baselines" / f"{adapter}.yaml"
    if not entry.is_file():
        return None
    with resources.as_file(entry) as path:
        return read_file(path).get(None, {}), f"nex_conformance/baselines/{adapter}.yaml"


def _from_adapter(adapter: Adapter) -> tuple[dict[str, str], str] | None:
    value = getattr(adapter, ATTRIBUTE, None)
    if value is None:
        return None
    source = f"{type(adapter).__qualname__}.{ATTRIBUTE}"
    if isinstance(value, Mapping):
        return _entries(value, source), source
    files = read_file(value)
    return {**files.get(None, {}), **files.get(adapter.name, {})}, str(value)


def baseline_for(adapter: Adapter, files: Sequence[str | Path] = ()) -> Baseline:
    """The merged baseline of ``adapter`` from every source (see the module docstring)."""
    out: Baseline = {}
    for found in (_builtin(adapter.name), _from_adapter(adapter)):
        if found is not None:
            entries, source = found
            out.update({k: Expected(v, source) for k, v in entries.items()})
    for f in files:
        parsed = read_file(f)
        for key in (None, adapter.name):
            out.update({k: Expected(v, str(f)) for k, v in parsed.get(key, {}).items()})
    return out
