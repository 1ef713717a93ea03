"""Each layer type's backward rule: from the gradients that reach its outputs, those of its weights and of
what it reads. Each is the forward of engine.run_model read backwards, for its one type."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from lstm_cli.activations import get_activation
from lstm_cli.engine import LayerTrace, Progress, RunResult, run_lstm, stacked_steps
from lstm_cli.model import (
    Array,
    BidirectionalLayer,
    DenseLayer,
    EmbeddingLayer,
    Layer,
    LstmLayer,
    MaskingLayer,
    MaskSource,
    Model,
    NoOpLayer,
)
from lstm_cli.names import DIRECTIONS, half_ref, state_refs

from .activations import activation_backward
from .keys import TORCH_NAMES
from .recurrent import CellGradients, OutputGradients, lstm_backward


@dataclass(frozen=True)
class CellTrace:
    """One recurrent layer's direction, backwards: its forward trace and each step's gradients."""

    forward: LayerTrace
    gradients: CellGradients


@dataclass
class Backward:
    """One backward pass over a model: what reaches each reference, the gradients found so far (keyed as
    backprop.keys names them) and, with `record`, each recurrent cell's steps."""

    model: Model
    run: RunResult  # the forward pass, every LSTM step recorded
    values: dict[str, Array]  # every reference and input
    taken: dict[str, MaskSource]  # graph.masks_taken
    reaching: dict[str, Array]  # reference → dL/d(it), summed over every reader
    gradients: dict[str, Array] = field(default_factory=dict)
    record: Callable[[str], bool] = lambda name: False
    cells: list[CellTrace] = field(default_factory=list)
    progress: Progress | None = None  # hears of the steps run backwards

    def add(self, ref: str, gradient: Array) -> None:
        """Another reader's share of dL/d`ref`."""
        self.reaching[ref] = self.reaching[ref] + gradient if ref in self.reaching else gradient

    def layer(self, layer: Layer) -> None:
        """`layer`'s rule, by its type."""
        if isinstance(layer, DenseLayer):
            dense_backward(self, layer)
        elif isinstance(layer, EmbeddingLayer):
            embedding_backward(self, layer)
        elif isinstance(layer, MaskingLayer):
            masking_backward(self, layer)
        elif isinstance(layer, BidirectionalLayer):
            bidirectional_backward(self, layer)
        elif isinstance(layer, NoOpLayer):
            if layer.name in self.reaching:  # the identity
                self.add(layer.input, self.reaching[layer.name])
        else:
            lstm_backward_layer(self, layer)


def dense_backward(run: Backward, layer: DenseLayer) -> None:
    """y = activation(x @ kernel + bias) on the last axis: dz = dy·activation'(z), dkernel = Σ xᵀ dz,
    dbias = Σ dz, dx = dz @ kernelᵀ."""
    dy = run.reaching.get(layer.name)
    if dy is None or layer.kernel is None:
        return
    x = run.values[layer.input]
    z = x @ layer.kernel  # (..., units), as engine.run_dense
    if layer.bias is not None:
        z = z + layer.bias
    dz = activation_backward(layer.activation, z, get_activation(layer.activation)(z), dy)
    flat_dz = dz.reshape(-1, layer.units)
    run.gradients[f"{layer.name}.kernel"] = x.reshape(-1, x.shape[-1]).T @ flat_dz
    if layer.bias is not None:
        run.gradients[f"{layer.name}.bias"] = flat_dz.sum(axis=0)
    run.add(layer.input, dz @ layer.kernel.T)


def embedding_backward(run: Backward, layer: EmbeddingLayer) -> None:
    """Row `id` of the table for each id: each row's gradient is the sum over the steps that read it. Ids
    have none."""
    dy = run.reaching.get(layer.name)
    if dy is None or layer.embeddings is None:
        return
    table = np.zeros_like(layer.embeddings)
    np.add.at(table, run.values[layer.input], dy)
    run.gradients[f"{layer.name}.embeddings"] = table


def masking_backward(run: Backward, layer: MaskingLayer) -> None:
    """A masked step's features were replaced by zeros: no gradient reaches them. The mask itself is
    held fixed (it is a comparison, with no gradient)."""
    dy = run.reaching.get(layer.name)
    if dy is not None:
        valid = run.run.masks[layer.name]  # (batch, timesteps)
        run.add(layer.input, np.where(valid[..., np.newaxis], dy, 0).astype(dy.dtype))


def lstm_backward_layer(run: Backward, layer: LstmLayer) -> None:
    """One LSTM: its output and final states' gradients through every step, then its initial state's to
    where it came from."""
    h_ref, c_ref = state_refs(layer.name)
    if not any(ref in run.reaching for ref in (layer.name, h_ref, c_ref)):
        return  # its weights' gradients are zeros
    cell = _cell_backward(run, layer, "forward", layer.name, (h_ref, c_ref), zero_output_for_mask=False)
    _weights(run, layer, cell, layer.name)
    run.add(layer.input, cell.dx)
    state = layer.initial_state
    if state is None:
        return
    for part, given, gradient in (("h", state.h, cell.dh0), ("c", state.c, cell.dc0)):
        if isinstance(given, str):
            run.add(given, gradient)
        else:  # an array, (batch, width) or (width,) for every sample
            shared = given.ndim == 1
            run.gradients[f"{layer.name}.initial_state.{part}"] = gradient.sum(axis=0) if shared else gradient


def bidirectional_backward(run: Backward, layer: BidirectionalLayer) -> None:
    """Two cells over one input: the merge read backwards gives each half its output's gradient; the
    backward half's sequence was flipped back into input order before merging, so its gradient is flipped
    into processing order again."""
    halves = (layer.forward, layer.backward)
    half_refs = [half_ref(layer.name, direction) for direction in DIRECTIONS]
    if layer.merge_mode is None:
        reaching = [run.reaching.get(ref) for ref in half_refs]
    else:
        reaching = _unmerged(run, layer, run.reaching.get(layer.name))
    for direction, half, ref, d_output in zip(DIRECTIONS, halves, half_refs, reaching, strict=True):
        if d_output is not None:
            flip = direction == "backward" and layer.return_sequences
            run.reaching[ref] = d_output[:, ::-1] if flip else d_output
        if not any(known in run.reaching for known in (ref, *state_refs(ref))):
            continue
        zero = layer.return_sequences  # Keras 3 zeroes masked outputs inside Bidirectional
        cell = _cell_backward(run, half, direction, ref, state_refs(ref), zero_output_for_mask=zero)
        _weights(run, half, cell, f"{layer.name}.{direction}")
        run.add(layer.input, cell.dx)


def _unmerged(run: Backward, layer: BidirectionalLayer, d_merged: Array | None) -> list[Array | None]:
    """dL/d(forward output), dL/d(backward output, in input order), from the merged output's."""
    if d_merged is None:
        return [None, None]
    mode = layer.merge_mode
    if mode == "concat":
        width = d_merged.shape[-1] // 2
        return [d_merged[..., :width], d_merged[..., width:]]
    if mode == "sum":
        return [d_merged, d_merged]
    if mode == "ave":
        return [d_merged / 2, d_merged / 2]
    forward, backward = (_half_output(run, layer, half) for half in (layer.forward, layer.backward))
    return [d_merged * backward, d_merged * forward]  # mul


def _half_output(run: Backward, layer: BidirectionalLayer, half: LstmLayer) -> Array:
    """A half's output in input order, as the merge read it (mul's gradient needs each half's)."""
    assert half.weights is not None
    x = run.values[layer.input]
    zeros = [np.zeros((x.shape[0], width), x.dtype) for width in (half.output_units, half.units)]
    source = run.taken.get(layer.name)
    mask = None if source is None else run.run.masks[source.name]
    output = run_lstm(
        half,
        half.weights,
        x,
        *zeros,
        mask=mask,
        backwards=half.go_backwards,
        zero_output_for_mask=layer.return_sequences,
    ).output
    return output[:, ::-1] if half.go_backwards and layer.return_sequences else output


def _cell_backward(
    run: Backward,
    cell: LstmLayer,
    direction: str,
    output_ref: str,
    state: tuple[str, str],
    *,
    zero_output_for_mask: bool,
) -> CellGradients:
    trace = next(t for t in run.run.traces if t.layer.name == cell.name and t.direction == direction)
    assert cell.weights is not None
    d_output = run.reaching.get(output_ref)
    reaching = OutputGradients(
        sequence=d_output if cell.return_sequences else None,
        last=None if cell.return_sequences else d_output,
        h=run.reaching.get(state[0]),
        c=run.reaching.get(state[1]),
    )
    gradients = lstm_backward(
        cell,
        cell.weights,
        stacked_steps(trace.steps),
        reaching,
        backwards=cell.go_backwards,
        zero_output_for_mask=zero_output_for_mask,
        record=run.record(cell.name),
        progress=run.progress,
    )
    if gradients.table is not None:
        run.cells.append(CellTrace(trace, gradients))
    return gradients


def _weights(run: Backward, cell: LstmLayer, gradients: CellGradients, prefix: str) -> None:
    """A cell's weights' gradients under Keras's names, and PyTorch's too for a layer given in its layout."""
    for name, gradient in gradients.weights.items():
        run.gradients[f"{prefix}.{name}"] = gradient
    if cell.weights is not None and cell.weights.layout == "torch":
        for keras_name, torch_names in TORCH_NAMES.items():
            if keras_name in gradients.weights:
                for torch_name, transposed in torch_names:
                    gradient = gradients.weights[keras_name]
                    run.gradients[f"{prefix}.{torch_name}"] = gradient.T.copy() if transposed else gradient
