"""``nex view`` without a browser: what the static page holds (every message, schema, result
and error of a recorded run; fields it does not know; bad lines), escaping, the size limit,
comparisons and the command line. The browser tests are in test_view_browser.py."""

from __future__ import annotations

import json
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

pytest.importorskip("jinja2", reason="nex view needs the view extra: pip install 'nex-core[view]'")

from click.testing import CliRunner
from view_helpers import IMG_TAG, SCRIPT_TAG, as_data, recorded, write

from nex_core.cli.main import cli
from nex_core.errors import SpecError
from nex_core.view import render_static
from nex_core.view._compare import compare
from nex_core.view._load import Entry
from nex_core.view._render import trajectory_page


class _Scripts(HTMLParser):
    """Collects every <script> element's text and every on* attribute of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self.handlers: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")
        self.handlers += [name for name, _ in attrs if name.startswith("on")]

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data


def test_a_trajectory_page_shows_every_call_result_error_and_the_tree(tmp_path: Path) -> None:
    traj = recorded()
    html = render_static([write(tmp_path / "t.jsonl", traj)])
    for step in traj.steps:
        assert f'id="t0-1-{step.id}"' in html  # every step is in the tree, linkable
    assert html.count('class="wf-row') == len(traj.steps)  # and on the timeline
    assert "parallel batch · 2 calls" in html  # lookup and divide answered one response
    assert "ZeroDivisionError" in html and "division by zero" in html
    assert "I should look x up and divide at once." in html  # reasoning
    assert "You are lead." in html and "Work out x and y." in html  # exact input messages
    assert "Divide a by b." in html  # the tool schemas offered
    assert "y is found" in html  # the sub-agent's own steps
    assert 'data-agent="researcher"' in html and 'data-kind="subagent"' in html
    # A response with only tool calls has no content: none is shown, not an empty string.
    assert '<pre class="content">&#34;&#34;</pre>' not in html


def test_model_and_tool_text_is_escaped_never_markup(tmp_path: Path) -> None:
    html = render_static([write(tmp_path / "t.jsonl", recorded())])
    assert SCRIPT_TAG not in html and IMG_TAG not in html
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in html
    page = _Scripts()
    page.feed(html)
    assert len(page.scripts) == 1 and "__pwned" not in page.scripts[0]  # only the viewer's own
    assert page.handlers == []


def test_fields_the_viewer_does_not_know_are_shown(tmp_path: Path) -> None:
    """A newer schema's optional fields (token ids, rewards on steps) appear, generically."""
    data = as_data(recorded())
    llm = next(s for s in data["steps"] if s["kind"] == "llm")
    llm["prompt_token_ids"] = [101, 2023, 7592]
    llm["response"]["completion_logprobs"] = [-0.25]
    data["steps"][1]["reward"] = 0.5
    data["outcome"]["verifier"] = "exact-match"
    data["session_id"] = "sess-77"
    html = trajectory_page(Entry(str(tmp_path / "t.jsonl"), 1, data))
    for name, value in [
        ("prompt_token_ids", "7592"),
        ("completion_logprobs", "-0.25"),
        ("reward", "0.5"),
        ("verifier", "exact-match"),
        ("session_id", "sess-77"),
    ]:
        assert f'<span class="k">{name}</span>' in html
        assert value in html


def test_bad_lines_are_listed_with_file_and_line_and_the_rest_shown(tmp_path: Path) -> None:
    good = recorded()
    path = write(tmp_path / "t.jsonl", good, extra_lines=('{"id": "torn", "provena', "not json"))
    html = render_static([path])
    assert "2 unreadable lines" in html
    assert f"{path}:2</code>" in html and f"{path}:3</code>" in html
    assert "truncated or corrupt" in html
    assert good.id in html  # the good trajectory is still shown


def test_an_empty_input_shows_an_empty_state(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert "No trajectories" in render_static([empty])
    run = tmp_path / "run"
    run.mkdir()
    (run / "trajectories.jsonl").write_text("")
    html = render_static([run])
    assert "No trajectories" in html and "has not committed an episode" in html


def test_a_static_page_has_a_size_limit_that_names_serve(tmp_path: Path) -> None:
    path = write(tmp_path / "t.jsonl", recorded())
    with pytest.raises(SpecError, match=r"--serve") as info:
        render_static([path], limit=1024)
    assert str(path) in str(info.value) and "MiB" in str(info.value)


def test_a_folder_that_is_not_a_run_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"trajectories\.jsonl"):
        render_static([tmp_path])


def _entries(*trajs: object, tmp_path: Path) -> list[Entry]:
    return [Entry(str(tmp_path / f"{i}.jsonl"), 1, as_data(t), i) for i, t in enumerate(trajs)]  # type: ignore[arg-type]


def test_comparing_identical_behaviour_marks_nothing(tmp_path: Path) -> None:
    result = compare(_entries(recorded(), recorded(), tmp_path=tmp_path))
    assert result.identical
    assert all(c is not None and not c.differs for row in result.rows for c in row.cells)


def test_comparing_marks_exactly_the_step_and_field_that_differ(tmp_path: Path) -> None:
    result = compare(_entries(recorded(), recorded("a different answer"), tmp_path=tmp_path))
    differing = [row for row in result.rows if not row.same]
    # The last model call's response, and the outcome's final output, differ; nothing else.
    assert [sorted(row.cells[1].differs) for row in differing if row.cells[1]] == [
        ["response"],
        ["final_output"],
    ]
    html = render_static(
        [write(tmp_path / "a.jsonl", recorded()), write(tmp_path / "b.jsonl", recorded("other"))]
    )
    assert "2 of " in html and "rows differ" in html
    assert html.count('class="kv diff-field"') == 2


def test_an_extra_step_is_a_row_of_its_own(tmp_path: Path) -> None:
    longer = as_data(recorded())
    shorter = as_data(recorded())
    # Drop the researcher's lookup: the other steps still face their counterparts.
    shorter["steps"] = [
        s for s in shorter["steps"] if not (s.get("agent") == "researcher" and s["kind"] == "tool")
    ]
    result = compare([Entry("a", 1, longer, 0), Entry("b", 1, shorter, 1)])
    missing = [row for row in result.rows if row.cells[1] is None]
    assert len(missing) == 1 and missing[0].cells[0] is not None
    assert missing[0].cells[0].fields["name"] == "lookup"


def test_a_task_id_chooses_what_to_compare(tmp_path: Path) -> None:
    path = write(tmp_path / "t.jsonl", recorded(), recorded("other"))
    html = render_static([path], task="t1")
    assert "2 trajectories side by side" in html
    with pytest.raises(SpecError, match="no trajectory of task 'nope'"):
        render_static([path], task="nope")


def test_cli_writes_the_page_beside_the_input_and_names_it(tmp_path: Path) -> None:
    path = write(tmp_path / "t.jsonl", recorded())
    result = CliRunner().invoke(cli, ["view", str(path)])
    assert result.exit_code == 0, result.output
    page = tmp_path / "t.html"
    assert str(page) in result.output and "<!doctype html>" in page.read_text()
    result = CliRunner().invoke(
        cli, ["view", str(tmp_path / "t.jsonl"), str(path), "-o", str(tmp_path / "c.html")]
    )
    assert result.exit_code == 0 and "side by side" in (tmp_path / "c.html").read_text()


def test_cli_refuses_a_file_too_large_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    line = recorded().to_json()
    path.write_text((line + "\n") * (2 * 2**20 // len(line) + 1))
    done = subprocess.run(
        [sys.executable, "-m", "nex_core", "view", str(path), "--max-static-mb", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("error:") and "--serve" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "big.html").exists()


def test_the_page_fetches_nothing(tmp_path: Path) -> None:
    html = render_static([write(tmp_path / "t.jsonl", recorded())])
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html
    assert "default-src 'none'" in html


def test_secrets_in_an_old_record_are_scrubbed_on_display(tmp_path: Path) -> None:
    data = as_data(recorded())
    key = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0" * 2
    data["steps"][0]["request"]["params"]["api_key"] = key
    path = tmp_path / "old.jsonl"
    path.write_text(json.dumps(data) + "\n")
    html = render_static([path])
    assert key not in html


def test_the_same_task_through_several_frameworks_is_one_picture(tmp_path: Path) -> None:
    """The comparison the viewer exists for: one spec and one script through native and
    LangGraph (and AutoGen where installed) is the same behaviour, so nothing is marked."""
    pytest.importorskip("nex_langgraph", reason="needs the nex-langgraph adapter")
    import importlib.util

    from native_helpers import EXAMPLES

    from nex_core import get_adapter, load_spec, make_model

    spec = load_spec(EXAMPLES / "calculator" / "agent.yaml")
    backends = ["native", "langgraph"]
    if importlib.util.find_spec("nex_autogen") is not None:
        backends.append("autogen")
    files = []
    for backend in backends:
        model = make_model(f"scripted:{EXAMPLES / 'calculator' / 'script.yaml'}")
        traj = get_adapter(backend).run(spec, "What is (2+3)*4?", model=model)
        files.append(write(tmp_path / f"{backend}.jsonl", traj))
    html = render_static(files)
    assert "same behaviour (equal normal forms)" in html
    assert 'class="kv diff-field"' not in html
    for backend in backends[1:]:
        assert f" · {backend}</div>" in html  # each framework has its column


def _long_run(rounds: int) -> object:
    from native_helpers import agent, call, params, run, tool

    def lookup(key: str) -> str:
        """Look a key up."""
        return f"the value of {key} " * 10

    spec = agent("long", tool(lookup, params(key="string")), limits={"max_steps": rounds + 2})
    script = [{"tool_calls": [call("lookup", {"key": f"k{i}"})]} for i in range(rounds)]
    traj, _ = run(spec, [*script, {"text": "done"}], "go")
    return traj


def test_a_long_runs_page_grows_linearly_each_request_exact_by_reference(tmp_path: Path) -> None:
    """Every request repeats the conversation so far; the page shows each message once and
    says, per request, which earlier request's messages it begins with."""
    sizes = {}
    for rounds in (20, 40):
        traj = _long_run(rounds)
        html = render_static([write(tmp_path / f"r{rounds}.jsonl", traj)])  # type: ignore[arg-type]
        sizes[rounds] = len(html)
    assert sizes[40] / sizes[20] < 2.5  # quadratic would be near 4
    llm = [s for s in traj.steps if s.kind == "llm"]  # type: ignore[attr-defined]
    second, first = llm[1], llm[0]
    shared = len(first.request.messages)
    assert f"messages 1\u2013{shared}: exactly those sent in step {first.id}" in html
    assert second.request.messages[:shared] == first.request.messages


def test_a_run_folders_report_feeds_the_dashboard_and_a_corrupt_one_is_listed(
    tmp_path: Path,
) -> None:
    pytest.importorskip("matplotlib", reason="the dashboard needs the view extra")
    run = tmp_path / "run"
    run.mkdir()
    write(run / "trajectories.jsonl", recorded(), recorded("other"))
    report = {"name": "nightly", "mcp_restarts": {"time": 2}, "aborted": "interrupted"}
    (run / "report.json").write_text(json.dumps(report))
    html = render_static([run])
    assert "run nightly" in html and "<b>2</b> MCP restarts" in html
    assert "<td>time</td><td>2</td>" in html and "<td>aborted</td><td>interrupted</td>" in html
    (run / "report.json").write_text('{"name": "nigh')
    html = render_static([run])
    assert f"{run / 'report.json'}:1</code> not valid JSON" in html
    assert "<b>2</b> episodes" in html  # the trajectories are still shown


def test_without_the_view_extra_the_error_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nex_core.errors import PluginError
    from nex_core.view import _render

    path = write(tmp_path / "t.jsonl", recorded(), recorded("other"))
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(PluginError, match=r"matplotlib: pip install 'nex-core\[view\]'"):
        render_static([path])
    monkeypatch.setitem(sys.modules, "jinja2", None)
    _render._environment.cache_clear()
    try:
        with pytest.raises(PluginError, match=r"jinja2: pip install 'nex-core\[view\]'"):
            render_static([path], task="t1")
    finally:
        monkeypatch.undo()
        _render._environment.cache_clear()
