"""The nex exception tree.

::

    NexError
    ├── SpecError            a spec, script, config or CLI argument is wrong (user fixable)
    │   ├── ReferenceError_  a sub-agent / tool reference cannot be resolved
    │   └── ToolBindingError a tool's binding cannot be resolved (import path, callable, server)
    ├── TrajectoryError      a trajectory file or record cannot be read
    ├── PluginError          a plugin is missing, broken or does not implement a contract
    ├── AdapterError         a framework adapter failed to convert, build or run
    ├── ModelError           the model misbehaved (HTTP error, bad reply, exhausted script)
    │   ├── ScriptExhausted  a scripted model ran out of replies
    │   └── StructuredOutputError  the answer never met the agent's output schema
    ├── ToolFormatError      model text could not be parsed as tool calls
    ├── ChatTemplateError    a chat template failed on a sample, or its loss mask cannot be found
    ├── ToolUnavailableError a tool's server is down: it failed to start, timed out starting, died
    └── OutputError          an output file or folder cannot be written (full disk, read-only ...)

Exceptions carry what happened and what to do; they never log.
"""

from __future__ import annotations

from dataclasses import dataclass


class NexError(Exception):
    """Root of every error nex raises on purpose."""


@dataclass(frozen=True)
class Location:
    """Where in an input document something is wrong."""

    file: str | None = None
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file if self.line is None else f"{self.file}:{self.line}")
        elif self.line is not None:
            parts.append(f"line {self.line}")
        if self.field:
            parts.append(f"field '{self.field}'")
        return ", ".join(parts)


class SpecError(NexError, ValueError):
    """A spec, script, config or argument is invalid. Lists every problem with its location."""

    def __init__(self, message: str, problems: list[tuple[Location, str]] | None = None) -> None:
        self.problems = problems or []
        self.summary = message
        lines = [message]
        lines += [f"  {loc}: {msg}" if str(loc) else f"  {msg}" for loc, msg in self.problems]
        super().__init__("\n".join(lines))


class ToolBindingError(SpecError):
    """A tool's binding cannot be resolved (import path, in-process callable, MCP server)."""


class TrajectoryError(NexError):
    """A trajectory record could not be read or validated."""


class PluginError(NexError):
    """A plugin is missing or broken."""


class OutputError(NexError):
    """An output path cannot be written: read-only, not a folder, the disk full. Names the path."""

    @classmethod
    def from_os_error(cls, path: object, error: OSError, doing: str = "write") -> OutputError:
        """``cannot DOING PATH: REASON``, from the operating system's error."""
        reason = error.strerror or str(error)
        if isinstance(error, FileExistsError) and error.filename:
            # What creating a folder whose name a file already holds raises.
            reason = f"{error.filename} exists and is not a folder"
        elif error.filename and str(error.filename) != str(path):
            reason += f": {error.filename}"
        return cls(f"cannot {doing} {path}: {reason}")


class ExecutorError(NexError):
    """A GAP executor failed as a whole (a worker process died), not one of its episodes."""


class AdapterError(NexError):
    """An adapter failed to convert, build or run a framework object."""


class ModelError(NexError):
    """The model failed. ``retryable`` says whether trying again may help."""

    def __init__(self, message: str, *, retryable: bool = False, status: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status


class ScriptExhausted(ModelError):
    """A scripted or replay model was asked for more replies than it holds."""


class StructuredOutputError(ModelError):
    """The model's final answer is not JSON valid against the agent's ``output_schema``. Fed
    back to the model while retries remain; the run ends ``error`` when they run out."""


class ToolFormatError(NexError, ValueError):
    """Model text claimed to contain tool calls that could not be parsed."""

    def __init__(self, message: str, *, position: int | None = None) -> None:
        super().__init__(message if position is None else f"{message} (at offset {position})")
        self.position = position


class ChatTemplateError(NexError, ValueError):
    """A chat template or tokenizer failed on one sample (the exporter skips and counts it)."""


class ToolUnavailableError(NexError):
    """A tool could not be called because what serves it is down: its MCP server failed to
    start, did not start in time, or died. The failure is the environment's, not the model's:
    such a run is recorded as failed and never kept as training data."""
