"""The adapter is found through nex's entry points; its wheel installs beside nex-core."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from nex_autogen import CAPABILITIES, AutogenAdapter

from nex_core import get_plugin_manager
from nex_core.adapter import Capability
from nex_core.cli.main import cli

ADAPTER_DIR = Path(__file__).resolve().parents[1]
REPO = ADAPTER_DIR.parents[1]


def test_registered_through_entry_points() -> None:
    adapter = get_plugin_manager().adapter("autogen")
    assert isinstance(adapter, AutogenAdapter)
    assert adapter.framework_version and adapter.framework_version.startswith("0.7")


def test_nex_plugins_lists_it() -> None:
    result = CliRunner().invoke(cli, ["plugins"])
    assert result.exit_code == 0 and "autogen" in result.output


def test_capabilities_are_the_honest_ones() -> None:
    assert Capability.STOP_TOOLS not in CAPABILITIES
    assert Capability.TEAMS_SELECTOR not in CAPABILITIES
    assert Capability.MODEL_RETRY not in CAPABILITIES
    assert {Capability.HANDOFFS, Capability.SUB_AGENTS, Capability.RECORD_FOREIGN} <= CAPABILITIES


@pytest.mark.slow
def test_wheel_installs_beside_nex_core_in_a_fresh_venv(tmp_path: Path) -> None:
    """Builds the nex-core and nex-autogen wheels, installs them (dependencies from the package
    registry) into a new venv, and asks ``nex plugins``. About two minutes; run with -m slow."""
    wheels = tmp_path / "wheels"
    for source in (REPO, ADAPTER_DIR):
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
                str(source),
            ],
            check=True,
        )
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", *map(str, sorted(wheels.glob("*.whl")))],
        check=True,
    )
    out = subprocess.run(
        [str(venv / "bin" / "nex"), "plugins"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert "autogen" in out.stdout and "nex-autogen" in out.stdout
