"""The adapter is found through nex's entry points and declares its capabilities honestly; its
wheel installs beside nex-core; a missing framework is an error naming what to install."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from nex_agent_framework import CAPABILITIES, AgentFrameworkAdapter
from nex_agent_framework import plugin as plugin_module

from nex_core import get_plugin_manager
from nex_core.adapter import Capability
from nex_core.cli.main import cli
from nex_core.errors import AdapterError

ADAPTER_DIR = Path(__file__).resolve().parents[1]
REPO = ADAPTER_DIR.parents[1]


def test_registered_through_entry_points() -> None:
    adapter = get_plugin_manager().adapter("agent-framework")
    assert isinstance(adapter, AgentFrameworkAdapter)
    assert adapter.framework_version and adapter.framework_version.startswith("1.")
    assert adapter.version == "0.1.0"


def test_nex_plugins_lists_it_with_its_capabilities() -> None:
    result = CliRunner().invoke(cli, ["plugins"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "agent-framework" in result.output and "nex-agent-framework" in result.output


def test_capabilities_are_the_honest_ones() -> None:
    assert {Capability.TEAMS_ROUND_ROBIN, Capability.TEAMS_SELECTOR} <= CAPABILITIES
    assert Capability.MODEL_RETRY not in CAPABILITIES
    assert Capability.TEXT_TOOL_FORMAT not in CAPABILITIES
    assert {Capability.HANDOFFS, Capability.SUB_AGENTS, Capability.RECORD_FOREIGN} <= CAPABILITIES


def test_a_missing_framework_names_the_distribution_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "agent_framework", None)  # `import` now raises ImportError
    with pytest.raises(AdapterError, match="pip install agent-framework-core"):
        plugin_module.require_framework()
    assert not AgentFrameworkAdapter().recognizes(object())


@pytest.mark.slow
@pytest.mark.timeout(900)  # two wheel builds and a dependency install from the registry
def test_wheel_installs_beside_nex_core_in_a_fresh_venv(tmp_path: Path) -> None:
    """Builds the nex-core and nex-agent-framework wheels, installs them (dependencies from the
    package registry) into a new venv, and asks ``nex plugins``. Minutes; run with -m slow."""
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
    assert "agent-framework" in out.stdout and "nex-agent-framework" in out.stdout
