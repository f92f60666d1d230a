"""nex-core declares every distribution its modules import at module level (an undeclared one is
an ImportError for a user whose environment happens not to have it): as a dependency, or in an
extra for the optional parts (``nex_core.tokens`` needs the ``tokens`` extra)."""

from __future__ import annotations

import ast
import importlib.metadata
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]


def _module_level_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:  # not inside functions: those are optional, behind extras
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _declared() -> set[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    return {Requirement(r).name.lower().replace("_", "-") for r in requirements}


def test_every_module_level_import_is_a_declared_dependency() -> None:
    owners = importlib.metadata.packages_distributions()
    declared = _declared()
    missing: dict[str, set[str]] = {}
    for path in sorted((REPO / "nex_core").rglob("*.py")):
        for name in _module_level_imports(path):
            if name in sys.stdlib_module_names or name in ("nex_core", "__future__"):
                continue
            distributions = {d.lower().replace("_", "-") for d in owners.get(name, [name])}
            if not distributions & declared:
                missing.setdefault(name, set()).add(str(path.relative_to(REPO)))
    assert missing == {}, f"imported but not declared in pyproject.toml: {missing}"


def test_openai_floor_is_a_release_that_brings_httpx2() -> None:
    """``nex_core.models.http1`` builds on httpx2, which the SDK uses from openai 3 on."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    openai = next(Requirement(r) for r in project["dependencies"] if r.startswith("openai"))
    assert not openai.specifier.contains("2.99") and openai.specifier.contains("3.0.0")
