"""Lazy re-exports for package ``__init__`` modules.

A package's public names are written once, as ordinary imports inside ``if TYPE_CHECKING:``
(what type checkers, linters and readers see). :func:`lazy_exports` reads that block from the
package's source and returns a module ``__getattr__``/``__dir__`` pair that imports a name's
module the first time the name is used. ``import nex_core`` then costs nothing beyond the package
itself, and ``nex_core.AgentSpec`` still works (PEP 562).
"""

from __future__ import annotations

import ast
import importlib
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _type_checking_imports(source: str, package: str) -> dict[str, tuple[str, str]]:
    """``{exported name: (module, attribute)}`` from the ``if TYPE_CHECKING:`` imports."""
    found: dict[str, tuple[str, str]] = {}
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.If) and _is_type_checking(node.test)):
            continue
        for stmt in node.body:
            if not isinstance(stmt, ast.ImportFrom) or stmt.module is None:
                continue
            module = stmt.module
            if stmt.level:  # relative: resolve against the package
                base = package.rsplit(".", stmt.level - 1)[0] if stmt.level > 1 else package
                module = f"{base}.{module}"
            for alias in stmt.names:
                found[alias.asname or alias.name] = (module, alias.name)
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _PackageKeepingExports(types.ModuleType):
    """A package whose exported name outlives the import of a submodule of the same name."""

    def __setattr__(self, name: str, value: Any) -> None:
        shadowed: dict[str, str] = self.__dict__.get("__lazy_shadowed__", {})
        if (
            name in shadowed
            and isinstance(value, types.ModuleType)
            and value.__name__ == f"{self.__name__}.{name}"
        ):
            value = getattr(value, shadowed[name])
        super().__setattr__(name, value)


def lazy_exports(
    package: str, init_file: str, namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of a package whose exports are imported on first use.

    ``namespace`` is the package's ``globals()``: a resolved name is stored there, so later
    look-ups are plain attribute reads. Submodules are imported on attribute access as well
    (``nex_core.protocol`` after ``import nex_core``), as an eager package would have them.
    """
    table = _type_checking_imports(Path(init_file).read_text(encoding="utf-8"), package)
    # A name that is also its own submodule (``trajectory.normalize``, the function, in the
    # module ``trajectory/normalize.py``): importing the submodule makes the import system set
    # the package attribute to the module; the package's class turns that into the function.
    shadowed = {n: attr for n, (module, attr) in table.items() if module == f"{package}.{n}"}
    if shadowed:
        sys.modules[package].__class__ = _PackageKeepingExports
        namespace["__lazy_shadowed__"] = shadowed

    def __getattr__(name: str) -> Any:
        if name in table:
            module, attr = table[name]
            value = getattr(importlib.import_module(module), attr)
            namespace[name] = value
            return value
        if not name.startswith("__"):
            try:
                return importlib.import_module(f"{package}.{name}")
            except ModuleNotFoundError as exc:
                if exc.name != f"{package}.{name}":
                    raise
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted({*namespace, *table})

    return __getattr__, __dir__
