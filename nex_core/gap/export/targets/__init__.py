"""Export targets: one consumer's row shape each, one small module each.

=========  ====================================================================================
hf         Hugging Face / TRL (the default): arguments as objects, ``reasoning_content``, ``tools``
openai     the OpenAI fine-tuning API: arguments as strings, only the keys the API documents
sharegpt   ShareGPT as LLaMA-Factory reads it
rollout    token-level RL rows: prompt/response ids, loss mask, logprobs, rewards (one per run)
atif       one ATIF v1.8 document per trajectory (Harbor's Agent Trajectory Interchange Format)
=========  ====================================================================================

``rollout`` and ``atif`` are trajectory targets (:class:`TrajectoryTarget`): built from the run,
written once per trajectory rather than once per tool format.

Targets are registered through the ``nex_exporters`` hook (``{name: Target subclass}``), so a
plugin adds one the same way; :func:`get_target` finds one by name and names the available ones
when it does not exist.
"""

from __future__ import annotations

from nex_core.errors import SpecError
from nex_core.gap.export.targets.atif import AtifTarget
from nex_core.gap.export.targets.base import (
    SkipSample,
    Target,
    TrajectoryContext,
    TrajectoryTarget,
    arguments_object,
)
from nex_core.gap.export.targets.hf import HFTarget
from nex_core.gap.export.targets.openai import OpenAITarget
from nex_core.gap.export.targets.rollout import RolloutTarget
from nex_core.gap.export.targets.sharegpt import ShareGPTTarget

BUILTIN_TARGETS: dict[str, type[Target]] = {
    t.name: t for t in (HFTarget, OpenAITarget, ShareGPTTarget)
}
BUILTIN_TARGETS["rollout"] = RolloutTarget
BUILTIN_TARGETS["atif"] = AtifTarget


def available_targets() -> dict[str, type[Target]]:
    """Every registered target: the built-ins and those plugins add."""
    from nex_core.plugins import get_plugin_manager

    return dict(get_plugin_manager().merged("nex_exporters"))


def get_target(name: str) -> Target:
    """A target by name; an unknown name is a ``SpecError`` that lists the available ones."""
    targets = available_targets()
    if name not in targets:
        raise SpecError(f"unknown export target '{name}' (available: {', '.join(sorted(targets))})")
    return targets[name]()


__all__ = [
    "BUILTIN_TARGETS",
    "AtifTarget",
    "HFTarget",
    "OpenAITarget",
    "RolloutTarget",
    "ShareGPTTarget",
    "SkipSample",
    "Target",
    "TrajectoryContext",
    "TrajectoryTarget",
    "arguments_object",
    "available_targets",
    "get_target",
]
