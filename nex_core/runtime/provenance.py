"""A run's provenance and the spec digest it records."""

from __future__ import annotations

import hashlib
import json

from nex_core._version import __version__
from nex_core.models.base import ChatModel
from nex_core.protocol.spec import AgentSpec, TeamSpec
from nex_core.runtime._bounded import BoundedDict
from nex_core.trajectory.schema import Provenance, TaskInfo


def spec_digest(spec: AgentSpec | TeamSpec) -> str:
    # Every run records it, and a GAP run records thousands of runs of one spec: the digest is
    # remembered under the spec's JSON from pydantic's serialiser (several times cheaper than
    # the canonical form it stands for), so an edited spec is digested afresh. The serialiser
    # is called directly, its bytes the key: model_dump_json's keywords and decode are a sixth
    # of its time.
    try:
        key = spec.__pydantic_serializer__.to_json(spec)
    except ValueError:  # something only the canonical path can serialise: digest it directly
        return _canonical_digest(spec)
    digest = _digests.get(key)
    if digest is None:
        digest = _digests.put(key, _canonical_digest(spec))
    return digest


_digests: BoundedDict[bytes, str] = BoundedDict(256)


def _canonical_digest(spec: AgentSpec | TeamSpec) -> str:
    canonical = json.dumps(spec.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def provenance_for(
    spec: AgentSpec | TeamSpec,
    model: ChatModel,
    task: TaskInfo,
    *,
    framework: str,
    framework_version: str | None,
    adapter: str,
    adapter_version: str | None,
) -> Provenance:
    root_model = spec.model if isinstance(spec, AgentSpec) else spec.members[0].model
    return Provenance(
        framework=framework,
        framework_version=framework_version,
        adapter=adapter,
        adapter_version=adapter_version,
        nex_version=__version__,
        spec_digest=spec_digest(spec),
        model=model.model_id,
        sampling=root_model.sampling(),
        task_id=task.id,
    )
