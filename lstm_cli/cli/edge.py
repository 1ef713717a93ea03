"""Where the command line meets the user: usage lines, one-line errors and notes, and exit codes.

A usage error (Typer's) and a library error (`LstmCliError`) both end as one line on stderr,
`lstm-cli: error: ...`, and exit code 2; a traceback only with --debug.
"""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from lstm_cli.cli.rules import check
from lstm_cli.errors import ExitCode, LstmCliError

PROG = "lstm-cli"
INTERNAL_ERROR = 70  # sysexits.h's EX_SOFTWARE: a bug of ours, not the user's input


class Group(TyperGroup):
    """Turns every usage error into one line, `lstm-cli: error: ...`, with exit code 2."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            code = super().main(args, PROG, complete_var, False, windows_expand_args, **extra)
        except typer.TyperException as exc:  # typer's click: usage errors, bad parameters
            if type(exc).__name__ == "NoArgsIsHelpError":
                exc.show()  # type: ignore[attr-defined]
            else:
                say_error(" ".join(exc.format_message().split()))
            code = ExitCode.USAGE
        except (typer.Abort, KeyboardInterrupt):
            code = ExitCode.INTERRUPTED
        code = int(code) if isinstance(code, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code

    def list_commands(self, ctx: Any) -> list[str]:
        """In the order a user meets them, which is the order commands.py declares them; not A to Z."""
        return list(self.commands)


class Command(TyperCommand):
    """Usage lines as people write them: `lstm-cli decode [OPTIONS] CONFIG`, not Typer's `{CONFIG}`."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = super().collect_usage_pieces(ctx)
        return [piece[1:-1] if piece.startswith("{") and piece.endswith("}") else piece for piece in pieces]


def say_error(message: str) -> None:
    # One line, whatever the user's text held: a newline or terminal escape in a file name shows escaped.
    shown = "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in message)
    sys.stderr.write(f"{PROG}: error: {shown}\n")


def notes(lines: Sequence[str]) -> None:
    for note in lines:
        sys.stderr.write(f"{PROG}: note: {note}\n")


def run(ctx: typer.Context, debug: bool, body: Callable[[], None]) -> None:
    """Every command's frame: the option rules checked before anything is read, then the body, with any
    error it raises mapped to an exit code."""
    with edge(debug):
        check(ctx)
        body()


@contextlib.contextmanager
def edge(debug: bool) -> Iterator[None]:
    """Where library errors become exit codes: one line on stderr, never a traceback (unless --debug)."""
    try:
        yield
    except LstmCliError as exc:
        if debug:
            _traceback(ExitCode.USAGE)
        say_error(str(exc))
        raise typer.Exit(ExitCode.USAGE) from None
    except BrokenPipeError:
        # The reader went away (`lstm-cli forward big.yaml | head`): stop quietly.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(ExitCode.OK) from None
    except KeyboardInterrupt:
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    except (typer.Exit, typer.TyperException):
        raise
    except MemoryError:  # the failed allocation is freed: there is room to say so
        if debug:
            _traceback(ExitCode.USAGE)
        say_error("out of memory: the model or its input is too large for this machine")
        raise typer.Exit(ExitCode.USAGE) from None
    except Exception as exc:
        if debug:
            _traceback(INTERNAL_ERROR)
        say_error(
            f"internal error: {type(exc).__name__}: {exc} (please report it; --debug shows the traceback)"
        )
        raise typer.Exit(INTERNAL_ERROR) from None


def _traceback(code: int) -> None:
    """--debug: the traceback on stderr, then the exit code the error has without it (a bare raise would
    exit 1, which means that values under `expect:` differ)."""
    traceback.print_exc()
    raise typer.Exit(code) from None
