"""The commands: typed signatures with their help, each one call into a shared body.

A command that shows a result calls `show` (output.py) with its Output (format, precision, pictures to
save) and its body (bodies.py); the others call `run` (edge.py). Both check the option rules (rules.py)
first. Commands are listed in --help in the order they are declared here.

No `from __future__ import annotations` here: Typer reads these signatures on every run, and string
annotations would be evaluated again each time it looks (about 10 ms of start-up).
"""

import sys
from pathlib import Path
from typing import Annotated

import typer

from lstm_cli.cli import bodies
from lstm_cli.cli.edge import PROG, Command, Group, run
from lstm_cli.cli.loading import Source
from lstm_cli.cli.options import (
    ArchitectureOption,
    BatchFirstOption,
    ConfigArgument,
    DebugOption,
    DenseOption,
    DTypeOption,
    ExplainOption,
    Format,
    FormatOption,
    InitScheme,
    InputOption,
    LayerOption,
    PlotKind,
    PrecisionOption,
    PrefixOption,
    ReturnSequencesOption,
    SampleOption,
    SaveHtmlOption,
    SaveLstmvisOption,
    SaveSvgOption,
    SummaryStyle,
    TableJson,
    TableJsonCsv,
    TableJsonCsvOption,
    TableJsonOption,
    TimeMajorOption,
    TimestepOption,
    UnitRangeOption,
    UnitsOption,
    View,
)
from lstm_cli.cli.output import Output, show

app = typer.Typer(
    cls=Group,
    name=PROG,
    add_completion=False,
    rich_markup_mode=None,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


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


@app.command(cls=Command)
def forward(
    ctx: typer.Context,
    config: ConfigArgument = None,
    input_data: InputOption = None,
    time_major: TimeMajorOption = False,
    batch_first: BatchFirstOption = False,
    architecture: ArchitectureOption = None,
    prefix: PrefixOption = None,
    output_format: FormatOption = Format.table,
    precision: PrecisionOption = None,
    dtype: DTypeOption = None,
    save_svg: SaveSvgOption = None,
    save_html: SaveHtmlOption = None,
    save_lstmvis: SaveLstmvisOption = None,
    debug: DebugOption = False,
) -> None:
    """Run the model and show every gate (i, f, g, o), c and h at every timestep, then the outputs.

    \b
    Example:
      lstm-cli forward configs/seed.yaml --format json

    Exit codes: 0 ok, 1 values under `expect:` differ, 2 bad input, 130 interrupted.
    """
    source = Source(architecture, prefix, input_data, time_major, batch_first)
    output = Output("forward", output_format, precision, save_svg, save_html)
    show(ctx, debug, output, lambda: bodies.forward(config, dtype, source, output, save_lstmvis))


@app.command(cls=Command)
def trace(
    ctx: typer.Context,
    config: ConfigArgument = None,
    step: Annotated[
        bool,
        typer.Option("--step", help="Pause after each timestep: Enter goes on, e explains, q stops."),
    ] = False,
    timestep: TimestepOption = None,
    layer: LayerOption = None,
    sample: SampleOption = None,
    units: UnitRangeOption = None,
    explain: ExplainOption = False,
    view: Annotated[
        View,
        typer.Option(metavar="VIEW", help="table: each step's values; heatmap: i, f, g, o, c, h over time."),
    ] = View.table,
    input_data: InputOption = None,
    time_major: TimeMajorOption = False,
    batch_first: BatchFirstOption = False,
    architecture: ArchitectureOption = None,
    prefix: PrefixOption = None,
    output_format: TableJsonCsvOption = TableJsonCsv.table,
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
    source = Source(architecture, prefix, input_data, time_major, batch_first)
    output = Output("trace", output_format, precision, save_svg, save_html)
    show(
        ctx,
        debug,
        output,
        lambda: bodies.trace(
            config,
            dtype,
            source,
            output,
            layers=layer,
            timesteps=timestep,
            samples=sample,
            units=units,
            view=view,
            step=step,
            explain=explain,
        ),
    )


@app.command(cls=Command)
def stats(
    ctx: typer.Context,
    config: ConfigArgument = None,
    layer: LayerOption = None,
    sample: SampleOption = None,
    input_data: InputOption = None,
    time_major: TimeMajorOption = False,
    batch_first: BatchFirstOption = False,
    architecture: ArchitectureOption = None,
    prefix: PrefixOption = None,
    output_format: TableJsonCsvOption = TableJsonCsv.table,
    precision: PrecisionOption = None,
    dtype: DTypeOption = None,
    save_svg: SaveSvgOption = None,
    save_html: SaveHtmlOption = None,
    debug: DebugOption = False,
) -> None:
    """Per unit: how often each gate is saturated (below 0.1, above 0.9), where c and h lie, dead units.

    \b
    Example:
      lstm-cli stats configs/bidirectional-masking.yaml

    Masked steps are not counted. A summary line per layer says what its gates do.
    """
    source = Source(architecture, prefix, input_data, time_major, batch_first)
    output = Output("stats", output_format, precision, save_svg, save_html)
    show(
        ctx, debug, output, lambda: bodies.stats(config, dtype, source, output, layers=layer, samples=sample)
    )


@app.command(cls=Command)
def plot(
    ctx: typer.Context,
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", metavar="FILE", help="The picture: .png, .svg or .pdf.", show_default=False
        ),
    ],
    config: ConfigArgument = None,
    layer: LayerOption = None,
    sample: Annotated[int, typer.Option(metavar="B", min=0, help="The sample of the batch shown.")] = 0,
    quantity: Annotated[
        list[str] | None,
        typer.Option(metavar="Q", help="Only these of i,f,g,o,c,h (default: all), as i,f; repeatable."),
    ] = None,
    kind: Annotated[
        PlotKind, typer.Option(metavar="KIND", help="lines: each unit over time; heatmap: units x time.")
    ] = PlotKind.lines,
    input_data: InputOption = None,
    time_major: TimeMajorOption = False,
    batch_first: BatchFirstOption = False,
    architecture: ArchitectureOption = None,
    prefix: PrefixOption = None,
    dtype: DTypeOption = None,
    debug: DebugOption = False,
) -> None:
    """Draw i, f, g, o, c and h over time, one panel each, to a .png, .svg or .pdf.

    \b
    Example:
      lstm-cli plot configs/seq2seq.yaml --layer decoder_lstm -o gates.png
      lstm-cli plot configs/bidirectional-masking.yaml --kind heatmap -o bi.svg

    Needs matplotlib: pip install 'lstm-cli[plot]'.
    """
    source = Source(architecture, prefix, input_data, time_major, batch_first)
    run(
        ctx,
        debug,
        lambda: bodies.plot(
            config, dtype, source, output, layers=layer, sample=sample, quantities=quantity, kind=kind.value
        ),
    )


@app.command(cls=Command)
def summary(
    ctx: typer.Context,
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
    output_format: TableJsonCsvOption = TableJsonCsv.table,
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
    source = Source(architecture, prefix, input_data, time_major, batch_first)
    output = Output("summary", output_format, precision)
    show(
        ctx,
        debug,
        output,
        lambda: bodies.summary(
            config,
            source,
            output,
            units=units,
            features=features,
            timesteps=timesteps,
            batch=batch,
            return_sequences=return_sequences,
            bidirectional=bidirectional,
            dense=dense,
            style=style,
            detail=detail,
        ),
    )


@app.command(cls=Command)
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
    run(
        ctx,
        debug,
        lambda: bodies.init(
            example,
            units,
            features,
            timesteps,
            batch,
            return_sequences,
            dense,
            seed=seed,
            scheme=scheme.value,
            precision=precision,
            output=output,
            force=force,
        ),
    )


@app.command(cls=Command)
def decode(
    ctx: typer.Context,
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
    output_format: TableJsonOption = TableJson.table,
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
    source = Source(architecture, prefix, input_data, time_major, batch_first, texts, vocab)
    output = Output("decode", output_format, precision, save_svg, save_html)
    show(
        ctx,
        debug,
        output,
        lambda: bodies.decode(
            config,
            dtype,
            source,
            output,
            feed=feed,
            start=start,
            stop=stop,
            max_steps=max_steps,
            sample=sample,
            top=top,
            show_trace=show_trace,
        ),
    )


@app.command(cls=Command)
def compare(
    ctx: typer.Context,
    a: Annotated[
        Path,
        typer.Argument(metavar="A", help="The reference: a YAML config or model file.", show_default=False),
    ],
    b: Annotated[
        Path,
        typer.Argument(
            metavar="B",
            help="The port: a config or model file, or its numbers (.npy, or .npz/.json by reference).",
            show_default=False,
        ),
    ],
    rtol: Annotated[
        float, typer.Option(metavar="R", min=0.0, help="Relative tolerance (float32 rounding).")
    ] = 1e-5,
    atol: Annotated[float, typer.Option(metavar="T", min=0.0, help="Absolute tolerance.")] = 1e-6,
    seed: Annotated[
        int, typer.Option(metavar="N", min=0, help="The random input's seed, when A has no input.")
    ] = 0,
    explain: Annotated[
        bool, typer.Option("--explain", help="Say what each finding means, and how to fix it.")
    ] = False,
    fix: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="Write B corrected by the best agreeing finding (B a model)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the --fix FILE if it exists.")] = False,
    input_data: InputOption = None,
    time_major: TimeMajorOption = False,
    batch_first: BatchFirstOption = False,
    output_format: TableJsonOption = TableJson.table,
    dtype: DTypeOption = None,
    save_svg: SaveSvgOption = None,
    save_html: SaveHtmlOption = None,
    debug: DebugOption = False,
) -> None:
    """Run A and B on the same input; find the step and gate where they part, and the porting mistake.

    Exit 0 if they agree within tolerance, 1 if they differ, 2 on an error.

    \b
    Example:
      lstm-cli compare model.keras port.pt --explain
      lstm-cli compare model.keras runtime_output.npy --input x.npy
    """
    source = Source(inputs=input_data, time_major=time_major, batch_first=batch_first)
    output = Output("compare", output_format, None, save_svg, save_html)
    tolerance = (rtol, atol)
    show(
        ctx,
        debug,
        output,
        lambda: bodies.compare(a, b, dtype, source, tolerance, seed=seed, explain=explain, fix=(fix, force)),
    )


@app.command(cls=Command)
def backward(
    ctx: typer.Context,
    config: ConfigArgument = None,
    loss: Annotated[
        str | None, typer.Option(metavar="TYPE", help="mse, mae, sum, ...: instead of the config's loss:.")
    ] = None,
    target: Annotated[
        Path | None, typer.Option(metavar="FILE", help="The loss's target (.npy, .npz, .csv).")
    ] = None,
    from_logits: Annotated[
        bool, typer.Option("--from-logits", help="The crossentropy reads logits, as Keras's from_logits.")
    ] = False,
    timestep: TimestepOption = None,
    layer: LayerOption = None,
    sample: SampleOption = None,
    units: UnitRangeOption = None,
    explain: ExplainOption = False,
    check: Annotated[
        bool, typer.Option("--check", help="Compare with central differences in float64.")
    ] = False,
    sgd: Annotated[
        float | None, typer.Option(metavar="LR", help="Write the config after w - LR·dL/dw to -o FILE.")
    ] = None,
    sgd_output: Annotated[
        Path | None, typer.Option("--output", "-o", metavar="FILE", help="Where --sgd writes.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the --sgd FILE if it exists.")] = False,
    input_data: InputOption = None,
    time_major: TimeMajorOption = False,
    batch_first: BatchFirstOption = False,
    architecture: ArchitectureOption = None,
    prefix: PrefixOption = None,
    output_format: TableJsonCsvOption = TableJsonCsv.table,
    precision: PrecisionOption = None,
    dtype: DTypeOption = None,
    debug: DebugOption = False,
) -> None:
    """Backpropagation through time, step by step: every gradient of the loss.

    \b
    Example:
      lstm-cli backward configs/seed-backward.yaml --explain

    Exit codes: 0 ok, 1 values under `expect_gradients:` differ, 2 bad input.
    """
    source = Source(architecture, prefix, input_data, time_major, batch_first)
    output = Output("backward", output_format, precision, None, None)
    show(
        ctx,
        debug,
        output,
        lambda: bodies.backward(
            config,
            dtype,
            source,
            output,
            loss=loss,
            target=target,
            from_logits=from_logits,
            selection=(layer, timestep, sample, units),
            explain=explain,
            check=check,
            sgd=sgd,
            sgd_output=sgd_output,
            force=force,
        ),
    )


@app.command(cls=Command)
def convert(
    ctx: typer.Context,
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
    source = Source(architecture, prefix, input_data, time_major, batch_first)
    run(
        ctx,
        debug,
        lambda: bodies.convert(src, output, source, layer=layer, inline_limit=inline_limit, force=force),
    )
