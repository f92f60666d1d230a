"""Plugin discovery: pluggy over entry points, each module imported only when it is needed.

Two entry-point groups:

- ``nex``: general plugins (model providers, sinks, tool formats, CLI commands, executors,
  checks, exporters). nex-core's own load with the manager; another distribution's load the
  first time a hook needs them: a listing (``merged``, ``call``, ``adapters``) or a named look-up
  (``lookup``, ``adapter``) that the plugins loaded so far cannot answer. Their modules must be
  cheap to import: heavy imports belong inside the hook functions.
- ``nex.adapters``: adapter plugins, each entry point named after the adapter it provides
  (``langgraph = "<its plugin module>"``). Reading the entry points costs nothing; the module,
  and with it the framework, is imported only when that adapter is asked for by name or when
  every adapter is listed (``nex plugins``, the GAP pipeline, the conformance kit). A native
  ``nex run`` and ``nex --help`` never import LangGraph or AutoGen.

A plugin that fails to import is reported with its distribution name and skipped; it never breaks
``nex`` for the plugins that work.
"""

from __future__ import annotations

import difflib
import functools
import warnings
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any

import pluggy

from nex_core import hookspecs
from nex_core.errors import PluginError

if TYPE_CHECKING:
    from nex_core.adapter import Adapter

ADAPTER_GROUP = f"{hookspecs.ENTRY_POINT_GROUP}.adapters"
"""Entry-point group of adapter plugins, loaded on demand (``nex.adapters``)."""

# Distributions that live in this repository, with the folder they install from. Until one is
# published on an index, the only install that works is from a checkout, so that is the hint.
FIRST_PARTY: dict[str, str] = {
    "nex-langgraph": "adapters/langgraph",
    "nex-autogen": "adapters/autogen",
    "nex-openai-agents": "adapters/openai_agents",
    "nex-conformance": "conformance",
    "nex-ray": "plugins/ray",
}
PUBLISHED: frozenset[str] = frozenset()
"""First-party distributions an index serves; their hint becomes ``pip install NAME``."""
KNOWN_ADAPTERS: dict[str, str] = {
    "langgraph": "nex-langgraph",
    "autogen": "nex-autogen",
    "openai-agents": "nex-openai-agents",
}
"""Adapters this project ships, by adapter name, with their distribution."""


def install_hint(distribution: str) -> str:
    """How to install a first-party distribution, in words that work today."""
    if distribution in PUBLISHED or distribution not in FIRST_PARTY:
        return f"pip install {distribution}"
    return f"pip install ./{FIRST_PARTY[distribution]} (from a nex checkout)"


def unknown_name_hint(name: str, known: list[str], *, shipped: dict[str, str]) -> str:
    """What to tell a user who asked for ``name``: a close match, or how to install a known
    plugin. Never a package name built from what they typed (a typo must not become a
    ``pip install`` of whatever squats on that name)."""
    if name in shipped:
        return f"install it: {install_hint(shipped[name])}"
    close = difflib.get_close_matches(name, sorted({*known, *shipped}), n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    return "see `nex plugins` for what is installed"


class PluginLoadWarning(UserWarning):
    """A nex plugin could not be loaded."""


@dataclass(frozen=True)
class PluginInfo:
    """A plugin that was imported (or failed to import, with ``error``)."""

    name: str
    distribution: str
    version: str
    error: str | None = None
    group: str = hookspecs.ENTRY_POINT_GROUP
    """``nex`` or ``nex.adapters``: the entry-point group it was found in."""


class NexPluginManager(pluggy.PluginManager):
    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT)
        self.add_hookspecs(hookspecs)
        # (entry point, error, group) per import; the distribution's name and version are read
        # from its metadata only when ``infos`` is asked for (two metadata parses a plugin).
        self._imported: list[tuple[EntryPoint, str | None, str]] = []
        self._pending: dict[str, dict[str, EntryPoint]] = {}
        self._discovered = False

    # ------------------------------------------------------------- discovery and loading

    def discover(self, *, again: bool = False) -> None:
        """Read the entry points of both groups (names and distributions; nothing imported)."""
        if self._discovered and not again:
            return
        self._discovered = True
        found = entry_points()  # one scan of the installed distributions for both groups
        for group in (hookspecs.ENTRY_POINT_GROUP, ADAPTER_GROUP):
            pending = self._pending.setdefault(group, {})
            for ep in found.select(group=group):
                if self.get_plugin(ep.name) is None and not self.is_blocked(ep.name):
                    pending.setdefault(ep.name, ep)

    def load_entry_points(self, group: str = hookspecs.ENTRY_POINT_GROUP) -> None:
        """Import and register every plugin of ``group`` not loaded yet."""
        self.discover(again=True)
        for name in sorted(self._pending.get(group, {})):
            self._load(group, name)

    def load_builtins(self) -> None:
        """nex-core's own plugins: cheap, and what a native run needs."""
        self.discover()
        general = self._pending.get(hookspecs.ENTRY_POINT_GROUP, {})
        for name in sorted(n for n, ep in general.items() if ep.module.startswith("nex_core.")):
            self._load(hookspecs.ENTRY_POINT_GROUP, name)

    def load_all(self) -> None:
        self.load_entry_points(hookspecs.ENTRY_POINT_GROUP)
        self.load_entry_points(ADAPTER_GROUP)

    def _load(self, group: str, name: str) -> None:
        ep = self._pending.get(group, {}).pop(name, None)
        if ep is None or self.get_plugin(name) is not None or self.is_blocked(name):
            return
        try:
            self.register(ep.load(), name=ep.name)
        except Exception as exc:  # a broken plugin must not break nex
            dist, _ = _dist_of(ep)
            message = (
                f"nex plugin '{ep.name}' from distribution '{dist}' failed to load: "
                f"{type(exc).__name__}: {exc}"
            )
            warnings.warn(message, PluginLoadWarning, stacklevel=3)
            self._imported.append((ep, str(exc), group))
            return
        self._imported.append((ep, None, group))

    @property
    def infos(self) -> list[PluginInfo]:
        """Every plugin imported so far (or that failed to import), in import order."""
        out = []
        for ep, error, group in self._imported:
            dist, version = _dist_of(ep)
            out.append(PluginInfo(ep.name, dist, version, error=error, group=group))
        return out

    def pending(self, group: str = ADAPTER_GROUP) -> list[str]:
        """Entry-point names of ``group`` found but not imported yet."""
        self.discover()
        return sorted(self._pending.get(group, {}))

    # ------------------------------------------------------------- merged views

    def _loaded_adapters(self) -> dict[str, Adapter]:
        out: dict[str, Adapter] = {}
        for group in self.hook.nex_adapters():
            for adapter in group:
                if adapter.name in out:
                    raise PluginError(f"two plugins provide an adapter named '{adapter.name}'")
                out[adapter.name] = adapter
        return out

    def adapters(self) -> dict[str, Adapter]:
        """Every installed adapter (imports every adapter plugin)."""
        self.load_all()
        return self._loaded_adapters()

    def adapter_names(self) -> list[str]:
        """Adapters known without importing any more plugins: loaded ones and entry points."""
        return sorted({*self._loaded_adapters(), *self.pending(ADAPTER_GROUP)})

    def adapter(self, name: str) -> Adapter:
        """The adapter called ``name``, importing only the plugin that provides it."""
        found = self._loaded_adapters()
        if name not in found:
            self.discover()
            self._load(ADAPTER_GROUP, name)
            found = self._loaded_adapters()
        if name not in found:  # a plugin whose entry point is named otherwise, or in `nex`
            found = self.adapters()
        if name not in found:
            installed = sorted(found)
            hint = unknown_name_hint(name, installed, shipped=KNOWN_ADAPTERS)
            raise PluginError(
                f"no adapter named '{name}' is installed (installed: "
                f"{', '.join(installed) or 'none'}); {hint}"
            )
        return found[name]

    def call(self, hook: str) -> list[Any]:
        """Every general plugin's answer to ``hook`` (adapter plugins count once loaded)."""
        self.load_entry_points(hookspecs.ENTRY_POINT_GROUP)
        return list(getattr(self.hook, hook)())

    def merged(self, hook: str) -> dict[str, Any]:
        """The ``{name: factory}`` answers of ``hook`` merged over every general plugin."""
        out: dict[str, Any] = {}
        for part in self.call(hook):
            out.update(part)
        return out

    def lookup(self, hook: str, key: str) -> Any | None:
        """``key`` from a ``{name: factory}`` hook, loading more plugins only when the ones
        loaded so far do not have it; None when no plugin does."""
        for part in getattr(self.hook, hook)():
            if key in part:
                return part[key]
        return self.merged(hook).get(key)


def _dist_of(ep: EntryPoint) -> tuple[str, str]:
    dist = getattr(ep, "dist", None)
    if dist is None:
        return "unknown", "unknown"
    return dist.metadata["Name"] or "unknown", dist.version


@functools.cache
def get_plugin_manager() -> NexPluginManager:
    """The process-wide plugin manager: nex-core's plugins loaded, the others found and loaded
    when a hook first needs them (see the module docstring)."""
    pm = NexPluginManager()
    pm.load_builtins()
    return pm


def get_adapter(name: str) -> Adapter:
    return get_plugin_manager().adapter(name)
