"""A spec's ``model.api_key: ${env:NAME}`` is the key `nex run` (every backend) and `nex gap run`
send, and it is scrubbed from everything they write, even when a tool and the model echo it.

The canary is random lowercase letters: no token pattern could recognise it, so only its
registration as a secret keeps it out. Each run is the installed `nex` command in its own process
against the real chat server on 127.0.0.1.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import string
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.chat_server import ChatServer, Reply

NEX = str(Path(sys.executable).parent / "nex")
BACKENDS = {"native": None, "langgraph": "nex_langgraph", "autogen": "nex_autogen"}

TOOLS = '''import os


def leak() -> str:
    """A tool that hands the model the key it can see."""
    return "the key is " + os.environ["NEX_CANARY_KEY"]
'''


@pytest.fixture
def canary() -> str:
    return "".join(random.SystemRandom().choice(string.ascii_lowercase) for _ in range(32))


@pytest.fixture
def server(canary: str) -> Iterator[ChatServer]:
    with ChatServer() as s:
        yield s


def _write_agent(folder: Path) -> Path:
    (folder / "canary_tools.py").write_text(TOOLS)
    spec = {
        "name": "leaky",
        "system_prompt": "Answer with what the tool says.",
        "model": {
            "id": "test-model",
            "base_url": "${env:NEX_CANARY_URL}",
            "api_key": "${env:NEX_CANARY_KEY}",
        },
        "tools": [
            {
                "name": "leak",
                "description": "Tell the key.",
                "parameters": {"type": "object", "properties": {}},
                "binding": "canary_tools:leak",
            }
        ],
        "limits": {"max_steps": 4},
    }
    path = folder / "agent.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def _environ(canary: str, server: ChatServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    env.update(NEX_CANARY_KEY=canary, NEX_CANARY_URL=server.base_url, NO_COLOR="1")
    return env


def _echoing_replies(server: ChatServer, canary: str) -> None:
    server.push(
        Reply(tool_calls=[("c1", "leak", {})]),
        Reply(text=f"Your key is {canary}."),
    )


def _files_text(folder: Path) -> str:
    return "".join(
        p.read_bytes().decode("utf-8", "replace") for p in sorted(folder.rglob("*")) if p.is_file()
    )


@pytest.mark.parametrize("backend", list(BACKENDS))
@pytest.mark.parametrize("quiet", [True, False], ids=["quiet", "tree"])
def test_run_sends_the_spec_key_and_scrubs_it(
    backend: str, quiet: bool, canary: str, server: ChatServer, tmp_path: Path
) -> None:
    module = BACKENDS[backend]
    if module is not None and importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed")
    spec = _write_agent(tmp_path)
    _echoing_replies(server, canary)
    out = tmp_path / "runs.jsonl"
    proc = subprocess.run(
        [NEX, "run", str(spec), "--task", "What is the key?", "--model", "openai:test-model",
         "--backend", backend, "--out", str(out), *(["--quiet"] if quiet else [])],
        cwd=tmp_path, env=_environ(canary, server), capture_output=True, text=True, timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(server.requests) == 2
    assert {r.headers["authorization"] for r in server.requests} == {f"Bearer {canary}"}
    # The model really saw the tool's echo (so the record had the key to scrub).
    assert canary in json.dumps(server.requests[1].body)

    record = out.read_text()
    assert canary not in record and canary not in proc.stdout and canary not in proc.stderr
    assert "the key is [REDACTED]" in record and "Your key is [REDACTED]." in record
    if quiet:
        assert proc.stdout.strip() == "Your key is [REDACTED]."


def test_an_explicit_api_key_env_wins_over_the_spec(
    canary: str, server: ChatServer, tmp_path: Path
) -> None:
    spec = _write_agent(tmp_path)
    server.push(Reply(text="hi"))
    env = {**_environ(canary, server), "OTHER_KEY": "otherkeyvalue"}
    proc = subprocess.run(
        [NEX, "run", str(spec), "--task", "hi", "--model", "openai:test-model",
         "--api-key-env", "OTHER_KEY", "--out", str(tmp_path / "o.jsonl"), "--quiet"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert server.requests[0].headers["authorization"] == "Bearer otherkeyvalue"


def test_an_unset_spec_key_is_one_clear_error(server: ChatServer, tmp_path: Path) -> None:
    spec = _write_agent(tmp_path)
    env = _environ("x", server)
    del env["NEX_CANARY_KEY"]
    proc = subprocess.run(
        [NEX, "run", str(spec), "--task", "hi", "--model", "openai:test-model",
         "--out", str(tmp_path / "o.jsonl")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode != 0
    assert "NEX_CANARY_KEY is not set" in proc.stderr and "Traceback" not in proc.stderr
    assert server.requests == []


def test_gap_run_sends_the_spec_key_and_scrubs_it_from_every_output(
    canary: str, server: ChatServer, tmp_path: Path
) -> None:
    _write_agent(tmp_path)
    _echoing_replies(server, canary)
    (tmp_path / "tasks.jsonl").write_text(json.dumps({"id": "t1", "prompt": "The key?"}) + "\n")
    config = {
        "name": "canary",
        "tasks": ["tasks.jsonl"],
        "agents": [{"spec": "agent.yaml"}],
        "models": [{"name": "local", "ref": "openai:test-model",
                    "options": {"max_retries": 0}}],
        "output": "out",
        "checks": [{"name": "status"}],
        "export": {"out": "data", "formats": ["native", "hermes"],
                   "targets": ["hf", "openai", "sharegpt"], "validation_fraction": 0},
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    env = _environ(canary, server)
    proc = subprocess.run(
        [NEX, "gap", "run", "config.yaml", "--no-progress"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert {r.headers["authorization"] for r in server.requests} == {f"Bearer {canary}"}
    assert len(server.requests) == 2

    exported = subprocess.run(
        [NEX, "export", "out", "-o", "again"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240,
    )
    assert exported.returncode == 0, exported.stderr[-3000:]
    written = _files_text(tmp_path / "out") + _files_text(tmp_path / "again")
    assert "Your key is [REDACTED]." in written
    assert list((tmp_path / "out" / "data").rglob("*.jsonl"))  # the export did write rows
    for text in (written, proc.stdout, proc.stderr, exported.stdout, exported.stderr):
        assert canary not in text
