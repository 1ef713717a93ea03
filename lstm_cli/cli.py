"""The command line: parse, call the library, render, and map errors to exit codes (SPEC §3, §5).

Nothing here computes. Library modules are imported inside the commands, so `--help` stays fast.
"""

from __future__ import annotations

import contextlib
import csv
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from typer.core import TyperCommand, TyperGroup

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

    def list_commands(self, ctx: Any) -> list[str]:
        """In the order a user meets them, not the order they were written."""
        order = ["forward", "trace", "summary", "init", "decode", "convert"]
        names = super().list_commands(ctx)
        return sorted(names, key=lambda name: order.index(name) if name in order else len(order))


class _Command(TyperCommand):
    """Usage lines as people write them: `lstm-cli decode [OPTIONS] CONFIG`, not Typer's `{CONFIG}`."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = super().collect_usage_pieces(ctx)
        return [piece[1:-1] if piece.startswith("{") and piece.endswith("}") else piece for piece in pieces]


app = typer.Typer(
    cls=_Group,
    name=PROG,
    add_completion=False,
    rich_markup_mode=None,
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


class TableFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


class SummaryStyle(StrEnum):
    keras = "keras"
    legacy = "legacy"


class InitScheme(StrEnum):
    keras = "keras"
    pytorch = "pytorch"


def _formats(choices: type[StrEnum]) -> str:
    """'table, json or csv': the choices in the help text, so that a short FORMAT keeps help to a screen."""
    names = [choice.value for choice in choices]
    return f"Output format: {', '.join(names[:-1])} or {names[-1]}."


ConfigArgument = Annotated[
    Path | None,
    typer.Argument(
        metavar="CONFIG",
        help="YAML config or model file; without it, the `seed` example runs.",
        show_default=False,
    ),
]
# How CONFIG is read, and the data for its inputs: one set of options for every command that reads a model.
InputOption = Annotated[
    list[str] | None,
    typer.Option(
        "--input", metavar="[NAME=]FILE", help="Input data: .npy, .npz:KEY, .csv or .tsv; repeatable."
    ),
]
TimeMajorOption = Annotated[
    bool, typer.Option("--time-major", help="--input arrays are (timesteps, batch, features).")
]
BatchFirstOption = Annotated[
    bool, typer.Option("--batch-first", help="--input arrays are (batch, timesteps, features).")
]
ArchitectureOption = Annotated[
    Path | None,
    typer.Option(
        "--config", metavar="ARCH.yaml", help="Architecture of a weights file: .weights.h5, .npz, .pt."
    ),
]
PrefixOption = Annotated[
    str | None,
    typer.Option(
        metavar="NAME",
        help="A state_dict's module, read or written: rnn for rnn.weight_ih_l0.",
    ),
]
PrecisionOption = Annotated[
    int | None,
    typer.Option(
        metavar="N", min=0, max=17, help="Decimal places shown (default: 4 in tables, every digit otherwise)."
    ),
]
DTypeOption = Annotated[
    DType | None,
    typer.Option(metavar="DTYPE", help="float32 or float64; overrides the config's dtype."),
]
DebugOption = Annotated[bool, typer.Option("--debug", help="Show the traceback of an error.")]
SaveSvgOption = Annotated[
    Path | None,
    typer.Option(
        "--save-svg", metavar="FILE", dir_okay=False, help="Also save what is shown, in colour, as SVG."
    ),
]
SaveHtmlOption = Annotated[
    Path | None,
    typer.Option(
        "--save-html", metavar="FILE", dir_okay=False, help="Also save what is shown as an HTML page."
    ),
]


def _say_error(message: str) -> None:
    # One line, whatever the user's text held: a newline or terminal escape in a file name shows escaped.
    shown = "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in message)
    sys.stderr.write(f"{PROG}: error: {shown}\n")


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
    """A command-line LSTM calculator: every gate, cell state and hidden state, as Keras 3 computes them.

    \b
    Example:
      lstm-cli forward configs/seed.yaml
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
    except MemoryError:  # the failed allocation is freed: there is room to say so
        if debug:
            raise
        _say_error("out of memory: the model or its input is too large for this machine")
        raise typer.Exit(ExitCode.USAGE) from None
    except Exception as exc:
        if debug:
            raise
        _say_error(
            f"internal error: {type(exc).__name__}: {exc} (please report it; --debug shows the traceback)"
        )
        raise typer.Exit(70) from None


@dataclass(frozen=True)
class _Source:
    """The shared options: how a model file is read (--config, --prefix) and the data given beside it."""

    architecture: Path | None = None
    prefix: str | None = None
    inputs: list[str] | None = None
    time_major: bool = False
    batch_first: bool = False
    texts: list[str] | None = None
    vocab: Path | None = None

    def given(self) -> list[str]:
        return _given(
            {
                "--input": self.inputs,
                "--time-major": self.time_major,
                "--batch-first": self.batch_first,
                "--config": self.architecture,
                "--prefix": self.prefix,
                "--text": self.texts,
                "--vocab": self.vocab,
            }
        )

    def options(self) -> dict[str, Any]:
        """open_model's keywords."""
        from .sources import Inputs

        if self.time_major and self.batch_first:
            raise LstmCliError("--time-major and --batch-first contradict each other; give one")
        layout: Literal["time-major", "batch-first"] | None = (
            "time-major" if self.time_major else "batch-first" if self.batch_first else None
        )
        inputs = Inputs(tuple(self.inputs or ()), layout, tuple(self.texts or ()), self.vocab)
        return {"config": self.architecture, "prefix": self.prefix, "inputs": inputs}


def _load(config: Path | None, dtype: DType | None, source: _Source) -> Any:
    from .config import load_example, require_data

    dtype_name = dtype.value if dtype else None
    if config is None:
        _no_source(source, "the built-in example")
        sys.stderr.write(
            f"{PROG}: no CONFIG given; running the built-in example `seed` (the blog's hand check)\n"
        )
        model = load_example("seed", dtype=dtype_name)
    else:
        model = _load_file(config, dtype_name, source)
    require_data(model)
    return model


def _no_source(source: _Source, instead: str) -> None:
    given = source.given()
    if given:
        raise LstmCliError(f"{given[0]} goes with a CONFIG or model file, not {instead}; name one")


def _load_file(config: Path, dtype: str | None = None, source: _Source | None = None) -> Any:
    """The config or model file at `config`, with the inputs `source` gives; notes go to stderr. Where
    there is no file but a built-in example has its name (`seed`, or `configs/seed.yaml` run outside the
    repository), the error says how to get the example."""
    from .config import example_names
    from .sources import open_model

    if not config.exists() and config.suffix in ("", ".yaml") and config.stem in example_names():
        raise LstmCliError(
            f"{config}: no such file; {config.stem!r} is a built-in example, which "
            f"`{PROG} init --example {config.stem} -o {config.stem}.yaml` writes"
        )
    model, notes = open_model(config, dtype=dtype, **(source or _Source()).options())
    _notes(notes)
    return model


def _notes(notes: Sequence[str]) -> None:
    for note in notes:
        sys.stderr.write(f"{PROG}: note: {note}\n")


def _console(record: bool = False) -> Any:
    from rich.console import Console

    return Console(file=sys.stdout, highlight=False, emoji=False, markup=False, record=record)


def _saving(output_format: str, save_svg: Path | None, save_html: Path | None) -> bool:
    """Check before anything runs that the pictures can be saved: a table view, into a folder that exists."""
    for option, path in (("--save-svg", save_svg), ("--save-html", save_html)):
        if path is None:
            continue
        if output_format != "table":
            raise LstmCliError(
                f"{option} saves the table view; it does not apply to --format {output_format}"
            )
        if not path.parent.is_dir():
            raise LstmCliError(f"{option} {path}: the folder {path.parent} does not exist")
    return save_svg is not None or save_html is not None


def _save(console: Any, save_svg: Path | None, save_html: Path | None, title: str) -> None:
    """Exactly what the console showed, with its colours (even where NO_COLOR kept them off the screen)."""
    try:
        if save_svg is not None:
            console.save_svg(str(save_svg), title=title, clear=False)
        if save_html is not None:
            console.save_html(str(save_html), clear=False)
    except OSError as exc:
        raise LstmCliError(f"cannot save {exc.filename}: {exc.strerror}") from None


def _exit_for(mismatches: list[Any] | None, listed: bool = True) -> None:
    """Exit 1 if values under `expect:` differ; a format with no place for them (csv) says so on stderr."""
    if mismatches:
        if not listed:
            values = f"{len(mismatches)} values" if len(mismatches) > 1 else "1 value"
            verb = "differ" if len(mismatches) > 1 else "differs"
            sys.stderr.write(
                f"{PROG}: {values} under expect: {verb} from the run; --format json lists them\n"
            )
        raise typer.Exit(ExitCode.MISMATCH)
    return None


@app.command(cls=_Command)
def forward(
    config: ConfigArgument = None,
    input_data: InputOption = None,
    time_major: TimeMajorOption = False,
    batch_first: BatchFirstOption = False,
    architecture: ArchitectureOption = None,
    prefix: PrefixOption = None,
    output_format: Annotated[
        Format, typer.Option("--format", "-f", metavar="FORMAT", help=_formats(Format))
    ] = Format.table,
    precision: PrecisionOption = None,
    dtype: DTypeOption = None,
    save_svg: SaveSvgOption = None,
    save_html: SaveHtmlOption = None,
    debug: DebugOption = False,
) -> None:
    """Run the model and show every gate (i, f, g, o), c and h at every timestep, then the outputs.

    \b
    Example:
      lstm-cli forward configs/seed.yaml --format json

    Exit codes: 0 ok, 1 values under `expect:` differ, 2 bad input, 130 interrupted.
    """
    with _edge(debug):
        from .engine import check_expectations, run_model

        recording = _saving(output_format.value, save_svg, save_html)
        source = _Source(architecture, prefix, input_data, time_major, batch_first)
        model = _load(config, dtype, source)
        window = None
        if output_format is Format.table:  # a bounded table keeps only the steps it shows
            from .render.forward import table_window

            window = table_window(model.shapes[next(iter(model.inputs))][0] or 1)
        result = run_model(model, record=output_format in (Format.table, Format.csv), window=window)
        mismatches = check_expectations(model, result.values) if model.expect else None
        if output_format in (Format.json, Format.yaml):
            from .formats import forward_document, to_yaml, write_json

            if output_format is Format.json:  # streamed: long sequences never become one big string
                document = forward_document(model.dtype, result.values, mismatches, lists=False)
                write_json(sys.stdout, document, precision)
            else:
                sys.stdout.write(to_yaml(forward_document(model.dtype, result.values, mismatches, precision)))
        elif output_format is Format.csv:
            from .formats import CSV_HEADER, output_rows, step_rows

            writer = csv.writer(sys.stdout, lineterminator="\n")
            writer.writerow(CSV_HEADER)
            writer.writerows(step_rows(result.traces, precision=precision))
            writer.writerows(output_rows(result.values, precision))
        else:
            from .render.forward import forward_view
            from .text import DEFAULT_PRECISION

            shown = DEFAULT_PRECISION if precision is None else precision
            console = _console(record=recording)
            console.print(forward_view(model, result.values, result.traces, mismatches, shown))
            _save(console, save_svg, save_html, f"{PROG} forward")
        sys.stdout.flush()
        _exit_for(mismatches, listed=output_format is not Format.csv)


UnitsOption = Annotated[
    list[int] | None,
    typer.Option(
        "--units", metavar="N", min=1, max=65_536, help="An LSTM layer of N units; repeat to stack layers."
    ),
]
DenseOption = Annotated[
    list[int] | None,
    typer.Option(
        "--dense",
        metavar="N",
        min=1,
        max=65_536,
        help="A Dense layer of N units after the LSTMs; repeatable.",
    ),
]
ReturnSequencesOption = Annotated[
    bool, typer.Option("--return-sequences", help="The last LSTM layer returns its whole sequence.")
]


@app.command(cls=_Command)
def summary(
    config: Annotated[
        Path | None,
        typer.Argument(
            metavar="CONFIG",
            help="YAML config (weights optional) or model file; or use flags.",
            show_default=False,
        ),
    ] = None,
    units: UnitsOption = None,
    features: Annotated[
        int | None, typer.Option(metavar="F", min=1, help="Input features per timestep.")
    ] = None,
    timesteps: Annotated[
        int | None, typer.Option(metavar="T", min=1, help="Sequence length (default: None, any length).")
    ] = None,
    batch: Annotated[
        int | None, typer.Option(metavar="B", min=1, help="Batch size (default: None, any batch).")
    ] = None,
    return_sequences: ReturnSequencesOption = False,
    bidirectional: Annotated[
        bool, typer.Option("--bidirectional", help="Wrap each LSTM layer in Bidirectional (concat).")
    ] = False,
    dense: DenseOption = None,
    style: Annotated[
        SummaryStyle, typer.Option(metavar="STYLE", help="keras: Keras 3's table; legacy: tf.keras 2's text.")
    ] = SummaryStyle.keras,
    detail: Annotated[
        bool,
        typer.Option(
            "--detail", help="Add each weight's shape, the formulas, PyTorch's count, multiply-adds."
        ),
    ] = False,
    input_data: InputOption = None,
    time_major: TimeMajorOption = False,
    batch_first: BatchFirstOption = False,
    architecture: ArchitectureOption = None,
    prefix: PrefixOption = None,
    output_format: Annotated[
        TableFormat, typer.Option("--format", "-f", metavar="FORMAT", help=_formats(TableFormat))
    ] = TableFormat.table,
    precision: Annotated[
        int | None,
        typer.Option(
            metavar="N", min=0, max=17, help="Decimal places of the byte sizes (default 2, as Keras)."
        ),
    ] = None,
    debug: DebugOption = False,
) -> None:
    """Show layers, output shapes and parameter counts, as Keras's model.summary() does.

    \b
    Example:
      lstm-cli summary --units 3 --features 2 --timesteps 3 \\
        --return-sequences --dense 1
      lstm-cli summary configs/seed.yaml --detail
    """
    with _edge(debug):
        from .summary import csv_rows, from_architecture, from_model, summary_document

        given = _given(
            {
                "--units": units,
                "--features": features,
                "--timesteps": timesteps,
                "--return-sequences": return_sequences,
                "--bidirectional": bidirectional,
                "--dense": dense,
            }
        )
        if output_format is not TableFormat.table:
            table_only = _given(
                {
                    "--style": style is SummaryStyle.legacy,
                    "--detail": detail and output_format is TableFormat.csv,  # json carries the detail
                }
            )
            if table_only:
                raise LstmCliError(
                    f"{table_only[0]} belongs to the table format, not --format {output_format}"
                )
        if config is not None and given:
            raise LstmCliError(f"give a CONFIG or flags that describe a model ({', '.join(given)}), not both")
        if units:
            _no_source(_Source(architecture, prefix, input_data, time_major, batch_first), "flags")
            if features is None:
                raise LstmCliError("--units needs --features F, the input's width")
            arch = _architecture(units, features, timesteps, batch, return_sequences, dense, bidirectional)
            result = from_architecture(arch)
        else:
            if given:
                raise LstmCliError(f"{given[0]} describes a model together with --units N (or give a CONFIG)")
            from .config import load_example

            source = _Source(architecture, prefix, input_data, time_major, batch_first)
            if config is None:
                _no_source(source, "the built-in example")
                sys.stderr.write(
                    f"{PROG}: no CONFIG or --units given; summarising the built-in example `seed`\n"
                )
            model = load_example("seed") if config is None else _load_file(config, source=source)
            result = from_model(model, batch, mask_ops=style is SummaryStyle.keras)
        if output_format is TableFormat.json:
            from .formats import to_json

            sys.stdout.write(to_json(summary_document(result, detail)))
        elif output_format is TableFormat.csv:
            from .formats import CSV_HEADER  # numpy's import time, paid by csv alone

            writer = csv.writer(sys.stdout, lineterminator="\n")
            writer.writerow(CSV_HEADER)
            writer.writerows(csv_rows(result))
        else:
            from .render.summary import detail_view, keras_view, legacy_text

            console = _console()
            if style is SummaryStyle.legacy:
                sys.stdout.write(legacy_text(result))
            else:
                console.print(keras_view(result, console.width, 2 if precision is None else precision))
            if detail:
                console.print(detail_view(result))
        sys.stdout.flush()


def _given(flags: dict[str, Any]) -> list[str]:
    """The flags the user set (a flag left at its default is None, False or empty)."""
    return [flag for flag, value in flags.items() if value not in (None, False, [])]


def _architecture(
    units: list[int],
    features: int,
    timesteps: int | None,
    batch: int | None,
    return_sequences: bool,
    dense: list[int] | None,
    bidirectional: bool = False,
) -> Any:
    from .architecture import Architecture

    return Architecture(
        units=tuple(units),
        features=features,
        timesteps=timesteps,
        batch=batch,
        return_sequences=return_sequences,
        bidirectional=bidirectional,
        dense=tuple(dense or ()),
    )


@app.command(cls=_Command)
def init(
    ctx: typer.Context,
    units: UnitsOption = None,
    features: Annotated[int, typer.Option(metavar="F", min=1, help="Input features per timestep.")] = 2,
    timesteps: Annotated[int, typer.Option(metavar="T", min=1, help="Timesteps of the random input.")] = 3,
    batch: Annotated[int, typer.Option(metavar="B", min=1, help="Sequences in the random input.")] = 1,
    return_sequences: ReturnSequencesOption = False,
    dense: DenseOption = None,
    seed: Annotated[
        int | None,
        typer.Option(metavar="S", min=0, help="Random seed (default: a fresh one); the file records it."),
    ] = None,
    scheme: Annotated[
        InitScheme,
        typer.Option(
            "--init", metavar="SCHEME", help="keras: Keras's default initialisers; pytorch: PyTorch's."
        ),
    ] = InitScheme.keras,
    precision: Annotated[int, typer.Option(metavar="N", min=1, max=17, help="Decimal places written.")] = 4,
    example: Annotated[
        str | None,
        typer.Option(metavar="NAME", help="Write the built-in example NAME instead; `list` lists them."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", metavar="FILE", help="Write to FILE instead of stdout.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite FILE if it exists.")] = False,
    debug: DebugOption = False,
) -> None:
    """Write a runnable config: Keras-initialised weights (seeded) and a random input, or an example.

    \b
    Example:
      lstm-cli init --units 3 --features 2 --seed 0 -o model.yaml
      lstm-cli forward model.yaml

    Default: one LSTM of 3 units. `lstm-cli init --example list` shows the built-in examples.
    """
    with _edge(debug):
        from .config import example_text
        from .init import example_listing, fresh_seed, init_config, write_new_file

        if example is not None:
            model_options = ("units", "features", "timesteps", "batch", "return_sequences", "dense", "seed")
            extra = [
                f"--{name.replace('_', '-')}"
                for name in (*model_options, "scheme", "precision")
                if ctx.get_parameter_source(name).name == "COMMANDLINE"  # type: ignore[union-attr]
            ]
            extra = ["--init" if flag == "--scheme" else flag for flag in extra]
            if extra:
                raise LstmCliError(f"--example writes a built-in example as it is; drop {', '.join(extra)}")
            if example == "list":
                if output is not None or force:
                    raise LstmCliError("--example list prints the examples' names; drop -o and --force")
                sys.stdout.write(example_listing())
                return
            text = example_text(example)
        else:
            arch = _architecture(units or [3], features, timesteps, batch, return_sequences, dense)
            chosen = fresh_seed() if seed is None else seed
            text = init_config(arch, seed=chosen, scheme=scheme.value, precision=precision)
        if output is None:
            sys.stdout.write(text)
        else:
            write_new_file(output, text, force=force)
            sys.stderr.write(f"{PROG}: wrote {output}\n")
        sys.stdout.flush()


class View(StrEnum):
    table = "table"
    heatmap = "heatmap"


@app.command(cls=_Command)
def trace(
    config: ConfigArgument = None,
    step: Annotated[
        bool,
        typer.Option("--step", help="Pause after each timestep: Enter goes on, e explains, q stops."),
    ] = False,
    timestep: Annotated[
        list[str] | None,
        typer.Option(metavar="T", help="Only timestep T (3, -1) or a range (2:5 is 2, 3, 4); repeatable."),
    ] = None,
    layer: Annotated[
        list[str] | None, typer.Option(metavar="NAME", help="Only this LSTM layer; repeatable.")
    ] = None,
    sample: Annotated[
        list[int] | None, typer.Option(metavar="B", min=0, help="Only sample B of the batch; repeatable.")
    ] = None,
    units: Annotated[
        str | None, typer.Option(metavar="A:B", help="The units to show: a range such as 0:8, or one unit.")
    ] = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="Write out each value's arithmetic with its numbers.")
    ] = False,
    view: Annotated[
        View,
        typer.Option(metavar="VIEW", help="table: each step's values; heatmap: i, f, g, o, c, h over time."),
    ] = View.table,
    input_data: InputOption = None,
    time_major: TimeMajorOption = False,
    batch_first: BatchFirstOption = False,
    architecture: ArchitectureOption = None,
    prefix: PrefixOption = None,
    output_format: Annotated[
        TableFormat, typer.Option("--format", "-f", metavar="FORMAT", help=_formats(TableFormat))
    ] = TableFormat.table,
    precision: PrecisionOption = None,
    dtype: DTypeOption = None,
    save_svg: SaveSvgOption = None,
    save_html: SaveHtmlOption = None,
    debug: DebugOption = False,
) -> None:
    """Walk the forward pass one timestep at a time: x_t, h_prev, c_prev, z, the gates, c and h.

    \b
    Example:
      lstm-cli trace configs/seed-expect.yaml --explain

    Values under `expect:` that differ are explained first: which step, which term, where they part.
    Exit codes: 0 ok, 1 values under `expect:` differ, 2 bad input, 130 interrupted.
    """
    with _edge(debug):
        from .tracing import Selection, run_trace

        table_only = {"--step": step, "--explain": explain, "--view heatmap": view is View.heatmap}
        for option, given in table_only.items():
            if given and output_format is not TableFormat.table:
                raise LstmCliError(
                    f"{option} shows the table format; it does not apply to --format {output_format}"
                )
        if view is View.heatmap and (step or explain):
            raise LstmCliError(
                f"{'--step' if step else '--explain'} shows the table view, not --view heatmap"
            )
        recording = _saving(output_format.value, save_svg, save_html)
        selection = Selection(tuple(layer or ()), tuple(timestep or ()), tuple(sample or ()), units)
        source = _Source(architecture, prefix, input_data, time_major, batch_first)
        run = run_trace(_load(config, dtype, source), selection)
        if output_format is TableFormat.json:
            from .formats import write_json
            from .tracing import trace_document

            write_json(sys.stdout, trace_document(run), precision)  # streamed, a row at a time
        elif output_format is TableFormat.csv:
            from .tracing import trace_rows

            csv.writer(sys.stdout, lineterminator="\n").writerows(trace_rows(run, precision))
        else:
            from .render.trace import TraceView
            from .text import DEFAULT_PRECISION

            console = _console(record=recording)
            shown = DEFAULT_PRECISION if precision is None else precision
            trace_view = TraceView(run, shown, explain, console.width)
            if view is View.heatmap:
                console.print(trace_view.heatmap())
            elif step:
                _walk(console, trace_view)
            else:
                console.print(trace_view.view())
            _save(console, save_svg, save_html, f"{PROG} trace")
        sys.stdout.flush()
        _exit_for(run.mismatches, listed=output_format is not TableFormat.csv)


def _walk(console: Any, trace_view: Any) -> None:
    """`--step`: each timestep, then a pause. Enter goes on, e explains the step, q stops; at the end of
    input the rest runs without pausing."""
    for part in trace_view.intro():
        console.print(part)
    last = len(trace_view.run.blocks) - 1
    choices = "q: stop" if trace_view.explain else "e: explain, q: stop"
    for position, page in enumerate(trace_view.pages()):
        console.print(page.view)
        enter = "Enter: finish" if position == last else "Enter: next step"
        answer = _ask(f"{page.label}. {enter}, {choices} ")
        while answer == "e" and not trace_view.explain:
            console.print(trace_view.explanation(page.block))
            answer = _ask(f"{page.label}. {enter}, q: stop ")
        if answer is None:
            if position < last:
                console.print(trace_view.rest(position))
            break
        if answer in ("q", "quit"):
            if position < last:
                sys.stderr.write(f"{PROG}: stopped after {page.label}\n")
            break


def _ask(prompt: str) -> str | None:
    """One answer from stdin after a prompt on stderr; None at the end of input. From a terminal, a key is
    an answer as it is pressed (Enter, e, q); from a pipe, a line is."""
    sys.stdout.flush()
    sys.stderr.write(prompt)
    sys.stderr.flush()
    if sys.stdin is not None and sys.stdin.isatty():
        with contextlib.suppress(_NoKeys):
            key = _key()
            sys.stderr.write(f"{key or ''}\n")  # the terminal does not echo a key read this way
            return key
    line = sys.stdin.readline() if sys.stdin is not None else ""
    if not line or not sys.stdin.isatty():
        sys.stderr.write("\n")  # a terminal echoes the Enter; a pipe does not
    return line.strip().lower() if line else None


class _NoKeys(Exception):
    """The terminal cannot give single keys (not POSIX): read lines instead."""


def _key() -> str | None:
    """One key from the terminal, without waiting for Enter: "" for Enter, "e" or "q" (other keys are
    ignored), None for Ctrl-D. Ctrl-C still interrupts, and the terminal's settings are restored whatever
    happens."""
    try:
        import termios
        import tty
    except ImportError:
        raise _NoKeys from None
    fd = sys.stdin.fileno()
    try:
        saved = termios.tcgetattr(fd)
    except termios.error:
        raise _NoKeys from None
    try:
        tty.setcbreak(fd)  # no line buffering and no echo; signals stay on
        while True:
            key = os.read(fd, 1).decode("ascii", "replace").lower()
            if key in ("", "\x04"):  # the end of input, or Ctrl-D
                return None
            if key in ("\n", "\r"):
                return ""
            if key in ("e", "q"):
                return key
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


class DecodeFormat(StrEnum):
    table = "table"
    json = "json"


@app.command(cls=_Command)
def decode(
    config: Annotated[
        Path,
        typer.Argument(
            metavar="CONFIG",
            help="YAML config or model file: an encoder and a decoder.",
            show_default=False,
        ),
    ],
    feed: Annotated[
        str,
        typer.Option(metavar="INPUT", help="The input fed one token at a time.", show_default=False),
    ],
    start: Annotated[str, typer.Option(metavar="TOKEN", help="The token fed first.", show_default=False)],
    stop: Annotated[
        str | None, typer.Option(metavar="TOKEN", help="End after this token (it is kept, as in Keras).")
    ] = None,
    max_steps: Annotated[int, typer.Option(metavar="N", min=1, help="At most N tokens.")] = 20,
    sample: Annotated[
        int | None,
        typer.Option(metavar="B", min=0, help="The sequence to decode, of a batch of several."),
    ] = None,
    vocab: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="The vocab, one token per line, for a model without one."),
    ] = None,
    texts: Annotated[
        list[str] | None,
        typer.Option("--text", metavar="NAME=TEXT", help="An input as text, split into the vocab's tokens."),
    ] = None,
    top: Annotated[int, typer.Option(metavar="K", min=1, help="Probabilities shown per step.")] = 3,
    show_trace: Annotated[
        bool, typer.Option("--trace", help="Also show the decoder's gates, c and h at each step.")
    ] = False,
    input_data: InputOption = None,
    time_major: TimeMajorOption = False,
    batch_first: BatchFirstOption = False,
    architecture: ArchitectureOption = None,
    prefix: PrefixOption = None,
    output_format: Annotated[
        DecodeFormat, typer.Option("--format", "-f", metavar="FORMAT", help=_formats(DecodeFormat))
    ] = DecodeFormat.table,
    precision: PrecisionOption = None,
    dtype: DTypeOption = None,
    save_svg: SaveSvgOption = None,
    save_html: SaveHtmlOption = None,
    debug: DebugOption = False,
) -> None:
    """Greedy seq2seq decoding: run the encoder once, then feed INPUT one token at a time, each the argmax.

    \b
    Example:
      lstm-cli decode configs/seq2seq.yaml --feed decoder_inputs \\
        --start '<s>' --stop '</s>'
    """
    with _edge(debug):
        from .decoding import decode as decode_greedily

        if show_trace and output_format is not DecodeFormat.table:
            raise LstmCliError(
                f"--trace shows the table format; it does not apply to --format {output_format}"
            )
        recording = _saving(output_format.value, save_svg, save_html)
        source = _Source(architecture, prefix, input_data, time_major, batch_first, texts, vocab)
        model = _load_file(config, dtype.value if dtype else None, source)
        decoding = decode_greedily(
            model, feed, start, stop=stop, max_steps=max_steps, sample=sample, record=show_trace
        )
        if output_format is DecodeFormat.json:
            from .decoding import decode_document
            from .formats import to_json

            sys.stdout.write(to_json(decode_document(decoding, precision)))
        else:
            from .render.decode import decode_view
            from .text import DEFAULT_PRECISION

            shown = DEFAULT_PRECISION if precision is None else precision
            console = _console(record=recording)
            view = decode_view(
                decoding, description=model.description, top=top, precision=shown, trace=show_trace
            )
            console.print(view)
            _save(console, save_svg, save_html, f"{PROG} decode")
        sys.stdout.flush()


@app.command(cls=_Command)
def convert(
    src: Annotated[
        Path,
        typer.Argument(
            metavar="SRC",
            help="Model file: .keras, .weights.h5, .h5 (tf.keras 2), .pt/.pth, .npz, .onnx or YAML.",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            metavar="DST",
            help="Write .yaml (- for stdout), .weights.h5 (Keras 3), .pt/.pth (state_dict), .npz, .onnx.",
            show_default=False,
        ),
    ],
    input_data: InputOption = None,
    time_major: TimeMajorOption = False,
    batch_first: BatchFirstOption = False,
    architecture: ArchitectureOption = None,
    prefix: PrefixOption = None,
    layer: Annotated[
        str | None,
        typer.Option(
            metavar="NAME", help="Write this layer alone to a .pt (nn.LSTM, nn.Linear, nn.Embedding)."
        ),
    ] = None,
    inline_limit: Annotated[
        int,
        typer.Option(
            metavar="N", min=0, help="YAML holds up to N values inline; beyond, they go to DST.npz."
        ),
    ] = 10_000,
    force: Annotated[bool, typer.Option("--force", help="Overwrite DST if it exists.")] = False,
    debug: DebugOption = False,
) -> None:
    """Convert model files: Keras 3 .keras/.weights.h5, tf.keras 2 .h5, PyTorch, .npz, ONNX, YAML.

    \b
    Example:
      lstm-cli convert model.keras -o model.yaml --input x.npy
      lstm-cli forward model.yaml

    \b
    Back to a framework:
      lstm-cli convert model.yaml -o model.weights.h5    (or .pt, .onnx)
      lstm-cli convert model.yaml --layer lstm -o lstm.pt    (one layer alone)

    Keras files need h5py, .pt files torch and .onnx files onnx: install the keras, torch or onnx
    extra of lstm-cli.
    """
    with _edge(debug):
        from .modelfiles import convert as convert_file

        source = _Source(architecture, prefix, input_data, time_major, batch_first)
        report = convert_file(
            src, output, **source.options(), layer=layer, inline_limit=inline_limit, force=force
        )
        _notes(report.notes)
        if report.text is not None:
            sys.stdout.write(report.text)
            sys.stdout.flush()
        for path in report.written:
            sys.stderr.write(f"{PROG}: wrote {path}\n")


def main() -> None:
    """The `lstm-cli` console script."""
    app()
