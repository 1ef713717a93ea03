"""Two models side by side: the same input through both, and where their numbers part.

Pure: models in, data out. `match_layers` pairs the layers of A and B in Keras's order by type and shape;
`compare_models` runs both with records kept and finds, per matched recurrent layer, direction and timestep,
the largest difference of each of i, f, g, o, c, h, and the first difference beyond tolerance in the order
the engine computes them. The command that shows it comes later.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .engine import LayerTrace, StepRecord, run_model
from .errors import LstmCliError
from .graph import keras_layers
from .layers import owner_of
from .layers.lstm import STEP_QUANTITIES
from .model import Array, BidirectionalLayer, InputSpec, Layer, LstmLayer, MaskingLayer, Model, NoOpLayer
from .names import DIRECTIONS

RTOL = 1e-5  # float32 rounding
ATOL = 1e-6
QUANTITIES = STEP_QUANTITIES  # z is not compared


@dataclass(frozen=True)
class Match:
    """A layer of A and its counterpart in B."""

    a: Layer
    b: Layer


@dataclass(frozen=True)
class StepDiff:
    """The largest |A - B| of each quantity at one timestep, over the batch and the units."""

    t: int  # index into the input sequence; counts down under go_backwards
    diffs: dict[str, float]  # quantity → largest |A - B|


@dataclass(frozen=True)
class LayerDiff:
    a: str
    b: str
    direction: str
    steps: tuple[StepDiff, ...]


@dataclass(frozen=True)
class Difference:
    """The first value beyond tolerance, in processing order."""

    a_layer: str
    b_layer: str
    direction: str
    t: int
    quantity: str
    sample: int
    unit: int
    a: float
    b: float


@dataclass(frozen=True)
class Comparison:
    agree: bool
    max_abs_diff: float
    rtol: float
    atol: float
    layers: tuple[LayerDiff, ...]
    first_difference: Difference | None
    outputs: dict[str, float]  # A's output reference → largest |A - B|

    def document(self) -> dict[str, Any]:
        """The comparison as JSON data."""
        first = self.first_difference
        return {
            "agree": self.agree,
            "max_abs_diff": self.max_abs_diff,
            "rtol": self.rtol,
            "atol": self.atol,
            "layers": [
                {
                    "a": layer.a,
                    "b": layer.b,
                    "direction": layer.direction,
                    "steps": [{"t": step.t, **step.diffs} for step in layer.steps],
                }
                for layer in self.layers
            ],
            "first_difference": None if first is None else dict(vars(first)),
            "outputs": dict(self.outputs),
        }


def _skipped(layer: Layer) -> bool:
    """A layer without weights that does not change values: matched on neither side."""
    return isinstance(layer, MaskingLayer | NoOpLayer)


def _signature(model: Model, layer: Layer) -> tuple[object, ...]:
    owner = owner_of(layer)
    shapes = tuple(model.shapes[ref] for ref in owner.output_refs(layer))
    return owner.keras_class, getattr(layer, "units", None), owner.directions, shapes


def _describe(layer: Layer) -> str:
    kind = owner_of(layer).keras_class
    units = getattr(layer, "units", None)
    return f"'{layer.name}' ({kind}, {units} units)" if units is not None else f"'{layer.name}' ({kind})"


def match_layers(a: Model, b: Model) -> list[Match]:
    """A's layers and B's paired in Keras's order, by type and shape; masking and no-op layers are skipped
    on both sides. Raises naming the first layer without a counterpart."""
    left = [layer for layer in keras_layers(a) if not _skipped(layer)]
    right = [layer for layer in keras_layers(b) if not _skipped(layer)]
    matches: list[Match] = []
    for position in range(max(len(left), len(right))):
        here, there = left[position : position + 1], right[position : position + 1]
        if here and there and _signature(a, here[0]) == _signature(b, there[0]):
            matches.append(Match(here[0], there[0]))
            continue
        so_far = ", ".join(f"'{m.a.name}' = '{m.b.name}'" for m in matches) or "none"
        if here:
            message = f"B has no counterpart for A's layer {_describe(here[0])}"
        else:
            message = f"A has no counterpart for B's layer {_describe(there[0])}"
        raise LstmCliError(f"{message}; the layers matched so far: {so_far}")
    return matches


def with_input(model_b: Model, inputs_of_a: Mapping[str, InputSpec]) -> Model:
    """B with A's input data, input for input in order."""
    if len(inputs_of_a) != len(model_b.inputs):
        raise LstmCliError(f"A has {len(inputs_of_a)} inputs and B has {len(model_b.inputs)}")
    inputs = {
        name: replace(spec, data=given.data)
        for (name, spec), given in zip(model_b.inputs.items(), inputs_of_a.values(), strict=True)
    }
    return replace(model_b, inputs=inputs)


def _values(record: StepRecord, quantity: str) -> Array:
    return record.c if quantity == "c" else record.h if quantity == "h" else getattr(record.step, quantity)


def _abs_diff(a: Array, b: Array) -> Array:
    """|A - B| in float64; 0 where both are NaN, inf where only one is."""
    a64, b64 = np.asarray(a, np.float64), np.asarray(b, np.float64)
    with np.errstate(invalid="ignore"):
        diff = np.abs(a64 - b64)
    same = (a64 == b64) | (np.isnan(a64) & np.isnan(b64))
    return np.where(same, 0.0, np.where(np.isnan(diff), np.inf, diff))


def _beyond(a: Array, b: Array, rtol: float, atol: float) -> Array:
    return _abs_diff(a, b) > atol + rtol * np.abs(np.asarray(a, np.float64))


def _compare_trace(
    match: Match, direction: str, a: LayerTrace, b: LayerTrace, rtol: float, atol: float
) -> tuple[LayerDiff, Difference | None]:
    steps: list[StepDiff] = []
    first: Difference | None = None
    for record_a, record_b in zip(a.steps, b.steps, strict=True):
        diffs: dict[str, float] = {}
        for quantity in QUANTITIES:
            value_a, value_b = _values(record_a, quantity), _values(record_b, quantity)
            diffs[quantity] = float(_abs_diff(value_a, value_b).max(initial=0.0))
            if first is None and (where := np.argwhere(_beyond(value_a, value_b, rtol, atol))).size:
                sample, unit = (int(index) for index in where[0])
                first = Difference(
                    match.a.name,
                    match.b.name,
                    direction,
                    record_a.t,
                    quantity,
                    sample,
                    unit,
                    float(value_a[sample, unit]),
                    float(value_b[sample, unit]),
                )
        steps.append(StepDiff(record_a.t, diffs))
    return LayerDiff(match.a.name, match.b.name, direction, tuple(steps)), first


def _directions(layer: Layer) -> Sequence[str]:
    return DIRECTIONS if isinstance(layer, BidirectionalLayer) else ("forward",)


def output_diffs(
    matches: Iterable[Match],
    a: Model,
    values_a: Mapping[str, Array],
    values_b: Mapping[str, Array],
    tolerance: tuple[float, float],
) -> dict[str, tuple[float, bool]]:
    """A's output references that B produces too (under its matched layer's name) → largest |A - B|, and
    whether any value is beyond tolerance (rtol, atol)."""
    renamed = {match.a.name: match.b.name for match in matches}
    diffs: dict[str, tuple[float, bool]] = {}
    for ref in a.outputs:
        layer, dot, rest = ref.partition(".")
        ref_b = renamed.get(layer, layer) + dot + rest
        if ref in values_a and ref_b in values_b and values_a[ref].shape == values_b[ref_b].shape:
            value_a, value_b = values_a[ref], values_b[ref_b]
            beyond = bool(_beyond(value_a, value_b, *tolerance).any())
            diffs[ref] = float(_abs_diff(value_a, value_b).max(initial=0.0)), beyond
    return diffs


def compare_models(a: Model, b: Model, *, rtol: float = RTOL, atol: float = ATOL) -> Comparison:
    """Run A, and B on A's input, and compare every matched recurrent layer step by step."""
    matches = match_layers(a, b)
    run_a, run_b = run_model(a, record=True), run_model(with_input(b, a.inputs), record=True)
    traces_a = {(trace.layer.name, trace.direction): trace for trace in run_a.traces}
    traces_b = {(trace.layer.name, trace.direction): trace for trace in run_b.traces}
    layers: list[LayerDiff] = []
    first: Difference | None = None
    for match in matches:
        if not isinstance(match.a, LstmLayer | BidirectionalLayer):
            continue
        for direction in _directions(match.a):
            trace_a, trace_b = traces_a[match.a.name, direction], traces_b[match.b.name, direction]
            layer, found = _compare_trace(match, direction, trace_a, trace_b, rtol, atol)
            layers.append(layer)
            first = first or found
    checked = output_diffs(matches, a, run_a.values, run_b.values, (rtol, atol))
    outputs = {ref: diff for ref, (diff, _) in checked.items()}
    largest = max(
        [diff for layer in layers for step in layer.steps for diff in step.diffs.values()]
        + list(outputs.values()),
        default=0.0,
    )
    agree = first is None and not any(beyond for _, beyond in checked.values())
    return Comparison(agree, largest, rtol, atol, tuple(layers), first, outputs)
