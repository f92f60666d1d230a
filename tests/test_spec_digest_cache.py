"""The spec digest is remembered per serialised spec: an edited spec gets its new digest."""

from __future__ import annotations

import hashlib
import json

from nex_core.protocol.spec import AgentSpec, Limits
from nex_core.runtime.loop import spec_digest


def _canonical(spec: AgentSpec) -> str:
    text = json.dumps(spec.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def test_an_edited_spec_is_digested_afresh() -> None:
    spec = AgentSpec(name="a", system_prompt="one", limits=Limits(max_steps=3))
    first = spec_digest(spec)
    assert first == _canonical(spec) == spec_digest(spec)
    spec.system_prompt = "two"  # the same object, edited in place
    assert spec_digest(spec) == _canonical(spec) != first
    spec.limits.max_steps = 4  # a nested edit too
    assert spec_digest(spec) == _canonical(spec)
    again = AgentSpec(name="a", system_prompt="one", limits=Limits(max_steps=3))
    assert spec_digest(again) == first
