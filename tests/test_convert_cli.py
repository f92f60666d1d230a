"""``nex convert FILE.py:OBJ``: the app is imported as ``python FILE.py`` would import it, the
spec's bindings resolve where ``nex run`` runs, and every mistake is one ``error:`` line."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from nex_core.cli.main import cli
from nex_core.protocol import load_spec
from nex_core.protocol.spec import ImportBinding

REPO = Path(__file__).resolve().parents[1]

GRAPH_APP = """\
from langchain.agents import create_agent
from nex_core import ScriptedModel
from nex_langgraph import bridge_model

from tools import add  # a sibling module, as `python app/agent.py` finds it

graph = create_agent(bridge_model(ScriptedModel([])), [add], name="adder", system_prompt="Add.")

if __name__ == "__main__":
    raise SystemExit("the app's main block must not run when nex converts it")
"""

TOOLS = '''\
def add(a: float, b: float) -> float:
    """Add two numbers."""
    return a + b
'''

SCRIPT = """\
replies:
  - tool_calls: [{name: add, arguments: {a: 2, b: 3}}]
  - text: "5"
"""


def nex(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, "-m", "nex_core", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def one_error_line(result: Result) -> str:
    """The whole of what a failed command printed: one ``error:`` line, no traceback."""
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def unique(stem: str) -> str:
    """A module name no other test has imported (the app stays in sys.modules)."""
    return f"{stem}_{uuid.uuid4().hex[:8]}"


# --------------------------------------------------------------------------- bindings resolve


def test_a_sibling_import_works_and_the_spec_runs_from_here(tmp_path: Path) -> None:
    pytest.importorskip("nex_langgraph")
    write(tmp_path / "app/agent.py", GRAPH_APP)
    write(tmp_path / "app/tools.py", TOOLS)
    done = nex("convert", "app/agent.py:graph", "-o", "adder.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    spec = load_spec(tmp_path / "adder.yaml")
    binding = spec.walk()[0].tools[0].binding
    assert binding == ImportBinding(path="app.tools:add")  # the app saw it as tools:add
    assert "rewritten to app.tools:add" in done.stderr

    write(tmp_path / "script.yaml", SCRIPT)
    ran = nex(
        "run",
        "adder.yaml",
        "--task",
        "2+3",
        "--model",
        "scripted:script.yaml",
        "--quiet",
        cwd=tmp_path,
    )
    assert (ran.returncode, ran.stdout.strip()) == (0, "5"), ran.stderr


def test_a_binding_that_still_cannot_resolve_is_reported(tmp_path: Path) -> None:
    """The tools module imports a sibling of its own: from here it cannot import, and the
    report says so (and how to run it) instead of writing a spec that fails silently later."""
    pytest.importorskip("nex_langgraph")
    write(tmp_path / "app/agent.py", GRAPH_APP)
    write(tmp_path / "app/tools.py", "from helpers import plus\n\n" + TOOLS)
    write(tmp_path / "app/helpers.py", "def plus(a, b):\n    return a + b\n")
    done = nex("convert", "app/agent.py:graph", "-o", "adder.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = " ".join(done.stderr.split())
    assert "binding app.tools:add: does not import from" in report
    assert "No module named 'helpers'" in report
    # rich wraps long paths anywhere, so the path is compared with all white space removed
    assert f"PYTHONPATH={tmp_path / 'app'}" in "".join(done.stderr.split())


def test_an_app_outside_the_current_folder_is_reported(tmp_path: Path) -> None:
    pytest.importorskip("nex_langgraph")
    write(tmp_path / "app/agent.py", GRAPH_APP)
    write(tmp_path / "app/tools.py", TOOLS)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = nex("convert", str(tmp_path / "app/agent.py") + ":graph", cwd=elsewhere)
    assert done.returncode == 0, done.stderr
    assert "path: tools:add" in done.stdout  # left as the app saw it, and said so
    assert f"PYTHONPATH={tmp_path / 'app'}" in "".join(done.stderr.split())


# --------------------------------------------------------------------------- mistakes


def test_a_missing_file(tmp_path: Path) -> None:
    line = one_error_line(invoke("convert", f"{tmp_path}/nope.py:graph"))
    assert line == f"error: {tmp_path}/nope.py: no such file"


def test_a_missing_module() -> None:
    line = one_error_line(invoke("convert", "no_such_module_here:graph"))
    assert "no module named 'no_such_module_here'" in line


def test_a_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    app = write(tmp_path / f"{unique('broken')}.py", "import os\n\ndef broken(:\n    pass\n")
    line = one_error_line(invoke("convert", f"{app}:graph"))
    assert line.startswith(f"error: {app}:3: syntax error"), line


def test_an_app_whose_own_import_fails_names_the_module(tmp_path: Path) -> None:
    app = write(tmp_path / f"{unique('app')}.py", "import os\nimport no_such_dependency_xyz\n")
    line = one_error_line(invoke("convert", f"{app}:graph"))
    assert line.startswith(f"error: {app}:2: importing the app failed"), line
    assert "module 'no_such_dependency_xyz'" in line


def test_an_app_that_raises_while_importing(tmp_path: Path) -> None:
    app = write(tmp_path / f"{unique('app')}.py", "x = 1\nraise RuntimeError('no key set')\n")
    line = one_error_line(invoke("convert", f"{app}:graph"))
    assert line == f"error: {app}:2: running the app raised RuntimeError: no key set"


def test_a_wrong_object_name_lists_the_candidates(tmp_path: Path) -> None:
    pytest.importorskip("nex_langgraph")
    stem = unique("app")
    write(tmp_path / f"{unique('tools')}.py", TOOLS)
    app = write(
        tmp_path / f"{stem}.py",
        """\
        from langchain.agents import create_agent
        from nex_core import ScriptedModel
        from nex_langgraph import bridge_model

        agent_graph = create_agent(bridge_model(ScriptedModel([])), [], name="solo")
        NOT_AN_AGENT = 3
        """,
    )
    line = one_error_line(invoke("convert", f"{app}:grpah"))
    assert line == (
        f"error: {app}: '{stem}' has no attribute 'grpah'; "
        "objects an adapter recognises there: agent_graph"
    )


def test_a_wrong_name_in_a_module_without_agents(tmp_path: Path) -> None:
    app = write(tmp_path / f"{unique('plain')}.py", "THING = object()\n")
    line = one_error_line(invoke("convert", f"{app}:thing"))
    assert line.endswith(
        "has no attribute 'thing'; no object there is one an installed adapter recognises"
    )


def test_an_object_no_adapter_recognises(tmp_path: Path) -> None:
    app = write(tmp_path / f"{unique('objs')}.py", "THING = object()\n")
    line = one_error_line(invoke("convert", f"{app}:THING"))
    assert "no installed adapter recognises builtins.object" in line
    assert "pip install" not in line  # no package name made up from what the user typed


def test_a_spec_without_to(tmp_path: Path) -> None:
    line = one_error_line(invoke("convert", str(REPO / "examples/calculator/agent.yaml")))
    assert "is a spec; give --to BACKEND" in line


def test_the_app_main_block_does_not_run(tmp_path: Path) -> None:
    app = write(
        tmp_path / f"{unique('app')}.py",
        "THING = object()\nif __name__ == '__main__':\n    raise SystemExit('ran')\n",
    )
    line = one_error_line(invoke("convert", f"{app}:THING"))
    assert "no installed adapter recognises" in line
