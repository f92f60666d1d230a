"""Pages from templates: jinja2 with autoescaping on for every template, so text from a record
(model output, tool results, names) always reaches the page as text. Styles and the script are
inlined; the script runs under a Content-Security-Policy naming its own hash, so nothing else
on the page could run even if a value slipped through unescaped."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from nex_core.errors import PluginError
from nex_core.trajectory.reader import BadLine
from nex_core.view import _charts, _tree
from nex_core.view._compare import Comparison
from nex_core.view._dashboard import Dashboard, Episode
from nex_core.view._load import Entry


def _asset(name: str) -> str:
    return (resources.files("nex_core.view") / "assets" / name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _environment() -> Any:
    try:
        import jinja2
    except ImportError:
        raise PluginError(
            "nex view renders its pages with jinja2: pip install 'nex-core[view]'"
        ) from None
    folder = Path(str(resources.files("nex_core.view") / "templates"))
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        autoescape=True,
        undefined=jinja2.Undefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    js = _asset("view.js")
    digest = base64.b64encode(hashlib.sha256(js.encode()).digest()).decode()
    env.globals.update(
        css=_asset("view.css"),
        js=js,
        script_hash=f"sha256-{digest}",
        pretty=_tree.pretty,
        short=_tree.short,
        extras=_tree.extras,
        message_text=_tree.message_text,
        bar=_tree.bar,
        known=_tree.KNOWN,
        known_request=_tree.KNOWN_REQUEST,
        known_response=_tree.KNOWN_RESPONSE,
        known_message=_tree.KNOWN_MESSAGE,
        known_trajectory=_tree.KNOWN_TRAJECTORY,
        known_outcome=_tree.KNOWN_OUTCOME,
    )
    return env


def _page(template: str, **context: Any) -> str:
    context.setdefault("bad", [])
    context.setdefault("sources", [])
    context.setdefault("serve", False)
    text: str = _environment().get_template(template).render(**context)
    return text


def trajectory_page(
    entry: Entry, *, bad: Sequence[BadLine] = (), sources: Sequence[str] = (), serve: bool = False
) -> str:
    view = _tree.build(entry.data)
    title = f"{entry.data.get('root_agent') or 'trajectory'} {entry.data.get('id', '')}"
    return _page(
        "trajectory.html",
        title=title,
        view=view,
        ref=entry.ref,
        file=entry.file,
        line=entry.line,
        bad=list(bad),
        sources=list(sources),
        serve=serve,
    )


def compare_page(
    comparison: Comparison, *, bad: Sequence[BadLine] = (), sources: Sequence[str] = ()
) -> str:
    return _page(
        "compare.html",
        title=f"compare {len(comparison.entries)} trajectories",
        cmp=comparison,
        bad=list(bad),
        sources=list(sources),
    )


def charts(dash: Dashboard) -> list[tuple[str, str | None]]:
    eps = dash.episodes
    if not eps:
        return []
    seconds = [e.seconds for e in eps if e.seconds is not None]
    out: list[tuple[str, str | None]] = []
    if dash.verdicts:
        out.append(("acceptance", _charts.stacked(dash.matrix(), "accepted / rejected", "acc")))
        out.append(("rejections", _charts.bars(dash.rejections(), "rejection reasons", "rej")))
    out += [
        ("steps", _charts.histogram([e.steps for e in eps], "steps per episode", "steps", "stp")),
        (
            "tokens",
            _charts.histogram([e.tokens for e in eps], "tokens per episode", "tokens", "tok"),
        ),
        ("latency", _charts.histogram(seconds, "episode latency", "seconds", "lat")),
        ("tools", _charts.bars(dash.tool_use(), "tool calls by tool", "tls")),
    ]
    return out


def run_page(
    dash: Dashboard,
    *,
    details: Sequence[Entry],
    link: Callable[[Episode], str],
    title: str,
    bad: Sequence[BadLine] = (),
    sources: Sequence[str] = (),
    run_dir: Path | None = None,
    page_episodes: Sequence[Episode] | None = None,
    pager: dict[str, Any] | None = None,
    serve: bool = False,
) -> str:
    """The dashboard, the episode list (``page_episodes``, or all) and, in a static page, each
    trajectory in full (``details``), shown when its link is followed."""
    statuses = sorted({e.status for e in dash.episodes})
    return _page(
        "run.html",
        title=title,
        dash=dash,
        charts=charts(dash),
        statuses=statuses,
        report=dash.report,
        details=[
            {"ref": e.ref, "view": _tree.build(e.data), "file": e.file, "line": e.line}
            for e in details
        ],
        link=link,
        page_episodes=list(page_episodes if page_episodes is not None else dash.episodes),
        pager=pager,
        bad=list(bad),
        sources=list(sources),
        run_dir=run_dir,
        serve=serve,
    )


def list_page(
    rows: Sequence[Episode | BadLine], *, total: int, pager: dict[str, Any], title: str
) -> str:
    """One page of a large file's trajectories (``--serve``); bad lines stand in their place."""
    lines = [r.line for r in rows]
    return _page(
        "list.html",
        title=title,
        rows=list(rows),
        total=total,
        pager=pager,
        first_line=min(lines) if lines else 0,
        last_line=max(lines) if lines else 0,
        serve=True,
    )
