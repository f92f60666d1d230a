"""GAP: run tasks x agents x frameworks x models, keep verified episodes, export training data.

The pipeline is framework-free: it reaches frameworks only through installed adapters
(``get_plugin_manager().adapters()``), models through ``make_model``, and its executors, checks,
dataset layouts and tool formats through hooks.
"""

from nex_core.gap.checks import Check, Verdict
from nex_core.gap.config import GapConfig, load_config
from nex_core.gap.executor import Executor, LocalExecutor
from nex_core.gap.pipeline import RunResult, run_gap
from nex_core.gap.plan import Episode, EpisodeKey
from nex_core.gap.worker import EpisodeResult, Worker

__all__ = [
    "Check",
    "Episode",
    "EpisodeKey",
    "EpisodeResult",
    "Executor",
    "GapConfig",
    "LocalExecutor",
    "RunResult",
    "Verdict",
    "Worker",
    "load_config",
    "run_gap",
]
