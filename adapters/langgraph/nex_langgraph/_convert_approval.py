"""``HumanInTheLoopMiddleware`` → ``approval: required``, with what the protocol cannot hold.

The protocol has one approval policy: the human approves, edits or rejects each call of the
tool. An ``interrupt_on`` entry converts to it; what it adds beyond that (a subset of allowed
decisions, the ``respond`` decision aside, a description, a ``when`` predicate, per-call mode,
a description prefix, the edit notice) is a named report item.
"""

from __future__ import annotations

from typing import Any

from langchain.agents.middleware import HumanInTheLoopMiddleware

from nex_core.adapter import ConversionReport

_ALL = {"approve", "edit", "reject", "respond"}
_DEFAULT_PREFIX = "Tool execution requires approval"


def approval_tools(
    middleware: HumanInTheLoopMiddleware[Any, Any, Any],
    where: str,
    tool_names: set[str],
    report: ConversionReport,
) -> set[str]:
    """The tools ``middleware`` gates, reporting what of its configuration is not carried."""
    from nex_langgraph._approval import ApprovalMiddleware

    here = f"{where}.middleware.HumanInTheLoopMiddleware"
    gated: set[str] = set()
    for tool, config in middleware.interrupt_on.items():
        at = f"{here}.interrupt_on.{tool}"
        if tool not in tool_names:
            report.add(at, f"'{tool}' is not a function tool of this agent: its approval is lost")
            continue
        gated.add(tool)
        allowed = list(config.get("allowed_decisions") or [])
        if set(allowed) != _ALL:
            report.add(
                at,
                f"allowed_decisions {allowed}: the protocol lets the human approve, edit or "
                "reject every call",
                "approximated",
            )
        if "description" in config:
            kind = "function" if callable(config["description"]) else "text"
            report.add(at, f"description ({kind}) shown to the reviewer is not carried")
        if config.get("when") is not None:
            report.add(at, "'when' predicate (which calls need approval) is not carried")
    if isinstance(middleware, ApprovalMiddleware):
        return gated  # nex's own: the rest is how nex builds approval
    if middleware.interrupt_mode != "batched":
        report.add(
            here,
            f"interrupt_mode '{middleware.interrupt_mode}': built as one pause per model turn "
            "(batched)",
            "approximated",
        )
    if middleware.description_prefix != _DEFAULT_PREFIX:
        report.add(here, "description_prefix shown to the reviewer is not carried")
    if middleware.edit_notice:
        report.add(
            here,
            "edit_notice (told to the model after an edited call) is not carried: nex runs an "
            "edited call as if the model had asked for it",
            "approximated",
        )
    return gated
