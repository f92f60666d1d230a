"""The synth loop: ask the generator model for each system, check it, feed problems back, write.

A synth run is a nex run: each system's conversation with the generator is recorded as a
trajectory (``generator.jsonl``), each LLM step carrying the problems its reply had, so the
repair behaviour is data too. Only systems that pass every check (:mod:`nex_core.synth.check`)
are written under ``systems/``; the replies of a system that never passed are kept under
``rejected/`` with their problems, and the manifest (``synth.json``) lists both.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nex_core._version import __version__
from nex_core.errors import ModelError, OutputError
from nex_core.models.base import ChatModel
from nex_core.runtime.mcp import MCPPool
from nex_core.synth.catalog import ResolvedCatalog, resolve_catalog
from nex_core.synth.check import BundleProblems, Checked, check_reply, dump_yaml
from nex_core.synth.config import Blueprint, SynthConfig, blueprints
from nex_core.synth.prompts import Prompt, load_prompt
from nex_core.synth.scripts import derived_script
from nex_core.synth.shape import shape, structural_digest
from nex_core.trajectory.recorder import Recorder
from nex_core.trajectory.schema import (
    ErrorInfo,
    LLMRequest,
    Message,
    Outcome,
    OutcomeStatus,
    Provenance,
    TaskInfo,
)
from nex_core.trajectory.sinks import JSONLSink

MANIFEST = "synth.json"
GENERATOR_AGENT = "synth"
"""The agent name of the generator's model calls (a scripted generator's queue)."""


@dataclass
class SystemResult:
    """What became of one blueprint."""

    index: int
    status: str
    """``valid``, ``duplicate`` (of an earlier system: same structural digest) or ``rejected``."""
    blueprint: dict[str, Any]
    attempts: int
    name: str | None = None
    path: str | None = None
    """Folder of a valid system (relative to the run's folder), or of a rejected one's replies."""
    digest: str | None = None
    duplicate_of: int | None = None
    shape: dict[str, Any] | None = None
    tasks: int = 0
    problems: list[str] = field(default_factory=list)
    """Of a rejected system: what its last attempt still had wrong."""
    warnings: list[str] = field(default_factory=list)


@dataclass
class SynthRun:
    out: Path
    systems: list[SystemResult]

    @property
    def valid(self) -> list[SystemResult]:
        return [s for s in self.systems if s.status == "valid"]

    @property
    def rejected(self) -> list[SystemResult]:
        return [s for s in self.systems if s.status == "rejected"]


class _Prompts:
    def __init__(self) -> None:
        self.generator = load_prompt("generator")
        self.request = load_prompt("request")
        self.repair = load_prompt("repair")

    def provenance(self) -> list[dict[str, Any]]:
        return [p.provenance() for p in (self.generator, self.request, self.repair)]


def _prepare_out(out: Path) -> None:
    try:
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise OutputError(f"cannot write {out}: it exists and is not an empty folder; "
                              "choose a new output folder")
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError.from_os_error(out, exc, "create") from None


async def synthesize(
    description: str,
    model: ChatModel,
    out: str | Path,
    config: SynthConfig,
    *,
    model_ref: str | None = None,
) -> SynthRun:
    """Generate ``config.n`` systems from ``description`` into ``out`` (a new or empty folder)."""
    out = Path(out)
    _prepare_out(out)
    # One MCP pool for the run: the catalog's servers start once, for listing their tools and
    # for every dry run.
    pool = MCPPool({})
    try:
        return await _synthesize(description, model, out, config, model_ref, pool)
    finally:
        await pool.aclose()


async def _synthesize(
    description: str,
    model: ChatModel,
    out: Path,
    config: SynthConfig,
    model_ref: str | None,
    pool: MCPPool,
) -> SynthRun:
    from nex_core.plugins import get_plugin_manager

    catalog = await resolve_catalog(config.tools, pool)
    prompts = _Prompts()
    installed = set(get_plugin_manager().adapters())  # once: it loads every adapter plugin
    backends = [b for b in config.backends if b in installed] or ["native"]
    system_text = prompts.generator.render(catalog=catalog.prompt_text())
    results: list[SystemResult] = []
    seen: dict[str, int] = {}
    staging = out / ".staging"
    with JSONLSink(out / "generator.jsonl") as sink:
        for blueprint in blueprints(config):
            result, checked = await _one_system(
                description, blueprint, model, config, catalog, prompts, system_text, sink,
                staging, out, pool,
            )
            if checked is not None:
                digest = structural_digest(checked.spec)
                result.digest = digest
                if digest in seen:
                    result.status, result.duplicate_of = "duplicate", seen[digest]
                else:
                    seen[digest] = blueprint.index
                    _write_system(out, result, checked, backends)
            results.append(result)
    shutil.rmtree(staging, ignore_errors=True)
    run = SynthRun(out, results)
    _write_manifest(run, description, model, model_ref, config, prompts)
    return run


async def _one_system(
    description: str,
    blueprint: Blueprint,
    model: ChatModel,
    config: SynthConfig,
    catalog: ResolvedCatalog,
    prompts: _Prompts,
    system_text: str,
    sink: JSONLSink,
    staging: Path,
    out: Path,
    pool: MCPPool,
) -> tuple[SystemResult, Checked | None]:
    user_text = _request_text(prompts.request, description, blueprint)
    params: dict[str, Any] = {"seed": blueprint.seed}
    if config.temperature is not None:
        params["temperature"] = config.temperature
    recorder = Recorder(
        provenance=Provenance(
            framework="nex-synth", framework_version=__version__, adapter="synth",
            adapter_version=__version__, nex_version=__version__, model=model.model_id,
            sampling=params, task_id=f"system-{blueprint.index:03d}",
        ),
        task=TaskInfo(id=f"system-{blueprint.index:03d}", turns=[user_text]),
        root_agent=GENERATOR_AGENT,
        sinks=[sink],
    )
    recorder.trajectory.metadata["synth"] = {
        "blueprint": blueprint.model_dump(), "prompts": prompts.provenance(),
    }
    messages = [Message.system(system_text), Message.user(user_text)]
    replies: list[str] = []
    problems: list[str] = []
    checked: Checked | None = None
    for attempt in range(1, config.max_retries + 2):
        request = LLMRequest(messages=list(messages), params=params)
        step = recorder.begin_llm(agent=GENERATOR_AGENT, request=request, model=model.model_id)
        try:
            response = await model.acomplete(request, agent=GENERATOR_AGENT)
        except ModelError as exc:
            recorder.end_llm(step, error=exc)
            problems = [f"the generator model failed: {exc}"]
            break
        recorder.end_llm(step, response)
        text = response.message.text()
        replies.append(text)
        try:
            checked = await check_reply(
                text, catalog, staging / f"{blueprint.index:03d}", pool=pool
            )
        except BundleProblems as exc:
            problems = exc.problems
            step.metadata["synth"] = {"attempt": attempt, "problems": problems}
            messages += [
                Message.assistant(text),
                Message.user(prompts.repair.render(problems=_bullets(problems))),
            ]
            continue
        step.metadata["synth"] = {"attempt": attempt, "problems": []}
        break
    result = SystemResult(
        index=blueprint.index, status="valid" if checked else "rejected",
        blueprint=blueprint.model_dump(), attempts=len(replies),
    )
    if checked is None:
        result.problems = problems
        result.path = _write_rejected(out, blueprint.index, replies, problems)
        recorder.finish(Outcome(
            status=OutcomeStatus.ERROR, stop_reason="rejected",
            error=ErrorInfo(type="SynthRejected", message="; ".join(problems)[:2000]),
            labels={"attempts": len(replies)},
        ))  # fmt: skip
        return result, None
    result.name = checked.spec.name
    result.shape = shape(checked.spec)
    result.warnings = checked.warnings + _deviations(blueprint, result.shape)
    result.tasks = len(checked.bundle.tasks)
    recorder.finish(Outcome(
        status=OutcomeStatus.COMPLETED, final_output=checked.spec.name, stop_reason="valid",
        labels={"attempts": len(replies)},
    ))  # fmt: skip
    return result, checked


def _deviations(blueprint: Blueprint, got: dict[str, Any]) -> list[str]:
    """Where the system differs from its blueprint (kept: the generator had its reasons, and
    ``nex synth stats`` shows what was actually made)."""
    notes = []
    if got["depth"] != blueprint.depth:
        notes.append(f"blueprint depth {blueprint.depth}, system depth {got['depth']}")
    used = set(got["modes"]) or {"single"}
    if blueprint.depth > 0 and blueprint.mode not in used:
        notes.append(f"blueprint mode {blueprint.mode}, system uses {sorted(used)}")
    if blueprint.tool_format not in got["tool_formats"]:
        notes.append(f"blueprint tool format {blueprint.tool_format}, system uses "
                     f"{got['tool_formats']}")
    return notes


def _request_text(prompt: Prompt, description: str, blueprint: Blueprint) -> str:
    values = blueprint.model_dump()
    values["description"] = description.strip()
    return prompt.render(**values)


def _bullets(problems: list[str]) -> str:
    return "\n".join(f"- {p}" for p in problems)


def _write_rejected(out: Path, index: int, replies: list[str], problems: list[str]) -> str:
    folder = out / "rejected" / f"{index:03d}"
    folder.mkdir(parents=True, exist_ok=True)
    for number, text in enumerate(replies, start=1):
        (folder / f"attempt-{number}.txt").write_text(text, encoding="utf-8")
    (folder / "problems.txt").write_text(_bullets(problems) + "\n", encoding="utf-8")
    return folder.relative_to(out).as_posix()


def _dump(path: Path, data: Any) -> None:
    path.write_text(dump_yaml(data), encoding="utf-8")


def _write_system(
    out: Path, result: SystemResult, checked: Checked, backends: list[str]
) -> None:
    """The system's folder, built in staging and moved into ``systems/`` whole."""
    folder = checked.folder
    bundle = checked.bundle
    with (folder / "tasks.jsonl").open("w", encoding="utf-8") as handle:
        for task in bundle.tasks:
            handle.write(json.dumps(task.task_line(), ensure_ascii=False) + "\n")
    (folder / "scripts").mkdir()
    for task in bundle.tasks:
        script = derived_script(checked.spec, task.expected or "Done.", task.prompt)
        _dump(folder / "scripts" / f"{task.id}.yaml", script)
    _dump(folder / "gap.yaml", {
        "name": f"synth-{result.index:03d}-{checked.spec.name}",
        "tasks": ["tasks.jsonl"],
        "agents": [{"spec": bundle.root}],
        "backends": backends,
        "models": [{"name": "scripted", "ref": "scripted:scripts/{task}.yaml"}],
        "output": "out",
    })  # fmt: skip
    (folder / "dry_run.jsonl").write_text(checked.dry_run.to_json() + "\n", encoding="utf-8")
    (folder / "system.json").write_text(json.dumps({
        "index": result.index, "name": checked.spec.name, "root": bundle.root,
        "digest": result.digest, "shape": result.shape, "blueprint": result.blueprint,
        "attempts": result.attempts, "warnings": result.warnings,
    }, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")  # fmt: skip
    target = out / "systems" / f"{result.index:03d}-{checked.spec.name}"
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(folder, target)
    result.path = target.relative_to(out).as_posix()


def _write_manifest(
    run: SynthRun,
    description: str,
    model: ChatModel,
    model_ref: str | None,
    config: SynthConfig,
    prompts: _Prompts,
) -> None:
    counts: dict[str, int] = {}
    for s in run.systems:
        counts[s.status] = counts.get(s.status, 0) + 1
    manifest = {
        "version": 1,
        "nex_version": __version__,
        "description": description,
        "generator": {"model": model.model_id, "ref": model_ref},
        "prompts": prompts.provenance(),
        "config": config.model_dump(mode="json"),
        "counts": counts,
        "systems": [asdict(s) for s in run.systems],
    }
    tmp = run.out / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, run.out / MANIFEST)
