"""The dashboard's charts, drawn by matplotlib as SVG and inlined in the page (no script, no
network). Text is drawn as glyph paths, so nothing from a record reaches the page as markup."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import Any

from nex_core.errors import PluginError

_PROLOG = re.compile(r"^.*?(?=<svg)", re.DOTALL)


def _figure(width: float, height: float) -> tuple[Any, Any]:
    """A figure and its axes, without pyplot: no global figure registry, no GUI backend."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise PluginError(
            "the GAP run dashboard draws its charts with matplotlib: pip install 'nex-core[view]'"
        ) from None
    fig = Figure(figsize=(width, height), dpi=96)
    return fig, fig.subplots()


def _svg(fig: Any, salt: str) -> str:
    import matplotlib

    buf = io.StringIO()
    # Ids inside each SVG (clip paths, glyphs) must not collide with another chart's in the page.
    with matplotlib.rc_context({"svg.hashsalt": salt, "svg.fonttype": "path"}):
        fig.savefig(buf, format="svg", bbox_inches="tight")
    return _PROLOG.sub("", buf.getvalue(), count=1)


def histogram(values: Sequence[float], title: str, xlabel: str, salt: str) -> str | None:
    if not values:
        return None
    fig, ax = _figure(4.2, 2.6)
    distinct = len(set(values))
    ax.hist(values, bins=max(1, min(30, distinct)), color="#4c78a8", edgecolor="white")
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel("episodes", fontsize=8)
    ax.tick_params(labelsize=7)
    return _svg(fig, salt)


def bars(items: Sequence[tuple[str, int]], title: str, salt: str, limit: int = 20) -> str | None:
    if not items:
        return None
    shown = list(items[:limit])[::-1]
    fig, ax = _figure(4.8, max(1.6, 0.28 * len(shown) + 0.8))
    ax.barh([_clip(k) for k, _ in shown], [v for _, v in shown], color="#f58518")
    ax.set_title(title, fontsize=10)
    ax.tick_params(labelsize=7)
    return _svg(fig, salt)


def stacked(rows: Sequence[dict[str, Any]], title: str, salt: str) -> str | None:
    """Accepted and rejected episodes per backend x agent x model."""
    if not rows:
        return None
    labels = [_clip(f"{r['backend']} · {r['agent']} · {r['model']}", 48) for r in rows][::-1]
    accepted = [r.get("accepted", 0) for r in rows][::-1]
    rejected = [r.get("rejected", 0) for r in rows][::-1]
    fig, ax = _figure(5.2, max(1.6, 0.3 * len(rows) + 0.9))
    ax.barh(labels, accepted, color="#54a24b", label="accepted")
    ax.barh(labels, rejected, left=accepted, color="#e45756", label="rejected")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    ax.tick_params(labelsize=7)
    return _svg(fig, salt)


def _clip(text: str, limit: int = 32) -> str:
    # matplotlib reads $...$ as mathtext: a tool name with dollars would be typeset or fail.
    text = text.replace("$", r"\$")
    return text if len(text) <= limit else text[: limit - 1] + "…"
