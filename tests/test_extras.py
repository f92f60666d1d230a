"""Every nex_core module imports without the optional extras; a missing extra is one clear error
naming it, raised where the extra is used.

One fresh interpreter (the extras must be absent from its start) blocks the import names of
every distribution nex-core's extras add (read from pyproject.toml), imports every module under
nex_core/, and then uses two extras' features: a chat template (``tokens``) and the span writer
(``otel``)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NOT_EXTRAS = {"test"}  # the test tools, which libraries nex stands on may import themselves

PROBE = """
import importlib, json, sys
blocked, modules = json.loads(sys.argv[1]), json.loads(sys.argv[2])
for name in blocked:
    sys.modules[name] = None
report = {"failed": {}, "used": {}}
for module in modules:
    try:
        importlib.import_module(module)
    except Exception as exc:
        report["failed"][module] = f"{type(exc).__name__}: {exc}"

def use(what, make):
    try:
        make()
    except Exception as exc:
        report["used"][what] = f"{type(exc).__name__}: {exc}"
    else:
        report["used"][what] = "worked"

from nex_core.tokens import ChatTemplate
use("tokens", lambda: ChatTemplate("{{ messages }}", "probe"))
from nex_core.otel._export import SpanWriter
use("otel", lambda: SpanWriter(None, capture_content=False))
print(json.dumps(report))
"""


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def extra_import_names() -> list[str]:
    """The top-level import names of the distributions the extras add (those installed here)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    core = {_name(r) for r in project["dependencies"]}
    extras = (
        {
            _name(r)
            for extra, requirements in project["optional-dependencies"].items()
            if extra not in NOT_EXTRAS
            for r in requirements
        }
        - core
        - {"nex-core"}
    )
    providers: dict[str, set[str]] = {}
    for top, dists in packages_distributions().items():
        for dist in dists:
            providers.setdefault(top, set()).add(dist.lower().replace("_", "-"))
    return sorted(
        top
        for top, dists in providers.items()
        if dists & extras and not dists & core and top.isidentifier()
    )


def nex_core_modules() -> list[str]:
    out = []
    for path in sorted((REPO / "nex_core").rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        if parts[-1] == "__main__":
            continue
        out.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return out


def test_every_module_imports_without_the_extras_and_a_missing_extra_is_named() -> None:
    blocked = extra_import_names()
    # The list is read, not written down: it must hold the extras' packages this machine has.
    assert {"jinja2", "opentelemetry"} <= set(blocked), blocked
    modules = nex_core_modules()
    assert "nex_core.tokens._template" in modules and "nex_core.view" in modules
    res = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(blocked), json.dumps(modules)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout.strip().splitlines()[-1])
    unnamed = {m: e for m, e in report["failed"].items() if "nex-core[" not in e}
    assert not unnamed, unnamed
    used = report["used"]
    assert used["tokens"].startswith("SpecError") and "nex-core[tokens]" in used["tokens"], used
    assert "jinja2" in used["tokens"], used
    assert used["otel"].startswith("SpecError") and "nex-core[otel]" in used["otel"], used
