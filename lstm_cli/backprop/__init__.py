"""Backpropagation through time, step by step (docs/config.md#the-loss, docs/output.md#backward-json):
the loss of one output, and its gradient with respect to every weight, input and initial state given
as an array.

The forward pass runs as `forward` runs it (engine.run_model), with every LSTM step recorded; the loss
(losses.py) gives dL/doutput; then each layer, last first, hands what reaches its outputs back to what it
read (backprop/layers.py), each recurrent cell through its steps (backprop/recurrent.py, the fast form of
backprop/cell.py's `lstm_step_backward`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lstm_cli.engine import Progress, run_model
from lstm_cli.graph import masks_carried, masks_taken
from lstm_cli.losses import loss_and_gradient
from lstm_cli.model import Array, LossSpec, Model

from .keys import gradient_shapes
from .layers import Backward, CellTrace


@dataclass(frozen=True)
class BackwardResult:
    loss: Array  # 0-d, in the model's dtype
    gradients: dict[str, Array]  # keyed and ordered as keys.gradient_shapes
    cells: list[CellTrace]  # the recorded recurrent cells, in backward order (last layer first)
    values: dict[str, Array]  # the forward pass's references, as `forward` gives them


def run_backward(
    model: Model,
    *,
    loss: LossSpec | None = None,
    record: bool | Callable[[str], bool] = False,
    progress: Progress | None = None,
) -> BackwardResult:
    """The loss (`loss`, else the config's) and every gradient. `record` keeps each step's gradients of
    every recurrent layer, or of those it accepts; `progress` hears of the steps run forward, then
    backward."""
    spec = loss or model.loss
    if spec is None:
        raise model.error(
            (), "no loss to differentiate: add `loss:` to the config, or give --loss and --target"
        )
    run = run_model(model, record=True, progress=progress)
    values = dict(run.values)
    for name, input_spec in model.inputs.items():
        assert input_spec.data is not None  # config.require_data has refused shape-only inputs
        values[name] = (
            input_spec.data if input_spec.data.dtype.kind in "iu" else input_spec.data.astype(model.dtype)
        )
    output = values[spec.output]
    source = masks_carried(model).get(spec.output)
    mask = None if source is None or output.ndim != 3 else run.masks[source.name]
    with np.errstate(all="ignore"):
        result = loss_and_gradient(spec.type, output, spec.target, from_logits=spec.from_logits, mask=mask)
    backward = Backward(
        model,
        run,
        values,
        masks_taken(model),
        reaching={spec.output: result.gradient},
        record=record if callable(record) else (lambda name: bool(record)),
        progress=progress,
    )
    with np.errstate(all="ignore"):
        for layer in reversed(model.layers):
            backward.layer(layer)
    dtype = np.dtype(model.dtype)
    gradients = {}
    for key, shape in gradient_shapes(model).items():
        found = backward.gradients.get(key, backward.reaching.get(key) if key in model.inputs else None)
        gradients[key] = np.zeros(shape, dtype) if found is None else np.asarray(found, dtype)
    return BackwardResult(result.value, gradients, backward.cells, run.values)
