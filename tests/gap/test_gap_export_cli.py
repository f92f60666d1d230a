"""``nex export`` walked through its bad inputs: each is refused with one ``error:`` (or click
usage) message and a non-zero exit, never a traceback; good input writes what it says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from gap_export_helpers import mixed, write_source

from nex_core.cli.main import cli


def _nex(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["export", *args])
    text = " ".join((result.stdout + result.stderr).split())  # undo the console's wrapping
    assert "Traceback" not in text, text
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, text


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return write_source(tmp_path / "trajectories.jsonl", mixed(8))


@pytest.mark.parametrize("value", ["csv", "jsonl,csv", ","])
def test_file_format_is_a_choice(tmp_path: Path, source: Path, value: str) -> None:
    code, text = _nex(str(source), "-o", str(tmp_path / "o"), "--file-format", value)
    assert code == 2 and "Invalid value for '--file-format'" in text
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("value", ["2", "-0.1", "x"])
def test_validation_fraction_is_a_range(tmp_path: Path, source: Path, value: str) -> None:
    code, text = _nex(str(source), "-o", str(tmp_path / "o"), "--validation-fraction", value)
    assert code == 2 and "Invalid value for '--validation-fraction'" in text


def test_a_folder_without_trajectories_is_one_error(tmp_path: Path) -> None:
    empty = tmp_path / "run"
    empty.mkdir()
    code, text = _nex(str(empty), "-o", str(tmp_path / "o"))
    assert code == 1 and text.count("error:") == 1
    assert f"{empty} holds no trajectories.jsonl" in text


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        (
            "--target",
            "hf,trl",
            "unknown export target 'trl' (available: atif, hf, openai, rollout, sharegpt)",
        ),
        ("--format", "native,nope", "unknown tool format 'nope' (available: "),
    ],
)
def test_unknown_names_list_the_available_ones(
    tmp_path: Path, source: Path, option: str, value: str, expected: str
) -> None:
    code, text = _nex(str(source), "-o", str(tmp_path / "o"), option, value)
    assert code == 1 and text.count("error:") == 1 and expected in text


def test_an_unwritable_output_path_is_one_error_naming_it(tmp_path: Path, source: Path) -> None:
    (tmp_path / "file").write_text("")
    out = tmp_path / "file" / "o"
    code, text = _nex(str(source), "-o", str(out))
    assert code == 1 and text.count("error:") == 1
    assert f"cannot export to {out}: Not a directory" in text


def test_targets_and_file_formats_export(tmp_path: Path, source: Path) -> None:
    out = tmp_path / "o"
    code, text = _nex(
        str(source),
        "-o",
        str(out),
        "--format",
        "native,hermes",
        "--target",
        "hf,openai",
        "--file-format",
        "jsonl,parquet",
        "--validation-fraction",
        "0",
    )
    assert code == 0, text
    assert "exported 8 samples from 8 trajectories" in text
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["options"]["targets"] == ["hf", "openai"]
    assert set(manifest["files"]) == {
        f"{t}/{f}/train.{k}"
        for t in ("hf", "openai")
        for f in ("native", "hermes")
        for k in ("jsonl", "parquet")
    }
