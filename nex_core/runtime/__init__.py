"""The native runtime: the reference implementation of the protocol."""

import typing as _typing

from nex_core._lazy import lazy_exports as _lazy_exports

# Imported on first use (nex_core/_lazy.py), so importing one module of the package is cheap.
if _typing.TYPE_CHECKING:
    from nex_core.runtime.loop import run_native
    from nex_core.runtime.native import NativeRun
    from nex_core.runtime.provenance import spec_digest
    from nex_core.runtime.resume import resume_native

__all__ = ["NativeRun", "resume_native", "run_native", "spec_digest"]

if not _typing.TYPE_CHECKING:  # type checkers see the imports above, not a catch-all __getattr__
    __getattr__, __dir__ = _lazy_exports(__name__, __file__, globals())
