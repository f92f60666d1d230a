"""A finished episode as its stored line: what a worker process or a Ray actor sends the driver.

Why: with several worker processes the driver, the only writer, is the serial part of the run,
and parsing every trajectory back (``model_validate_json``) to verify it and serialising it
again for the log cost it 0.7-0.9 ms an episode, most of its CPU. So the worker verifies the
episode itself with the leading checks that need only the trajectory and the task
(``Check.worker_safe``: status, task, loops, length, format), serialises the trajectory once, in
its stored form, with a hole where the pipeline's ``metadata["gap"]`` goes, and sends those
bytes with the few fields the driver still needs: the pipeline metadata so far, the report's
counts (:class:`~nex_core.gap.report.Entry`) and the adapter. The driver runs the remaining
checks (dedup needs only the digest), fills the hole with the final metadata and writes the
bytes as they came: the line is the one the local executor writes for the same episode. A
remaining check that needs the trajectory (a third-party check with state), a further sink or an
``on_result`` callback parses the line, and only then.

On the wire (after the executor's own ``ID SECONDS``): ``CUT CHECKED METALEN META LINE``, or
``-1 TRAJECTORY_JSON`` when a check raised in the worker, so the driver verifies that episode
itself and fails as a local run does.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from typing import Any

from pydantic_core import from_json, to_json

from nex_core.gap.checks import Check, DedupCheck
from nex_core.gap.plan import Episode
from nex_core.gap.report import Entry
from nex_core.gap.verify import decide, outcome, run_checks, start
from nex_core.gap.worker import GAP_KEY, EpisodeResult
from nex_core.trajectory.compact import dumps_bytes
from nex_core.trajectory.schema import Trajectory

_HOLE = f"nex-gap-hole-{uuid.uuid4().hex}"
"""What stands for ``metadata["gap"]`` while the line is serialised: random per process, so no
trajectory's content can contain it."""
_HOLE_JSON = to_json(_HOLE)
_COUNTS = tuple(f.name for f in dataclasses.fields(Entry)
                if f.name not in ("accepted", "rejected_by", "resumed"))
"""The :class:`Entry` fields a worker sends (the decision's are the driver's)."""


@dataclass
class StoredResult:
    """A verified (or partly verified) episode as its stored line with a hole for its gap."""

    episode: Episode
    seconds: float
    line: bytes
    """The stored form (``Trajectory.to_json``) with the value of ``metadata["gap"]`` cut out."""
    cut: int
    """Where in ``line`` the value of ``metadata["gap"]`` goes."""
    gap: dict[str, Any]
    """The pipeline metadata so far; ``accepted`` once the worker's checks decided."""
    counts: dict[str, Any]
    """The report's counts of the episode (``Entry`` fields but the decision's)."""
    adapter: str
    checked: int
    """How many of the config's checks, from the first, the worker ran."""

    def line_with(self, gap: dict[str, Any]) -> bytes:
        # pydantic-core's serialiser, as for the rest of the line: the same bytes to_json makes.
        return b"".join((self.line[: self.cut], to_json(gap), self.line[self.cut :]))

    def entry(self, gap: dict[str, Any], *, resumed: bool = False) -> Entry:
        rejected = gap.get("rejected_by")
        return Entry(
            **self.counts,
            accepted=bool(gap.get("accepted")),
            rejected_by=str(rejected) if rejected else None,
            resumed=resumed,
        )

    def to_wire(self) -> bytes:
        # pydantic-core's serialiser and parser (``decode``): the json module's took 4x as long
        # for these few fields (measured: 85k against 24k instructions to write them).
        meta = to_json({"gap": self.gap, "counts": self.counts, "adapter": self.adapter})
        return b"%d %d %d " % (self.cut, self.checked, len(meta)) + meta + self.line


def decode(episode: Episode, seconds: float, data: bytes) -> EpisodeResult | StoredResult:
    """What :func:`encode` made (the executor has read ``ID SECONDS`` itself)."""
    cut, rest = data.split(b" ", 1)
    if cut == b"-1":
        return EpisodeResult(episode, Trajectory.model_validate_json(rest), seconds)
    checked, size, rest = rest.split(b" ", 2)
    n = int(size)
    meta = from_json(rest[:n])
    counts = dict(meta["counts"])
    counts["rewards"] = tuple((str(k), float(v)) for k, v in counts["rewards"])
    return StoredResult(episode, seconds, rest[n:], int(cut), meta["gap"], counts,
                        str(meta["adapter"]), int(checked))


async def encode(checks: list[Check], count: int, result: EpisodeResult) -> bytes:
    """Verify ``result`` with the first ``count`` of ``checks`` and make its wire form."""
    trajectory = result.trajectory
    before = dict(trajectory.metadata.get(GAP_KEY, {}))
    try:
        gap = start(trajectory)
        rejected = await run_checks(checks[:count], trajectory, result.episode.task, gap["checks"])
    except Exception:
        # The driver runs the checks again and fails the run there, as a local run fails.
        # (Rewards a check added before another raised are added again, to the same values.)
        trajectory.metadata[GAP_KEY] = before
        return b"-1 " + dumps_bytes(trajectory)
    if rejected is not None:  # decided; an accepted episode is the driver's to decide (dedup)
        decide(gap, rejected)
    trajectory.metadata[GAP_KEY] = _HOLE
    try:
        data = dumps_bytes(trajectory)
    finally:
        trajectory.metadata[GAP_KEY] = gap
    cut = data.index(_HOLE_JSON)
    # The fields as they are (``asdict`` deep-copies each one: a tenth of a millisecond here).
    entry = Entry.of(trajectory, gap, resumed=False)
    counts = {name: getattr(entry, name) for name in _COUNTS}
    stored = StoredResult(result.episode, result.seconds, data[:cut] + data[cut + len(_HOLE_JSON):],
                          cut, gap, counts, trajectory.provenance.adapter, count)
    return stored.to_wire()


async def complete(checks: list[Check], result: StoredResult) -> tuple[bytes, dict[str, Any],
                                                                      Trajectory | None]:
    """The driver's part: the remaining checks, the final metadata, the line to write.

    Returns the line, the pipeline metadata and the trajectory if it had to be parsed."""
    gap = result.gap
    if "accepted" in gap:
        return result.line_with(gap), gap, None
    rest = checks[result.checked :]
    if all(isinstance(check, DedupCheck) for check in rest):
        rejected = None
        for check in rest:
            assert isinstance(check, DedupCheck)
            verdict = check.check_digest(gap["digest"], result.adapter)
            gap["checks"][check.name] = outcome(verdict)
            if not verdict.ok:
                rejected = f"{check.name}:{verdict.reason}"
                break
        decide(gap, rejected)
        if rejected is None:  # no await since the dedup check: nothing slipped in between
            for check in rest:
                assert isinstance(check, DedupCheck)
                check.observe_digest(gap["digest"], result.adapter)
        return result.line_with(gap), gap, None
    # A check that needs the trajectory here: parse it, verify the rest, serialise it again.
    trajectory = Trajectory.model_validate_json(result.line_with(gap))
    gap = trajectory.metadata[GAP_KEY]
    decide(gap, await run_checks(rest, trajectory, result.episode.task, gap["checks"]))
    if gap["accepted"]:
        for check in checks:
            check.observe(trajectory, gap)
    return dumps_bytes(trajectory), gap, trajectory
