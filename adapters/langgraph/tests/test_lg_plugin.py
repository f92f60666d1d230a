"""nex finds this adapter through its entry point, never through an import in nex-core."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from nex_langgraph import LangGraphAdapter, bridge_model

from nex_core import Capability, get_plugin_manager

ADAPTER_DIR = Path(__file__).resolve().parents[1]
REPO = ADAPTER_DIR.parents[1]


def test_entry_point_registers_the_adapter() -> None:
    adapter = get_plugin_manager().adapter("langgraph")
    assert isinstance(adapter, LangGraphAdapter)
    assert adapter.framework_version and adapter.framework_version[0].isdigit()
    assert {
        Capability.HANDOFFS,
        Capability.RECORD_FOREIGN,
        Capability.STREAMING,
    } <= adapter.capabilities
    assert Capability.TEAMS_ROUND_ROBIN not in adapter.capabilities


def test_nex_core_does_not_import_the_adapter() -> None:
    for path in (REPO / "nex_core").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert (
            "nex_langgraph" not in text
            and "from langgraph" not in text
            and "import langgraph" not in text
        ), path


def test_public_api() -> None:
    import nex_langgraph

    assert sorted(nex_langgraph.__all__) == sorted(
        [
            "ApprovalMiddleware",
            "LangGraphAdapter",
            "MaxStepsExceeded",
            "NexCallbackHandler",
            "NexChatModel",
            "Recording",
            "__version__",
            "arecord",
            "aresume",
            "arun",
            "bridge_model",
            "from_spec",
            "instrument",
            "record",
            "recording",
            "run",
            "ToolCallRejected",
            "to_code",
            "to_spec",
            "uninstrument",
        ]
    )
    assert bridge_model.__module__ == "nex_langgraph._bridge"


@pytest.mark.slow
def test_wheel_in_a_fresh_venv_is_discovered(tmp_path: Path) -> None:
    """Build both wheels, install them into a fresh venv (dependencies from the package
    registry), and ask ``nex plugins``: discovery through the entry point alone (about 90 s)."""
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(wheels),
            str(REPO),
            str(ADAPTER_DIR),
        ],
        check=True,
    )
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {**os.environ, "PYTHONNOUSERSITE": "1"}
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", *map(str, sorted(wheels.glob("*.whl")))],
        check=True,
        env=env,
    )
    out = subprocess.run(
        [str(venv / "bin" / "nex"), "plugins"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=tmp_path,
    ).stdout
    assert "langgraph" in out and "nex-langgraph" in out
