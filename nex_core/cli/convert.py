"""``nex convert``: a framework object to a nex spec, or a spec to a framework program.

``nex convert app.py:graph`` imports ``app.py`` as ``python app.py`` would see its imports (its
folder first on ``sys.path``, so ``from tools import add`` beside it works), without running its
``if __name__ == "__main__"`` block. Tool bindings found in modules of that folder name those
modules as that folder sees them (``tools:add``); they are rewritten to the dotted path from the
current folder (``app.tools:add``), the folder ``nex run`` resolves bindings from, and each
rewritten binding is checked in a fresh interpreter. A binding that still does not resolve from
here is a named item of the conversion report (see docs/decisions.md).

Every mistake in the source is one ``error:`` line: a missing file or module, a syntax error
(file and line), an app whose own import fails (the module that failed), a wrong object name
(with the objects the installed adapters recognise in the module), an object no adapter
recognises.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import subprocess
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import click

from nex_core.errors import NexError, SpecError

if TYPE_CHECKING:  # the command imports these when it runs: `nex --help` stays fast
    from nex_core.adapter import Adapter, ConversionReport
    from nex_core.protocol.spec import AgentSpec, ImportBinding, TeamSpec

CHECK_TIMEOUT_S = 120
"""How long the fresh interpreter that checks rewritten bindings may take."""


class SourceError(SpecError):
    """``nex convert``'s SOURCE cannot be loaded as the user wrote it."""


def split_ref(ref: str) -> tuple[str, str]:
    """``FILE.py:NAME`` or ``module:NAME`` → (file or module, attribute path)."""
    path, _, attr = ref.rpartition(":")
    if not path or not attr:
        message = f"'{ref}' must be FILE.py:NAME or module:NAME"
        raise click.BadParameter(message, param_hint="SOURCE")
    return path, attr


def _app_frame(exc: BaseException, file: Path) -> str:
    """``file:line`` of the deepest frame of ``exc`` inside ``file`` (where the app failed)."""
    where = str(file)
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename).resolve() == file:
            where = f"{file}:{frame.lineno}"
    return where


def _exec_file(file: Path) -> ModuleType:
    name = file.stem
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise SourceError(f"{file}: not a Python file nex can import")
    folder = str(file.parent)
    # As `python FILE.py` does: the app's folder first, so its sibling imports resolve.
    if folder not in sys.path:
        sys.path.insert(0, folder)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(name, None)
        where = f"{exc.filename or file}:{exc.lineno}" if exc.lineno else str(exc.filename or file)
        raise SourceError(f"{where}: syntax error: {exc.msg}") from None
    except ImportError as exc:
        sys.modules.pop(name, None)
        missing = f" (module '{exc.name}')" if exc.name else ""
        raise SourceError(
            f"{_app_frame(exc, file)}: importing the app failed{missing}: {exc}"
        ) from None
    except Exception as exc:
        sys.modules.pop(name, None)
        raise SourceError(
            f"{_app_frame(exc, file)}: running the app raised {type(exc).__name__}: {exc}"
        ) from None
    return module


def _import_module(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except SyntaxError as exc:
        raise SourceError(f"{exc.filename}:{exc.lineno}: syntax error: {exc.msg}") from None
    except ModuleNotFoundError as exc:
        if exc.name == name or (exc.name and name.startswith(exc.name + ".")):
            raise SourceError(
                f"no module named '{name}' (from {os.getcwd()}); give FILE.py:NAME for a file"
            ) from None
        raise SourceError(f"importing '{name}' failed (module '{exc.name}'): {exc}") from None
    except ImportError as exc:
        raise SourceError(f"importing '{name}' failed: {exc}") from None
    except Exception as exc:
        raise SourceError(f"importing '{name}' raised {type(exc).__name__}: {exc}") from None


def load_module(path: str) -> tuple[ModuleType, Path | None]:
    """The module ``path`` names (a ``.py`` file or a dotted module) and the file's folder."""
    if path.endswith(".py"):
        file = Path(path).expanduser().resolve()
        if not file.is_file():
            raise SourceError(f"{path}: no such file")
        return _exec_file(file), file.parent
    return _import_module(path), None


def candidates(module: ModuleType, adapters: list[Adapter]) -> list[str]:
    """Module-level names whose objects an installed adapter recognises."""
    found = []
    for name, value in sorted(vars(module).items()):
        if name.startswith("_") or isinstance(value, ModuleType | type):
            continue
        if any(_recognizes(a, value) for a in adapters):
            found.append(name)
    return found


def _recognizes(adapter: Adapter, obj: Any) -> bool:
    try:
        return adapter.recognizes(obj)
    except Exception:
        return False


def load_object(ref: str, adapters: list[Adapter]) -> tuple[Any, Path | None]:
    """The object ``FILE.py:NAME`` (or ``module:NAME``) names, and the file's folder."""
    path, attr = split_ref(ref)
    module, folder = load_module(path)
    obj: Any = module
    for i, part in enumerate(attr.split(".")):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            where = ".".join([module.__name__, *attr.split(".")[:i]])
            found = candidates(module, adapters) if i == 0 else []
            hint = (
                f"; objects an adapter recognises there: {', '.join(found)}"
                if found
                else "; no object there is one an installed adapter recognises"
                if i == 0
                else ""
            )
            raise SourceError(f"{path}: '{where}' has no attribute '{part}'{hint}") from None
    return obj, folder


# --------------------------------------------------------------------------- bindings


def _module_file(name: str) -> Path | None:
    module = sys.modules.get(name)
    file = getattr(module, "__file__", None)
    return Path(file).resolve() if file else None


def _dotted_from(root: Path, file: Path) -> str | None:
    """The module name ``file`` has when ``root`` is on ``sys.path``, if it has one."""
    try:
        parts = list(file.relative_to(root).with_suffix("").parts)
    except ValueError:
        return None
    if parts and parts[-1] == "__init__":
        parts.pop()
    if not parts or not all(p.isidentifier() for p in parts):
        return None
    return ".".join(parts)


def _import_bindings(spec: AgentSpec | TeamSpec) -> list[ImportBinding]:
    from nex_core.protocol.spec import ImportBinding

    return [t.binding for a in spec.walk() for t in a.tools if isinstance(t.binding, ImportBinding)]


def _unresolved(modules: list[str], root: Path) -> dict[str, str]:
    """Which of ``modules`` a fresh interpreter cannot import from ``root`` (with the error)."""
    program = (
        "import importlib, sys\n"
        f"sys.path.insert(0, {str(root)!r})\n"
        "for name in sys.argv[1:]:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception as exc:\n"
        "        print(name, '\\t', type(exc).__name__, ': ', exc, sep='')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    try:
        done = subprocess.run(
            [sys.executable, "-c", program, *modules],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=CHECK_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        return {m: f"importing took over {CHECK_TIMEOUT_S} s" for m in modules}
    failed: dict[str, str] = {}
    for line in done.stdout.splitlines():
        name, _, error = line.partition("\t")
        failed[name] = error
    return failed


def rebase_bindings(
    spec: AgentSpec | TeamSpec, folder: Path, report: ConversionReport, root: Path
) -> None:
    """Rewrite import bindings into modules of ``folder`` (named as the app saw them) to their
    dotted path from ``root``, where ``nex run`` resolves them; report what still will not."""
    rewritten: dict[str, list[ImportBinding]] = {}
    for binding in _import_bindings(spec):
        module, _, attr = binding.path.partition(":")
        file = _module_file(module)
        if file is None or not file.is_relative_to(folder):
            continue
        dotted = _dotted_from(root, file)
        if dotted is None:
            report.add(
                f"binding {binding.path}",
                f"module {file} is not importable from {root}; run nex with PYTHONPATH={folder}",
                "approximated",
            )
            continue
        if dotted == module:
            continue  # the app's folder is where nex runs from: the binding resolves as it is
        report.add(
            f"binding {binding.path}",
            f"rewritten to {dotted}:{attr} (the app's folder as seen from {root})",
            "info",
        )
        binding.path = f"{dotted}:{attr}"
        rewritten.setdefault(dotted, []).append(binding)
    if not rewritten:
        return
    for module, error in _unresolved(sorted(rewritten), root).items():
        for binding in rewritten.get(module, []):
            report.add(
                f"binding {binding.path}",
                f"does not import from {root} ({error}); run nex with PYTHONPATH={folder}",
                "approximated",
            )


# --------------------------------------------------------------------------- the command


@click.command()
@click.argument("source")
@click.option(
    "--to",
    "to",
    default=None,
    help="Write SOURCE (a nex spec, or a framework object via its spec) as this backend's "
    "Python program.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    default=None,
    help="Output file (default: stdout).",
)
@click.option(
    "--from",
    "from_",
    default=None,
    help="Adapter to read SOURCE with (default: the one that recognises it).",
)
def convert(source: str, to: str | None, output: str | None, from_: str | None) -> None:
    """Convert a framework object (FILE.py:NAME) to a nex spec, or a spec to code (--to)."""
    try:
        _convert(source, to, output, from_)
    except NexError as exc:
        # One line, never wrapped to the terminal's width: what is wrong, where, what to do.
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


def _convert(source: str, to: str | None, output: str | None, from_: str | None) -> None:
    from rich.console import Console

    from nex_core.adapter import ConversionReport
    from nex_core.plugins import get_plugin_manager
    from nex_core.protocol.loader import dump_spec, load_spec

    pm = get_plugin_manager()
    is_spec = Path(source).suffix in (".yaml", ".yml", ".json") and ":" not in Path(source).name
    report_text: str | None = None
    code_report: ConversionReport | None = None
    if to is not None and is_spec:
        spec = load_spec(source)
        text = pm.adapter(to).to_code(spec)
        code_report = pm.adapter(to).code_report(spec)
        report_text = code_report.render() if code_report.items else None
    else:
        if is_spec:
            raise SourceError(
                f"{source} is a spec; give --to BACKEND to write it as a framework program"
            )
        adapters = [a for a in pm.adapters().values() if a.name != "native"]
        obj, folder = load_object(source, adapters)
        if from_:
            adapter = pm.adapter(from_)
        else:
            matches = [a for a in adapters if _recognizes(a, obj)]
            if not matches:
                installed = ", ".join(sorted(a.name for a in pm.adapters().values()))
                raise SourceError(
                    f"{source}: no installed adapter recognises "
                    f"{type(obj).__module__}.{type(obj).__qualname__} (installed: {installed}); "
                    "`nex plugins` lists the adapters and what they read"
                )
            adapter = matches[0]
        conversion = adapter.to_spec(obj)
        if folder is not None:
            rebase_bindings(conversion.spec, folder, conversion.report, Path.cwd().resolve())
        # With --to, a framework object crosses to another framework through its spec (a
        # migration path: AutoGen → Agent Framework); no adapter imports another.
        text = dump_spec(conversion.spec) if to is None else pm.adapter(to).to_code(conversion.spec)
        if to is not None:
            code_report = pm.adapter(to).code_report(conversion.spec)
        report = conversion.report
        if code_report is not None:  # what the program does its own way, after what was lost
            report = ConversionReport([*report.items, *code_report.items])
        report_text = report.render()
    if output:
        Path(output).write_text(text, encoding="utf-8")
        Console().print(f"[green]wrote[/green] {output}")
    else:
        click.echo(text, nl=False)
    if report_text:
        # markup=False: the severities are written in brackets ("[lost]"), not rich markup.
        Console(stderr=True).print(report_text, highlight=False, markup=False)
