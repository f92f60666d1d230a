"""`nex validate` on bad specs says which file, which line and which field is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from nex_core.cli.main import cli
from nex_core.errors import SpecError
from nex_core.protocol import load_spec

GOOD_TOOL = """\
tools:
  - name: add
    parameters: {type: object}
    binding: examples.calculator.tools:add
"""


def validate(path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["validate", str(path)])
    return result.exit_code, result.output + (result.stderr if result.stderr_bytes else "")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def flat(text: str) -> str:
    """CLI output with rich's line wrapping undone."""
    return " ".join(text.split())


@pytest.mark.parametrize(
    "text, line, field, words",
    [
        # wrong type: max_steps is a number
        ("name: a\nlimits:\n  max_steps: lots\n", 3, "limits.max_steps", "integer"),
        # unknown field, with the hint where extras go
        ("name: a\ndescription: x\nsystem_promt: hi\n", 3, "system_promt", "unknown field"),
        # a tool without its binding
        (
            "name: a\ntools:\n  - name: add\n    description: adds\n",
            3,
            "tools[0].binding",
            "missing",
        ),
        # wrong type nested in a list
        (
            "name: a\n" + GOOD_TOOL + "  - name: 7bad\n    binding: m:f\n",
            6,
            "tools[1].name",
            "pattern",
        ),
    ],
)
def test_validation_errors_name_file_line_field(
    tmp_path: Path, text: str, line: int, field: str, words: str
) -> None:
    path = write(tmp_path, "agent.yaml", text)
    code, out = validate(path)
    out = flat(out)
    assert code != 0
    assert f"{path}:{line}" in out
    assert f"field '{field}'" in out
    assert words in out


def test_bad_yaml_syntax_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "agent.yaml", "name: a\ntools: [\n  - {name: x\n")
    code, out = validate(path)
    out = flat(out)
    assert code != 0
    assert "not valid YAML" in out
    assert f"{path}:" in out


def test_bad_ref_names_the_missing_file(tmp_path: Path) -> None:
    path = write(tmp_path, "root.yaml", "name: root\nsub_agents:\n  - ref: nowhere.yaml\n")
    code, out = validate(path)
    out = flat(out)
    assert code != 0
    assert "nowhere.yaml" in out
    assert "sub_agents[0].ref" in out
    assert f"{path}:3" in out  # the line of the reference


def test_ref_cycle_is_reported_with_the_chain(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "name: a\nsub_agents:\n  - ref: b.yaml\n")
    write(tmp_path, "b.yaml", "name: b\nsub_agents:\n  - ref: a.yaml\n")
    with pytest.raises(SpecError, match="cycle") as info:
        load_spec(tmp_path / "a.yaml")
    assert "a.yaml -> " in str(info.value) and "b.yaml" in str(info.value)
    code, out = validate(tmp_path / "a.yaml")
    assert code != 0 and "cycle" in out


def test_errors_in_a_referenced_file_name_that_file(tmp_path: Path) -> None:
    write(tmp_path, "root.yaml", "name: root\nsub_agents:\n  - ref: child.yaml\n")
    child = write(tmp_path, "child.yaml", "name: child\nlimits: {max_steps: -1}\n")
    code, out = validate(tmp_path / "root.yaml")
    out = flat(out)
    assert code != 0
    assert f"{child}:2" in out and "limits.max_steps" in out


def test_name_clash_across_a_ref_is_caught(tmp_path: Path) -> None:
    write(
        tmp_path,
        "root.yaml",
        "name: root\n"
        + GOOD_TOOL.replace("add", "kid", 1).replace(
            "examples.calculator.tools:kid", "examples.calculator.tools:add"
        )
        + "sub_agents:\n  - ref: kid.yaml\n",
    )
    write(tmp_path, "kid.yaml", "name: kid\n")
    code, out = validate(tmp_path / "root.yaml")
    assert code != 0
    assert "two tools named 'kid'" in flat(out)


def test_every_problem_is_listed(tmp_path: Path) -> None:
    path = write(tmp_path, "a.yaml", "name: a\nbogus: 1\nlimits: {max_steps: x}\n")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    fields = {loc.field for loc, _ in info.value.problems}
    assert {"bogus", "limits.max_steps"} <= fields


def test_valid_examples_validate(repo: Path) -> None:
    for spec in ("calculator/agent.yaml", "research/orchestrator.yaml", "mcp_time/agent.yaml"):
        code, out = validate(repo / "examples" / spec)
        assert code == 0, out
        assert "ok" in out


def test_script_validation(tmp_path: Path, repo: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(
        cli, ["validate", "--kind", "script", str(repo / "examples/calculator/script.yaml")]
    )
    assert ok.exit_code == 0, ok.output
    bad = write(tmp_path, "s.yaml", "replies:\n  - txt: hello\n")
    res = runner.invoke(cli, ["validate", "--kind", "script", str(bad)])
    assert res.exit_code != 0
    assert f"{bad}:2" in flat(res.output) and "replies[0].txt" in flat(res.output)
