"""An alias bomb ("billion laughs" through YAML anchors) in any document nex reads is a SpecError
with the file and the line, raised at once; reuse of anchors as defaults still loads.

The bomb is read in a child process with a time and memory bound: before the cap, nine levels
of ten aliases each (10**9 values from a few hundred bytes) never finished validating."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nex_core import SpecError
from nex_core.protocol.loader import load_spec

LEVELS = 9


def bomb(prefix: str, levels: int = LEVELS) -> str:
    lines = [prefix.rstrip("\n"), "  l0: &l0 [" + ", ".join(["lol"] * 10) + "]"]
    for i in range(1, levels):
        lines.append(f"  l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


SPEC = "name: bomb\nsystem_prompt: hi\nextensions:\n"
SCRIPT = "replies:\n  - text: done\nx:\n"
GAP = "tasks: tasks.jsonl\nagents: [agent.yaml]\nmodels: ['scripted:s.yaml']\nout: out\nbomb:\n"

CHILD = textwrap.dedent(
    """
    import resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (1_500_000_000, 1_500_000_000))
    from nex_core import SpecError
    from nex_core.gap.config import load_config
    from nex_core.models.scripted import ScriptedModel
    from nex_core.protocol.loader import load_spec
    read = {"spec": load_spec, "script": ScriptedModel.from_file, "gap": load_config}
    for kind, path in zip(sys.argv[1::2], sys.argv[2::2]):
        try:
            read[kind](path)
        except SpecError as exc:
            print(kind, str(exc).replace("\\n", " "))
        else:
            print(kind, "loaded")
    """
)
KINDS = {"spec": SPEC, "script": SCRIPT, "gap": GAP}


def test_an_alias_bomb_is_a_spec_error_with_the_line(tmp_path: Path) -> None:
    args = []
    for kind, prefix in KINDS.items():
        path = tmp_path / f"{kind}.yaml"
        path.write_text(bomb(prefix), encoding="utf-8")
        args += [kind, str(path)]
    out = subprocess.run(
        [sys.executable, "-c", CHILD, *args],
        capture_output=True,
        text=True,
        timeout=60,  # generous: the child's own work is a fraction of a second a file
    )
    assert out.returncode == 0, out.stderr[-2000:]
    said = dict(line.split(" ", 1) for line in out.stdout.splitlines())
    for kind, prefix in KINDS.items():
        assert "too many values through its aliases" in said[kind], said[kind]
        first_line = prefix.count("\n") + 1
        lines = {f"{tmp_path / kind}.yaml:{n}:" for n in range(first_line, first_line + LEVELS)}
        assert any(where in said[kind] for where in lines), said[kind]


def test_anchors_reused_as_defaults_still_load(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text(
        "name: a\nsystem_prompt: hi\nextensions:\n"
        "  base: &base {temperature: 0.1, tags: [x, y]}\n"
        "  one: *base\n  two: {<<: *base, extra: 1}\n",
        encoding="utf-8",
    )
    spec = load_spec(path)
    assert spec.extensions["one"] == {"temperature": 0.1, "tags": ["x", "y"]}
    assert spec.extensions["two"]["extra"] == 1


def test_a_bomb_just_past_the_cap_is_refused_in_process(tmp_path: Path) -> None:
    # Six levels are 10**6 values: past the cap, and quick to refuse (or to load, on old code,
    # where this test fails by loading).
    path = tmp_path / "agent.yaml"
    path.write_text(bomb(SPEC, levels=6), encoding="utf-8")
    with pytest.raises(SpecError, match="aliases"):
        load_spec(path)
