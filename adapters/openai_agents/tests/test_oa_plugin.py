"""The adapter is found through nex's entry points, declares honest capabilities, passes the
conformance kit, and its wheel installs beside nex-core."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from nex_openai_agents import CAPABILITIES, OpenAIAgentsAdapter

from nex_core import get_plugin_manager
from nex_core.adapter import Capability
from nex_core.cli.main import cli
from nex_core.errors import PluginError
from nex_core.plugins import KNOWN_ADAPTERS, install_hint

ADAPTER_DIR = Path(__file__).resolve().parents[1]
REPO = ADAPTER_DIR.parents[1]


def test_registered_through_entry_points() -> None:
    adapter = get_plugin_manager().adapter("openai-agents")
    assert isinstance(adapter, OpenAIAgentsAdapter)
    assert adapter.framework_version and adapter.framework_version.startswith("0.24")


def test_nex_plugins_lists_it_with_capabilities() -> None:
    result = CliRunner().invoke(cli, ["plugins"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "openai-agents" in result.output


def test_capabilities_are_the_honest_ones() -> None:
    assert Capability.TEAMS_ROUND_ROBIN not in CAPABILITIES
    assert Capability.TEAMS_SELECTOR not in CAPABILITIES
    assert Capability.MODEL_RETRY not in CAPABILITIES
    assert {Capability.HANDOFFS, Capability.STOP_TOOLS, Capability.RECORD_FOREIGN} <= CAPABILITIES


def test_a_missing_adapter_names_the_distribution_to_install() -> None:
    assert KNOWN_ADAPTERS["openai-agents"] == "nex-openai-agents"
    assert "adapters/openai_agents" in install_hint("nex-openai-agents")
    with pytest.raises(PluginError, match="no adapter named 'openai-agent'"):
        get_plugin_manager().adapter("openai-agent")


def test_recognizes_agents_only() -> None:
    from agents import Agent

    adapter = OpenAIAgentsAdapter()
    assert adapter.recognizes(Agent(name="a")) and not adapter.recognizes(object())


def test_every_applicable_conformance_scenario_passes_or_is_baselined() -> None:
    from nex_conformance.baseline import baseline_for
    from nex_conformance.engine import Verdict, run_case
    from nex_conformance.scenario import builtin_scenarios

    adapter = OpenAIAgentsAdapter()
    baseline = baseline_for(adapter)
    assert set(baseline) == {"unknown_tool"}
    verdicts = {s.id: run_case(adapter, s, baseline) for s in builtin_scenarios()}
    failing = {k: v.explain() for k, v in verdicts.items() if v.verdict.fails_run}
    assert not failing, failing
    passed = {k for k, v in verdicts.items() if v.verdict is Verdict.PASS}
    assert {
        "handoff",
        "agent_as_tool",
        "parallel_sub_agents",
        "stop_tool",
        "unnamed_agent_as_tool",
        "approval_in_sub_agent",
        "rejected_in_sub_agent",
    } <= passed


@pytest.mark.slow
def test_wheel_installs_beside_nex_core_in_a_fresh_venv(tmp_path: Path) -> None:
    """Builds the nex-core and nex-openai-agents wheels, installs them (dependencies from the
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
    assert "openai-agents" in out.stdout and "nex-openai-agents" in out.stdout
