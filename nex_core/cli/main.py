"""``nex``: the command group, its error handling and ``plugins``; the other commands live
beside it (run.py, inspect.py, validate.py, convert.py) and plugins add their own."""

from __future__ import annotations

import errno
import importlib
import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any

import click

from nex_core._version import __version__
from nex_core.cli.output import INTERRUPTED_EXIT, fail, warn
from nex_core.errors import NexError

# nex's own commands, imported only when one is asked for (or `--help` lists them): a command's
# module pulls in what it needs (the spec models, asyncio, rich trees …) and `nex run` should
# not pay for `nex convert`. name -> "module:attribute".
LAZY_COMMANDS: dict[str, str] = {
    "run": "nex_core.cli.run:run",
    "inspect": "nex_core.cli.inspect:inspect",
    "validate": "nex_core.cli.validate:validate",
    "schema": "nex_core.cli.validate:schema",
    "convert": "nex_core.cli.convert:convert",
    "synth": "nex_core.cli.synth:synth",
    "import": "nex_core.cli.imports:import_group",
    "view": "nex_core.cli.view:view",
}


class NexGroup(click.Group):
    """Adds plugin commands lazily and turns every user mistake into one ``error:`` line.

    Usage errors (a missing file, a bad option value) are click's; errors nex raises on purpose
    are ``NexError``; an ``OSError`` on a path the user gave (an unwritable output folder, a
    full disk) names the path. None of them print a traceback. Anything else is a bug in nex
    and keeps its traceback.
    """

    def _plugin_commands(self) -> dict[str, click.Command]:
        if not hasattr(self, "_plugins_cache"):
            from nex_core.plugins import get_plugin_manager

            found: dict[str, click.Command] = {}
            for commands in get_plugin_manager().call("nex_cli_commands"):
                for command in commands:
                    if command.name:
                        found.setdefault(command.name, command)
            self._plugins_cache = found
        return self._plugins_cache

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(
            {*super().list_commands(ctx), *LAZY_COMMANDS, *self._plugin_commands()}
        )

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is None and cmd_name in LAZY_COMMANDS:
            module, _, attribute = LAZY_COMMANDS[cmd_name].partition(":")
            found = getattr(importlib.import_module(module), attribute)
            self.add_command(found, cmd_name)
        return found or self._plugin_commands().get(cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NexError as exc:
            fail(str(exc))
        except OSError as exc:
            if exc.errno == errno.EPIPE:  # `nex ... | head`: the reader left, nothing to say
                raise
            fail(_os_error_text(exc))
        except UnicodeDecodeError as exc:  # a loader read a binary file given as text
            fail(
                f"an input file is not UTF-8 text ({exc.reason} at byte {exc.start}); "
                "check the files named in the command and in the spec"
            )

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:  # bare `nex`: the help, as usual
            exc.show()
            sys.exit(exc.exit_code)
        except click.UsageError as exc:
            command = exc.ctx.command_path if exc.ctx is not None else "nex"
            fail(f"{command}: {exc.format_message()} (see '{command} --help')", exc.exit_code)
        except click.ClickException as exc:
            fail(exc.format_message(), exc.exit_code)
        except click.Abort:
            fail("interrupted", INTERRUPTED_EXIT)
        sys.exit(code if isinstance(code, int) else 0)


def _os_error_text(exc: OSError) -> str:
    where = exc.filename if exc.filename is not None else "a file"
    what = exc.strerror or str(exc)
    hint = {
        errno.ENOSPC: "free some space or write elsewhere",
        errno.EACCES: "check the permissions, or choose another path",
        errno.EROFS: "the file system is read-only: choose another path",
        errno.ENOENT: "check the path",
        errno.EISDIR: "give a file, not a folder",
        errno.ENOTDIR: "a part of the path is a file, not a folder",
    }.get(exc.errno or 0, "check the path")
    return f"{os.fsdecode(where)}: {what}; {hint}"


@click.group(cls=NexGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nex")
def cli() -> None:
    """nex: one protocol and one trajectory record for agents across frameworks."""
    # Import paths in specs (`examples.calculator.tools:add`) resolve from where nex is run,
    # as they do with `python -m`.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    from nex_core.trajectory.redact import install_log_redaction

    install_log_redaction()  # whatever any library logs is scrubbed of secrets and tokens
    warnings.showwarning = _show_warning


_default_showwarning = warnings.showwarning


def _show_warning(
    message: Warning | str, category: type[Warning], filename: str, lineno: int,
    file: Any = None, line: str | None = None,
) -> None:
    """nex's own warnings (a very large spec) as one ``warning:`` line, not a source line."""
    from nex_core.protocol._document import LargeSpecWarning

    if issubclass(category, LargeSpecWarning):
        warn(str(message))
    else:
        _default_showwarning(message, category, filename, lineno, file, line)


# --------------------------------------------------------------------------- plugins


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def plugins(as_json: bool) -> None:
    """List installed nex plugins, their adapters and capabilities."""
    import json
    import warnings

    from rich.markup import escape
    from rich.table import Table

    from nex_core.cli.output import console, err_console
    from nex_core.plugins import PluginLoadWarning, get_plugin_manager

    pm = get_plugin_manager()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PluginLoadWarning)
        adapters = pm.adapters()  # imports every plugin: this command lists them all
    if as_json:
        data = {
            "plugins": [i.__dict__ for i in pm.infos],
            "adapters": {
                n: {
                    "framework": a.framework,
                    "framework_version": a.framework_version,
                    "version": a.version,
                    "capabilities": sorted(c.value for c in a.capabilities),
                }
                for n, a in adapters.items()
            },
        }
        click.echo(json.dumps(data, indent=2))
        return
    table = Table(title="nex plugins")
    for col in ("entry point", "distribution", "version", "status"):
        table.add_column(col)
    for info in pm.infos:
        status = (
            "[green]loaded[/green]"
            if info.error is None
            else f"[red]failed: {escape(info.error)}[/red]"
        )
        table.add_row(escape(info.name), escape(info.distribution), escape(info.version), status)
    console.print(table)
    atable = Table(title="adapters")
    for col in ("adapter", "framework", "capabilities"):
        atable.add_column(col)
    for name, a in sorted(adapters.items()):
        atable.add_row(
            escape(name),
            escape(f"{a.framework} {a.framework_version or ''}"),
            ", ".join(sorted(c.value for c in a.capabilities)),
        )
    console.print(atable)
    for info in pm.infos:
        if info.error:
            err_console.print(
                f"[yellow]warning:[/yellow] plugin '{escape(info.name)}' from "
                f"'{escape(info.distribution)}' failed to load: {escape(info.error)}"
            )


def main() -> None:
    cli()
