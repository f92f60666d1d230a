"""The README's "Record your app" and "Python API" code runs as written, so the README stays true.

Each Python block of those sections runs in a fresh interpreter, from a folder where
`examples/` is the repository's (the paths the blocks use), offline: the blocks drive every
framework with nex's scripted model. A block that imports an adapter that is not installed is
skipped, as is the Python API block (it runs every backend) without both adapters.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SECTIONS = ("Record your app", "Python API", "Human approval")
ADAPTERS = ("nex_langgraph", "nex_autogen", "nex_agent_framework", "nex_openai_agents")


def python_blocks(section: str) -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(section)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"README has no '## {section}' section"
    return re.findall(r"^```python\n(.*?)^```", match.group(1), re.M | re.S)


BLOCKS = [(s, i, code) for s in SECTIONS for i, code in enumerate(python_blocks(s))]


def test_the_sections_have_code() -> None:
    assert len(python_blocks("Record your app")) >= 2  # LangGraph and AutoGen
    assert len(python_blocks("Python API")) >= 1


@pytest.mark.parametrize("section, index, code", BLOCKS, ids=[f"{s}-{i}" for s, i, _ in BLOCKS])
def test_readme_block_runs(tmp_path: Path, section: str, index: int, code: str) -> None:
    needed = [
        m for m in ADAPTERS
        if m in code or (section == "Python API" and m in ("nex_langgraph", "nex_autogen"))
    ]
    for module in needed:
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed")
    (tmp_path / "examples").symlink_to(REPO / "examples")
    script = tmp_path / "block.py"
    script.write_text(code, encoding="utf-8")
    res = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
        },
    )
    assert res.returncode == 0, res.stderr
    assert "completed" in res.stdout, res.stdout
    written = list((tmp_path / "runs").glob("*.jsonl"))
    assert written and all(p.stat().st_size > 0 for p in written)
