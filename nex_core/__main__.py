"""``python -m nex_core`` is the ``nex`` command."""

from nex_core.cli import main

main()
