"""Checking the gradients and using them: central finite differences in float64 (cs231n's gradient
check), and one step of gradient descent written back into the config."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import numpy as np

from lstm_cli.checks import Node
from lstm_cli.engine import run_model
from lstm_cli.graph import masks_carried
from lstm_cli.layers import owner_of
from lstm_cli.losses import loss_and_gradient
from lstm_cli.model import (
    Array,
    BidirectionalLayer,
    DenseLayer,
    EmbeddingLayer,
    LossSpec,
    LstmLayer,
    MaskingLayer,
    Model,
)
from lstm_cli.names import DIRECTIONS

EPSILON = 1e-6  # the step of the central differences: float64's error in them is about 1e-10 relative
NOISE_FLOOR = 1e-3  # gradients below this times the loss are compared in absolute terms (see gradient_check)


def loss_of(model: Model, loss: LossSpec) -> float:
    """The loss alone: the forward pass and the loss, nothing recorded."""
    with np.errstate(all="ignore"):
        run = run_model(model)
        output = run.values[loss.output]
        source = masks_carried(model).get(loss.output)
        mask = None if source is None or output.ndim != 3 else run.masks[source.name]
        return float(
            loss_and_gradient(loss.type, output, loss.target, from_logits=loss.from_logits, mask=mask).value
        )


def arrays_of(model: Model) -> Iterator[tuple[str, Array]]:
    """Every array backward differentiates that the model holds as it is (Keras's names: a layer given in
    PyTorch's layout is held so), keyed as backprop.keys names them."""
    for layer in model.layers:
        if isinstance(layer, DenseLayer) and layer.kernel is not None:
            yield f"{layer.name}.kernel", layer.kernel
            if layer.bias is not None:
                yield f"{layer.name}.bias", layer.bias
        elif isinstance(layer, EmbeddingLayer) and layer.embeddings is not None:
            yield f"{layer.name}.embeddings", layer.embeddings
        elif isinstance(layer, LstmLayer):
            yield from _cell_arrays(layer, layer.name)
            state = layer.initial_state
            for part, given in () if state is None else (("h", state.h), ("c", state.c)):
                if not isinstance(given, str):
                    yield f"{layer.name}.initial_state.{part}", given
        elif isinstance(layer, BidirectionalLayer):
            for direction, half in zip(DIRECTIONS, (layer.forward, layer.backward), strict=True):
                yield from _cell_arrays(half, f"{layer.name}.{direction}")
    for name, spec in model.inputs.items():
        if spec.data is not None and spec.data.dtype.kind == "f":
            yield name, spec.data


def _cell_arrays(cell: LstmLayer, prefix: str) -> Iterator[tuple[str, Array]]:
    weights = cell.weights
    if weights is None:
        return
    yield f"{prefix}.kernel", weights.kernel
    yield f"{prefix}.recurrent_kernel", weights.recurrent_kernel
    if weights.bias is not None:
        yield f"{prefix}.bias", weights.bias
    for gate, peephole in (weights.peepholes or {}).items():
        yield f"{prefix}.peepholes.{gate}", peephole
    if weights.projection is not None:
        yield f"{prefix}.projection.kernel", weights.projection


def gradient_check(model: Model, loss: LossSpec, gradients: dict[str, Array]) -> dict[str, float]:
    """Per array, the largest |analytic - numeric| relative to the larger of the two arrays' largest
    magnitudes, the numeric gradient by central differences. `model` must be float64. The scale is at
    least NOISE_FLOOR·max(1, |loss|): the differences' own rounding is about 1e-16·|loss|/EPSILON, so an
    array whose true gradient is zero (a sum of softmax outputs) is not reported as wholly wrong.
    An input value at a masked step is not nudged: that would unmask the step (the mask is a comparison,
    held fixed by the analytic gradient). Where only Masking layers read the input, its true gradient
    there is 0 (a masked step outputs zeros whatever it holds), and the analytic one is held to that;
    where others read it too, that value is left out."""
    errors = {}
    fixed = _masked_inputs(model)
    floor = NOISE_FLOOR * max(1.0, abs(loss_of(model, loss)))
    for key, array in arrays_of(model):
        numeric = np.zeros(array.shape)
        for index in np.ndindex(array.shape):
            if key in fixed and fixed[key][0][index[:-1]]:
                numeric[index] = 0.0 if fixed[key][1] else gradients[key][index]
                continue
            original = array[index]
            losses = []
            for sign in (1.0, -1.0):
                array[index] = original + sign * EPSILON
                losses.append(loss_of(model, loss))
            array[index] = original
            numeric[index] = (losses[0] - losses[1]) / (2 * EPSILON)
        analytic = gradients[key].astype(np.float64)
        scale = max(float(np.abs(numeric).max(initial=0)), float(np.abs(analytic).max(initial=0)), floor)
        errors[key] = float(np.abs(analytic - numeric).max(initial=0)) / scale
    return errors


def _masked_inputs(model: Model) -> dict[str, tuple[Array, bool]]:
    """Input name → (batch, timesteps), True where a Masking layer reading it masks the step, and whether
    Masking layers alone read it (then its gradient there is 0)."""
    masked = {}
    for layer in model.layers:
        if isinstance(layer, MaskingLayer) and layer.input in model.inputs:
            data = model.inputs[layer.input].data
            if data is not None:
                readers = [other for other in model.layers if layer.input in owner_of(other).reads(other)]
                alone = all(isinstance(reader, MaskingLayer) for reader in readers)
                masked[layer.input] = (~np.any(data != layer.mask_value, axis=-1), alone)
    return masked


def after_sgd(model: Model, gradients: dict[str, Array], rate: float) -> dict[str, Any]:
    """The config's mapping after one step of gradient descent, w - rate * dL/dw, for every weight as the
    config gave it (Keras's names or PyTorch's; an array from a file is written out as numbers)."""
    data = copy.deepcopy(dict(model.document.data))
    for stale in ("expect", "expect_gradients"):  # worked out for the weights before the step
        data.pop(stale, None)
    for index, layer in enumerate(model.layers):
        entry = data["layers"][index]
        if isinstance(layer, BidirectionalLayer):
            for direction in DIRECTIONS:
                _descend(model, entry[direction], f"{layer.name}.{direction}", gradients, rate)
        else:
            _descend(model, entry, layer.name, gradients, rate)
    return data


WEIGHT_KEYS = (
    *("kernel", "recurrent_kernel", "bias", "embeddings"),
    *("weight_ih", "weight_hh", "weight_hr", "bias_ih", "bias_hh"),
)


def _descend(
    model: Model, entry: dict[str, Any], prefix: str, gradients: dict[str, Array], rate: float
) -> None:
    """One layer's (or half's) weights in `entry`, each moved against its gradient."""

    def step(holder: dict[str, Any], key: str, gradient_key: str) -> None:
        gradient = gradients.get(gradient_key)
        if gradient is not None and key in holder:
            current = Node(holder[key], (), model.document).array()  # numbers, or {file: ...} read in
            holder[key] = (current - rate * gradient).tolist()

    for key in WEIGHT_KEYS:
        step(entry, key, f"{prefix}.{key}")
    if isinstance(entry.get("peepholes"), dict):
        for gate in ("i", "f", "o"):
            step(entry["peepholes"], gate, f"{prefix}.peepholes.{gate}")
    if isinstance(entry.get("projection"), dict):
        step(entry["projection"], "kernel", f"{prefix}.projection.kernel")
