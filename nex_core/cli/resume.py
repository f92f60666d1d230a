"""``nex run --resume``: find the paused run and read the human's decisions, or say what is wrong.

Every check here runs before a model or tool is touched, and each failure is one ``error:``
line naming the file, trajectory or call it is about.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from nex_core.cli.output import fail

if TYPE_CHECKING:
    from nex_core.protocol.approval import Decision
    from nex_core.protocol.spec import AgentSpec, TeamSpec
    from nex_core.trajectory.schema import Trajectory

_KEYED = re.compile(r"^([^:=\s]+)=(.*)$", re.S)
_ACTIONS = ("approve", "reject", "edit")


def find_paused(ref: str) -> Trajectory:
    """``FILE[#TRAJECTORY_ID]``: that trajectory, else the file's last one paused for approval."""
    from nex_core.protocol.approval import paused_for_approval
    from nex_core.trajectory.reader import iter_trajectories

    path, _, wanted = ref.partition("#")
    if not Path(path).is_file():
        fail(f"--resume {ref}: no such file: {path}")
    found: Trajectory | None = None
    try:
        for traj in iter_trajectories(path):
            if wanted and traj.id == wanted:
                found = traj
                break
            if not wanted and paused_for_approval(traj):
                found = traj
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"--resume {ref}: cannot read {path}: {exc}")
    if found is None and wanted:
        fail(f"--resume {ref}: no trajectory with id {wanted} in {path}")
    if found is None:
        fail(f"--resume {ref}: no trajectory in {path} is paused for approval")
    if not paused_for_approval(found):
        status = found.outcome.status.value if found.outcome else "unfinished"
        fail(f"--resume {ref}: trajectory {found.id} is not paused for approval ({status})")
    return found


def check_digest(spec_path: str, spec: AgentSpec | TeamSpec, paused: Trajectory) -> None:
    """The resume must run the spec the paused run ran: its conversation and tools are that
    spec's, and a changed spec would continue a run that never happened."""
    from nex_core.runtime.loop import spec_digest

    recorded = paused.provenance.spec_digest
    if recorded and recorded != spec_digest(spec):
        fail(
            f"--resume: {spec_path} differs from the spec trajectory {paused.id} ran "
            f"(spec digest {spec_digest(spec)[:12]} ≠ {recorded[:12]}); resume with that spec"
        )


def read_decisions(texts: tuple[str, ...], paused: Trajectory) -> Decision | dict[str, Decision]:
    """``--decision`` values: one for every pending call, or ``CALL_ID=...`` for each."""
    from nex_core.protocol.approval import decisions_for, parse_decision

    if not texts:
        fail("--resume needs --decision approve|reject[:WHY]|edit:JSON")
    keyed: dict[str, Decision] = {}
    single: list[Decision] = []
    for text in texts:
        match = _KEYED.match(text)
        try:
            if match and match.group(1).lower() not in _ACTIONS:
                call_id = match.group(1)
                if call_id in keyed:
                    fail(f"--decision {text}: a second decision for call {call_id}")
                keyed[call_id] = parse_decision(match.group(2))
            else:
                single.append(parse_decision(text))
        except ValueError as exc:
            fail(f"--decision {text}: {exc}")
    if single and (keyed or len(single) > 1):
        fail("--decision: give one decision for all pending calls, or CALL_ID=... for each")
    decision: Decision | dict[str, Decision] = single[0] if single else keyed
    assert paused.outcome is not None
    try:
        decisions_for(paused.outcome.pending, decision)
    except ValueError as exc:
        fail(f"--decision: {exc}")
    return decision
