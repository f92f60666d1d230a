"""Plugin discovery: pluggy over the ``nex`` entry-point group.

A plugin that fails to import is reported with its distribution name and skipped; it never breaks
``nex`` for the plugins that work.
"""

from __future__ import annotations

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


class PluginLoadWarning(UserWarning):
    """A nex plugin could not be loaded."""


@dataclass(frozen=True)
class PluginInfo:
    name: str
    distribution: str
    version: str
    error: str | None = None


class NexPluginManager(pluggy.PluginManager):
    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT)
        self.add_hookspecs(hookspecs)
        self.infos: list[PluginInfo] = []

    def load_entry_points(self, group: str = hookspecs.ENTRY_POINT_GROUP) -> None:
        for ep in sorted(entry_points(group=group), key=lambda e: e.name):
            dist, version = _dist_of(ep)
            if self.get_plugin(ep.name) is not None or self.is_blocked(ep.name):
                continue
            try:
                plugin = ep.load()
                self.register(plugin, name=ep.name)
            except Exception as exc:  # a broken plugin must not break nex
                message = (
                    f"nex plugin '{ep.name}' from distribution '{dist}' failed to load: "
                    f"{type(exc).__name__}: {exc}"
                )
                warnings.warn(message, PluginLoadWarning, stacklevel=2)
                self.infos.append(PluginInfo(ep.name, dist, version, error=str(exc)))
                continue
            self.infos.append(PluginInfo(ep.name, dist, version))

    # ------------------------------------------------------------- merged views

    def adapters(self) -> dict[str, Adapter]:
        out: dict[str, Adapter] = {}
        for group in self.hook.nex_adapters():
            for adapter in group:
                if adapter.name in out:
                    raise PluginError(f"two plugins provide an adapter named '{adapter.name}'")
                out[adapter.name] = adapter
        return out

    def adapter(self, name: str) -> Adapter:
        found = self.adapters()
        if name not in found:
            hint = f"pip install nex-{name}" if name not in {"native"} else "reinstall nex-core"
            raise PluginError(
                f"no adapter named '{name}' is installed (installed: "
                f"{', '.join(sorted(found)) or 'none'}); try: {hint}"
            )
        return found[name]

    def merged(self, hook: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for part in getattr(self.hook, hook)():
            out.update(part)
        return out


def _dist_of(ep: EntryPoint) -> tuple[str, str]:
    dist = getattr(ep, "dist", None)
    if dist is None:
        return "unknown", "unknown"
    return dist.metadata["Name"] or "unknown", dist.version


@functools.cache
def get_plugin_manager() -> NexPluginManager:
    """The process-wide plugin manager, with every installed plugin loaded."""
    pm = NexPluginManager()
    pm.load_entry_points()
    return pm


def get_adapter(name: str) -> Adapter:
    return get_plugin_manager().adapter(name)
