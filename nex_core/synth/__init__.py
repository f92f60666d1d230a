"""Agent systems generated from natural language (``nex synth``).

A generator model writes each system as data — spec files, tool schemas, bindings to real tools
(MCP servers and import paths from a catalog) or simulated tools, and a task set — and nex checks
it as it would use it: its own loader, JSON Schema checks, binding resolution and a dry run on
the scripted model. Problems go back to the generator a bounded number of times; what still
fails is reported and never written as valid. Blueprints drawn from a seeded config of ranges
give diversity; a structural digest removes near duplicates.
"""

import typing as _typing

from nex_core._lazy import lazy_exports as _lazy_exports

if _typing.TYPE_CHECKING:
    from nex_core.synth.bundle import Bundle, parse_bundle
    from nex_core.synth.check import BundleProblems, check_reply
    from nex_core.synth.config import (
        Blueprint,
        SynthConfig,
        ToolCatalog,
        blueprints,
        load_catalog,
        load_synth_config,
    )
    from nex_core.synth.generate import SynthRun, SystemResult, synthesize
    from nex_core.synth.scripts import derived_script, example_value
    from nex_core.synth.shape import shape, structural_digest
    from nex_core.synth.stats import synth_stats

__all__ = [
    "Blueprint",
    "Bundle",
    "BundleProblems",
    "SynthConfig",
    "SynthRun",
    "SystemResult",
    "ToolCatalog",
    "blueprints",
    "check_reply",
    "derived_script",
    "example_value",
    "load_catalog",
    "load_synth_config",
    "parse_bundle",
    "shape",
    "structural_digest",
    "synth_stats",
    "synthesize",
]

if not _typing.TYPE_CHECKING:  # type checkers see the imports above, not a catch-all __getattr__
    __getattr__, __dir__ = _lazy_exports(__name__, __file__, globals())
