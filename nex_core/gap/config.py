"""The GAP run configuration: what to run (tasks x agents x backends x models x samples) and where.

A config is YAML. It is validated up front, every problem reported with its file, line and field
(``nex_core.protocol.loader``), and then checked against the installation: spec and task files
must exist and load, backends must be installed adapters, model references must name a known
provider, checks must be registered. Relative paths resolve against the config file's folder.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from nex_core.errors import Location
from nex_core.protocol.loader import parse_document, read_document_text, validate_data
from nex_core.protocol.spec import NAME_PATTERN, MCPServerSpec

STATEFUL_PROVIDERS = frozenset({"scripted", "replay"})
"""Providers whose models hold a queue of replies: one fresh instance per episode."""


class _Cfg(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class AgentEntry(_Cfg):
    """An agent (or team) spec to run."""

    spec: str
    """Path to a nex spec file (YAML/JSON)."""
    name: str | None = Field(default=None, pattern=NAME_PATTERN)
    """Name used in episode keys and reports; defaults to the spec's name."""


class ModelEntry(_Cfg):
    """A model endpoint. Its ``concurrency`` bounds the requests in flight to it."""

    name: str = Field(pattern=NAME_PATTERN)
    """Name used in episode keys and reports."""
    ref: str
    """``PROVIDER:ARG`` (``scripted:script.yaml``, ``replay:run.jsonl``, ``openai:MODEL``).
    ``{task}``, ``{agent}``, ``{backend}`` and ``{sample}`` are filled in per episode, so a
    scripted model can have one script per task."""
    base_url: str | None = None
    """OpenAI-compatible endpoint (``openai:`` models)."""
    api_key_env: str | None = None
    """Environment variable holding the API key (``openai:`` models)."""
    concurrency: int = Field(default=8, ge=1)
    """Most requests in flight to this endpoint at once (one semaphore per endpoint)."""
    options: dict[str, Any] = Field(default_factory=dict)
    """Further keyword options for the provider (``timeout_s``, ``max_retries`` ...)."""
    per_episode: bool | None = None
    """Build one model per episode (default: yes for scripted and replay models, which keep
    state; no for endpoints, which share one client)."""

    @property
    def provider(self) -> str:
        return self.ref.partition(":")[0]

    @property
    def endpoint(self) -> str:
        """What the concurrency limit applies to: the base URL when there is one."""
        return self.base_url or f"model:{self.name}"

    def stateful(self) -> bool:
        return (
            self.per_episode
            if self.per_episode is not None
            else (self.provider in STATEFUL_PROVIDERS or "{" in self.ref)
        )


class CheckEntry(BaseModel):
    """A verification or filter step; keys other than ``name`` are its options."""

    model_config = ConfigDict(extra="allow")

    name: str
    """Registered check name (``status``, ``task``, ``loops``, ``length``, ``dedup`` ...)."""

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class SinkEntry(_Cfg):
    """A further destination for every committed episode (``otlp`` spans to a backend ...)."""

    name: str
    """Registered sink name (``otlp``, ``otlp-grpc``, ``otlp-json``, ``jsonl`` ...)."""
    target: str = ""
    """What the sink writes to: an endpoint URL or a file (empty: the sink's default)."""
    options: dict[str, Any] = Field(default_factory=dict)
    """Keyword options for the sink (``capture_content: true`` for ``otlp``)."""


DEFAULT_CHECKS: tuple[str, ...] = ("status", "task", "loops", "length", "dedup")


class ExportSettings(_Cfg):
    """Export after the run (the same as ``nex export`` on the output)."""

    out: str = "export"
    """Folder for the data, relative to the output folder."""
    per: Literal["trajectory", "invocation"] = "trajectory"
    """One sample per trajectory, or one per agent invocation (sub-agents on their own)."""
    formats: list[str] = Field(
        default_factory=lambda: ["native", "xml", "hermes", "react", "pythonic"]
    )
    """Tool-invocation formats to render (registered through ``nex_tool_formats``)."""
    targets: list[str] = Field(default_factory=lambda: ["hf"])
    """Export targets (``hf``, ``openai``, ``sharegpt``; registered through ``nex_exporters``)."""
    file_formats: list[Literal["jsonl", "parquet"]] = Field(
        default_factory=lambda: ["jsonl"]  # type: ignore[arg-type]
    )
    """File formats to write."""
    validation_fraction: float = Field(default=0.1, ge=0, le=1)
    """Share of task ids that go to the validation split."""
    seed: str = "nex"
    """Salt of the split hash: change it for a different split."""


class GapConfig(_Cfg):
    """A GAP run: every task x agent x backend x model x sample is one episode."""

    version: int = 1
    """Config format version."""
    name: str = "gap"
    """Run name, shown in reports."""
    tasks: list[str] = Field(min_length=1)
    """JSONL task files (``id``, ``turns`` or ``prompt``, optional ``expected``/``verifier``)."""
    agents: list[AgentEntry] = Field(min_length=1)
    """Agent specs."""
    backends: list[str] = Field(default_factory=lambda: ["native"], min_length=1)
    """Installed adapters to run every agent in (``native``, ``langgraph``, ``autogen`` ...)."""
    models: list[ModelEntry] = Field(min_length=1)
    """Models; each episode uses one."""
    formats: list[str] | None = None
    """Tool-invocation formats to run every agent in, crossed with the agents (``native``,
    ``hermes``, ``qwen3_coder``, ``llama3_json`` ... any registered through ``nex_tool_formats``):
    each agent runs once per format, named ``AGENT/FORMAT``. Default: each spec's own format."""
    samples: int = Field(default=1, ge=1)
    """Episodes per task x agent x backend x model."""
    output: str
    """Output folder: ``trajectories.jsonl`` (append-only), ``report.json``, exports."""
    mcp_servers: dict[str, MCPServerSpec] = Field(default_factory=dict)
    """MCP servers started once per worker and shared by its episodes; they take precedence
    over servers of the same name declared in the specs."""
    checks: list[CheckEntry] | None = None
    """Verification and filters, in order (default: status, task, loops, length, dedup)."""
    max_in_flight: int | None = Field(default=None, ge=1)
    """Episodes running at once per worker (default: twice the sum of model concurrencies)."""
    episode_timeout_s: float | None = Field(default=600.0, gt=0)
    """An episode running longer is cancelled and recorded as failed."""
    mcp_start_timeout_s: float | None = Field(default=60.0, gt=0)
    """How long an MCP server may take to (re)start. Apart from the tools' ``tool_timeout_s``,
    which bounds each call only: a slow start is waited for, not cut short by a call."""
    retry_errors: bool = Field(
        default=False, validation_alias=AliasChoices("retry_errors", "retry_failed")
    )
    """On resume, run again the episodes that ended in ``error`` or were rejected for an
    environmental tool failure (a server down, a binding unresolved, a tool timeout), as
    ``nex gap run --retry-errors`` does. ``retry_failed`` is accepted as an older name."""
    executor: str = "local"
    """Executor plugin (``local``; ``processes``: a worker process per core; ``ray`` with
    nex-ray installed)."""
    workers: int | None = Field(default=None, ge=1)
    """Worker processes of the ``processes`` executor (default: one per core)."""
    executor_options: dict[str, Any] = Field(default_factory=dict)
    """Options for the executor (``address``, ``num_workers`` for Ray)."""
    export: ExportSettings | None = None
    """Export the accepted episodes after the run."""
    sinks: list[SinkEntry] = Field(default_factory=list)
    """Sinks every committed episode is also written to, after it is on disk (the output's
    ``trajectories.jsonl`` stays the record; a sink that fails does not stop the run)."""

    _base: Path = PrivateAttr(default_factory=Path.cwd)
    _source: str = PrivateAttr(default="<config>")
    _lines: Mapping[tuple[Any, ...], int] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _unique_names(self) -> GapConfig:
        names = [m.name for m in self.models]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"model names must be unique; repeated: {sorted(dupes)}")
        return self

    # ------------------------------------------------------------------ paths

    @property
    def base_dir(self) -> Path:
        return self._base

    def path(self, value: str) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() else (self._base / p)

    @property
    def output_dir(self) -> Path:
        return self.path(self.output)

    @property
    def trajectories_path(self) -> Path:
        return self.output_dir / "trajectories.jsonl"

    def check_entries(self) -> list[CheckEntry]:
        if self.checks is not None:
            return list(self.checks)
        return [CheckEntry(name=n) for n in DEFAULT_CHECKS]

    def where(self, *path: Any) -> Location:
        """Location of a field, for errors found after parsing."""
        line = None
        for cut in range(len(path), -1, -1):
            if path[:cut] in self._lines:
                line = self._lines[path[:cut]]
                break
        field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
        return Location(self._source, line, field or None)

    def to_portable(self) -> dict[str, Any]:
        """A dict that rebuilds this config elsewhere (a Ray worker): paths made absolute."""
        data = self.model_dump(mode="json")
        data["tasks"] = [str(self.path(t)) for t in self.tasks]
        for agent in data["agents"]:
            agent["spec"] = str(self.path(agent["spec"]))
        data["output"] = str(self.output_dir)
        return {"config": data, "base": str(self._base)}

    @classmethod
    def from_portable(cls, data: dict[str, Any]) -> GapConfig:
        config = cls.model_validate(data["config"])
        config._base = Path(data["base"])
        return config


def parse_config(text: str, source: str, base: Path) -> GapConfig:
    data, index = parse_document(text, source)
    config = validate_data(GapConfig, data, source, index)
    config._base = base
    config._source = source
    config._lines = index
    return config


def load_config(path: str | Path, *, check: bool = True) -> GapConfig:
    """Read and validate a GAP config; with ``check``, also check it against the installation."""
    p = Path(path)
    text = read_document_text(p)
    config = parse_config(text, str(p), p.resolve().parent)
    if check:
        from nex_core.gap.plan import check_config

        check_config(config)
    return config
