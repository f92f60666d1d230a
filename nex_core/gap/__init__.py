"""GAP: run tasks x agents x frameworks x models, keep verified episodes, export training data.

The pipeline is framework-free: it reaches frameworks only through installed adapters
(``get_plugin_manager().adapter(name)``, for the backends a config names), models through
``make_model``, and its executors, checks, dataset layouts and tool formats through hooks.
"""

import typing as _typing

from nex_core._lazy import lazy_exports as _lazy_exports

# Imported on first use (nex_core/_lazy.py), so importing one module of the package is cheap.
if _typing.TYPE_CHECKING:
    from nex_core.gap.checks import Check, Verdict
    from nex_core.gap.config import GapConfig, load_config
    from nex_core.gap.executor import Executor, LocalExecutor
    from nex_core.gap.pipeline import RunResult, run_gap
    from nex_core.gap.plan import Episode, EpisodeKey
    from nex_core.gap.processes import ProcessExecutor
    from nex_core.gap.stored import StoredResult
    from nex_core.gap.worker import EpisodeResult, Worker

__all__ = [
    "Check",
    "Episode",
    "EpisodeKey",
    "EpisodeResult",
    "Executor",
    "GapConfig",
    "LocalExecutor",
    "ProcessExecutor",
    "RunResult",
    "StoredResult",
    "Verdict",
    "Worker",
    "load_config",
    "run_gap",
]

if not _typing.TYPE_CHECKING:  # type checkers see the imports above, not a catch-all __getattr__
    __getattr__, __dir__ = _lazy_exports(__name__, __file__, globals())
