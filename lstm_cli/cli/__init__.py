"""The command line: parse, check, call the library, show the result, and map errors to exit codes
(docs/errors.md#exit-codes, docs/output.md#formats-by-command). Nothing here computes.

    commands.py  the commands: typed signatures with their help, each one call into a shared body
    options.py   the options several commands take, declared once
    rules.py     the one table of rules between options: which format each applies to, what conflicts
    output.py    the one output path: json, yaml, csv or the table view (with --save-svg/--save-html)
    bodies.py    what each command does: call the library, and say what its result is in each format
    loading.py   CONFIG, and the shared options for reading it (--input, --config, --prefix, ...)
    edge.py      one-line errors, notes and exit codes; usage lines
    stepping.py  trace --step, a timestep and a key at a time

Start-up is paid on every run, so: library modules are imported inside the bodies; commands.py has no
`from __future__ import annotations` (Typer would evaluate every string annotation again each time it
looks); `main` builds only the command being run, and spares the exit a garbage collection over
everything imported; and the records here are NamedTuples, which take a sixth of a frozen dataclass's
time to define.
"""

import gc
import sys
from collections.abc import Sequence

import typer

from lstm_cli.cli.commands import app

__all__ = ["app", "main"]


def main() -> None:
    """The `lstm-cli` console script."""
    # What the imports made lives until the process ends. Frozen, the collector never scans it again,
    # and the interpreter's last collection at exit, which would free it object by object, leaves it to
    # the OS: about 13 ms of a 90 ms `summary`. What the command makes is collected as usual.
    gc.freeze()
    app_for(sys.argv[1:])()


def app_for(args: Sequence[str]) -> typer.Typer:
    """For `lstm-cli NAME ...`, a copy of the app holding command NAME alone: Typer builds every command's
    options before it runs one, and the others' are start-up time spent for nothing. Anything else
    (--help, --version, a mistyped name) gets the whole group, which lists and suggests commands."""
    import copy

    chosen = [
        command
        for command in app.registered_commands
        if args and args[0] == (command.name or command.callback.__name__)  # type: ignore[union-attr]
    ]
    if not chosen:
        return app
    alone = copy.copy(app)
    alone.registered_commands = chosen
    return alone
