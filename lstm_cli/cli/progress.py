"""A progress bar for long runs: on stderr, only on a terminal, and only once a run has taken about a second.

A command asks for one with `steps_progress(model, shown)` and hands it to the engine, which says how many
recurrent steps it has run, a chunk of steps at a time (engine.run_model's `progress`). Nothing is drawn
for a run that ends within DELAY seconds, when stderr is not a terminal (a pipe, a file, a test), or when
`shown` is False: machine-readable output (json, yaml, csv) is read by programs, which read stderr too.
The bar is transient: it is gone once the run ends, before the result is written.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.progress import Progress

    from lstm_cli.model import Model

DELAY = 1.0  # seconds a run goes before its bar appears


class StepsProgress:
    """Told the steps run as they are run; draws the bar once DELAY has passed."""

    def __init__(self, total: int, description: str) -> None:
        self.total, self.description = total, description
        self.done = 0
        self.started = time.monotonic()
        self.bar: Progress | None = None

    def __call__(self, steps: int) -> None:
        self.done += steps
        if self.bar is not None:
            self.bar.update(self.task, completed=self.done)
        elif time.monotonic() - self.started >= DELAY and self.done < self.total:
            self._show()

    def _show(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        console = Console(file=sys.stderr, highlight=False, markup=False, emoji=False)
        self.bar = Progress(
            TextColumn(self.description, markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("steps", markup=False),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self.task = self.bar.add_task(self.description, total=self.total, completed=self.done)
        self.bar.start()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


@contextmanager
def steps_progress(
    model: Model, command: str, shown: bool = True, passes: int = 1
) -> Iterator[StepsProgress | None]:
    """A StepsProgress for `passes` runs of `model` (2 for forward and backward), or None where no bar is
    to be drawn."""
    if not shown or not sys.stderr.isatty():
        yield None
        return
    from lstm_cli.engine import recurrent_steps

    progress = StepsProgress(recurrent_steps(model) * passes, f"{command}:")
    try:
        yield progress
    finally:
        progress.close()
