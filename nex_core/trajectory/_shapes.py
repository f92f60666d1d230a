"""The token shapes redaction looks for: nex's own two, and detect-secrets' provider patterns.

detect-secrets keeps a regex per provider key shape in its plugins (``RegexBasedDetector``
subclasses with a ``denylist``). They are read from the installed release, not copied: a new
release's shapes arrive with ``pip install -U detect-secrets``. Importing detect-secrets costs
about half a second (it pulls in ``requests``), so the patterns read are cached per release in
the user's cache folder (``$XDG_CACHE_HOME/nex``), and a process that finds the cache never imports
it.

Each shape gets literal markers derived from its regex (the literal text every match starts
with: ``ghp_``, ``xox``, ``AKIA`` ...), so a scrub runs a regex only over text that holds a
marker. Patterns with no marker of at least two characters are left out, since they would run
over every text: the shapes that start with a character class or a look-behind (Discord and
Telegram bot tokens, Mailchimp keys, Artifactory tokens, the keyword-assignment forms of the IBM
Cloud, Cloudant and SoftLayer detectors). detect-secrets' public-IP detector is left out by name:
an address is not a secret.
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REDACTED = "[REDACTED]"
_MIN_MARKER = 2
_MIN_REQUIRED = 4
_MAX_MARKERS = 64
_LEFT_OUT = frozenset({"IPPublicDetector"})
"""Detectors whose matches are not secrets."""
_PRIVATE_KEY = "PrivateKeyDetector"
# detect-secrets flags a private key by its header; the key's body follows it up to the footer.
_KEY_BODY = r"[\s\S]*?(?:-----END[ A-Z0-9]*-----|Private-MAC: [0-9a-fA-F]+|(?=[\"\\]|\Z))"

log = logging.getLogger("nex.redact")


@dataclass(frozen=True)
class Shape:
    """A token shape: its regex, the markers one of which every match holds, and which part of
    a match is the secret (``keep_prefix``: group 1 is context to keep, as in ``Bearer <token>``;
    ``secret_group``: only group 1 is the secret, as in ``://user:<password>@``)."""

    name: str
    pattern: re.Pattern[str]
    markers: tuple[str, ...]
    keep_prefix: bool = False
    secret_group: bool = False
    must: str = ""
    """Further literal text every match holds (checked after a marker is found)."""
    word_start: bool = False
    """Every match begins at a word boundary (the pattern opens with ``\\b``), so a marker
    inside a word (``sk-`` in ``task-0``) is no sign of this shape."""

    def may_match(self, text: str) -> bool:
        return any(marker in text for marker in self.markers) and self.must in text

    def search(self, text: str) -> bool:
        return self.pattern.search(text) is not None

    def sub(self, text: str) -> str:
        if self.keep_prefix:
            return self.pattern.sub(lambda m: m.group(1) + REDACTED, text)
        if self.secret_group:
            return self.pattern.sub(_redact_group, text)
        return self.pattern.sub(REDACTED, text)


def _redact_group(match: re.Match[str]) -> str:
    whole, start, end = match.group(0), match.start(1) - match.start(), match.end(1) - match.start()
    if start < 0:  # the group did not take part in this match: the whole match is the token
        return REDACTED
    return whole[:start] + REDACTED + whole[end:]


_OWN = [
    # A bearer token in any header or text, whatever the provider; the case varies in the wild.
    Shape("Bearer token", re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
          ("earer", "EARER"), keep_prefix=True),
    # OpenAI (sk-, sk-proj-), Anthropic (sk-ant-) and the many OpenAI-compatible services.
    Shape("sk- key", re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"), ("sk-",), word_start=True),
]


# --------------------------------------------------------------------------- markers


def _parser() -> Any:
    try:
        from re import _parser as parser  # type: ignore[attr-defined]
    except ImportError:  # Python < 3.11 named it sre_parse
        import sre_parse as parser
    return parser


def literal_prefixes(pattern: re.Pattern[str]) -> set[str]:
    """Literal strings one of which every match of ``pattern`` starts with (empty if the
    pattern does not start with literal text). For a pattern that ignores case: the prefixes
    cut to four characters, in lower, upper and title case (the spellings tokens use)."""
    parser = _parser()
    prefixes, _ = _prefixes(parser.parse(pattern.pattern, pattern.flags), parser)
    if prefixes == {""}:
        return set()
    if pattern.flags & re.IGNORECASE:  # short, so mixed case later in a token still matches
        prefixes = {v for p in prefixes for v in (p[:4].lower(), p[:4].upper(),
                                                  p[:4].capitalize())}
    return prefixes


def required_literal(pattern: re.Pattern[str]) -> str:
    """The longest literal text every match holds (a run of literals in the pattern's top-level
    sequence), or ``""``; case-insensitive patterns give none."""
    if pattern.flags & re.IGNORECASE:
        return ""
    parser = _parser()
    best = run = ""
    for op, av in parser.parse(pattern.pattern, pattern.flags):
        run = run + chr(av) if op is parser.LITERAL else ""
        best = max(best, run, key=len)
    return best


def _prefixes(items: Any, parser: Any) -> tuple[set[str], bool]:
    """(prefixes, complete): ``complete`` when ``items`` is nothing but those literals."""
    LITERAL, SUBPATTERN, BRANCH, IN = (getattr(parser, n) for n in
                                       ("LITERAL", "SUBPATTERN", "BRANCH", "IN"))
    out = {""}
    for op, av in items:
        if op is LITERAL:
            inner, complete = {chr(av)}, True
        elif op is SUBPATTERN:
            inner, complete = _prefixes(av[3], parser)
        elif op is BRANCH:
            results = [_prefixes(branch, parser) for branch in av[1]]
            inner = set().union(*(r[0] for r in results))
            complete = all(r[1] for r in results)
        elif op is IN and all(o is LITERAL for o, _ in av):
            inner, complete = {chr(v) for _, v in av}, True
        else:
            return out, False
        if len(out) * len(inner) > _MAX_MARKERS:
            return out, False
        out = {p + q for p in out for q in inner}
        if not complete:
            return out, False
    return out, True


def _library_shape(name: str, source: str, flags: int) -> Shape | None:
    if name == _PRIVATE_KEY:
        source = source + _KEY_BODY
    pattern = re.compile(source, flags)
    markers = literal_prefixes(pattern)
    if not markers or min(len(m) for m in markers) < _MIN_MARKER:
        return None
    # A group of the top-level sequence that does not open the match is the secret inside its
    # context (a password in a URL, a key in an assignment). A group that opens it, or that is
    # optional or repeated, is a part of the token: the whole match is redacted.
    secret_group = pattern.groups == 1 and _group_is_context_bound(pattern)
    must = required_literal(pattern)
    return Shape(name, pattern, tuple(sorted(markers)), secret_group=secret_group,
                 must=must if len(must) >= _MIN_REQUIRED else "")


def _group_is_context_bound(pattern: re.Pattern[str]) -> bool:
    parser = _parser()
    items = list(parser.parse(pattern.pattern, pattern.flags))
    return any(op is parser.SUBPATTERN and av[0] == 1 for op, av in items[1:])


# --------------------------------------------------------------------------- detect-secrets


def _cache_file(version: str) -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "nex" / f"detect-secrets-{version}.json"


def _read_plugins() -> list[tuple[str, str, int]]:
    """``(detector, regex, flags)`` for every regex of every detect-secrets regex plugin."""
    import inspect
    import pkgutil

    import detect_secrets.plugins as plugins
    from detect_secrets.plugins.base import RegexBasedDetector

    found: list[tuple[str, str, int]] = []
    for module_info in sorted(pkgutil.iter_modules(plugins.__path__), key=lambda m: m.name):
        module = __import__(f"detect_secrets.plugins.{module_info.name}", fromlist=["_"])
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if (cls.__module__ != module.__name__ or not issubclass(cls, RegexBasedDetector)
                    or inspect.isabstract(cls) or name in _LEFT_OUT):
                continue
            for regex in cls().denylist:
                found.append((name, regex.pattern, int(regex.flags & ~re.UNICODE)))
    return found


def _library_patterns() -> list[tuple[str, str, int]]:
    try:
        version = importlib.metadata.version("detect-secrets")
    except importlib.metadata.PackageNotFoundError:
        log.warning("detect-secrets is not installed: only Bearer and sk- token shapes (and "
                    "registered secrets) are redacted. pip install detect-secrets")
        return []
    cache = _cache_file(version)
    try:
        return [tuple(entry) for entry in json.loads(cache.read_text(encoding="utf-8"))]
    except (OSError, ValueError, TypeError):
        pass
    patterns = _read_plugins()
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(patterns), encoding="utf-8")
        os.replace(tmp, cache)
    except OSError:
        pass  # a read-only home: read the plugins again next time
    return patterns


_loaded: list[Shape] | None = None
_load_lock = threading.Lock()


def shapes() -> list[Shape]:
    """Every token shape redaction applies, loaded once per process."""
    global _loaded
    if _loaded is None:
        with _load_lock:
            if _loaded is None:
                found = list(_OWN)
                for name, source, flags in _library_patterns():
                    try:
                        shape = _library_shape(name, source, flags)
                    except re.error:
                        continue
                    if shape is not None:
                        found.append(shape)
                _loaded = found
    return _loaded


_marker_pattern: re.Pattern[str] | None = None
_owners: dict[str, tuple[tuple[bool, str], ...]] = {}
"""For each marker: ``(word_start, must)`` of every shape a match of it may begin (the shapes
with a marker it opens: the trie reports the shortest marker at a place)."""


def any_marker() -> re.Pattern[str]:
    """A regex matching wherever any shape's marker occurs.

    Written as a trie (``s(?:k(?:-|_live_)|q0csp-)``), not as an alternation of the markers:
    the regex engine then tests one branch per character of the text, not one per marker,
    which halves the time of the search every clean trajectory pays. (A ``\\b`` in it, for
    the markers that must open a word, would cost the engine its literal prefix scan: five
    times slower. :func:`marker_found` checks that in Python, per match.)"""
    global _marker_pattern, _owners
    if _marker_pattern is None:
        loaded = shapes()
        markers = {m for shape in loaded for m in shape.markers}
        _owners = {
            m: tuple(
                (shape.word_start, shape.must)
                for shape in loaded
                if any(own.startswith(m) for own in shape.markers)
            )
            for m in markers
        }
        _marker_pattern = re.compile(_trie(markers))
    return _marker_pattern


def marker_found(text: str) -> bool:
    """Whether ``text`` holds a marker where one of its shapes could match: one that opens a
    word where the shape's regex opens with ``\\b``, and the shape's required literal
    somewhere. So ``sk-`` in ``task-0`` (every GAP task id) makes no shape's regex run."""
    pattern = any_marker()
    owners = _owners
    for found in pattern.finditer(text):
        start = found.start()
        at_word_start: bool | None = None
        for word_start, must in owners[found.group()]:
            if word_start:
                if at_word_start is None:
                    at_word_start = start == 0 or not _is_word(text[start - 1])
                if not at_word_start:
                    continue
            if not must or must in text:
                return True
    return False


def _is_word(char: str) -> bool:
    # What ``\b`` takes for a word character (a str pattern: Unicode letters, digits, "_").
    return char.isalnum() or char == "_"


def _trie(words: set[str]) -> str:
    tree: dict[str, Any] = {}
    for word in words:
        node = tree
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}
    return _branches(tree)


def _branches(node: dict[str, Any]) -> str:
    if "" in node:  # a marker ends here: longer ones add nothing to "may match"
        return ""
    alternatives = [re.escape(char) + _branches(sub) for char, sub in sorted(node.items())]
    return alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"
