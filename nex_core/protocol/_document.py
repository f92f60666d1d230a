"""Reading YAML/JSON documents: bytes to data plus the line of every field, in one parse.

One parse: libyaml's composer (PyYAML's C loader, when PyYAML was built with it) gives the node
tree with the position of every node, and the data is constructed from that same tree; nothing
is parsed twice. The line index (:class:`LineIndex`) is looked up lazily, walking the tree only
along the path asked for, since it is needed only for the few fields an error names.

Every way a file can be unreadable is a :class:`SpecError` with the file and, where the file has
one, the line: bytes that are not UTF-8, NUL bytes (a binary file), characters YAML forbids,
YAML syntax, tags whose value cannot be built (``!!float x``, ``!!timestamp 2001-12-14t``),
unknown tags, nesting too deep to build, and aliases that expand the document past
:data:`MAX_ALIAS_NODES` ("billion laughs": nine levels of ten aliases each are 10**9 values to
validate from a 300-byte file).
"""

from __future__ import annotations

import contextlib
import gc
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from nex_core.errors import Location, SpecError

LARGE_DOCUMENT_BYTES = 10_000_000
"""Above this size a document is loaded with a :class:`LargeSpecWarning`."""

MAX_ALIAS_NODES = 100_000
"""How many nodes aliases may add to a document (beyond one per node it has): anchors reused as
configuration defaults stay far below it; an alias bomb passes it within a few levels."""

_BASE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_C_LOADER = _BASE_LOADER is not yaml.SafeLoader


class LargeSpecWarning(UserWarning):
    """A spec or config so large that loading it takes noticeable time."""


class _Loader(_BASE_LOADER):
    """The safe loader, whose constructors' own failures become marked YAML errors: PyYAML lets
    a ``ValueError`` or ``TypeError`` out of ``!!float x`` or ``!!timestamp 2001-12-14t``."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (yaml.YAMLError, RecursionError):
            raise
        except Exception as exc:
            tag = str(node.tag).rsplit(":", 1)[-1]
            raise yaml.constructor.ConstructorError(
                None, None, f"this value cannot be read as {tag}: {exc}", node.start_mark
            ) from None


def read_document_text(path: str | Path) -> str:
    """The text of a document file, or a SpecError saying why it has none."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise SpecError(f"cannot read {p}: {exc.strerror or exc}") from None
    except ValueError as exc:  # a NUL byte in the path itself
        raise SpecError(f"cannot read {p!r}: {exc}") from None
    if len(raw) > LARGE_DOCUMENT_BYTES:
        warnings.warn(
            LargeSpecWarning(
                f"{p} is {len(raw) / 1e6:.0f} MB; a document this large takes a while to load. "
                "Split it (sub-agents can live in their own files, given by ref:), or serve a "
                "large tool catalogue from an MCP server."
            ),
            stacklevel=3,
        )
    return decode_document(raw, str(p))


def decode_document(raw: bytes, source: str) -> str:
    """UTF-8 text of ``raw``, refusing binary files with the line where they stop being text."""
    nul = raw.find(b"\0")
    if nul >= 0:
        line = raw.count(b"\n", 0, nul) + 1
        raise SpecError(f"{source} is not a text file",
                        [(Location(source, line), "it holds a NUL byte (a binary file?)")])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise SpecError(
            f"{source} is not UTF-8 text",
            [(Location(source, line), f"byte 0x{raw[exc.start]:02x} cannot be decoded "
              f"({exc.reason}); save the file as UTF-8")],
        ) from None


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection inside: a large document is millions of new, long-lived
    objects (nodes, marks, the data, then the models), and every generation-2 collection walks
    all of them; paused, a 5 MB spec parses in a third of the time. Nothing made here is cyclic
    garbage, so nothing is left for the collector afterwards."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def parse_document(text: str, source: str) -> tuple[Any, LineIndex]:
    """Parse YAML (JSON is YAML) once and return the data and a path -> line index."""
    with gc_paused():
        return _parse(text, source)


def _parse(text: str, source: str) -> tuple[Any, LineIndex]:
    try:
        loader = _Loader(text)
    except UnicodeEncodeError as exc:  # a lone surrogate in text given from Python
        raise SpecError(f"{source} holds a character that is not Unicode text: {exc.reason}",
                        [(Location(source, _line_of(text, exc.start)), "remove it")]) from None
    try:
        node = loader.get_single_node()
        if node is not None and "*" in text:  # no alias without an asterisk: most documents
            _check_aliases(node, source)
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or str(exc)
        raise SpecError(f"{source} is not valid YAML/JSON",
                        [(Location(source, line), str(problem))]) from None
    except yaml.reader.ReaderError as exc:
        line = _reader_line(text, exc.position)
        raise SpecError(f"{source} is not valid YAML/JSON",
                        [(Location(source, line), f"character {exc.character!r} is not "
                          f"allowed in YAML ({exc.reason})")]) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"{source} is not valid YAML/JSON",
                        [(Location(source), str(exc).splitlines()[0])]) from None
    except RecursionError:
        raise SpecError(f"{source} is nested too deeply to read",
                        [(Location(source), "flatten the document")]) from None
    finally:
        loader.dispose()
    return data, LineIndex(node)


def _check_aliases(root: yaml.Node, source: str) -> None:
    """Refuse a document whose aliases expand it by more than :data:`MAX_ALIAS_NODES` nodes.

    The composed tree shares an aliased node rather than copying it, so composing and
    constructing stay linear; what explodes is everything after that walks the data as a tree
    (validation, serialisation). The expanded size is counted here with each node's size
    remembered, so the count itself is linear in the composed tree."""
    sizes: dict[int, int] = {}
    active: set[int] = set()
    extra = 0

    def size(node: yaml.Node) -> int:
        nonlocal extra
        key = id(node)
        known = sizes.get(key)
        if known is not None:  # a node seen before: an alias to it
            extra += known
            if extra > MAX_ALIAS_NODES + len(sizes):
                line = node.start_mark.line + 1
                raise SpecError(
                    f"{source} expands to too many values through its aliases",
                    [(Location(source, line), f"the anchor here is reused until the document "
                      f"holds more than {MAX_ALIAS_NODES:,} values more than it spells out "
                      "(an alias bomb?); write the repeated part out, or reuse it less")],
                )
            return known
        if key in active:  # an alias to an enclosing node: a recursive structure, not a bomb
            return 0
        active.add(key)
        total = 1
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                total += size(key_node) + size(value_node)
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                total += size(item)
        active.discard(key)
        sizes[key] = total
        return total

    size(root)


def _line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def _reader_line(text: str, position: int) -> int:
    # libyaml reports a byte offset into the UTF-8 text; PyYAML's Python reader a character one.
    if _C_LOADER:
        encoded = text.encode("utf-8", "surrogatepass")
        return encoded.count(b"\n", 0, position) + 1
    return _line_of(text, position)


Path_ = tuple[Any, ...]


class LineIndex(Mapping[Path_, int]):
    """1-based line of each path in a document (``("tools", 3, "name")``): a field's key line,
    a list item's first line. Lookups walk the node tree along the path only."""

    def __init__(self, root: yaml.Node | None) -> None:
        self._root = root

    def __getitem__(self, path: Path_) -> int:
        node = self._root
        if node is None:
            raise KeyError(path)
        line = node.start_mark.line + 1
        for part in path:
            if isinstance(node, yaml.MappingNode):
                for key_node, value_node in node.value:
                    if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(part):
                        line, node = key_node.start_mark.line + 1, value_node
                        break
                else:
                    raise KeyError(path)
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                if not 0 <= part < len(node.value):
                    raise KeyError(path)
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                raise KeyError(path)
        return line

    def __iter__(self) -> Iterator[Path_]:
        yield from _paths(self._root, (), set())

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _paths(node: yaml.Node | None, path: Path_, active: set[int]) -> Iterator[Path_]:
    if node is None or id(node) in active:  # an alias back to an enclosing node
        return
    yield path
    active.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            yield from _paths(value_node, (*path, key_node.value), active)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            yield from _paths(item, (*path, i), active)
    active.discard(id(node))
