"""What `backward` shows, as data: the steps the selection keeps (in backward order), the JSON document
and tidy CSV rows (docs/output.md#backward-json), the differences from `expect_gradients:`, the gradient
check (central differences in float64) and one step of gradient descent written back into the config."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from lstm_cli.engine import Mismatch, mismatches_of
from lstm_cli.formats import CSV_HEADER
from lstm_cli.layers.lstm import GATES
from lstm_cli.model import Array, Model
from lstm_cli.tracing.selection import Chosen

from . import BackwardResult
from .layers import CellTrace

STEP_GRADIENTS = ("dh", "dc", "dgates", "dz", "dx", "dh_prev", "dc_prev")


@dataclass(frozen=True)
class StepView:
    """One step's gradients, for the rows and the tables: (batch, width) arrays, the samples and units the
    selection keeps."""

    t: int
    k: int  # its index in processing order
    arrays: dict[str, Array]  # dh, dc, dgate_i, ..., dz_i, ..., dx, dh_prev, dc_prev
    samples: list[int]  # the batch rows the arrays hold
    first_unit: int  # the unit their first column is (dx's columns are features, all of them)


def step_views(cell: CellTrace, chosen: Chosen | None = None) -> list[StepView]:
    """The cell's steps in backward order (the last processed first), as the selection keeps them."""
    table = cell.gradients.table
    assert table is not None
    layer, u = cell.forward.layer, cell.forward.layer.units
    steps = len(table.dz)
    timesteps = None if chosen is None or chosen.timesteps is None else chosen.timesteps[layer.name]
    samples = list(range(table.dz.shape[1])) if chosen is None else list(chosen.samples)
    units = None if chosen is None or chosen.units is None else chosen.units[layer.name]
    views = []
    for k in reversed(range(steps)):
        t = steps - 1 - k if layer.go_backwards else k
        if timesteps is not None and t not in timesteps:
            continue
        arrays = {"dh": table.dh[k], "dc": table.dc[k]}
        for index, gate in enumerate(GATES):
            arrays[f"dgate_{gate}"] = table.dgates[k][:, index * u : (index + 1) * u]
        for index, gate in enumerate(GATES):
            arrays[f"dz_{gate}"] = table.dz[k][:, index * u : (index + 1) * u]
        arrays |= {"dx": table.dx[k], "dh_prev": table.dh_prev[k], "dc_prev": table.dc_prev[k]}
        kept = {name: value[samples] for name, value in arrays.items()}
        if units is not None:
            kept = {
                name: value if name == "dx" else value[:, units.start : units.stop]
                for name, value in kept.items()
            }
        views.append(StepView(t, k, kept, samples, 0 if units is None else units.start))
    return views


def backward_document(model: Model, result: BackwardResult, chosen: Chosen | None) -> dict[str, Any]:
    """`backward --format json`; arrays stay numpy for formats.write_json."""
    layers = []
    for cell in result.cells:
        if chosen is not None and cell.forward.layer.name not in chosen.layers:
            continue
        steps = []
        for view in step_views(cell, chosen):
            a = view.arrays
            steps.append(
                {
                    "t": view.t,
                    "dh": a["dh"],
                    "dc": a["dc"],
                    "dgates": {gate: a[f"dgate_{gate}"] for gate in GATES},
                    "dz": {gate: a[f"dz_{gate}"] for gate in GATES},
                    "dx": a["dx"],
                    "dh_prev": a["dh_prev"],
                    "dc_prev": a["dc_prev"],
                }
            )
        layers.append({"name": cell.forward.layer.name, "direction": cell.forward.direction, "steps": steps})
    document: dict[str, Any] = {
        "dtype": model.dtype,
        "loss": float(result.loss),
        "gradients": result.gradients,
        "layers": layers,
    }
    mismatches = gradient_mismatches(model, result)
    if model.expect_gradients:
        document["mismatches"] = [
            {"ref": m.ref, "index": list(m.index), "expected": m.expected, "actual": m.actual}
            for m in mismatches
        ]
    return document


def backward_rows(
    model: Model, result: BackwardResult, chosen: Chosen | None, precision: int | None
) -> Iterator[tuple[Any, ...]]:
    """Tidy rows, header first: each step's gradients (quantities dh, dc, dgate_i, ..., dz_i, ..., dx,
    dh_prev, dc_prev), then each gradient array with `layer` its key, quantity `gradient`, the array's
    index in sample (its first axis) and unit (its last), and t for an input's time axis."""
    yield CSV_HEADER
    for cell in result.cells:
        if chosen is not None and cell.forward.layer.name not in chosen.layers:
            continue
        for view in step_views(cell, chosen):
            for quantity, value in view.arrays.items():
                offset = 0 if quantity == "dx" else view.first_unit
                for (row, column), number in np.ndenumerate(value):
                    where = (view.samples[row], column + offset)
                    yield (
                        cell.forward.layer.name,
                        cell.forward.direction,
                        view.t,
                        *where,
                        quantity,
                        _round(number, precision),
                    )
    yield ("loss", "", "", "", "", "loss", _round(result.loss, precision))
    for key, gradient in result.gradients.items():
        for index, number in np.ndenumerate(gradient):
            sample, t, unit = _placed(index)
            yield (key, "", t, sample, unit, "gradient", _round(number, precision))


def _placed(index: tuple[int, ...]) -> tuple[Any, Any, Any]:
    """(sample, t, unit) columns for an index into a gradient array of 1 to 3 axes."""
    if len(index) == 1:
        return "", "", index[0]
    if len(index) == 2:
        return index[0], "", index[1]
    return index[0], index[1], index[-1]


def _round(number: Any, precision: int | None) -> str:
    value = float(number)
    return repr(round(value, precision) + 0.0 if precision is not None else value)


def gradient_mismatches(model: Model, result: BackwardResult) -> list[Mismatch]:
    """Every value under `expect_gradients:` that differs from what backward computed."""
    return mismatches_of(model.expect_gradients, {"loss": np.asarray(result.loss), **result.gradients})
