"""Every user mistake in every command is one `error:` line and a non-zero exit, never a
traceback; user text reaches the terminal as written (rich markup never eats it); hints never
turn a typo into a package name.

The walk uses click's runner in-process (fast), and checks the command ended by `sys.exit`
rather than by an exception the runner caught (which would have been a traceback)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from nex_core.cli.main import cli

REPO = Path(__file__).resolve().parents[1]
SPEC = str(REPO / "examples/calculator/agent.yaml")
SCRIPT = str(REPO / "examples/calculator/script.yaml")
MODEL = f"scripted:{SCRIPT}"


@pytest.fixture
def bad_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "binary.yaml").write_bytes(b"\x00\x01name: x\xff\xfe")
    (tmp_path / "binary.jsonl").write_bytes(b"\x00\x01\x02\xff\xfe")
    (tmp_path / "latin1.yaml").write_bytes("name: caf\xe9\n".encode("latin-1"))
    (tmp_path / "folder").mkdir()
    (tmp_path / "broken.yaml").write_text("name: [unclosed\n")
    (tmp_path / "empty.jsonl").write_text("")
    (tmp_path / "spec.yaml").write_text("name: x\n")
    return tmp_path


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def assert_one_error_line(res: Result, *expected: str) -> str:
    assert res.exit_code != 0, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), (
        f"{type(res.exception).__name__}: {res.exception}"
    )
    assert "Traceback" not in res.output
    errors = [line for line in res.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, res.output
    text = " ".join(res.output.split())
    for part in expected:
        assert part in text, text
    return text


RUN = ("run", SPEC, "--task", "x")

CASES = {
    # nex run
    "run: spec missing": (
        (*RUN[:1], "missing.yaml", "--task", "x", "--model", MODEL),
        "missing.yaml",
    ),
    "run: spec is a folder": (("run", "folder", "--task", "x", "--model", MODEL), "is a directory"),
    "run: spec is binary": (
        ("run", "binary.yaml", "--task", "x", "--model", MODEL),
        "not a text file",
    ),
    "run: spec not UTF-8": (
        ("run", "latin1.yaml", "--task", "x", "--model", MODEL),
        "not a text file",
    ),
    "run: spec syntax": (("run", "broken.yaml", "--task", "x", "--model", MODEL), "broken.yaml:"),
    "run: no task": (("run", SPEC, "--model", MODEL), "--task"),
    "run: no model": (RUN, "--model"),
    "run: model ref shape": ((*RUN, "--model", "nonsense"), "PROVIDER:ARG"),
    "run: model provider typo": ((*RUN, "--model", "opnai:gpt-4o"), "did you mean 'openai'"),
    "run: script missing": ((*RUN, "--model", "scripted:missing.yaml"), "missing.yaml"),
    "run: script is a folder": ((*RUN, "--model", "scripted:folder"), "folder"),
    "run: script is binary": ((*RUN, "--model", "scripted:binary.yaml"), "not a text file"),
    "run: replay number": ((*RUN, "--model", "replay:empty.jsonl#x"), "'#x'"),
    "run: backend typo": ((*RUN, "--model", MODEL, "--backend", "langgrap"), "no adapter named"),
    "run: out is a folder": ((*RUN, "--model", MODEL, "--out", "folder"), "is a directory"),
    "run: out unwritable": (
        (*RUN, "--model", MODEL, "--out", "spec.yaml/sub/out.jsonl"),
        "spec.yaml",
    ),
    "run: unknown option": ((*RUN, "--model", MODEL, "--colour"), "--colour"),
    # nex inspect
    "inspect: missing": (("inspect", "missing.jsonl"), "missing.jsonl"),
    "inspect: folder": (("inspect", "folder"), "is a directory"),
    "inspect: binary": (("inspect", "binary.jsonl"), "not a text file"),
    "inspect: empty": (("inspect", "empty.jsonl"), "no trajectory to show"),
    "inspect: a spec, not trajectories": (("inspect", "spec.yaml"), "no trajectory to show"),
    "inspect: width": (("inspect", "empty.jsonl", "--width", "0"), "--width"),
    "inspect: index": (("inspect", "empty.jsonl", "--index", "-1"), "--index"),
    "inspect: kind": (("inspect", "empty.jsonl", "--kind", "agent"), "--kind"),
    "inspect: status": (("inspect", "empty.jsonl", "--status", "done"), "--status"),
    # nex validate
    "validate: missing": (("validate", "missing.yaml"), "missing.yaml"),
    "validate: folder": (("validate", "folder"), "is a directory"),
    "validate: binary": (("validate", "binary.yaml"), "not a text file"),
    "validate: syntax": (("validate", "broken.yaml"), "broken.yaml:"),
    "validate: kind": (("validate", "spec.yaml", "--kind", "agent"), "--kind"),
    "validate: binary trajectories": (("validate", "binary.jsonl"), "not a text file"),
    # nex schema, plugins, the group
    "schema: unknown": (("schema", "banana"), "banana"),
    "plugins: unknown option": (("plugins", "--yaml"), "--yaml"),
    "unknown command": (("frobnicate",), "frobnicate"),
    # nex convert (its options belong to the code generator; these already behave)
    "convert: source missing": (("convert", "missing.py:graph"), "missing.py"),
    "convert: spec missing": (("convert", "missing.yaml", "--to", "langgraph"), "missing.yaml"),
    "convert: binary spec": (("convert", "binary.yaml", "--to", "native"), "not a text file"),
    # nex export and nex gap
    "export: missing": (("export", "missing", "-o", "out"), "missing"),
    "export: no trajectories in folder": (("export", "folder", "-o", "out"), "trajectories.jsonl"),
    "gap run: missing": (("gap", "run", "missing.yaml"), "missing.yaml"),
    "gap run: folder": (("gap", "run", "folder"), "is a directory"),
    "gap run: syntax": (("gap", "run", "broken.yaml"), "broken.yaml:"),
    "gap check: binary": (("gap", "check", "binary.yaml"), "not a text file"),
    "conformance: adapter": (("conformance", "--adapter", "nope"), "no adapter named 'nope'"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_mistake_is_one_error_line(bad_files: Path, case: str) -> None:
    args, expected = CASES[case]
    if args[0] == "conformance":
        pytest.importorskip("nex_conformance")
    assert_one_error_line(invoke(*args), expected)


def test_usage_errors_say_where_and_what_to_do(bad_files: Path) -> None:
    text = assert_one_error_line(invoke("inspect", "empty.jsonl", "--width", "3"))
    assert "--width" in text and "inspect --help" in text
    assert invoke("inspect", "empty.jsonl", "--width", "3").exit_code == 2


def test_bare_nex_still_shows_the_help() -> None:
    res = invoke()
    assert "Usage:" in res.output and "run" in res.output and "error:" not in res.output


# --------------------------------------------------------------------------- hints


def test_a_typo_is_never_offered_as_a_package(bad_files: Path) -> None:
    text = assert_one_error_line(invoke(*RUN, "--model", MODEL, "--backend", "langgrap"))
    assert "nex-langgrap" not in text and "pip install" not in text
    assert "did you mean 'langgraph'" in text or "langgraph" in text


def test_a_known_adapter_that_is_missing_points_to_the_checkout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from importlib.metadata import EntryPoints, entry_points

    from nex_core import plugins
    from nex_core.hookspecs import ENTRY_POINT_GROUP
    from nex_core.plugins import ADAPTER_GROUP

    def core_only(**select: Any) -> EntryPoints:  # as if only nex-core were installed
        groups = [select["group"]] if "group" in select else [ENTRY_POINT_GROUP, ADAPTER_GROUP]
        found = [ep for g in groups for ep in entry_points(group=g)]
        return EntryPoints(ep for ep in found if ep.module.startswith("nex_core."))

    monkeypatch.setattr(plugins, "entry_points", core_only)
    pm = plugins.NexPluginManager()
    pm.load_builtins()
    with pytest.raises(plugins.PluginError) as info:
        pm.adapter("autogen")
    assert "pip install ./adapters/autogen (from a nex checkout)" in str(info.value)
    with pytest.raises(plugins.PluginError) as info:
        pm.adapter("zzzz")
    assert "pip install" not in str(info.value) and "nex plugins" in str(info.value)


def test_published_distributions_get_their_name(monkeypatch: pytest.MonkeyPatch) -> None:
    from nex_core import plugins

    assert plugins.install_hint("nex-langgraph") == (
        "pip install ./adapters/langgraph (from a nex checkout)"
    )
    monkeypatch.setattr(plugins, "PUBLISHED", frozenset({"nex-langgraph"}))
    assert plugins.install_hint("nex-langgraph") == "pip install nex-langgraph"


# --------------------------------------------------------------------------- markup


def test_error_text_with_brackets_is_printed_as_written(
    bad_files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The Parquet hint names the extra in brackets; rich used to take `[gap]` for a style.
    out = bad_files / "t.jsonl"
    assert invoke("run", SPEC, "--task", "x", "--model", MODEL, "--out", str(out)).exit_code == 0
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if pyarrow were not installed
    res = invoke("export", str(out), "-o", "data", "--file-format", "parquet")
    text = assert_one_error_line(res)
    assert "pip install 'nex-core[gap]'" in text


def test_file_names_and_model_text_with_markup_survive(bad_files: Path) -> None:
    weird = bad_files / "[red]x [gap].yaml"
    weird.write_text("name: [unclosed\n")
    text = assert_one_error_line(invoke("validate", str(weird)))
    assert "[red]x [gap].yaml" in text
    script = bad_files / "s.yaml"
    script.write_text("replies:\n  - text: 'use [red]this[/red] and [/close] as is'\n")
    spec = bad_files / "a.yaml"
    spec.write_text("name: a\nsystem_prompt: 'say [b]hi[/b]'\n")
    out = bad_files / "o.jsonl"
    res = invoke("run", str(spec), "--task", "[task] [/x]", "--model", f"scripted:{script}",
                 "--out", str(out))  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "use [red]this[/red] and [/close] as is" in " ".join(res.output.split())
    shown = " ".join(invoke("inspect", str(out), "--messages").output.split())
    for part in ("[task] [/x]", "say [b]hi[/b]", "use [red]this[/red] and [/close]"):
        assert part in shown, part


def test_os_errors_name_the_path(bad_files: Path) -> None:
    locked = bad_files / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user who can write anywhere")
        text = assert_one_error_line(
            invoke(*RUN, "--model", MODEL, "--out", str(locked / "o.jsonl"))
        )
        assert str(locked) in text and "Permission denied" in text
    finally:
        locked.chmod(0o700)


def test_the_gap_report_prints_names_and_reasons_as_written() -> None:
    import io

    from rich.console import Console

    from nex_core.gap.report import Tally, print_report

    data = Tally().as_dict(name="[red]run[/red] [/x]")
    data["rejections"] = {"task:[gap] wrong": 2}
    data["by_backend"] = {"[native]": {"statuses": {"completed": 2}, "accepted": 0}}
    out = io.StringIO()
    print_report(data, Console(file=out, width=200))
    text = out.getvalue()
    for part in ("[red]run[/red] [/x]", "task:[gap] wrong", "[native]"):
        assert part in text, text
