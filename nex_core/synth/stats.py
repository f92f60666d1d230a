"""``nex synth stats DIR``: the distribution of what a synth run produced."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from nex_core.errors import SpecError
from nex_core.synth.generate import MANIFEST


def read_manifest(folder: str | Path) -> dict[str, Any]:
    path = Path(folder) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError(f"{folder} is not a nex synth output: it has no {MANIFEST}") from None
    except (OSError, ValueError) as exc:
        raise SpecError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("systems"), list):
        raise SpecError(f"{path} is not a synth manifest (no 'systems' list)")
    return data


def synth_stats(folder: str | Path) -> dict[str, Any]:
    """Counts per dimension over the valid systems, and the outcome of every blueprint."""
    manifest = read_manifest(folder)
    systems = manifest["systems"]
    valid = [s for s in systems if s.get("status") == "valid" and s.get("shape")]
    dims: dict[str, Counter[str]] = {
        name: Counter()
        for name in ("depth", "breadth", "agents", "modes", "tool_formats", "tools",
                     "tools_per_agent", "bindings", "domain", "persona", "tasks", "attempts")
    }  # fmt: skip
    for s in valid:
        sh, bp = s["shape"], s.get("blueprint", {})
        for key in ("depth", "breadth", "agents", "tools"):
            dims[key][str(sh.get(key))] += 1
        for mode, count in sh.get("modes", {}).items():
            dims["modes"][mode] += count
        if not sh.get("modes"):
            dims["modes"]["single"] += 1
        for fmt in sh.get("tool_formats", []):
            dims["tool_formats"][fmt] += 1
        for count in sh.get("tools_per_agent", []):
            dims["tools_per_agent"][str(count)] += 1
        for kind, count in sh.get("bindings", {}).items():
            dims["bindings"][kind] += count
        dims["domain"][str(bp.get("domain"))] += 1
        dims["persona"][str(bp.get("persona"))] += 1
        dims["tasks"][str(s.get("tasks"))] += 1
    for s in systems:
        dims["attempts"][str(s.get("attempts"))] += 1
    status = Counter(str(s.get("status")) for s in systems)
    problems: Counter[str] = Counter()
    for s in systems:
        if s.get("status") == "rejected":
            for p in s.get("problems", []):
                problems[p.split(":")[0][:80]] += 1
    return {
        "systems": len(systems),
        "status": dict(status),
        "distribution": {k: dict(sorted(v.items())) for k, v in dims.items()},
        "rejected_problems": dict(problems.most_common(10)),
        "generator": manifest.get("generator"),
        "prompts": manifest.get("prompts"),
    }
