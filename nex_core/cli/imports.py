"""``nex import``: bring records from elsewhere in as trajectories (one subcommand per source)."""

from __future__ import annotations

import click

from nex_core.cli.import_atif import atif
from nex_core.cli.import_otlp import otlp


@click.group("import")
def import_group() -> None:
    """Import records made elsewhere as nex trajectories."""


import_group.add_command(otlp)
import_group.add_command(atif)
