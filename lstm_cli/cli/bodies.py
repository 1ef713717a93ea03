"""What each command does once its options are parsed and checked: call the library, and say what the
result is in each format the command offers (`Views`), for output.write to write.

Library modules are imported inside the bodies, and renderers inside the table views, so that `--help`
and `summary` from flags import neither numpy nor YAML, and a JSON run imports no Rich.
"""

from __future__ import annotations

import sys
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast

from lstm_cli.cli.edge import PROG, notes
from lstm_cli.cli.loading import Source, load, load_file
from lstm_cli.cli.output import Output, Views
from lstm_cli.errors import LstmCliError

if TYPE_CHECKING:
    from rich.console import Console

    from lstm_cli.architecture import Architecture
    from lstm_cli.model import Array, LossSpec, Model


def forward(
    config: Path | None, dtype: str | None, source: Source, output: Output, save_lstmvis: Path | None = None
) -> Views:
    from lstm_cli.engine import check_expectations, run_model
    from lstm_cli.formats import CSV_HEADER, forward_document, output_rows, step_rows

    model = load(config, dtype, source)
    if save_lstmvis is not None:
        lstmvis(model, "seed" if config is None else config.stem, save_lstmvis, output.format == "table")
    window = None
    if output.format == "table":  # a bounded table keeps only the steps it shows
        from lstm_cli.render.forward import table_window

        window = table_window(model.shapes[next(iter(model.inputs))][0] or 1)
    from lstm_cli.cli.progress import steps_progress

    with steps_progress(model, "forward", output.format == "table") as progress:
        result = run_model(model, record=output.format in ("table", "csv"), window=window, progress=progress)
    mismatches = check_expectations(model, result.values) if model.expect else None

    def table(console: Console) -> None:
        from lstm_cli.render.forward import forward_view
        from lstm_cli.text import DEFAULT_PRECISION

        places = output.places(DEFAULT_PRECISION)
        console.print(forward_view(model, result.values, result.traces, mismatches, places))

    return Views(
        table,
        json=lambda: forward_document(model.dtype, result.values, mismatches, lists=False),
        yaml=lambda: forward_document(model.dtype, result.values, mismatches, output.precision),
        csv=lambda: chain(
            [CSV_HEADER],
            step_rows(result.traces, precision=output.precision),
            output_rows(result.values, output.precision),
        ),
        mismatches=mismatches,
    )


def lstmvis(model: Model, name: str, directory: Path, shown: bool) -> None:
    """forward --save-lstmvis: every step of every recurrent layer, in LSTMVis's project layout. h5py is
    looked for first, so that a run without it costs nothing."""
    from lstm_cli.lstmvis import lstmvis_project, save_project
    from lstm_cli.modelfiles.common import optional_module
    from lstm_cli.series import run_series

    optional_module("h5py", "--save-lstmvis")
    from lstm_cli.cli.progress import steps_progress

    with steps_progress(model, "forward --save-lstmvis", shown) as progress:
        series = run_series(model, command="forward", progress=progress)
    project = lstmvis_project(model, series, name)
    notes(project.notes)
    for path in save_project(project, directory):
        sys.stderr.write(f"{PROG}: wrote {path}\n")


def trace(
    config: Path | None,
    dtype: str | None,
    source: Source,
    output: Output,
    *,
    layers: list[str] | None,
    timesteps: list[str] | None,
    samples: list[int] | None,
    units: str | None,
    view: str,
    step: bool,
    explain: bool,
) -> Views:
    from lstm_cli.tracing import Selection, run_trace, trace_document, trace_rows

    selection = Selection(tuple(layers or ()), tuple(timesteps or ()), tuple(samples or ()), units)
    model = load(config, dtype, source)
    from lstm_cli.cli.progress import steps_progress

    with steps_progress(model, "trace", output.format == "table") as progress:
        run = run_trace(model, selection, progress)

    def table(console: Console) -> None:
        from lstm_cli.render.trace import TraceView
        from lstm_cli.text import DEFAULT_PRECISION

        trace_view = TraceView(run, output.places(DEFAULT_PRECISION), explain, console.width)
        if view == "heatmap":
            console.print(trace_view.heatmap())
        elif step:
            from lstm_cli.cli.stepping import walk

            walk(console, trace_view)
        else:
            console.print(trace_view.view())

    return Views(
        table,
        json=lambda: trace_document(run),  # streamed, a row at a time
        csv=lambda: trace_rows(run, output.precision),
        mismatches=run.mismatches,
    )


def summary(
    config: Path | None,
    source: Source,
    output: Output,
    *,
    units: list[int] | None,
    features: int | None,
    timesteps: int | None,
    batch: int | None,
    return_sequences: bool,
    bidirectional: bool,
    dense: list[int] | None,
    style: str,
    detail: bool,
) -> Views:
    """The model the flags describe (--units ...), else CONFIG's, else the built-in example's."""
    from lstm_cli.summary import csv_rows, from_architecture, from_model, summary_document

    if units:
        features = cast(int, features)  # the option rules make --units need --features
        flags = architecture(units, features, timesteps, batch, return_sequences, dense, bidirectional)
        result = from_architecture(flags)
    else:
        from lstm_cli.config import load_example

        if config is None:
            sys.stderr.write(f"{PROG}: no CONFIG or --units given; summarising the built-in example `seed`\n")
        model = load_example("seed") if config is None else load_file(config, source=source)
        result = from_model(model, batch, mask_ops=style == "keras")

    def table(console: Console) -> None:
        from lstm_cli.render.summary import detail_view, keras_view, legacy_text

        if style == "legacy":
            sys.stdout.write(legacy_text(result))
        else:
            console.print(keras_view(result, console.width, output.places(2)))  # 2, as Keras
        if detail:
            console.print(detail_view(result))

    def rows() -> chain[tuple[object, ...]]:
        from lstm_cli.formats import CSV_HEADER  # numpy's import time, paid by csv alone

        return chain([CSV_HEADER], csv_rows(result))

    return Views(table, json=lambda: summary_document(result, detail), csv=rows)


def decode(
    config: Path,
    dtype: str | None,
    source: Source,
    output: Output,
    *,
    feed: str,
    start: str,
    stop: str | None,
    max_steps: int,
    sample: int | None,
    top: int,
    show_trace: bool,
) -> Views:
    from lstm_cli.decoding import decode as decode_greedily
    from lstm_cli.decoding import decode_document

    model = load_file(config, dtype, source)
    decoding = decode_greedily(
        model, feed, start, stop=stop, max_steps=max_steps, sample=sample, record=show_trace
    )

    def table(console: Console) -> None:
        from lstm_cli.render.decode import decode_view
        from lstm_cli.text import DEFAULT_PRECISION

        places = output.places(DEFAULT_PRECISION)
        console.print(
            decode_view(decoding, description=model.description, top=top, precision=places, trace=show_trace)
        )

    return Views(table, json=lambda: decode_document(decoding, output.precision))


def architecture(
    units: list[int],
    features: int,
    timesteps: int | None,
    batch: int | None,
    return_sequences: bool,
    dense: list[int] | None,
    bidirectional: bool = False,
) -> Architecture:
    """The model that summary's and init's flags describe."""
    from lstm_cli.architecture import Architecture

    return Architecture(
        units=tuple(units),
        features=features,
        timesteps=timesteps,
        batch=batch,
        return_sequences=return_sequences,
        bidirectional=bidirectional,
        dense=tuple(dense or ()),
    )


def init(
    example: str | None,
    units: list[int] | None,
    features: int,
    timesteps: int,
    batch: int,
    return_sequences: bool,
    dense: list[int] | None,
    *,
    seed: int | None,
    scheme: Literal["keras", "pytorch"],
    precision: int,
    output: Path | None,
    force: bool,
) -> None:
    """A built-in example as it is, the examples' names (`--example list`), or a config the flags describe,
    with weights from the initialiser `scheme` (seeded) and a random input."""
    from lstm_cli.config import example_text
    from lstm_cli.init import example_listing, fresh_seed, init_config

    if example == "list":
        text = example_listing()
    elif example is not None:
        text = example_text(example)
    else:
        flags = architecture(units or [3], features, timesteps, batch, return_sequences, dense)
        chosen = fresh_seed() if seed is None else seed
        text = init_config(flags, seed=chosen, scheme=scheme, precision=precision)
    write_text(text, output, force)


def write_text(text: str, output: Path | None, force: bool) -> None:
    """`text` to stdout, or to the new file `output` (an existing one only with --force)."""
    from lstm_cli.init import write_new_file

    if output is None:
        sys.stdout.write(text)
    else:
        write_new_file(output, text, force=force)
        sys.stderr.write(f"{PROG}: wrote {output}\n")
    sys.stdout.flush()


def convert(
    src: Path, destination: Path, source: Source, *, layer: str | None, inline_limit: int, force: bool
) -> None:
    from lstm_cli.modelfiles import convert as convert_file

    report = convert_file(
        src, destination, **source.options(), layer=layer, inline_limit=inline_limit, force=force
    )
    notes(report.notes)
    if report.text is not None:
        sys.stdout.write(report.text)
        sys.stdout.flush()
    for path in report.written:
        sys.stderr.write(f"{PROG}: wrote {path}\n")


def compare(
    a: Path,
    b: Path,
    dtype: str | None,
    source: Source,
    tolerance: tuple[float, float],
    *,
    seed: int,
    explain: bool,
    fix: tuple[Path | None, bool],
) -> Views:
    from lstm_cli.comparison import run_comparison
    from lstm_cli.numbers import read_numbers

    model_a = load_file(a, dtype, source)
    references = set(model_a.shapes) - set(model_a.inputs)
    said: list[str] = []
    numbers = read_numbers(b, references, model_a.outputs, said)
    notes(said)
    fix_path, force = fix
    if fix_path is not None and numbers is not None:
        raise LstmCliError(f"--fix writes B corrected, and B ({b}) is numbers, not a model")
    if numbers is not None and any(spec.data is None for spec in model_a.inputs.values()):
        raise LstmCliError(
            f"{a} has no input data, and B ({b}) is numbers: give the input they were computed from "
            "with --input"
        )
    rtol, atol = tolerance
    model_b = numbers if numbers is not None else load_file(b, dtype)
    comparison, chosen = run_comparison(model_a, model_b, rtol=rtol, atol=atol, seed=seed, where=str(b))
    if chosen is not None:
        notes([f"A has no input data; both run on {chosen} (--seed, --input to change)"])
    if comparison.uncompared:
        shown = ", ".join(comparison.uncompared)
        notes([f"not compared: A's {shown}, which B does not give in that shape (its layers are compared)"])
    if fix_path is not None:
        from lstm_cli.fixing import write_fixed

        notes(write_fixed(comparison, model_a, b, fix_path, force=force))

    def table(console: Console) -> None:
        from lstm_cli.render.compare import compare_view

        console.print(compare_view(model_a, comparison, (str(a), str(b)), explain))

    return Views(table, json=comparison.document, differ=not comparison.agree)


def backward(
    config: Path | None,
    dtype: str | None,
    source: Source,
    output: Output,
    *,
    loss: str | None,
    target: Path | None,
    from_logits: bool = False,
    selection: tuple[list[str] | None, list[str] | None, list[int] | None, str | None],
    explain: bool,
    check: bool,
    sgd: float | None,
    sgd_output: Path | None,
    force: bool = False,
) -> Views:
    """The loss (the config's, or --loss and --target) backwards through the model: each step's gradients
    as the selection keeps them, every weight's, and --check's and --sgd's results."""
    from lstm_cli.backprop import run_backward
    from lstm_cli.backprop.views import backward_document, backward_rows, gradient_mismatches
    from lstm_cli.config import read_loss
    from lstm_cli.tracing.selection import Selection, choose

    model = load(config, dtype, source)
    spec = model.loss
    if loss is not None:
        given: dict[str, object] = {"type": loss}
        if target is not None:
            given["target"] = {"file": str(target.resolve())}
        if from_logits:
            from lstm_cli.losses import CROSSENTROPIES

            if loss not in CROSSENTROPIES:
                raise LstmCliError(
                    f"--from-logits applies to the crossentropies ({', '.join(CROSSENTROPIES)}), "
                    f"not to --loss {loss}"
                )
            given["from_logits"] = True
        spec = read_loss(model, given, "--loss/--target")
    layers, timesteps, samples, units = selection
    chosen = choose(
        model, Selection(tuple(layers or ()), tuple(timesteps or ()), tuple(samples or ()), units)
    )
    from lstm_cli.cli.progress import steps_progress

    with steps_progress(model, "backward", output.format == "table", passes=2) as progress:
        result = run_backward(model, loss=spec, record=lambda name: name in chosen.layers, progress=progress)
    assert spec is not None  # run_backward has refused a model without a loss
    mismatches = gradient_mismatches(model, result)
    if sgd is not None and sgd_output is not None:
        _write_sgd(model, result.gradients, sgd, sgd_output, force)
    errors = _checked(config, source, spec) if check else None

    def table(console: Console) -> None:
        from lstm_cli.render.backward import backward_view, check_table
        from lstm_cli.text import DEFAULT_PRECISION

        places = output.places(DEFAULT_PRECISION)
        console.print(backward_view(model, spec, result, chosen, places, explain, mismatches))
        if errors is not None:
            console.print(check_table(errors))

    def document() -> dict[str, object]:
        found = backward_document(model, result, chosen)
        return found if errors is None else {**found, "check": errors}

    return Views(
        table,
        json=document,
        csv=lambda: backward_rows(model, result, chosen, output.precision),
        mismatches=mismatches,
    )


def _checked(config: Path | None, source: Source, spec: LossSpec) -> dict[str, float]:
    """--check: the model again in float64, its gradients against central differences."""
    from dataclasses import replace

    from lstm_cli.backprop import run_backward
    from lstm_cli.backprop.training import gradient_check

    model = load(config, "float64", source)
    if spec.target is not None:
        spec = replace(spec, target=spec.target.astype("float64"))
    return gradient_check(model, spec, run_backward(model, loss=spec).gradients)


def _write_sgd(model: Model, gradients: dict[str, Array], rate: float, path: Path, force: bool) -> None:
    """The config after one step, to a new file (an existing one only with --force), as init writes."""
    from lstm_cli.backprop.training import after_sgd
    from lstm_cli.init import write_new_file
    from lstm_cli.yamlwriter import dump_yaml

    write_new_file(path, dump_yaml(after_sgd(model, gradients, rate)), force=force)
    sys.stderr.write(f"{PROG}: wrote {path}: the config after w - {rate:g}·dL/dw\n")


def stats(
    config: Path | None,
    dtype: str | None,
    source: Source,
    output: Output,
    *,
    layers: list[str] | None,
    samples: list[int] | None,
) -> Views:
    from lstm_cli.series import run_series
    from lstm_cli.stats import layer_stats, stats_document, stats_rows

    model = load(config, dtype, source)
    from lstm_cli.cli.progress import steps_progress

    with steps_progress(model, "stats", output.format == "table") as progress:
        chosen = run_series(model, layers or (), samples or (), command="stats", progress=progress)
    computed = [layer_stats(series) for series in chosen]

    def table(console: Console) -> None:
        from lstm_cli.render.stats import STATS_PRECISION, stats_view

        console.print(stats_view(computed, output.places(STATS_PRECISION)))

    return Views(
        table,
        json=lambda: stats_document(model.dtype, computed),
        csv=lambda: stats_rows(computed, output.precision),
    )


def plot(
    config: Path | None,
    dtype: str | None,
    source: Source,
    destination: Path,
    *,
    layers: list[str] | None,
    sample: int,
    quantities: list[str] | None,
    kind: str,
) -> None:
    """The picture is checked (its suffix and folder, matplotlib there) before the model is read or run."""
    from lstm_cli.plotting import Panel, check_destination, gate_figure, require_matplotlib, save_figure
    from lstm_cli.series import run_series, step_tokens_of

    check_destination(destination)
    chosen = chosen_quantities(quantities)
    require_matplotlib()
    model = load(config, dtype, source)
    from lstm_cli.cli.progress import steps_progress

    with steps_progress(model, "plot") as progress:
        series = run_series(model, layers or (), (sample,), command="plot", progress=progress)
    if not series:
        raise LstmCliError("plot draws LSTM and bidirectional layers; the model has none")
    panels = [Panel(layer, step_tokens_of(model, layer, 0)) for layer in series]
    name = "the built-in example seed" if config is None else config.name
    save_figure(gate_figure(panels, chosen, kind, f"{name}, sample {sample}"), destination)
    sys.stderr.write(f"{PROG}: wrote {destination}\n")


def chosen_quantities(given: list[str] | None) -> list[str]:
    """--quantity's choices, comma-separated or repeated, in the order a step computes them."""
    from lstm_cli.layers.lstm import STEP_QUANTITIES

    if not given:
        return list(STEP_QUANTITIES)
    names = {name.strip() for text in given for name in text.split(",")}
    unknown = sorted(names - set(STEP_QUANTITIES))
    if unknown:
        raise LstmCliError(f"--quantity {unknown[0]!r}: expected some of {', '.join(STEP_QUANTITIES)}")
    return [name for name in STEP_QUANTITIES if name in names]
