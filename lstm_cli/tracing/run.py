"""The run behind `trace`: one forward pass with per-step records, the chosen blocks of it, and the
document behind `trace --format json` and the tidy CSV."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from lstm_cli.engine import LayerTrace, Mismatch, StepRecord, check_expectations, run_model
from lstm_cli.formats import CSV_HEADER, forward_document, output_rows, step_quantities, step_rows
from lstm_cli.model import GATES, Array, BidirectionalLayer, Model

from .selection import Selection, choose

# Every per-step quantity, in the order a step computes them (and the CSV's `quantity` column).
QUANTITIES = ("x", "h_prev", "c_prev", "z_i", "z_f", "z_g", "z_o", "i", "f", "g", "o", "c", "h")


@dataclass(frozen=True)
class Block:
    """One timestep of one layer and direction: what `trace` shows at a time, and where `--step` pauses."""

    trace: LayerTrace
    index: int  # position in processing order; the record's `t` counts down under go_backwards

    @property
    def record(self) -> StepRecord:
        return self.trace.steps[self.index]


@dataclass
class TraceRun:
    """A run with per-step records, and the chosen part of it."""

    model: Model
    values: dict[str, Array]  # every reference, as `forward` gives them
    mismatches: list[Mismatch] | None  # None without `expect:`
    traces: list[LayerTrace]  # every recorded layer and direction, every step
    shown: list[LayerTrace]  # the chosen layers and directions
    blocks: list[Block]  # the chosen timesteps of `shown`, in processing order
    samples: tuple[int, ...]  # the chosen samples (all of the batch when none were chosen)
    units: dict[str, range] | None = None  # per layer, when `--units` was given
    batch: int = 1

    def blocks_of(self, trace: LayerTrace) -> list[Block]:
        return [block for block in self.blocks if block.trace is trace]

    def half(self, trace: LayerTrace) -> str:
        """`, forward half` or `, backward half` for a half of a bidirectional layer; else nothing."""
        wrapped = any(
            isinstance(layer, BidirectionalLayer) and layer.name == trace.layer.name
            for layer in self.model.layers
        )
        return f", {trace.direction} half" if wrapped or trace.direction != "forward" else ""


def run_trace(
    model: Model, selection: Selection | None = None, progress: Callable[[int], None] | None = None
) -> TraceRun:
    """Run the model once, keeping per-step records of the chosen layers and of those under `expect:`.
    `progress` hears of the steps as they run (engine.run_model)."""
    chosen = choose(model, selection or Selection())
    keep = set(chosen.layers) | {expectation.ref.partition(".")[0] for expectation in model.expect}
    result = run_model(model, record=lambda name: name in keep, progress=progress)
    mismatches = check_expectations(model, result.values) if model.expect else None
    shown = [trace for trace in result.traces if trace.layer.name in chosen.layers]
    for trace in shown:
        _check_z(model, trace)
    blocks = [
        Block(trace, index)
        for trace in shown
        for index, record in enumerate(trace.steps)
        if chosen.timesteps is None or record.t in chosen.timesteps[trace.layer.name]
    ]
    return TraceRun(
        model,
        result.values,
        mismatches,
        result.traces,
        shown,
        blocks,
        chosen.samples,
        chosen.units,
        chosen.batch,
    )


def _check_z(model: Model, trace: LayerTrace) -> None:
    """A pre-activation z can overflow to ±inf while saturating gates keep every output finite: `forward` may
    show the outputs, but a trace cannot show z as if it were a number."""
    for record in trace.steps:
        if not np.isfinite(record.step.z).all():
            raise model.error(
                trace.layer.key_path,
                f"layer {trace.layer.name!r}: the pre-activation z overflowed to inf at timestep {record.t}; "
                "the gates saturate, so `forward` can show the outputs, but `trace` cannot show z",
            )


# -- the document behind `trace --format json`, and the tidy CSV -----------------------------------------


def _step_document(record: StepRecord) -> dict[str, Any]:
    values = step_quantities(record)
    document: dict[str, Any] = {
        "t": record.t,
        "masked": bool(record.masked is not None and record.masked.any()),
        "x": values["x"],
        "h_prev": values["h_prev"],
        "c_prev": values["c_prev"],
        "z": {gate: values[f"z_{gate}"] for gate in GATES},
        "gates": {gate: values[gate] for gate in GATES},
        "c": values["c"],
        "h": values["h"],
    }
    if document["masked"] and record.masked is not None and len(record.masked) > 1:
        document["masked_samples"] = [bool(m) for m in record.masked]
    return document


def trace_document(run: TraceRun) -> dict[str, Any]:
    """docs/output.md#trace-json: `forward`'s document plus the chosen steps of every recurrent layer and
    direction.

    Values stay numpy arrays: the Python API returns them as they are, `formats.write_json` streams them.
    """
    document = forward_document(run.model.dtype, run.values, run.mismatches, lists=False)
    document["layers"] = [
        {
            "name": trace.layer.name,
            "direction": trace.direction,
            "steps": [_step_document(block.record) for block in run.blocks_of(trace)],
        }
        for trace in run.shown
    ]
    return document


def trace_rows(run: TraceRun, precision: int | None = None) -> Iterator[tuple[Any, ...]]:
    """The header, then one row per value: every quantity of every chosen step, then the outputs."""
    yield CSV_HEADER
    chosen = [
        LayerTrace(trace.layer, trace.direction, trace.weights, [b.record for b in run.blocks_of(trace)])
        for trace in run.shown
    ]
    yield from step_rows(chosen, QUANTITIES, precision)
    yield from output_rows(run.values, precision)
