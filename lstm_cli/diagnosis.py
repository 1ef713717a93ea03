"""The mistakes ports are known to make, tried one at a time (SPEC §9).

Pure: models in, data out. Each `Hypothesis` is "B computes what A would compute with this change": it
changes one recurrent layer of A. `diagnose` runs A changed each way on A's input, compares its outputs
with B's, and lists the hypotheses best first, stopping at the first that agrees within tolerance.

Not yet tried: time:reversed_output, bidirectional:unflipped; state:swapped only as h_0 and c_0 given
each other's value (an LSTM with initial_state).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from itertools import permutations

import numpy as np

from .compare import ATOL, RTOL, match_layers, output_diffs, with_input
from .engine import run_model
from .layers.lstm import LstmWeights, reorder_gates
from .model import Array, BidirectionalLayer, LstmLayer, Model

KERAS_ORDER = "ifgo"
KNOWN_ORDERS = {"iofg": "ONNX", "igfo": "TF1 LSTMCell"}  # order → who writes the gate blocks so
ACTIVATION_NAMES = ("sigmoid", "hard_sigmoid", "hard_sigmoid_tf2", "tanh", "linear")

Recurrent = LstmLayer | BidirectionalLayer
CellChange = Callable[[LstmLayer], LstmLayer]


@dataclass(frozen=True)
class Hypothesis:
    """One known mistake in one layer: `apply` gives A as B would be if B had made it."""

    name: str
    layer: str
    apply: Callable[[Model], Model]


@dataclass(frozen=True)
class Finding:
    hypothesis: str
    layer: str
    max_abs_diff: float  # the largest |A changed - B| over the outputs both produce
    agrees: bool


def _with_layer(model: Model, name: str, change: Callable[[Recurrent], Recurrent]) -> Model:
    layers = tuple(
        change(layer) if layer.name == name and isinstance(layer, LstmLayer | BidirectionalLayer) else layer
        for layer in model.layers
    )
    return replace(model, layers=layers)


def _each_cell(change: CellChange) -> Callable[[Recurrent], Recurrent]:
    """The change to an LSTM, or to both halves of a bidirectional layer."""

    def changed(layer: Recurrent) -> Recurrent:
        if isinstance(layer, BidirectionalLayer):
            return replace(layer, forward=change(layer.forward), backward=change(layer.backward))
        return change(layer)

    return changed


def _weights(change: Callable[[LstmWeights], LstmWeights]) -> CellChange:
    def changed(layer: LstmLayer) -> LstmLayer:
        return layer if layer.weights is None else replace(layer, weights=change(layer.weights))

    return changed


def gate_blocks(array: Array, order: str) -> Array:
    """Gate blocks along the last axis rearranged so that block k holds gate order[k] of `array`."""
    return reorder_gates(array, [KERAS_ORDER.index(gate) for gate in order])


def _gate_order(order: str) -> CellChange:
    def change(w: LstmWeights) -> LstmWeights:
        bias = None if w.bias is None else gate_blocks(w.bias, order)
        kernel, recurrent = gate_blocks(w.kernel, order), gate_blocks(w.recurrent_kernel, order)
        return replace(w, kernel=kernel, recurrent_kernel=recurrent, bias=bias)

    return _weights(change)


def _reshaped(array: Array) -> Array:
    """What reshaping PyTorch's (4u, n) weight, the transpose of `array`, to Keras's (n, 4u) gives."""
    return np.ascontiguousarray(array.T).reshape(array.shape)


def _cell_changes(layer: LstmLayer) -> Iterator[tuple[str, CellChange]]:
    """The cell's hypotheses, simplest first."""
    for perm in permutations(KERAS_ORDER):
        order = "".join(perm)
        if order != KERAS_ORDER:
            yield f"gate_order:{order}", _gate_order(order)
    if layer.use_bias and layer.weights is not None and layer.weights.bias is not None:
        yield "bias:twice", _weights(lambda w: replace(w, bias=None if w.bias is None else 2 * w.bias))
        yield "bias:none", _weights(lambda w: replace(w, bias=None if w.bias is None else 0 * w.bias))
    yield "forget_bias:+1", lambda cell: replace(cell, forget_bias=cell.forget_bias + 1.0)
    for field in ("recurrent_activation", "activation"):
        for name in ACTIVATION_NAMES:
            if name != getattr(layer, field):
                yield f"{field}:{name}", _set(field, name)
    yield "kernel:reshaped", _weights(lambda w: replace(w, kernel=_reshaped(w.kernel)))
    yield (
        "recurrent_kernel:reshaped",
        _weights(lambda w: replace(w, recurrent_kernel=_reshaped(w.recurrent_kernel))),
    )


def _set(field: str, value: str) -> CellChange:
    def change(cell: LstmLayer) -> LstmLayer:
        if field == "activation":
            return replace(cell, activation=value)
        return replace(cell, recurrent_activation=value)

    return change


def _swap_halves(layer: Recurrent) -> Recurrent:
    if not isinstance(layer, BidirectionalLayer):
        return layer
    forward = replace(layer.forward, weights=layer.backward.weights)
    backward = replace(layer.backward, weights=layer.forward.weights)
    return replace(layer, forward=forward, backward=backward)


def _flip_backwards(layer: Recurrent) -> Recurrent:
    return (
        layer
        if isinstance(layer, BidirectionalLayer)
        else replace(layer, go_backwards=not layer.go_backwards)
    )


def _swap_state(layer: Recurrent) -> Recurrent:
    """h_0 and c_0 given each other's value."""
    if isinstance(layer, BidirectionalLayer) or layer.initial_state is None:
        return layer
    state = layer.initial_state
    return replace(layer, initial_state=replace(state, h=state.c, c=state.h))


def _layer_changes(layer: Recurrent) -> Iterator[tuple[str, Callable[[Recurrent], Recurrent]]]:
    cell = layer.forward if isinstance(layer, BidirectionalLayer) else layer
    for name, change in _cell_changes(cell):
        yield name, _each_cell(change)
    if isinstance(layer, BidirectionalLayer):
        yield "bidirectional:swapped", _swap_halves
    else:
        yield "time:go_backwards", _flip_backwards
        if layer.initial_state is not None:
            yield "state:swapped", _swap_state


def hypotheses(model: Model) -> Iterator[Hypothesis]:
    """Every hypothesis for every recurrent layer with weights, layer by layer in the model's order."""
    for layer in model.layers:
        if not isinstance(layer, LstmLayer | BidirectionalLayer):
            continue
        cell = layer.forward if isinstance(layer, BidirectionalLayer) else layer
        if cell.weights is None:
            continue
        for name, change in _layer_changes(layer):
            yield Hypothesis(name, layer.name, _applier(layer.name, change))


def _applier(layer: str, change: Callable[[Recurrent], Recurrent]) -> Callable[[Model], Model]:
    return lambda model: _with_layer(model, layer, change)


def _distance(
    a: Model, b_values: dict[str, Array], renamed_b: Model, tolerance: tuple[float, float]
) -> tuple[float, bool]:
    """The largest |A - B| over the outputs both produce, and whether all are within tolerance."""
    values_a = run_model(a).values
    checked = output_diffs(match_layers(a, renamed_b), a, values_a, b_values, tolerance)
    if not checked:
        return float("inf"), False
    largest = max(diff for diff, _ in checked.values())
    return largest, not any(beyond for _, beyond in checked.values())


def diagnose(a: Model, b: Model, *, rtol: float = RTOL, atol: float = ATOL) -> list[Finding]:
    """The hypotheses tried, best first; [] when A and B already agree. Stops at the first that agrees."""
    b_on_a = with_input(b, a.inputs)
    b_values = run_model(b_on_a).values
    tolerance = (rtol, atol)
    if _distance(a, b_values, b_on_a, tolerance)[1]:
        return []
    findings: list[Finding] = []
    for hypothesis in hypotheses(a):
        diff, agrees = _distance(hypothesis.apply(a), b_values, b_on_a, tolerance)
        findings.append(Finding(hypothesis.name, hypothesis.layer, diff, agrees))
        if agrees:
            break
    return sorted(findings, key=lambda finding: (not finding.agrees, finding.max_abs_diff))
