"""What ``nex synth`` samples from: the diversity ranges, the real-tool catalog, retry bounds.

A config is YAML (``nex synth --config FILE``), validated like every nex document (file, line and
field of each mistake). Every system gets a :class:`Blueprint` drawn from the ranges with a
generator seeded by the run's seed and the system's index, so system ``i`` is the same whatever
``n`` is, and the same seed gives the same blueprints.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from nex_core.protocol.loader import parse_document, read_document_text, validate_data
from nex_core.protocol.spec import NAME_PATTERN, MCPServerSpec

Mode = Literal["tool", "handoff", "team"]
"""How sub-agents get their context: agent-as-tool, handoff, or a round-robin team at the root."""

DEFAULT_DOMAINS = [
    "customer support", "travel booking", "personal finance", "software operations",
    "healthcare scheduling", "e-commerce", "education", "logistics", "legal research",
    "real estate",
]  # fmt: skip
DEFAULT_PERSONAS = [
    "a busy small-business owner", "a careful analyst", "a first-time user", "an expert engineer",
    "a non-native English speaker", "an impatient customer",
]  # fmt: skip


class _Cfg(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class IntRange(_Cfg):
    """An inclusive range; written ``[low, high]`` or as one number."""

    low: int = Field(ge=0)
    high: int = Field(ge=0)

    @model_validator(mode="before")
    @classmethod
    def _short_forms(cls, data: Any) -> Any:
        if isinstance(data, int) and not isinstance(data, bool):
            return {"low": data, "high": data}
        if isinstance(data, list | tuple) and len(data) == 2:
            return {"low": data[0], "high": data[1]}
        return data

    @model_validator(mode="after")
    def _ordered(self) -> IntRange:
        if self.low > self.high:
            raise ValueError(f"the range's low end {self.low} is above its high end {self.high}")
        return self

    def sample(self, rng: random.Random) -> int:
        return rng.randint(self.low, self.high)


class ImportTool(_Cfg):
    """A Python function the generator may bind tools to."""

    path: str = Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
    """``package.module:function``."""
    name: str | None = Field(default=None, pattern=NAME_PATTERN)
    """Tool name to suggest; defaults to the function's name."""
    description: str | None = None
    """What it does; defaults to the function's docstring."""
    parameters: dict[str, Any] | None = None
    """JSON Schema of its arguments; defaults to one built from the signature's type hints."""


class ToolCatalog(_Cfg):
    """The real tools a description may name: MCP servers and import paths. Anything else the
    generated systems use is simulated."""

    mcp_servers: dict[str, MCPServerSpec] = Field(default_factory=dict)
    """MCP servers, as in a spec's ``mcp_servers``; synth lists their tools for the generator."""
    imports: list[ImportTool] = Field(default_factory=list)
    """Functions by import path."""


class SynthConfig(_Cfg):
    """Ranges the blueprints are drawn from, the real-tool catalog, and the generation bounds."""

    version: int = 1
    """Config format version."""
    n: int = Field(default=1, ge=1)
    """Systems to generate (``--n`` overrides)."""
    seed: int = 0
    """Seed of the blueprint draws (``--seed`` overrides)."""
    depth: IntRange = Field(default_factory=lambda: IntRange(low=1, high=2))
    """Levels of sub-agents below the root (0: a single agent)."""
    breadth: IntRange = Field(default_factory=lambda: IntRange(low=1, high=3))
    """Sub-agents (or team members) per agent that has any."""
    modes: list[Mode] = Field(
        default_factory=lambda: ["tool", "handoff", "team"],  # type: ignore[arg-type]
        min_length=1,
    )
    """Context-passing modes to draw from."""
    tool_formats: list[str] = Field(default_factory=lambda: ["native"], min_length=1)
    """Tool-invocation formats the agents are written in (any registered format)."""
    tools_per_agent: IntRange = Field(default_factory=lambda: IntRange(low=1, high=3))
    """Tools of each agent."""
    domains: list[str] = Field(default_factory=lambda: list(DEFAULT_DOMAINS), min_length=1)
    """Domains to set the systems in (the description may fix one)."""
    personas: list[str] = Field(default_factory=lambda: list(DEFAULT_PERSONAS), min_length=1)
    """Who the tasks are written for."""
    tasks: IntRange = Field(default_factory=lambda: IntRange(low=2, high=3))
    """Tasks per system."""
    max_retries: int = Field(default=2, ge=0)
    """Repairs asked of the generator after a failed attempt, per system."""
    temperature: float | None = Field(default=0.8, ge=0, le=2)
    """Sampling temperature of the generator model."""
    backends: list[str] = Field(default_factory=lambda: ["native", "langgraph", "autogen"])
    """Backends the written GAP config runs every system on."""
    tools: ToolCatalog = Field(default_factory=ToolCatalog)
    """Real tools the generator may bind to."""

    _base: Path = PrivateAttr(default_factory=Path.cwd)

    @property
    def base_dir(self) -> Path:
        return self._base

    @model_validator(mode="after")
    def _formats_known(self) -> SynthConfig:
        from nex_core.protocol.spec import ToolFormat

        for name in self.tool_formats:
            ToolFormat.known(name)
        return self


class Blueprint(_Cfg):
    """What one system is asked to be: drawn from a :class:`SynthConfig`."""

    index: int
    """Position of the system in the run."""
    seed: int
    """Seed given to the generator model for this system."""
    domain: str
    persona: str
    depth: int
    breadth: int
    mode: Mode
    tool_format: str
    tools_per_agent: int
    tasks: int


def blueprints(config: SynthConfig) -> list[Blueprint]:
    """One blueprint per system, reproducible from the seed; system ``i`` is the same for any n."""
    out = []
    for index in range(config.n):
        rng = random.Random(f"nex-synth:{config.seed}:{index}")
        depth = config.depth.sample(rng)
        mode: Mode = rng.choice(config.modes)
        out.append(
            Blueprint(
                index=index,
                seed=rng.randrange(2**31),
                domain=rng.choice(config.domains),
                persona=rng.choice(config.personas),
                depth=depth,
                breadth=config.breadth.sample(rng),
                mode=mode,
                tool_format=rng.choice(config.tool_formats),
                tools_per_agent=config.tools_per_agent.sample(rng),
                tasks=config.tasks.sample(rng),
            )
        )
    return out


def load_synth_config(path: str | Path | None) -> SynthConfig:
    """The config in ``path`` (relative paths in it resolve against its folder), or the defaults."""
    if path is None:
        return SynthConfig()
    p = Path(path)
    text = read_document_text(p)
    data, index = parse_document(text, str(p))
    config = validate_data(SynthConfig, data, str(p), index)
    config._base = p.resolve().parent
    return config


def load_catalog(path: str | Path) -> ToolCatalog:
    """A tools file (``mcp_servers:`` and ``imports:``), validated with located errors."""
    p = Path(path)
    text = read_document_text(p)
    data, index = parse_document(text, str(p))
    return validate_data(ToolCatalog, data, str(p), index)
