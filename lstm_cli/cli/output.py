"""The one output path: a command's result as json, yaml, csv or the table view, written in one place.

A command says what its result is in each format it offers (`Views`); `write` holds the switch over
formats: JSON streamed a row at a time with --precision applied to its arrays, YAML, CSV rows, or the
table view printed through Rich and, with --save-svg/--save-html, saved as it was shown. Values under
`expect:` that differ then exit 1.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import typer

from lstm_cli.cli.edge import PROG, run
from lstm_cli.errors import ExitCode, LstmCliError

if TYPE_CHECKING:
    from rich.console import Console


class Output(NamedTuple):
    """How a result is to be shown: the command's name, --format, --precision, --save-svg, --save-html."""

    command: str
    format: str
    precision: int | None = None
    save_svg: Path | None = None
    save_html: Path | None = None

    def places(self, default: int) -> int:
        """Decimal places in the table view: --precision, or the view's own default."""
        return default if self.precision is None else self.precision

    @property
    def saves(self) -> bool:
        return self.save_svg is not None or self.save_html is not None

    def check(self) -> None:
        """Before anything runs, that the pictures can be saved: the folders exist. (That they save the table
        view alone is one of the option rules.)"""
        for option, path in (("--save-svg", self.save_svg), ("--save-html", self.save_html)):
            if path is not None and not path.parent.is_dir():
                raise LstmCliError(f"{option} {path}: the folder {path.parent} does not exist")


def _not_offered(*_: Any) -> Any:
    raise NotImplementedError("a format this command does not offer")  # its --format's choices exclude it


class Views(NamedTuple):
    """One result in each format its command offers; only the one asked for is made."""

    table: Callable[[Console], None]  # prints the table view to the console it is given
    json: Callable[[], Any] = _not_offered  # the document; its numpy arrays are rounded to --precision
    yaml: Callable[[], Any] = _not_offered  # the document, as plain lists
    csv: Callable[[], Iterable[Sequence[Any]]] = _not_offered  # the rows, header first
    mismatches: Sequence[Any] | None = None  # values under `expect:` that differ from the run
    differ: bool = False  # compare's verdict: exit 1, as diff does


def show(ctx: typer.Context, debug: bool, output: Output, body: Callable[[], Views]) -> None:
    """The shared body of every command that shows a result: the option rules and the save folders checked,
    then the command's own body run, then its result written as asked."""

    def shown() -> None:
        output.check()
        write(output, body())

    run(ctx, debug, shown)


def write(output: Output, views: Views) -> None:
    """The output switch, the one place that knows how each format is written."""
    if output.format == "json":
        from lstm_cli.formats import write_json

        write_json(sys.stdout, views.json(), output.precision)  # streamed: never one big string
    elif output.format == "yaml":
        from lstm_cli.formats import to_yaml

        sys.stdout.write(to_yaml(views.yaml()))
    elif output.format == "csv":
        import csv

        csv.writer(sys.stdout, lineterminator="\n").writerows(views.csv())
    else:
        console = _console(record=output.saves)
        views.table(console)
        _save(console, output)
    sys.stdout.flush()
    _exit_for(views.mismatches, listed=output.format != "csv")
    if views.differ:
        raise typer.Exit(ExitCode.MISMATCH)


def _console(record: bool = False) -> Console:
    from rich.console import Console

    return Console(file=sys.stdout, highlight=False, emoji=False, markup=False, record=record)


def _save(console: Console, output: Output) -> None:
    """Exactly what the console showed, with its colours (even where NO_COLOR kept them off the screen)."""
    try:
        if output.save_svg is not None:
            console.save_svg(str(output.save_svg), title=f"{PROG} {output.command}", clear=False)
        if output.save_html is not None:
            console.save_html(str(output.save_html), clear=False)
    except OSError as exc:
        raise LstmCliError(f"cannot save {exc.filename}: {exc.strerror}") from None


def _exit_for(mismatches: Sequence[Any] | None, listed: bool) -> None:
    """Exit 1 if values under `expect:` differ; a format with no place for them (csv) says so on stderr."""
    if mismatches:
        if not listed:
            values = f"{len(mismatches)} values" if len(mismatches) > 1 else "1 value"
            verb = "differ" if len(mismatches) > 1 else "differs"
            sys.stderr.write(
                f"{PROG}: {values} under expect: {verb} from the run; --format json lists them\n"
            )
        raise typer.Exit(ExitCode.MISMATCH)
