"""Real chat templates for golden tests: read from TRL's wheel, rendered as transformers does.

TRL ships copies of many models' chat templates under ``trl/chat_templates/*.jinja``. The tests
fetch the wheel once per session (``pip download --no-deps trl==1.16.0``, served by the package
mirror; or the path in ``NEX_TRL_WHEEL``) and read the templates from it: none is copied into
this repository. Rendering follows ``transformers``' ``apply_chat_template``: a sandboxed Jinja
environment with ``trim_blocks``/``lstrip_blocks``, ``tojson`` with non-ASCII kept,
``raise_exception``, ``strftime_now``, and ``{% generation %}`` blocks rendered as their body.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from jinja2.ext import Extension
from jinja2.sandbox import ImmutableSandboxedEnvironment

TRL_VERSION = "1.16.0"


def fetch_trl_wheel(cache: Path) -> Path:
    """The TRL wheel: ``NEX_TRL_WHEEL`` if set, else downloaded into ``cache`` once."""
    given = os.environ.get("NEX_TRL_WHEEL")
    if given:
        return Path(given)
    found = sorted(cache.glob(f"trl-{TRL_VERSION}-*.whl"))
    if found:
        return found[0]
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps"]
    cmd += [f"trl=={TRL_VERSION}", "-d", str(cache)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    found = sorted(cache.glob(f"trl-{TRL_VERSION}-*.whl"))
    if done.returncode != 0 or not found:
        raise RuntimeError(
            f"could not fetch trl=={TRL_VERSION} for the chat-template tests "
            f"({' '.join(cmd)}): {done.stderr.strip()[-400:]}; set NEX_TRL_WHEEL to a local wheel"
        )
    return found[0]


def read_templates(wheel: Path) -> dict[str, str]:
    """``{name: template source}`` for every ``trl/chat_templates/NAME.jinja`` in the wheel."""
    out = {}
    with zipfile.ZipFile(wheel) as archive:
        for entry in archive.namelist():
            if entry.startswith("trl/chat_templates/") and entry.endswith(".jinja"):
                out[Path(entry).stem] = archive.read(entry).decode("utf-8")
    return out


class _IgnoreGeneration(Extension):
    """``{% generation %}…{% endgeneration %}`` (assistant-mask markers) render as their body."""

    tags = {"generation"}

    def parse(self, parser: Any) -> Any:
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return jinja2.nodes.Scope(body, lineno=lineno)


def _tojson(
    value: Any,
    ensure_ascii: bool = False,
    indent: int | None = None,
    separators: Any = None,
    sort_keys: bool = False,
) -> str:
    return json.dumps(
        value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys
    )


def _raise(message: str) -> None:
    raise jinja2.exceptions.TemplateError(message)


def render(source: str, messages: list[dict[str, Any]], **kwargs: Any) -> str:
    env = ImmutableSandboxedEnvironment(
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=[_IgnoreGeneration, "jinja2.ext.loopcontrols"],
    )
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise
    env.globals["strftime_now"] = lambda fmt: datetime(2026, 12, 1).strftime(fmt)
    template = env.from_string(source)
    kwargs.setdefault("bos_token", "<s>")
    kwargs.setdefault("eos_token", "</s>")
    return template.render(messages=messages, **kwargs)
