"""``atif``: one ATIF document (Harbor's Agent Trajectory Interchange Format, v1.8) per trajectory.

Each row is the document :func:`nex_core.atif.to_atif` gives, its top-level fields as columns:
JSONL holds one ATIF document a line (fields left out where ATIF leaves them out), Parquet the
same fields as JSON columns. Sub-agents are embedded sub-agent trajectories; what ATIF has no
field for is in ``extra.nex`` and named in ``notes`` (see ``nex_core/atif/_export.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from nex_core.gap.export.columns import Column
from nex_core.gap.export.targets.base import SkipSample, TrajectoryContext, TrajectoryTarget
from nex_core.trajectory.schema import Trajectory


class AtifTarget(TrajectoryTarget):
    name = "atif"
    columns = {
        "schema_version": Column.STRING,
        "session_id": Column.STRING,
        "trajectory_id": Column.STRING,
        "agent": Column.JSON,
        "steps": Column.JSON_LIST,
        "notes": Column.STRING,
        "final_metrics": Column.JSON,
        "extra": Column.JSON,
        "subagent_trajectories": Column.JSON_LIST,
    }

    def __init__(self) -> None:
        self.documents = 0

    def rows(
        self, trajectory: Trajectory, context: TrajectoryContext
    ) -> Iterator[dict[str, Any] | SkipSample]:
        from nex_core.atif import to_atif

        self.documents += 1
        yield to_atif(trajectory)

    def manifest(self) -> dict[str, Any]:
        from nex_core.atif import ATIF_VERSION

        return {"documents": self.documents, "schema_version": ATIF_VERSION}
