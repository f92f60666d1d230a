"""The ``nex`` command line."""

from nex_core.cli.main import cli, main

__all__ = ["cli", "main"]
