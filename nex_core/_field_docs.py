"""Field descriptions from attribute docstrings, with each module's source parsed once.

nex documents every model field with a docstring under it, and the JSON Schemas nex publishes
carry those texts as ``description``. pydantic's ``use_attribute_docstrings`` reads them too,
but on Python < 3.13 it finds each class's source by walking the interpreter's frames and asking
``inspect.getmodule`` of every frame, then parses the class's block: a tenth of a second at
``import nex_core`` for the fifty-odd models a run loads. Here the module's file is parsed once
and every class in it is found by qualified name.

The rule is pydantic's own: a string statement right after an annotated assignment to a name
documents that name, and it becomes the field's description unless ``Field(description=...)``
already gave one. The descriptions must be in place before pydantic builds the model's schema,
so the models are built lazily (``defer_build``): on first use, which also spares a run the
models it never touches.
"""

from __future__ import annotations

import ast
import functools
import inspect
import sys
from typing import Any

from pydantic import BaseModel, ConfigDict

_BLOCKS = ("body", "orelse", "finalbody")
"""The statement lists of a compound statement (``if``, ``for``, ``while``, ``with``, ``try``)."""


class _DocstringVisitor(ast.NodeVisitor):
    """The attribute docstrings of one class body (pydantic's rule, visited the same way)."""

    def __init__(self) -> None:
        super().__init__()
        self.target: str | None = None
        self.docs: dict[str, str] = {}
        self.previous: type[ast.AST] | None = None

    def visit(self, node: ast.AST) -> Any:
        result = super().visit(node)
        self.previous = type(node)
        return result

    def visit_AnnAssign(self, node: ast.AnnAssign) -> Any:
        if isinstance(node.target, ast.Name):
            self.target = node.target.id

    def visit_Expr(self, node: ast.Expr) -> Any:
        value = node.value
        if (
            isinstance(value, ast.Constant)
            and isinstance(value.value, str)
            and self.previous is ast.AnnAssign
        ):
            if self.target:
                self.docs[self.target] = inspect.cleandoc(value.value)
            self.target = None


def _class_nodes(tree: ast.Module) -> dict[str, list[ast.ClassDef]]:
    """Every class statement of a module by its ``__qualname__`` (only statements are walked:
    a class is never inside an expression)."""
    found: dict[str, list[ast.ClassDef]] = {}

    def walk(statements: list[ast.stmt], prefix: str) -> None:
        for node in statements:
            if isinstance(node, ast.ClassDef):
                qualname = prefix + node.name
                found.setdefault(qualname, []).append(node)
                walk(node.body, qualname + ".")
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                walk(node.body, f"{prefix}{node.name}.<locals>.")
            else:
                for name in _BLOCKS:
                    block = getattr(node, name, None)
                    if block:
                        walk(block, prefix)
                for handler in getattr(node, "handlers", ()):
                    walk(handler.body, prefix)
                for case in getattr(node, "cases", ()):
                    walk(case.body, prefix)

    walk(tree.body, "")
    return found


@functools.cache
def _module_classes(filename: str) -> dict[str, list[ast.ClassDef]]:
    try:
        with open(filename, encoding="utf-8") as f:
            tree = ast.parse(f.read(), filename)
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return {}
    return _class_nodes(tree)


def _first_line(cls: type[Any]) -> int | None:
    """The first line of a function defined in ``cls``: which of two same-named classes it is."""
    for value in vars(cls).values():
        func = getattr(value, "__func__", value)
        code = getattr(func, "__code__", None)
        if code is not None:
            return int(code.co_firstlineno)
    return None


def attribute_docstrings(cls: type[Any]) -> dict[str, str]:
    """The attribute docstrings of ``cls``'s own body, from its module's source file."""
    module = sys.modules.get(cls.__module__)
    filename = getattr(module, "__file__", None)
    if not filename:
        return {}
    nodes = _module_classes(filename).get(cls.__qualname__, [])
    if len(nodes) > 1:
        line = _first_line(cls)
        inside = [n for n in nodes if line is not None and n.lineno <= line <= (n.end_lineno or 0)]
        nodes = inside or nodes[:1]
    if not nodes:
        return {}
    visitor = _DocstringVisitor()
    visitor.visit(nodes[0])
    return visitor.docs


class DocumentedModel(BaseModel):
    """A model whose fields are described by the docstrings under them (see the module)."""

    model_config = ConfigDict(defer_build=True)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        docs = attribute_docstrings(cls)
        if not docs:
            return
        for name, field in cls.__pydantic_fields__.items():
            if field.description is None and name in docs:
                field.description = docs[name]
