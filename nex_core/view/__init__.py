"""``nex view``: trajectories, comparisons and GAP run dashboards as HTML — a self-contained
page that opens from disk, or a local server that pages through files of any size."""

from nex_core.view._serve import ViewServer, serve
from nex_core.view._static import STATIC_LIMIT_BYTES, render_static

__all__ = ["STATIC_LIMIT_BYTES", "ViewServer", "render_static", "serve"]
