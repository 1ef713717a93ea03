"""Machine-readable output (docs/output.md#forward-json, #csv): JSON and YAML documents, and tidy CSV rows
streamed one at a time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, TextIO

import numpy as np

from .engine import LayerTrace, Mismatch, StepRecord
from .layers.lstm import STEP_QUANTITIES
from .model import GATES, Array
from .names import ref_parts

CSV_HEADER = ("layer", "direction", "t", "sample", "unit", "quantity", "value")


def listed(value: Array, precision: int | None) -> Any:
    """An array as nested lists of Python floats, rounded to `precision` decimals when given."""
    data = value.astype(np.float64)
    # + 0.0 turns the -0.0 that rounding leaves of a small negative into 0.0, as the tables show it
    return (np.round(data, precision) + 0.0 if precision is not None else data).tolist()


def forward_document(
    dtype: str,
    values: dict[str, Array],
    mismatches: list[Mismatch] | None,
    precision: int | None = None,
    *,
    lists: bool = True,
) -> dict[str, Any]:
    """The `forward --format json` document; with `lists=False` arrays stay numpy, for `write_json`."""
    document: dict[str, Any] = {
        "dtype": dtype,
        "outputs": {ref: listed(value, precision) if lists else value for ref, value in values.items()},
    }
    if mismatches is not None:
        document["mismatches"] = [
            {"ref": m.ref, "index": list(m.index), "expected": m.expected, "actual": m.actual}
            for m in mismatches
        ]
    return document


def to_json(document: dict[str, Any]) -> str:
    return json.dumps(document, allow_nan=False) + "\n"


def plain(value: Any) -> Any:
    """A document with its numpy arrays turned into nested lists, as `json.loads` of its JSON would give."""
    if isinstance(value, np.ndarray):
        return listed(value, None)
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def write_json(stream: TextIO, document: Any, precision: int | None = None) -> None:
    """The same text as `to_json`, written in pieces: numpy arrays go out a row at a time, never whole."""
    for chunk in _json_chunks(document, precision):
        stream.write(chunk)
    stream.write("\n")


def _json_chunks(value: Any, precision: int | None) -> Iterator[str]:
    if isinstance(value, np.ndarray):
        if value.ndim <= 1 or value.size <= 4096:
            yield json.dumps(listed(value, precision), allow_nan=False)
            return
        yield "["
        for index, row in enumerate(value):
            yield ", " if index else ""
            yield from _json_chunks(row, precision)
        yield "]"
    elif isinstance(value, dict):
        yield "{"
        for index, (key, item) in enumerate(value.items()):
            yield (", " if index else "") + json.dumps(str(key)) + ": "
            yield from _json_chunks(item, precision)
        yield "}"
    elif isinstance(value, list | tuple):
        yield "["
        for index, item in enumerate(value):
            yield ", " if index else ""
            yield from _json_chunks(item, precision)
        yield "]"
    else:
        yield json.dumps(value, allow_nan=False)


def to_yaml(document: dict[str, Any]) -> str:
    import yaml

    return str(yaml.safe_dump(document, sort_keys=False, default_flow_style=None, width=100))


def step_quantities(record: StepRecord) -> dict[str, Array]:
    """Every quantity of one step by name, each (batch, units) except x (batch, features)."""
    step = record.step
    z = dict(zip(GATES, np.split(step.z, 4, axis=-1), strict=True))
    return {
        "x": record.x,
        "h_prev": record.h_prev,
        "c_prev": record.c_prev,
        **{f"z_{gate}": z[gate] for gate in GATES},
        "i": step.i,
        "f": step.f,
        "g": step.g,
        "o": step.o,
        "c": record.c,  # the state carried on: on a masked row, c_prev unchanged
        "h": record.h,
    }


def step_rows(
    traces: list[LayerTrace], quantities: tuple[str, ...] = STEP_QUANTITIES, precision: int | None = None
) -> Iterator[tuple[Any, ...]]:
    """One row per value of every recorded step: `layer,direction,t,sample,unit,quantity,value`."""
    for trace in traces:
        for record in trace.steps:
            arrays = step_quantities(record)
            for quantity in quantities:
                yield from _array_rows(
                    trace.layer.name, trace.direction, record.t, quantity, arrays[quantity], precision
                )


def output_rows(values: dict[str, Array], precision: int | None = None) -> Iterator[tuple[Any, ...]]:
    """Outputs as tidy rows. `lstm.h` is layer lstm, quantity h; `bi.backward.c` adds direction backward;
    a sequence's time axis goes in `t`, as the output holds it (processing order under go_backwards)."""
    for ref, value in values.items():
        layer, direction, quantity = ref_parts(ref)
        if value.ndim == 3:
            for t in range(value.shape[1]):
                yield from _array_rows(layer, direction, t, quantity, value[:, t], precision)
        else:
            rows = value.reshape(value.shape[0], -1)
            yield from _array_rows(layer, direction, "", quantity, rows, precision)


def _array_rows(
    layer: str, direction: str, t: int | str, quantity: str, values: Array, precision: int | None
) -> Iterator[tuple[Any, ...]]:
    for sample, row in enumerate(values):  # values: (batch, units)
        for unit, value in enumerate(row):
            number = float(value) if precision is None else round(float(value), precision) + 0.0
            yield (layer, direction, t, sample, unit, quantity, repr(number))
