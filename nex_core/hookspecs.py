"""Every nex hook specification, in one place.

Plugins are found through the ``nex`` entry-point group, adapter plugins through ``nex.adapters``
(each entry point named after its adapter, imported only when that adapter is used: see
``nex_core.plugins``); each entry point names a module or object with ``@hookimpl`` functions.
Built-in features (the native runtime, the JSONL sink, the model providers) register through
these same hooks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click
import pluggy

if TYPE_CHECKING:
    from nex_core.adapter import Adapter

PROJECT = "nex"
ENTRY_POINT_GROUP = "nex"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# --------------------------------------------------------------------------- adapters


@hookspec
def nex_adapters() -> list[Adapter]:
    """Return the framework adapters this plugin provides (instances of ``nex_core.Adapter``).

    Called once per plugin manager; results from all plugins are merged. Adapter names must be
    unique across plugins.
    """
    raise NotImplementedError


# --------------------------------------------------------------------------- models


@hookspec
def nex_model_providers() -> dict[str, Any]:
    """Return ``{provider_name: factory}`` where ``factory(arg: str, **options) -> ChatModel``.

    ``arg`` is what follows ``provider:`` in a model reference (``scripted:script.yaml``,
    ``openai:gpt-4o-mini``, ``replay:run.jsonl``).
    """
    raise NotImplementedError


# --------------------------------------------------------------------------- output


@hookspec
def nex_sinks() -> dict[str, Any]:
    """Return ``{sink_name: factory}`` where ``factory(target: str) -> TrajectorySink``."""
    raise NotImplementedError


@hookspec
def nex_tool_formats() -> dict[str, Any]:
    """Return ``{format_name: ToolCallFormat}``: renderers/parsers of tool calls in model text."""
    raise NotImplementedError


# --------------------------------------------------------------------------- CLI


@hookspec
def nex_cli_commands() -> list[click.Command]:
    """Return click commands to add to the ``nex`` command line (``nex conformance``, ...)."""
    raise NotImplementedError


# --------------------------------------------------------------------------- GAP pipeline


@hookspec
def nex_executors() -> dict[str, Any]:
    """Return ``{executor_name: factory}`` where ``factory(**options) -> nex_core.gap.Executor``.

    Executors run the episodes of a GAP run (``nex gap run --executor NAME``): ``local`` (asyncio,
    built in) or a cluster executor such as ``ray`` from the ``nex-ray`` distribution. Options come
    from ``--executor-option KEY=VALUE`` and the config's ``executor_options``.
    """
    raise NotImplementedError


@hookspec
def nex_verifiers() -> dict[str, Any]:
    """Return ``{check_name: factory}`` where ``factory(**options) -> nex_core.gap.Check``.

    Checks verify and filter recorded episodes (outcome status, task verifier, loop detection,
    length limits, deduplication ...). A GAP config names the checks it uses and their options;
    every rejection is counted under the check's reason.
    """
    raise NotImplementedError


@hookspec
def nex_exporters() -> dict[str, Any]:
    """Return ``{target: factory}`` where ``factory() -> nex_core.gap.export.Target``.

    Export targets turn exported samples into rows for one consumer (``hf``, ``openai``,
    ``sharegpt`` ...); the tool-invocation format inside a row comes from ``nex_tool_formats``.
    """
    raise NotImplementedError
