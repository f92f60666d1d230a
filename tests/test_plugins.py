"""Plugins: found through the `nex` entry-point group of installed distributions. A working one
adds an adapter, a CLI command and a model provider; a broken one is named in a warning and
never breaks `nex`.

The distributions are real: a ``.dist-info`` folder with METADATA and entry_points.txt in a temp
directory on the path, which is exactly what pip leaves behind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

from nex_core.plugins import NexPluginManager, PluginLoadWarning

GOOD_MODULE = textwrap.dedent(
    """
    from typing import Any, ClassVar

    import click

    from nex_core import Adapter, Capability, hookimpl
    from nex_core.runtime.loop import run_native


    class EchoAdapter(Adapter):
        name = "echo"
        framework = "nex-echo-plugin"
        capabilities: ClassVar = frozenset({Capability.TOOL_CALLS, Capability.MULTI_TURN})

        async def arun(self, spec, task, *, model, sinks=()):
            return await run_native(spec, task, model=model, sinks=sinks)


    @click.command("echo-hello")
    def hello() -> None:
        click.echo("hello from a plugin")


    @hookimpl
    def nex_adapters() -> list:
        return [EchoAdapter()]


    @hookimpl
    def nex_cli_commands() -> list:
        return [hello]
    """
)


def make_dist(root: Path, dist: str, version: str, module: str, source: str) -> None:
    info = root / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[nex]\n{module} = {module}\n")
    (root / f"{module}.py").write_text(source)


@pytest.fixture
def plugin_dir(tmp_path: Path) -> Path:
    make_dist(tmp_path, "nex-echo-plugin", "1.2.3", "nex_echo_plugin", GOOD_MODULE)
    make_dist(
        tmp_path,
        "nex-broken-plugin",
        "0.0.1",
        "nex_broken_plugin",
        "raise ImportError('needs the frobnicator package')\n",
    )
    return tmp_path


def nex(plugin_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(plugin_dir), os.environ.get("PYTHONPATH", "")]),
        "COLUMNS": "250",
    }
    return subprocess.run(
        [str(Path(sys.executable).parent / "nex"), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_plugins_lists_versions_capabilities_and_the_broken_one(plugin_dir: Path) -> None:
    res = nex(plugin_dir, "plugins", "--json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    plugins = {p["name"]: p for p in data["plugins"]}
    assert plugins["nex_echo_plugin"]["distribution"] == "nex-echo-plugin"
    assert plugins["nex_echo_plugin"]["version"] == "1.2.3"
    assert plugins["nex_echo_plugin"]["error"] is None
    assert plugins["nex_broken_plugin"]["distribution"] == "nex-broken-plugin"
    assert "frobnicator" in plugins["nex_broken_plugin"]["error"]
    assert data["adapters"]["echo"]["capabilities"] == ["multi_turn", "tool_calls"]
    assert "native" in data["adapters"]

    table = nex(plugin_dir, "plugins")
    assert table.returncode == 0
    assert "nex-echo-plugin" in table.stdout and "1.2.3" in table.stdout
    warning = " ".join(table.stderr.split())
    assert "plugin 'nex_broken_plugin' from 'nex-broken-plugin' failed to load" in warning


def test_a_broken_plugin_does_not_break_other_commands(
    plugin_dir: Path, repo: Path, tmp_path: Path
) -> None:
    res = nex(plugin_dir, "echo-hello")
    assert res.returncode == 0 and res.stdout.strip() == "hello from a plugin"
    run = subprocess.run(
        [
            str(Path(sys.executable).parent / "nex"),
            "run",
            "examples/calculator/agent.yaml",
            "--task",
            "x",
            "--model",
            "scripted:examples/calculator/script.yaml",
            "--backend",
            "echo",
            "--out",
            str(tmp_path / "o.jsonl"),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        cwd=repo,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(plugin_dir)},
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "(2+3)*4 = 20"
    assert "nex-broken-plugin" in run.stderr  # warned, not fatal


def test_load_entry_points_warns_with_the_distribution(
    plugin_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(plugin_dir))
    pm = NexPluginManager()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pm.load_entry_points()
    messages = [str(w.message) for w in caught if issubclass(w.category, PluginLoadWarning)]
    assert any("'nex_broken_plugin' from distribution 'nex-broken-plugin'" in m for m in messages)
    assert "echo" in pm.adapters() and "native" in pm.adapters()
    assert pm.adapter("echo").supports()
    with pytest.raises(Exception, match="no adapter named 'missing'"):
        pm.adapter("missing")
    # Loading twice registers nothing twice.
    pm.load_entry_points()
    assert list(pm.adapters()).count("echo") == 1
    for name in ("nex_echo_plugin", "nex_broken_plugin"):
        sys.modules.pop(name, None)


def test_builtin_hooks_are_registered_through_the_same_path() -> None:
    pm = NexPluginManager()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PluginLoadWarning)
        pm.load_entry_points()
    assert {"scripted", "replay", "openai"} <= set(pm.merged("nex_model_providers"))
    assert {"jsonl", "memory"} <= set(pm.merged("nex_sinks"))
    assert "xml" in pm.merged("nex_tool_formats")
