"""Running one episode: build the model, run the spec on its backend, label the trajectory.

A :class:`Worker` is what every executor runs inside (the local executor has one; the Ray
executor has one per actor). It owns the shared MCP pool and the per-endpoint semaphores, so MCP
servers start once per worker and every endpoint sees at most its ``concurrency`` requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Any

from nex_core._version import __version__
from nex_core.errors import NexError
from nex_core.gap.config import GapConfig, ModelEntry
from nex_core.gap.limits import LimitedModel
from nex_core.gap.mcp import SupervisedPool, incidents
from nex_core.gap.plan import Episode, load_specs
from nex_core.gap.shared_limits import SharedSemaphore
from nex_core.models.base import ChatModel
from nex_core.protocol.spec import AgentSpec, TeamSpec
from nex_core.runtime.mcp import use_shared_pool
from nex_core.runtime.simulated import mark_simulated, simulated_tools
from nex_core.trajectory.recorder import Recorder
from nex_core.trajectory.schema import ErrorInfo, Outcome, OutcomeStatus, Provenance, Trajectory

GAP_KEY = "gap"
"""Key of the pipeline's entry in ``Trajectory.metadata``."""


class EpisodeFailed(NexError):
    """An episode could not run at all (its backend raised, or it timed out)."""


@dataclass
class EpisodeResult:
    episode: Episode
    trajectory: Trajectory
    seconds: float


class Worker:
    """Runs episodes of one config; shares MCP servers and endpoint limits between them."""

    def __init__(self, config: GapConfig, *, share: float = 1.0) -> None:
        """``share`` scales each endpoint's concurrency (a cluster of N workers uses 1/N)."""
        from nex_core.plugins import get_plugin_manager

        self.config = config
        self.specs: dict[str, AgentSpec | TeamSpec] = load_specs(config)
        # Only the backends the config runs: importing every installed framework costs seconds
        # of start-up in each worker process.
        plugins = get_plugin_manager()
        self.adapters = {backend: plugins.adapter(backend) for backend in config.backends}
        self.pool = SupervisedPool(
            dict(config.mcp_servers), start_timeout_s=config.mcp_start_timeout_s
        )
        for spec in self.specs.values():
            for agent in spec.walk():
                self.pool.add(agent.mcp_servers)
        self.models = {m.name: m for m in config.models}
        self._share = share
        self._semaphores: dict[str, asyncio.Semaphore | SharedSemaphore] = {}
        """One per endpoint; the ``processes`` executor puts shared ones here."""
        self._shared_models: dict[str, ChatModel] = {}

    @property
    def max_in_flight(self) -> int:
        if self.config.max_in_flight is not None:
            return max(1, int(self.config.max_in_flight * self._share))
        return max(1, 2 * sum(self._limit(m) for m in self.models.values()))

    def _limit(self, entry: ModelEntry) -> int:
        return max(1, round(entry.concurrency * self._share))

    def model_for(self, episode: Episode) -> ChatModel:
        from nex_core.models.registry import model_for_spec

        entry = self.models[episode.key.model]
        # The spec's model settings (its api_key reference) shape the model, so a shared model
        # is shared per model entry and agent.
        shared_key = f"{entry.name}/{episode.key.agent}"
        shared = self._shared_models.get(shared_key)
        if shared is not None:  # only stateless entries are shared
            return shared
        semaphore = self._semaphores.get(entry.endpoint)
        if semaphore is None:
            semaphore = self._semaphores[entry.endpoint] = asyncio.Semaphore(self._limit(entry))
        ref = entry.ref.format(**episode.key.as_dict())
        if ref.startswith("scripted:") or ref.startswith("replay:"):
            provider, _, arg = ref.partition(":")
            ref = f"{provider}:{self.config.path(arg)}"
        options = dict(entry.options)
        if entry.base_url is not None:
            options["base_url"] = entry.base_url
        if entry.api_key_env is not None:
            options["api_key_env"] = entry.api_key_env
        spec = self.specs[episode.key.agent]
        model = LimitedModel(model_for_spec(ref, spec, **options), semaphore)
        if not entry.stateful():
            self._shared_models[shared_key] = model
        return model

    def prepare(self) -> None:
        """Do now the one-time work the first episodes of a process would otherwise pay: the
        native runtime's modules (imported on a run's first use) and the secret shapes every
        recorded run is scrubbed with (compiled on first use, ~0.2 s). A worker process or an
        actor calls it before it reports ready, so it counts as start-up, not episode time."""
        from nex_core.trajectory.redact import needs_redaction

        needs_redaction("")
        if "native" in self.adapters:
            import nex_core.runtime.loop  # noqa: F401

    async def run(self, episode: Episode) -> EpisodeResult:
        """Run one episode; never raises for the episode's own failures (they are recorded)."""
        key = episode.key
        started = time.perf_counter()
        spec = self.specs[key.agent]
        try:
            model = self.model_for(episode)
            adapter = self.adapters[key.backend]
            # asyncio.timeout runs the episode in this task; wait_for would start a task per
            # episode, a measurable share of the pipeline's own CPU at hundreds a second.
            # Simulated tools are played by the episode's own model, with the episode's memory.
            with incidents() as down, use_shared_pool(self.pool), simulated_tools(model):
                async with asyncio.timeout(self.config.episode_timeout_s):
                    trajectory = await adapter.arun(spec, episode.task.info(), model=model)
            mark_simulated(trajectory, spec)
            if down:
                # The tool calls failed because a server was down, not because of anything the
                # model did: the episode failed, whatever the agent made of the errors.
                kind = down[0].kind
                reason = "mcp_server_died" if kind == "MCPServerDied" else "mcp_server_unavailable"
                message = "; ".join(dict.fromkeys(i.message for i in down))
                _fail_outcome(trajectory, kind, message, reason)
        except TimeoutError:
            trajectory = _failed_trajectory(
                episode,
                spec,
                EpisodeFailed(
                    f"episode exceeded episode_timeout_s={self.config.episode_timeout_s}"
                ),
            )
        except Exception as exc:  # a backend that raises instead of recording the failure
            trajectory = _failed_trajectory(episode, spec, exc)
        seconds = time.perf_counter() - started
        trajectory.metadata[GAP_KEY] = {"key": key.as_dict(), "seconds": round(seconds, 4)}
        if episode.task.metadata:
            trajectory.metadata["task"] = dict(episode.task.metadata)
        return EpisodeResult(episode, trajectory, seconds)

    async def aclose(self) -> None:
        await self.pool.aclose()
        for model in self._shared_models.values():
            inner: Any = getattr(model, "inner", model)
            close = getattr(inner, "aclose", None)
            if close is not None:
                with contextlib.suppress(Exception):  # closing is best effort
                    await close()


def _fail_outcome(trajectory: Trajectory, kind: str, message: str, reason: str) -> None:
    previous = trajectory.outcome
    labels: dict[str, Any] = dict(previous.labels) if previous else {}
    if previous is not None:
        labels["original_status"] = previous.status.value
    trajectory.outcome = Outcome(
        status=OutcomeStatus.ERROR,
        final_output=previous.final_output if previous else None,
        stop_reason=reason,
        error=ErrorInfo(type=kind, message=message),
        labels=labels,
    )


def _failed_trajectory(
    episode: Episode, spec: AgentSpec | TeamSpec, exc: BaseException
) -> Trajectory:
    key = episode.key
    provenance = Provenance(
        framework=key.backend,
        adapter=key.backend,
        nex_version=__version__,
        model=key.model,
        task_id=key.task,
    )
    recorder = Recorder(provenance=provenance, task=episode.task.info(), root_agent=spec.name)
    return recorder.fail(exc)
