"""Provider key shapes, from detect-secrets' plugins, are redacted wherever nex writes text:
trajectories, log records, GAP reports and exports.

Every shape is checked with strings generated from its own regex (hypothesis), so a marker
derived wrongly from a pattern (which would skip the regex) fails here.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from nex_core.gap.export.run import ExportOptions, export
from nex_core.gap.report import write_report
from nex_core.models.scripted import ScriptedModel
from nex_core.protocol.spec import AgentSpec
from nex_core.runtime.loop import run_native
from nex_core.trajectory._shapes import Shape, literal_prefixes, shapes
from nex_core.trajectory.recorder import scrub
from nex_core.trajectory.redact import REDACTED, install_log_redaction, redact
from nex_core.trajectory.schema import TaskInfo

GITHUB = "ghp_" + "a1B2c3D4" * 4 + "e5F6"
EXAMPLES = {
    "GitHub": f"token {GITHUB} done",
    "AWS access key id": "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
    "Slack": "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    "Stripe": "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "SendGrid": "SG." + "a" * 22 + "." + "b" * 43,
    "GitLab": "glpat-" + "x1y2z3" * 4,
    "PyPI": "pypi-AgEIcHlwaS5vcmc" + "A" * 70,
    "JWT": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl",
    "password in a URL": "postgres://admin:s3cr3tpassw0rd@db.internal:5432/app",
}
PRIVATE_KEY = (
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn\n"
    "-----END RSA PRIVATE KEY-----"
)


def _library_shapes() -> list[Shape]:
    return [s for s in shapes() if s.name.endswith("Detector")]


def test_the_library_shapes_are_loaded() -> None:
    names = {s.name for s in _library_shapes()}
    assert {"GitHubTokenDetector", "AWSKeyDetector", "SlackDetector", "StripeDetector",
            "PrivateKeyDetector", "JwtTokenDetector", "BasicAuthDetector"} <= names
    assert "IPPublicDetector" not in names  # an address is not a secret


@pytest.mark.parametrize("kind", list(EXAMPLES))
def test_provider_keys_are_redacted(kind: str) -> None:
    text = EXAMPLES[kind]
    out = redact(text)
    assert REDACTED in out
    secret = text.split("://admin:")[1].split("@")[0] if "://" in text else None
    assert (secret not in out) if secret else not any(s.search(out) for s in shapes())


def test_a_private_key_block_is_redacted_whole() -> None:
    out = redact(f"key:\n{PRIVATE_KEY}\nafter")
    assert "MIIEow" not in out and out.endswith("after") and REDACTED in out


def test_ordinary_text_is_left_alone() -> None:
    text = ("Paris is the capital of France. ACCEPTED at https://example.com/docs, 3:45 pm; "
            "SKU 12 and the AWS docs.")
    assert redact(text) == text


def test_markers_come_from_the_patterns() -> None:
    assert literal_prefixes(re.compile(r"(ghp|gho)_[A-Z]{3}")) == {"ghp_", "gho_"}
    assert literal_prefixes(re.compile(r"(?:r|s)k_live_x")) == {"rk_live_x", "sk_live_x"}
    assert literal_prefixes(re.compile(r"[A-Z]{3}x")) == set()


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_every_library_shape_redacts_what_its_regex_matches(data: st.DataObject) -> None:
    shape = data.draw(st.sampled_from(_library_shapes()))
    token = data.draw(st.from_regex(shape.pattern, fullmatch=True))
    text = f"before {token} after"
    assume(shape.pattern.search(text) is not None)
    if shape.pattern.flags & re.IGNORECASE:  # markers cover lower, upper and title case only
        assume(shape.may_match(text))
    assert shape.may_match(text), (shape.name, shape.markers, token)
    assert shape.pattern.search(redact(text)) is None, (shape.name, token)


def test_log_records_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    install_log_redaction()
    caplog.set_level(logging.INFO)
    logging.getLogger("some.library").info("calling with %s", GITHUB)
    assert GITHUB not in caplog.text and REDACTED in caplog.text


def _recorded_with(text: str) -> str:
    spec = AgentSpec(name="echo")
    model = ScriptedModel([{"text": "fine"}])
    traj = asyncio.run(run_native(spec, TaskInfo(id="t1", turns=["hi"]), model=model))
    # Written as an older nex or another tool might have: not scrubbed.
    return traj.to_json().replace("fine", text)


def test_reports_and_exports_are_redacted(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    write_report({"name": "x", "note": f"saw {GITHUB}"}, report)
    assert GITHUB not in report.read_text() and REDACTED in report.read_text()

    source = tmp_path / "trajectories.jsonl"
    source.write_text(_recorded_with(f"the key is {GITHUB}") + "\n")
    out = tmp_path / "export"
    export(source, out, ExportOptions(formats=["native"], include_rejected=True,
                                      validation_fraction=0.0))
    written = "".join(p.read_text() for p in out.rglob("*.jsonl"))
    assert "the key is" in written
    assert GITHUB not in written and REDACTED in written


def test_the_recorder_scrubs_token_shapes() -> None:
    from nex_core.trajectory.schema import Trajectory

    traj = Trajectory.model_validate_json(_recorded_with(f"key {EXAMPLES['Slack']}"))
    assert EXAMPLES["Slack"] not in scrub(traj).to_json()


def test_patterns_are_cached_per_release(tmp_path: Path) -> None:
    """A process that finds the cache never imports detect-secrets (half a second)."""
    code = ("import sys; from nex_core.trajectory._shapes import shapes; n = len(shapes()); "
            "print(n, 'detect_secrets' in sys.modules)")
    env = {"XDG_CACHE_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                           text=True, check=True).stdout.split()
    second = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, check=True).stdout.split()
    assert first[1] == "True" and second == [first[0], "False"]
    cached = json.loads(next((tmp_path / "nex").glob("detect-secrets-*.json")).read_text())
    assert any(name == "GitHubTokenDetector" for name, _, _ in cached)


def test_a_marker_inside_a_word_runs_no_shape() -> None:
    # "sk-" inside "task-0" (every GAP task id) is no sign of an sk- key: no shape's regex runs.
    from nex_core.trajectory._shapes import marker_found
    from nex_core.trajectory.redact import _candidates

    assert not marker_found("episode task-0 of disk-7, risk-free")
    assert _candidates("episode task-0 of disk-7") == []
    key = "sk-" + "a1B2c3D4" * 3
    for text in (key, f"task-0 {key}", f"task-0\n{key}", f"({key})", f"é {key}"):
        assert marker_found(text), text
        assert redact(text) == text.replace(key, REDACTED), text
    # Inside a word the sk- shape does not match either, so nothing is lost by not looking.
    assert redact(f"task{key}") == f"task{key}"


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    before=st.text(min_size=0, max_size=3),
    token=st.from_regex(r"sk-[A-Za-z0-9_-]{16,20}", fullmatch=True),
    after=st.text(min_size=0, max_size=3),
)
def test_word_start_markers_agree_with_the_boundary_of_the_regex(
    before: str, token: str, after: str
) -> None:
    # Wherever the sk- regex (which opens with \b) matches, the marker is found: the Python
    # word test is the one \b uses (Unicode letters, digits and "_").
    from nex_core.trajectory._shapes import marker_found

    text = before + token + after
    sk = next(s for s in shapes() if s.name == "sk- key")
    if sk.pattern.search(text) is not None:
        assert marker_found(text), text
        assert sk.pattern.search(redact(text)) is None, text
