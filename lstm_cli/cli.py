"""The command line: parse, call the library, render, and map errors to exit codes (SPEC §3, §5).

Nothing here computes. Library modules are imported inside the commands, so `--help` stays fast.
"""

from __future__ import annotations

import contextlib
import csv
import os
import sys
from collections.abc import Iterator, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from .errors import ExitCode, LstmCliError

PROG = "lstm-cli"


class _Group(TyperGroup):
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
                _say_error(" ".join(exc.format_message().split()))
            code = ExitCode.USAGE
        except (typer.Abort, KeyboardInterrupt):
            code = ExitCode.INTERRUPTED
        code = int(code) if isinstance(code, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code


app = typer.Typer(
    cls=_Group,
    name=PROG,
    help="A command-line LSTM calculator: every gate, cell state and hidden state, exactly as Keras 3.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class Format(StrEnum):
    table = "table"
    json = "json"
    yaml = "yaml"
    csv = "csv"


class DType(StrEnum):
    float32 = "float32"
    float64 = "float64"


ConfigArgument = Annotated[
    Path | None,
    typer.Argument(help="YAML config; without it, the built-in `seed` example runs.", show_default=False),
]
PrecisionOption = Annotated[
    int | None,
    typer.Option(min=0, max=17, help="Decimal places shown (default: 4 in tables, all in json/yaml/csv)."),
]
DTypeOption = Annotated[
    DType | None, typer.Option(help="Arithmetic precision; overrides the config's dtype.")
]
DebugOption = Annotated[bool, typer.Option("--debug", help="Show the traceback of an error.")]


def _say_error(message: str) -> None:
    sys.stderr.write(f"{PROG}: error: {message}\n")


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        sys.stdout.write(f"{PROG} {version('lstm-cli')}\n")
        raise typer.Exit()


@app.callback()
def _root(
    _: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """A command-line LSTM calculator: every gate, cell state and hidden state, exactly as Keras 3.

    Example: lstm-cli forward configs/seed.yaml
    """


@contextlib.contextmanager
def _edge(debug: bool) -> Iterator[None]:
    """Where library errors become exit codes: one line on stderr, never a traceback (unless --debug)."""
    try:
        yield
    except LstmCliError as exc:
        if debug:
            raise
        _say_error(str(exc))
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
    except Exception as exc:
        if debug:
            raise
        _say_error(
            f"internal error: {type(exc).__name__}: {exc} (please report it; --debug shows the traceback)"
        )
        raise typer.Exit(70) from None


def _load(config: Path | None, dtype: DType | None) -> Any:
    from .config import load_example, load_model, require_data

    dtype_name = dtype.value if dtype else None
    if config is None:
        sys.stderr.write(
            f"{PROG}: no CONFIG given; running the built-in example `seed` (the blog's hand check)\n"
        )
        model = load_example("seed", dtype=dtype_name)
    else:
        model = load_model(config, dtype=dtype_name)
    require_data(model)
    return model


def _console() -> Any:
    from rich.console import Console

    return Console(file=sys.stdout, highlight=False, emoji=False, markup=False)


def _exit_for(mismatches: list[Any] | None) -> None:
    if mismatches:
        raise typer.Exit(ExitCode.MISMATCH)
    return None


@app.command()
def forward(
    config: ConfigArgument = None,
    output_format: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
    precision: PrecisionOption = None,
    dtype: DTypeOption = None,
    debug: DebugOption = False,
) -> None:
    """Run the model and show every gate (i, f, g, o), c and h at every timestep, then the outputs.

    Example: lstm-cli forward configs/seed.yaml --format json

    Exit codes: 0 ok, 1 values under `expect:` differ, 2 bad input, 130 interrupted.
    """
    with _edge(debug):
        from .engine import check_expectations, run_model

        model = _load(config, dtype)
        keep_steps = output_format in (Format.table, Format.csv)
        result = run_model(model, record=keep_steps)
        mismatches = check_expectations(model, result.values) if model.expect else None
        if output_format in (Format.json, Format.yaml):
            from .formats import forward_document, to_json, to_yaml

            document = forward_document(model.dtype, result.values, mismatches, precision)
            sys.stdout.write(to_json(document) if output_format is Format.json else to_yaml(document))
        elif output_format is Format.csv:
            from .formats import CSV_HEADER, output_rows, step_rows

            writer = csv.writer(sys.stdout, lineterminator="\n")
            writer.writerow(CSV_HEADER)
            writer.writerows(step_rows(result.traces, precision=precision))
            writer.writerows(output_rows(result.values, precision))
        else:
            from .render.forward import DEFAULT_PRECISION, forward_view

            shown = DEFAULT_PRECISION if precision is None else precision
            _console().print(forward_view(model, result.values, result.traces, mismatches, shown))
        sys.stdout.flush()
        _exit_for(mismatches)


def main() -> None:
    """The `lstm-cli` console script."""
    app()
