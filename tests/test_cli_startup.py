"""Start-up imports only what a command uses: `nex --help` and a native `nex run` import no
framework, `import nex_core` none of nex's heavy parts, and an adapter plugin's module is
imported only when that adapter is asked for (or all are listed).

Each check runs a fresh interpreter and reads its `sys.modules`; nothing here is timed (the
timings are in bench/bench_startup.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FRAMEWORKS = {"langgraph", "langchain_core", "autogen_agentchat", "autogen_core"}

PROBE = textwrap.dedent(
    """
    import json, runpy, sys
    sys.argv = ["nex", *sys.argv[1:]]
    try:
        runpy.run_module("nex_core", run_name="__main__")
    except SystemExit as exc:
        code = exc.code
    else:
        code = 0
    print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
    """
)


def modules_after(*args: str, env: dict[str, str] | None = None) -> set[str]:
    """The top-level modules a `nex ARGS` process had imported when it ended."""
    res = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, **(env or {})},
    )
    report = json.loads(res.stderr.strip().splitlines()[-1])
    assert report["code"] in (0, None), res.stderr
    return {name.split(".")[0] for name in report["modules"]} | set(report["modules"])


def test_help_imports_no_framework() -> None:
    loaded = modules_after("--help")
    assert not loaded & FRAMEWORKS, sorted(loaded & FRAMEWORKS)
    assert "nex_langgraph" not in loaded and "nex_autogen" not in loaded
    # Listing commands needs no spec or trajectory models: the plugin modules nex loads with
    # every manager import cheaply.
    assert not loaded & {"pydantic", "yaml", "jsonschema"}, sorted(
        loaded & {"pydantic", "yaml", "jsonschema"}
    )


def test_a_native_run_imports_no_framework(tmp_path: Path) -> None:
    loaded = modules_after(
        "run",
        "examples/calculator/agent.yaml",
        "--task",
        "What is (2+3)*4?",
        "--model",
        "scripted:examples/calculator/script.yaml",
        "--out",
        str(tmp_path / "t.jsonl"),
        "--quiet",
    )
    assert not loaded & FRAMEWORKS, sorted(loaded & FRAMEWORKS)
    assert "nex_langgraph" not in loaded and "nex_autogen" not in loaded
    assert "openai" not in loaded and "mcp" not in loaded  # neither the endpoint nor MCP is used
    # The calculator's argument schemas are flat: the quick check passes every call, and
    # jsonschema (a quarter of a second of start-up) is never imported.
    assert "jsonschema" not in loaded


def test_import_nex_core_is_cheap() -> None:
    res = subprocess.run(
        [sys.executable, "-c", "import sys, nex_core; print(' '.join(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    loaded = set(res.stdout.split())
    heavy = {"pydantic", "yaml", "jsonschema", "rich", "openai", "mcp", "click", "pluggy"}
    assert not loaded & heavy, sorted(loaded & heavy)
    assert not {m for m in loaded if m.startswith(("nex_core.protocol", "nex_core.runtime"))}


def test_public_names_still_resolve_lazily() -> None:
    code = (
        "import nex_core, sys\n"
        "assert 'nex_core.protocol.spec' not in sys.modules\n"
        "spec = nex_core.AgentSpec(name='a')\n"
        "assert 'nex_core.protocol.spec' in sys.modules\n"
        "from nex_core import normalize, Trajectory\n"
        "import nex_core.trajectory.normalize\n"
        "from nex_core.trajectory import normalize as again\n"
        "assert callable(again) and again is normalize, again\n"
        "print(type(spec).__name__)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "AgentSpec"


# --------------------------------------------------------------------------- adapter plugins

ADAPTER_MODULE = textwrap.dedent(
    """
    from typing import ClassVar

    from nex_core import Adapter, Capability, hookimpl
    from nex_core.runtime.loop import run_native


    class LazyAdapter(Adapter):
        name = "lazyecho"
        framework = "nex-lazy-plugin"
        capabilities: ClassVar = frozenset({Capability.TOOL_CALLS})

        async def arun(self, spec, task, *, model, sinks=()):
            return await run_native(spec, task, model=model, sinks=sinks)


    @hookimpl
    def nex_adapters() -> list:
        return [LazyAdapter()]
    """
)


@pytest.fixture
def adapter_dist(tmp_path: Path) -> dict[str, str]:
    """A real installed distribution (a .dist-info folder on the path) whose entry point is in
    the `nex.adapters` group."""
    info = tmp_path / "nex_lazy_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: nex-lazy-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[nex.adapters]\nlazyecho = nex_lazy_plugin\n")
    (tmp_path / "nex_lazy_plugin.py").write_text(ADAPTER_MODULE)
    path = os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])
    return {"PYTHONPATH": path}


def test_an_adapter_plugin_is_imported_only_when_used(
    adapter_dist: dict[str, str], tmp_path: Path
) -> None:
    run = [
        "run",
        "examples/calculator/agent.yaml",
        "--task",
        "x",
        "--model",
        "scripted:examples/calculator/script.yaml",
        "--out",
        str(tmp_path / "t.jsonl"),
        "--quiet",
    ]
    assert "nex_lazy_plugin" not in modules_after("--help", env=adapter_dist)
    assert "nex_lazy_plugin" not in modules_after(*run, env=adapter_dist)
    assert "nex_lazy_plugin" in modules_after(*run, "--backend", "lazyecho", env=adapter_dist)
    assert "nex_lazy_plugin" in modules_after("plugins", env=adapter_dist)


def test_plugins_lists_lazy_adapters(adapter_dist: dict[str, str]) -> None:
    res = subprocess.run(
        [str(Path(sys.executable).parent / "nex"), "plugins", "--json"],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, **adapter_dist},
    )
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["adapters"]["lazyecho"]["framework"] == "nex-lazy-plugin"
    (info,) = [p for p in data["plugins"] if p["name"] == "lazyecho"]
    assert info["group"] == "nex.adapters" and info["distribution"] == "nex-lazy-plugin"
