"""compare's `--fix FILE`: B written again with each agreeing finding's mistake undone (SPEC §9).

Each finding says "B computes what A would compute with this change"; the fix makes the opposite change
to B's own numbers (the inverse gate order, half the bias, the transpose it should have taken, ...), then
writes B in FILE's format through convert's writers. The fixed layer's weights are written in Keras's layout.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from .comparison import Comparison
from .diagnosis import (
    KERAS_ORDER,
    Finding,
    Recurrent,
    flip_backwards,
    gate_blocks,
    inverse_order,
    swap_halves,
    swap_initial_state,
    unreshaped,
)
from .errors import LstmCliError
from .layers.lstm import LstmWeights
from .model import BidirectionalLayer, LstmLayer, Model
from .names import DIRECTIONS

WeightsUndo = Callable[[LstmWeights, LstmWeights], LstmWeights]  # (B's weights, A's) → B's corrected


def write_fixed(
    comparison: Comparison, a: Model, b_path: Path, destination: Path, *, force: bool
) -> list[str]:
    """Write B corrected to `destination`, or say why nothing was written; the notes for stderr."""
    from .config import load_model
    from .modelfiles.convert import read_source, write_converted

    if comparison.agree:
        return [f"--fix: A and B agree; {destination} not written"]
    agreeing = [finding for finding in comparison.diagnosis if finding.agrees]
    if not agreeing:
        return [
            f"--fix: no known mistake makes A and B agree, so there is no correction to write to "
            f"{destination}"
        ]
    converted = read_source(b_path)
    b_names = {match.a.name: match.b.name for match in comparison.matches}
    for finding in agreeing:
        b_name = b_names[finding.layer]
        position = next(k for k, layer in enumerate(converted.model.layers) if layer.name == b_name)
        b_layer = converted.model.layers[position]
        a_layer = a.layer(finding.layer)
        assert isinstance(b_layer, Recurrent) and isinstance(a_layer, Recurrent)  # matched recurrent layers
        fixed = undo(finding, b_layer, a_layer)
        _write_entry(converted.mapping["layers"][position], b_layer, fixed)
    converted.model = load_model(converted.mapping, dtype=converted.model.dtype, source=str(b_path))
    fixes = ", ".join(f"{finding.hypothesis} in '{b_names[finding.layer]}'" for finding in agreeing)
    converted.origin = f"Written by `lstm-cli compare --fix`: {b_path.name} with {fixes} undone."
    report = write_converted(converted, b_path, destination, force=force)
    written = report.notes[len(converted.notes) :]  # reading B again said nothing new
    return [*written, f"--fix: undid {fixes}", *(f"wrote {path}" for path in report.written)]


def undo(finding: Finding, b: Recurrent, a: Recurrent) -> Recurrent:
    """B's layer with the finding's mistake undone."""
    kind, _, value = finding.hypothesis.partition(":")
    if finding.part in DIRECTIONS and isinstance(b, BidirectionalLayer):  # one half's mistake: that half's
        whole = undo(replace(finding, part=""), b, a)
        assert isinstance(whole, BidirectionalLayer)  # a bidirectional layer's undo keeps it one
        return replace(b, **{finding.part: getattr(whole, finding.part)})
    if kind == "gate_order":
        back = inverse_order(value)
        return _cells(b, a, lambda w, _: _reordered(w, back))
    if kind == "bias" and value == "twice":
        return _cells(b, a, lambda w, _: replace(w, bias=None if w.bias is None else w.bias / 2))
    if kind == "bias":  # none: B has no bias, or one it never adds; A's is the one it lacks
        fixed = _cells(b, a, lambda w, wa: replace(w, bias=wa.bias))
        return _each(fixed, lambda cell: replace(cell, use_bias=True))
    if kind == "forget_bias":
        return _each(b, _without_forget_bias)
    if kind in ("activation", "recurrent_activation"):
        cell_a = a.forward if isinstance(a, BidirectionalLayer) else a
        return _each(b, lambda cell: replace(cell, **{kind: getattr(cell_a, kind)}))
    if kind == "kernel":
        return _cells(b, a, lambda w, _: replace(w, kernel=unreshaped(w.kernel)))
    if kind == "recurrent_kernel":
        return _cells(b, a, lambda w, _: replace(w, recurrent_kernel=unreshaped(w.recurrent_kernel)))
    undone = {"time": flip_backwards, "bidirectional": swap_halves, "state": swap_initial_state}
    return undone[kind](b)


def _reordered(weights: LstmWeights, order: str) -> LstmWeights:
    bias = None if weights.bias is None else gate_blocks(weights.bias, order)
    return replace(
        weights,
        kernel=gate_blocks(weights.kernel, order),
        recurrent_kernel=gate_blocks(weights.recurrent_kernel, order),
        bias=bias,
    )


def _without_forget_bias(cell: LstmLayer) -> LstmLayer:
    """1 taken off f's pre-activation: from forget_bias if B has one, else from the f block of its bias."""
    if cell.forget_bias >= 1.0 or cell.weights is None or cell.weights.bias is None:
        return replace(cell, forget_bias=cell.forget_bias - 1.0)
    bias = cell.weights.bias.copy()
    units = len(bias) // 4
    f = KERAS_ORDER.index("f")
    bias[f * units : (f + 1) * units] -= 1
    return replace(cell, weights=replace(cell.weights, bias=bias))


def _each(layer: Recurrent, change: Callable[[LstmLayer], LstmLayer]) -> Recurrent:
    if isinstance(layer, BidirectionalLayer):
        return replace(layer, forward=change(layer.forward), backward=change(layer.backward))
    return change(layer)


def _cells(b: Recurrent, a: Recurrent, change: WeightsUndo) -> Recurrent:
    """Each of B's cells' weights changed, beside A's matching cell's."""

    def pairs(layer: Recurrent) -> list[LstmLayer]:
        return [layer.forward, layer.backward] if isinstance(layer, BidirectionalLayer) else [layer]

    fixed = []
    for cell_b, cell_a in zip(pairs(b), pairs(a), strict=True):
        assert cell_b.weights is not None and cell_a.weights is not None  # compared, so run
        fixed.append(replace(cell_b, weights=change(cell_b.weights, cell_a.weights)))
    if isinstance(b, BidirectionalLayer):
        return replace(b, forward=fixed[0], backward=fixed[1])
    return fixed[0]


TORCH_KEYS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def _write_entry(entry: dict[str, Any], before: Recurrent, fixed: Recurrent) -> None:
    """The layer's config entry made to hold `fixed`: its weights in Keras's layout, its options."""
    if isinstance(fixed, BidirectionalLayer):
        halves = [(entry[direction], getattr(fixed, direction)) for direction in DIRECTIONS]
        cell = fixed.forward
    else:
        halves = [(entry, fixed)]
        cell = fixed
        if fixed.go_backwards != getattr(before, "go_backwards", False):
            entry["go_backwards"] = fixed.go_backwards
        if fixed.initial_state is not getattr(before, "initial_state", None) and "initial_state" in entry:
            state = entry["initial_state"]
            entry["initial_state"] = (
                {"h": state["c"], "c": state["h"]} if isinstance(state, dict) else state[::-1]
            )
    for part, half in halves:
        weights = half.weights
        if weights is None:
            raise LstmCliError(f"layer {fixed.name!r} has no weights to fix")
        for key in ("kernel", "recurrent_kernel", "bias", *TORCH_KEYS):
            part.pop(key, None)
        part["kernel"], part["recurrent_kernel"] = (
            np.asarray(weights.kernel),
            np.asarray(weights.recurrent_kernel),
        )
        if weights.bias is not None:
            part["bias"] = np.asarray(weights.bias)
    if cell.use_bias and entry.get("use_bias") is False:  # bias:none undone on a B built without one
        entry["use_bias"] = True
    entry["activation"], entry["recurrent_activation"] = cell.activation, cell.recurrent_activation
    if cell.forget_bias:
        entry["forget_bias"] = cell.forget_bias
    else:
        entry.pop("forget_bias", None)
