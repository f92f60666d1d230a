"""The config's ``sinks:``: every committed episode also goes to them (OTLP backends ...).

The output's ``trajectories.jsonl`` stays the record the run resumes from; a further sink is a
copy. So a sink that fails to write is counted in the report (with its last error), never
allowed to stop the run or lose an episode from the record.
"""

from __future__ import annotations

import asyncio
from typing import Any

from nex_core.gap.config import GapConfig
from nex_core.trajectory.schema import Trajectory
from nex_core.trajectory.sinks import TrajectorySink, open_sink


class ConfigSinks:
    def __init__(self, config: GapConfig) -> None:
        self.sinks: list[tuple[str, TrajectorySink]] = []
        try:
            for entry in config.sinks:
                ref = f"{entry.name}:{entry.target}" if entry.target else entry.name
                self.sinks.append((entry.name, open_sink(ref, **entry.options)))
        except BaseException:
            self.close()
            raise
        self.written: dict[str, int] = {name: 0 for name, _ in self.sinks}
        self.errors: dict[str, int] = {}
        self.last_error: dict[str, str] = {}

    async def write(self, trajectory: Trajectory) -> None:
        for name, sink in self.sinks:
            try:
                await asyncio.to_thread(sink.write, trajectory)
                self.written[name] += 1
            except Exception as exc:
                self.errors[name] = self.errors.get(name, 0) + 1
                self.last_error[name] = f"{type(exc).__name__}: {exc}"

    def close(self) -> None:
        for name, sink in self.sinks:
            try:
                sink.close()
            except Exception as exc:
                self.last_error[name] = f"closing: {type(exc).__name__}: {exc}"

    def summary(self) -> dict[str, Any]:
        return {
            name: {
                "written": self.written.get(name, 0),
                "errors": self.errors.get(name, 0),
                **({"last_error": self.last_error[name]} if name in self.last_error else {}),
            }
            for name, _ in self.sinks
        }
