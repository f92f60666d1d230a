"""A rich progress bar over the run's episodes (on stderr; silent when disabled)."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

if TYPE_CHECKING:
    from nex_core.gap.report import Tally


class ProgressView:
    def __init__(self, console: Console, *, total: int, done: int, enabled: bool) -> None:
        self.enabled = enabled
        self._progress = Progress(
            TextColumn("[bold]gap[/bold]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
            TimeRemainingColumn(),
            console=console,
            disable=not enabled,
            transient=False,
        )
        self._task = self._progress.add_task("", total=total, completed=done)

    def advance(self, tally: Tally) -> None:
        if self.enabled:
            self._progress.update(
                self._task,
                advance=1,
                description=f"accepted {tally.accepted}, "
                f"rejected {tally.episodes - tally.accepted}",
            )

    def __enter__(self) -> ProgressView:
        if self.enabled:
            self._progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.enabled:
            self._progress.stop()
