"""The native runtime: the reference implementation of the protocol."""

from nex_core.runtime.loop import NativeRun, run_native, spec_digest

__all__ = ["NativeRun", "run_native", "spec_digest"]
