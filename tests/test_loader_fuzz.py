"""Malformed files never get past a loader as anything but a nex error.

First the named cases (each a crash before): bytes that are not UTF-8, control characters, tags
PyYAML cannot build, NUL bytes and over-long paths in ``ref:``, binary files, deep nesting, for
every loader (spec, model script, GAP config, tasks, trajectories), with the file and line.
Then hypothesis mutates real documents (the examples, the frozen trajectory corpus) byte by byte
and asserts that only :class:`NexError` escapes, as the trajectory reader already did.
"""

from __future__ import annotations

import contextlib
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nex_core.cli.main import cli
from nex_core.errors import NexError, SpecError
from nex_core.gap.config import load_config
from nex_core.gap.tasks import iter_tasks
from nex_core.models.scripted import ScriptedModel
from nex_core.protocol.loader import LargeSpecWarning, load_spec, parse_document
from nex_core.trajectory.reader import iter_trajectories

REPO = Path(__file__).resolve().parents[1]
AGENT = (REPO / "examples/calculator/agent.yaml").read_bytes()
SCRIPT = (REPO / "examples/calculator/script.yaml").read_bytes()
CONFIG = (REPO / "examples/gap/config.yaml").read_bytes()
TASKS = (REPO / "examples/gap/tasks.jsonl").read_bytes()
TRAJECTORIES = next((REPO / "tests/corpus/v1").glob("*.jsonl")).read_bytes()


def _load_spec(path: Path) -> Any:
    return load_spec(path)


def _load_script(path: Path) -> Any:
    return ScriptedModel.from_file(path)


def _load_config(path: Path) -> Any:
    return load_config(path, check=False)


def _load_tasks(path: Path) -> Any:
    return list(iter_tasks(path))


def _read_trajectories(path: Path) -> Any:
    return list(iter_trajectories(path, strict=True))


YAML_LOADERS: dict[str, tuple[Callable[[Path], Any], bytes]] = {
    "spec": (_load_spec, AGENT),
    "script": (_load_script, SCRIPT),
    "gap config": (_load_config, CONFIG),
}


def _spec_error(loader: Callable[[Path], Any], path: Path) -> SpecError:
    with pytest.raises(SpecError) as info:
        loader(path)
    assert "Traceback" not in str(info.value)
    return info.value


# --------------------------------------------------------------------------- named cases

BAD_YAML = {
    "invalid UTF-8": b"\xff\xfe bad bytes",
    "a control character": b"name: a\x07b",
    "!!float x": b"temperature: !!float x",
    "!!timestamp 2001-12-14t": b"when: !!timestamp 2001-12-14t",
    "!!binary of no base64": b"blob: !!binary '%%%'",
    "an unknown tag": b"x: !!python/object:os.system ls",
    "a NUL byte": b"name: a\x00b",
}


@pytest.mark.parametrize("kind", list(YAML_LOADERS))
@pytest.mark.parametrize("case", list(BAD_YAML))
def test_malformed_yaml_is_a_spec_error_with_the_line(
    tmp_path: Path, kind: str, case: str
) -> None:
    loader, good = YAML_LOADERS[kind]
    lines = good.splitlines(keepends=True)
    path = tmp_path / "doc.yaml"
    # The bad line goes in as line 3.
    path.write_bytes(b"".join(lines[:2]) + BAD_YAML[case] + b"\n" + b"".join(lines[2:]))
    error = _spec_error(loader, path)
    assert f"{path}:3" in str(error), str(error)


def test_deep_nesting_is_a_spec_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("name: a\nextensions: " + "[" * 20000 + "]" * 20000 + "\n")
    _spec_error(_load_spec, path)


def test_a_binary_file_is_a_spec_error(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    error = _spec_error(_load_spec, path)
    assert "not a text file" in str(error) and f"{path}:3" in str(error)  # after \r\n, \n
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code != 0 and "Traceback" not in result.output


@pytest.mark.parametrize("ref, words", [
    ("with\0nul.yaml", "NUL byte"),
    ("x" * 5000 + ".yaml", "not a usable path"),
    ("/".join(["d" * 200] * 40) + ".yaml", "not a usable path"),
    (".", "a folder"),
])
def test_unusable_refs_are_spec_errors_with_the_line(tmp_path: Path, ref: str, words: str) -> None:
    import json

    path = tmp_path / "root.yaml"
    path.write_text("name: root\nsub_agents:\n  - mode: tool\n    ref: " + json.dumps(ref) + "\n")
    error = _spec_error(_load_spec, path)
    assert words in str(error) and f"{path}:4" in str(error), str(error)
    assert len(str(error)) < 2000  # a 5000-character path is not echoed whole


@pytest.mark.parametrize("line, words", [
    (b'{"id": "t", "prompt": "\xff"}', "not UTF-8"),
    (b'{"id": "t", "prompt": "a\x00"}', "NUL byte"),
    (b"[" * 100000, "JSON"),
    (b'{"id": 5, "prompt": "x"}', "not a valid task"),
])
def test_bad_task_lines_are_spec_errors_with_the_line(
    tmp_path: Path, line: bytes, words: str
) -> None:
    path = tmp_path / "tasks.jsonl"
    path.write_bytes(b'{"id": "ok", "prompt": "fine"}\n' + line + b"\n")
    error = _spec_error(_load_tasks, path)
    assert words in str(error) and f"{path}:2" in str(error), str(error)


def test_a_very_large_spec_warns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nex_core.protocol import _document

    monkeypatch.setattr(_document, "LARGE_DOCUMENT_BYTES", len(AGENT) - 1)
    path = tmp_path / "agent.yaml"
    path.write_bytes(AGENT)
    with pytest.warns(LargeSpecWarning, match="takes a while to load"):
        load_spec(path)


def test_one_parse_gives_data_and_lines() -> None:
    data, index = parse_document("name: a\ntools:\n  - name: t\n    binding: m:f\n", "<t>")
    assert data == {"name": "a", "tools": [{"name": "t", "binding": "m:f"}]}
    assert index[("tools", 0, "binding")] == 4 and index[("tools",)] == 2
    assert ("tools", 1) not in index and ("nope",) not in index
    assert set(index) == {(), ("name",), ("tools",), ("tools", 0), ("tools", 0, "name"),
                          ("tools", 0, "binding")}


# --------------------------------------------------------------------------- fuzzing

SNIPPETS = [b"!!float x", b"!!timestamp 2001-12-14t", b"!!binary ?", b"!!int 0x", b"&a", b"*a",
            b"*b", b"!!set", b"? [a]", b"{", b"}", b"[", b"]", b": ", b"- ", b"\t", b"\x00",
            b"\xff", b"\xc3", b"\x07", b"\x85", b"\r", b"\n  ", b"'", b'"', b"%YAML 1.1\n---",
            b"ref: x.yaml", b"ref: \"\\0\"", b"null", b"~", b"1e999", b"<<: *a", b"\\ud800"]


@st.composite
def mutated(draw: st.DrawFn, base: bytes) -> bytes:
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "delete", "replace", "truncate"]))
        piece = draw(st.sampled_from(SNIPPETS) | st.binary(min_size=1, max_size=4))
        if action == "insert":
            data[at:at] = piece
        elif action == "delete":
            del data[at:at + draw(st.integers(1, 20))]
        elif action == "replace":
            data[at:at + len(piece)] = piece
        else:
            del data[at:]
    return bytes(data)


FUZZ = settings(max_examples=120, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

LOADERS: dict[str, tuple[Callable[[Path], Any], bytes]] = {
    **YAML_LOADERS,
    "tasks": (_load_tasks, TASKS),
    "trajectories": (_read_trajectories, TRAJECTORIES),
}


@pytest.mark.parametrize("kind", list(LOADERS))
def test_only_nex_errors_escape_a_loader(kind: str) -> None:
    loader, base = LOADERS[kind]

    @FUZZ
    @given(mutated(base))
    def check(content: bytes) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / ("doc.jsonl" if kind in ("tasks", "trajectories") else "doc.yaml")
            path.write_bytes(content)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with contextlib.suppress(NexError):
                    loader(path)

    check()


@FUZZ
@given(st.text(max_size=300))
def test_only_spec_errors_escape_the_yaml_parser(text: str) -> None:
    with contextlib.suppress(SpecError):
        parse_document(text, "<fuzz>")


def test_the_cli_shows_the_size_warning_as_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nex_core.protocol import _document

    monkeypatch.setattr(_document, "LARGE_DOCUMENT_BYTES", len(AGENT) - 1)
    path = tmp_path / "agent.yaml"
    path.write_bytes(AGENT)
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert "warning:" in result.output and "takes a while to load" in result.output
    assert "warnings.warn" not in result.output
