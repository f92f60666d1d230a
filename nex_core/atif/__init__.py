"""ATIF, Harbor's Agent Trajectory Interchange Format (v1.x): nex trajectories out and in.

``to_atif(trajectory)`` gives an ATIF document (a dict; ``nex export --target atif`` writes one
per line), ``from_atif(document)`` a trajectory and notes on what nex could not hold, and
``read_atif(path)`` reads ``.json`` documents or ``.jsonl`` files of them, checking the version
and every field first (``nex import atif FILE...``). How each side maps is in ``_export.py``.
"""

from nex_core.atif._export import ATIF_VERSION, to_atif
from nex_core.atif._import import from_atif
from nex_core.atif._read import READABLE_ATIF, read_atif

__all__ = ["ATIF_VERSION", "READABLE_ATIF", "from_atif", "read_atif", "to_atif"]
