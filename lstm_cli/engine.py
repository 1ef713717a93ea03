"""The forward pass, exactly as Keras 3 computes it (keras/src/layers/rnn/lstm.py). numpy in, numpy out.

`lstm_step` is the whole cell, to be read beside docs/config.md#one-lstm-step. `run_lstm` is the same cell
made fast, and everything (tables, trace, the plain forward) comes from its one loop, which keeps per-step
records only when asked; tests hold the two equal."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from itertools import chain
from typing import Any, NamedTuple, overload

import numpy as np

from .activations import Activation, get_activation
from .graph import masks_taken
from .model import (
    Array,
    BidirectionalLayer,
    DenseLayer,
    EmbeddingLayer,
    Expectation,
    LstmLayer,
    LstmWeights,
    MaskingLayer,
    Model,
    NoOpLayer,
)
from .names import DIRECTIONS, half_ref, state_refs

Progress = Callable[[int], None]  # told how many more steps of a layer have run

# Input projections are computed this many values at a time: one GEMM per chunk of timesteps keeps BLAS
# efficient while memory stays bounded on long sequences (4*units/features times the input, otherwise).
CHUNK_VALUES = 2**21


@dataclass(frozen=True)
class Step:
    """What one LSTM step computes, named as in docs/config.md#one-lstm-step. Every array is (batch, units)
    except z."""

    z: Array  # (batch, 4*units): pre-activations of gates i, f, g, o side by side, with forget_bias and
    # the peepholes' terms, before activation_clip
    i: Array  # input gate
    f: Array  # forget gate
    g: Array  # candidate cell value
    o: Array  # output gate
    c: Array  # cell state c_t
    h: Array  # hidden state h_t: (batch, proj) with a projection


def lstm_step(
    x: Array,  # (batch, features): x_t
    h_prev: Array,  # (batch, units), or (batch, proj) with a projection
    c_prev: Array,  # (batch, units)
    weights: LstmWeights,
    activation: Activation,
    recurrent_activation: Activation,
    *,
    forget_bias: float = 0.0,
    cell_clip: float | None = None,
    activation_clip: float | None = None,
    input_forget: bool = False,
    output_activation: Activation | None = None,
    proj_clip: float | None = None,
) -> Step:
    """One step. Without the variant options (docs/config.md#lstm-variants) it is Keras's cell; each option
    adds its term in the order they are listed there."""
    z = x @ weights.kernel + h_prev @ weights.recurrent_kernel  # (batch, 4*units)
    if weights.bias is not None:
        z = z + weights.bias  # last, as Keras adds it
    z_i, z_f, z_g, z_o = np.split(z, 4, axis=-1)  # each (batch, units)
    peepholes = weights.peepholes or {}
    z_f = z_f + np.asarray(forget_bias, z.dtype) if forget_bias else z_f
    if "i" in peepholes:
        z_i = z_i + peepholes["i"] * c_prev
    if "f" in peepholes:
        z_f = z_f + peepholes["f"] * c_prev

    def clip(value: Array) -> Array:  # activation_clip: every activation's input, never the state
        return value if activation_clip is None else np.clip(value, -activation_clip, activation_clip)

    i = recurrent_activation(clip(z_i))
    f = 1 - i if input_forget else recurrent_activation(clip(z_f))
    g = activation(clip(z_g))
    c = f * c_prev + i * g
    if cell_clip is not None:
        c = np.clip(c, -cell_clip, cell_clip)  # and carried clipped
    if "o" in peepholes:
        z_o = z_o + peepholes["o"] * c  # c_t, clipped
    o = recurrent_activation(clip(z_o))
    h = o * (output_activation or activation)(clip(c))
    if weights.projection is not None:
        h = h @ weights.projection  # (batch, proj)
        if proj_clip is not None:
            h = np.clip(h, -proj_clip, proj_clip)
    return Step(np.concatenate([z_i, z_f, z_g, z_o], axis=-1), i, f, g, o, c, h)


def step_options(layer: LstmLayer) -> dict[str, Any]:
    """lstm_step's keyword arguments for `layer`'s variant options."""
    return {
        "forget_bias": layer.forget_bias,
        "cell_clip": layer.cell_clip,
        "activation_clip": layer.activation_clip,
        "input_forget": layer.input_forget,
        "output_activation": get_activation(layer.output_activation) if layer.output_activation else None,
        "proj_clip": layer.proj_clip,
    }


@dataclass(frozen=True)
class StepRecord:
    """One timestep of one layer, for tables and trace: inputs, the step, and the state it leaves."""

    t: int  # index into the input sequence; counts down under go_backwards
    x: Array  # (batch, features)
    h_prev: Array  # (batch, units)
    c_prev: Array  # (batch, units)
    step: Step  # as computed, before masking
    h: Array  # (batch, units): the state carried on; equals step.h except on masked rows
    c: Array
    masked: Array | None = None  # (batch,) True where the mask skipped this step; None without a mask


@dataclass(frozen=True)
class LayerTrace:
    layer: LstmLayer
    direction: str  # "forward", or "backward" for the reversed half of a bidirectional layer
    weights: LstmWeights
    steps: Sequence[StepRecord]
    timesteps: int | None = None  # steps run, when only a window of them was kept (see run_model)


@dataclass(frozen=True)
class LstmResult:
    output: Array  # (batch, timesteps, units) with return_sequences, else (batch, units)
    h: Array  # (batch, units)
    c: Array  # (batch, units)
    steps: Sequence[StepRecord] | None = None


def _input_projections(
    x: Array, kernel: Array, backwards: bool, progress: Progress | None = None
) -> Iterator[Iterator[tuple[int, Array]]]:
    """Chunks of (t, x_t @ kernel) in processing order, one GEMM per chunk of timesteps. Chunks of steps
    rather than steps: a generator's resumption per step costs as much as a tiny step's add. `progress`
    hears of each chunk's steps once the loop has run them, which costs nothing per step."""
    batch, timesteps, _ = x.shape
    chunk = max(1, min(timesteps, CHUNK_VALUES // max(1, batch * kernel.shape[1])))
    starts = range(0, timesteps, chunk)
    for start in reversed(starts) if backwards else starts:
        # Time-major, so that each step's (batch, 4*units) slice is contiguous for the add in the loop.
        inputs = x[:, start : start + chunk].transpose(1, 0, 2)  # (chunk, batch, features)
        block = (inputs.reshape(-1, inputs.shape[-1]) @ kernel).reshape(-1, batch, kernel.shape[1])
        ts = range(start, min(start + chunk, timesteps))
        yield zip(reversed(ts), block[::-1], strict=True) if backwards else zip(ts, block, strict=True)
        if progress is not None:  # the loop asks for the next chunk once it has run this one
            progress(len(ts))


@cache
def _half(dtype: np.dtype) -> Array:
    """0.5 as a 0-d array: numpy takes it in a third of the time it takes to convert a Python float."""
    half = np.array(0.5, dtype)
    half.flags.writeable = False  # shared by every run
    return half


def _activation_into(name: str, units: int, dtype: np.dtype) -> Callable[[Array, Array], object]:
    """A call (z, out) that writes activation(z) into `out`, which may be `z` itself, allocating nothing for
    the common activations. Built outside the step loop: looking the name up costs as much as a tiny
    step's maths."""
    if name == "tanh":
        return np.tanh  # a ufunc's second argument is its output
    if name == "sigmoid":
        half = _half(dtype)
        add, multiply, tanh = np.add, np.multiply, np.tanh  # see run_lstm's loop

        def sigmoid(z: Array, out: Array) -> None:  # as activations.sigmoid computes it, op for op
            multiply(z, half, out)
            tanh(out, out)
            multiply(out, half, out)
            add(out, half, out)

        return sigmoid
    if name == "linear":
        return lambda z, out: None if out is z else np.copyto(out, z)
    function = get_activation(name)
    if name in ("softmax", "log_softmax"):  # these normalise over each gate's own units

        def per_gate(z: Array, out: Array) -> None:
            for start in range(0, z.shape[-1], units):
                out[:, start : start + units] = function(z[:, start : start + units])

        return per_gate

    def whole(z: Array, out: Array) -> None:
        out[...] = function(z)

    return whole


def _gate_activation(layer: LstmLayer, gates: Array) -> Callable[[], None]:
    """A call that turns `gates`, a step's z (batch, 4*units; gates i, f, o, g), into the gates, in place.
    run_lstm and _Records both activate through this, so that the same calls on the same layout give the
    same numbers."""
    u = layer.units
    sigmoid_gates, g = gates[:, : 3 * u], gates[:, 3 * u :]  # views made once: a slice costs 0.15 µs
    if layer.recurrent_activation == "sigmoid" and layer.activation == "tanh":
        # The default cell. Sigmoid is 0.5·tanh(0.5x) + 0.5, op for op as activations.sigmoid computes it,
        # so once i, f and o are halved one tanh call serves all four gates.
        half = _half(gates.dtype)
        add, multiply, tanh = np.add, np.multiply, np.tanh  # see run_lstm's loop

        def activate_default() -> None:
            multiply(sigmoid_gates, half, sigmoid_gates)
            tanh(gates, gates)
            multiply(sigmoid_gates, half, sigmoid_gates)
            add(sigmoid_gates, half, sigmoid_gates)

        return activate_default
    recurrent_activation = _activation_into(layer.recurrent_activation, u, gates.dtype)
    activation = _activation_into(layer.activation, u, gates.dtype)

    def activate() -> None:
        recurrent_activation(sigmoid_gates, sigmoid_gates)
        activation(g, g)

    return activate


def _swap_g_and_o(blocks: Array, dtype: np.dtype | None = None) -> Array:
    """A row-major copy (in `dtype`, if given) with the gate blocks of the last axis from Keras's
    (i, f, g, o) to the engine's (i, f, o, g), where i, f and o are one slice, or back: the swap is its own
    inverse. Block copies: far cheaper than fancy indexing on big weights. Row-major, because OpenBLAS runs
    it 10-15% faster than column-major."""
    u = blocks.shape[-1] // 4
    swapped = np.empty(blocks.shape, dtype or blocks.dtype)
    swapped[..., : 2 * u] = blocks[..., : 2 * u]
    swapped[..., 2 * u : 3 * u] = blocks[..., 3 * u :]
    swapped[..., 3 * u :] = blocks[..., 2 * u : 3 * u]
    return swapped


class _Buffers(NamedTuple):
    """run_lstm's arrays, allocated once per run. Slots 0..kept-1 hold the kept steps; the two after them
    hold the other steps' c_t and h_t, in turn, through views made once per run, since on a tiny step
    slicing costs as much as maths (a kept step's views are made as it runs: made up front, a view per kept
    step would outweigh the records)."""

    gates: Array  # (batch, 4*units): each step's z, activated in place (engine gate order i, f, o, g)
    cs: Array  # (kept + 2, batch, units): c_t of each slot
    hs: Array  # (kept + 2, batch, units): h_t of each slot
    pre: Array  # (kept, batch, 4*units): kept steps' pre-activations, in engine gate order
    computed: Array | None  # (kept, 2, batch, units): kept steps' c, h before masking; None without a mask
    i_times_g: Array  # (batch, units)
    sequence: Array | None  # (batch, timesteps, units) with return_sequences


def _buffers(layer: LstmLayer, x: Array, kept: int, masked: bool) -> _Buffers:
    batch, timesteps, _ = x.shape
    u, dtype = layer.units, x.dtype
    return _Buffers(
        gates=np.empty((batch, 4 * u), dtype),
        cs=np.empty((kept + 2, batch, u), dtype),
        hs=np.empty((kept + 2, batch, u), dtype),
        pre=np.empty((kept, batch, 4 * u), dtype),
        computed=np.empty((kept, 2, batch, u), dtype) if masked else None,
        i_times_g=np.empty((batch, u), dtype),
        sequence=np.empty((batch, timesteps, u), dtype) if layer.return_sequences else None,
    )


def _engine_weights(weights: LstmWeights, dtype: np.dtype, batch: int) -> tuple[Array, Array, Array | None]:
    """kernel, recurrent_kernel and bias in the engine's gate order (_swap_g_and_o) and the run's dtype; the
    bias as one row per sample: adding arrays of one shape skips broadcasting, 0.4 µs a step on small ones."""
    kernel = _swap_g_and_o(weights.kernel, dtype)
    recurrent_kernel = _swap_g_and_o(weights.recurrent_kernel, dtype)
    bias = None if weights.bias is None else np.tile(_swap_g_and_o(weights.bias, dtype), (batch, 1))
    return kernel, recurrent_kernel, bias


def run_lstm(
    layer: LstmLayer,
    weights: LstmWeights,
    x: Array,  # (batch, timesteps, features)
    h0: Array,  # (batch, units), or (batch, proj) with a projection
    c0: Array,  # (batch, units)
    *,
    mask: Array | None = None,  # (batch, timesteps), True where a step counts
    backwards: bool = False,
    zero_output_for_mask: bool = False,
    record: bool = False,
    keep_step: Callable[[int], bool] | None = None,  # with record: which steps (processing order) to keep
    progress: Progress | None = None,
) -> LstmResult:
    """One LSTM layer over a whole sequence, Keras 3 semantics. Outputs stay in processing order. The
    loop is chosen once per layer: Keras's own cell runs _run_keras as it always ran; a cell with variant
    options (docs/config.md#lstm-variants) runs _run_variant."""
    if layer.plain:
        return _run_keras(
            layer, weights, x, h0, c0, mask, backwards, zero_output_for_mask, record, keep_step, progress
        )
    kept = {k for k in range(x.shape[1]) if keep_step is None or keep_step(k)} if record else None
    return _run_variant(layer, weights, x, h0, c0, mask, backwards, zero_output_for_mask, kept, progress)


def _run_keras(
    layer: LstmLayer,
    weights: LstmWeights,
    x: Array,  # (batch, timesteps, features)
    h0: Array,  # (batch, units)
    c0: Array,  # (batch, units)
    mask: Array | None,  # (batch, timesteps), True where a step counts
    backwards: bool,
    zero_output_for_mask: bool,
    record: bool,
    keep_step: Callable[[int], bool] | None,  # with record: which steps (processing order) to keep
    progress: Progress | None,
) -> LstmResult:
    """run_lstm for Keras's own cell.

    This is `lstm_step` made fast: one GEMM projects the inputs of many steps at once; the gate columns
    are reordered to (i, f, o, g) so that one call activates the three recurrent gates (_swap_g_and_o);
    every step works in place, in preallocated buffers (_Buffers), with everything it calls looked up once.
    A kept step copies its z into its record and computes c and h straight into it; its gates are activated
    from that z again when the record is read, by the same calls on arrays of the same layout, so they are
    the numbers the step used while the records hold 40% less memory. Tests hold it equal to `lstm_step`
    for every activation and option. The loop stays in this one function: a call per step would cost as
    much as a tiny step's maths.
    """
    batch, timesteps, _ = x.shape
    u = layer.units
    kept = [k for k in range(timesteps) if keep_step is None or keep_step(k)] if record else []
    slot_of = {k: slot for slot, k in enumerate(kept)}
    spare = len(kept)  # slots spare and spare + 1 hold the steps not kept, in turn
    gates, cs, hs, pre, computed, i_times_g, sequence = _buffers(layer, x, spare, mask is not None)
    kernel, recurrent_kernel, bias = _engine_weights(weights, x.dtype, batch)
    starts: dict[int, tuple[Array, Array]] = {}  # (h_prev, c_prev) of kept steps that follow a spare one
    h_prev, c_prev = np.asarray(h0, x.dtype), np.asarray(c0, x.dtype)
    output = np.zeros_like(h_prev)  # Keras emits zeros for masked steps before the first valid one
    i, f, o, g = (gates[:, n * u : (n + 1) * u] for n in range(4))
    activate_gates = _gate_activation(layer, gates)
    activation = _activation_into(layer.activation, u, x.dtype)
    plain_state = [(cs[spare + n], hs[spare + n]) for n in (0, 1)]  # a plain step's c_t and h_t, in turn
    projections = chain.from_iterable(_input_projections(x, kernel, backwards, progress))
    # numpy's functions as local names, each output as the third argument (a ufunc's `out`): 0.1 µs less a
    # call, a tenth of a tiny step. np.dot costs half of np.matmul on small arrays, but over an inner
    # dimension of 1 its product underflows as -0.0 where matmul, like Keras, adds it to +0.0.
    dot, add, multiply = np.dot if u > 1 else np.matmul, np.add, np.multiply
    for k, (t, x_projected) in enumerate(projections):  # k: the step's index in processing order
        # z = x_t @ kernel + h_prev @ recurrent_kernel (+ bias), added in Keras's order
        dot(h_prev, recurrent_kernel, gates)
        add(gates, x_projected, gates)
        if bias is not None:
            add(gates, bias, gates)
        slot = slot_of.get(k)
        if slot is None:
            c, h = plain_state[k & 1]
        else:
            if k - 1 not in slot_of:
                starts[k] = (h_prev.copy(), c_prev.copy())
            pre[slot] = gates
            c, h = cs[slot], hs[slot]
        activate_gates()
        multiply(f, c_prev, c)  # c_t = f * c_prev + i * g
        multiply(i, g, i_times_g)
        add(c, i_times_g, c)
        activation(c, h)  # h_t = o * activation(c_t)
        multiply(h, o, h)
        if mask is None:
            output = h
        else:
            valid = mask[:, t, np.newaxis]  # (batch, 1)
            output = np.where(valid, h, 0.0 if zero_output_for_mask else output)
            if computed is not None and slot is not None:
                computed[slot] = c, h
            np.copyto(c, c_prev, where=~valid)  # a masked row carries its state unchanged
            np.copyto(h, h_prev, where=~valid)
        if sequence is not None:
            sequence[:, k] = output
        h_prev, c_prev = h, c
    steps = (
        _Records(layer, kept, slot_of, starts, x, mask, backwards, pre, cs, hs, computed) if record else None
    )
    final_output = sequence if sequence is not None else (output.copy() if output is h_prev else output)
    return LstmResult(final_output, h_prev.copy(), c_prev.copy(), steps)


def _run_variant(
    layer: LstmLayer,
    weights: LstmWeights,
    x: Array,  # (batch, timesteps, features)
    h0: Array,  # (batch, output_units)
    c0: Array,  # (batch, units)
    mask: Array | None,
    backwards: bool,
    zero_output_for_mask: bool,
    kept: set[int] | None,  # the steps (processing order) to record; None records none
    progress: Progress | None,
) -> LstmResult:
    """run_lstm for a cell with variant options (docs/config.md#lstm-variants): the inputs projected one
    GEMM per chunk of steps, then each step's terms in lstm_step's order, on whole arrays. Tests hold it
    equal to lstm_step, option by option."""
    batch, timesteps, _ = x.shape
    dtype = x.dtype
    activation = get_activation(layer.activation)
    recurrent_activation = get_activation(layer.recurrent_activation)
    output_activation = get_activation(layer.h_activation)
    kernel, recurrent_kernel = weights.kernel.astype(dtype), weights.recurrent_kernel.astype(dtype)
    bias = None if weights.bias is None else weights.bias.astype(dtype)
    peepholes = {gate: p.astype(dtype) for gate, p in (weights.peepholes or {}).items()}
    projection = None if weights.projection is None else weights.projection.astype(dtype)
    forget_bias = np.asarray(layer.forget_bias, dtype)
    bounds = {
        key: None if value is None else (np.asarray(-value, dtype), np.asarray(value, dtype))
        for key, value in (("a", layer.activation_clip), ("c", layer.cell_clip), ("h", layer.proj_clip))
    }

    def clip(value: Array, key: str = "a") -> Array:
        bound = bounds[key]
        return value if bound is None else np.clip(value, *bound)

    h_prev, c_prev = np.asarray(h0, dtype), np.asarray(c0, dtype)
    output = np.zeros_like(h_prev)
    sequence = np.empty((batch, timesteps, h_prev.shape[1]), dtype) if layer.return_sequences else None
    records: list[StepRecord] = []
    projections = chain.from_iterable(_input_projections(x, kernel, backwards, progress))
    for k, (t, x_projected) in enumerate(projections):
        z = x_projected + h_prev @ recurrent_kernel  # (batch, 4*units), Keras's gate order
        if bias is not None:
            z = z + bias
        z_i, z_f, z_g, z_o = np.split(z, 4, axis=-1)
        if layer.forget_bias:
            z_f = z_f + forget_bias
        if "i" in peepholes:
            z_i = z_i + peepholes["i"] * c_prev
        if "f" in peepholes:
            z_f = z_f + peepholes["f"] * c_prev
        i = recurrent_activation(clip(z_i))
        f = 1 - i if layer.input_forget else recurrent_activation(clip(z_f))
        g = activation(clip(z_g))
        c = clip(f * c_prev + i * g, "c")
        if "o" in peepholes:
            z_o = z_o + peepholes["o"] * c
        o = recurrent_activation(clip(z_o))
        h = o * output_activation(clip(c))
        if projection is not None:
            h = clip(h @ projection, "h")
        step = Step(np.concatenate([z_i, z_f, z_g, z_o], axis=-1), i, f, g, o, c, h)
        if mask is not None:
            valid = mask[:, t, np.newaxis]  # (batch, 1)
            output = np.where(valid, h, 0.0 if zero_output_for_mask else output).astype(dtype)
            h, c = np.where(valid, h, h_prev), np.where(valid, c, c_prev)
        else:
            output = h
        if kept is not None and k in kept:
            masked = None if mask is None else ~mask[:, t]
            records.append(StepRecord(t, x[:, t], h_prev, c_prev, step, h, c, masked))
        if sequence is not None:
            sequence[:, k] = output
        h_prev, c_prev = h, c
    final_output = sequence if sequence is not None else output.copy()
    return LstmResult(final_output, h_prev.copy(), c_prev.copy(), records if kept is not None else None)


def _shown(step: Step) -> tuple[Array, ...]:
    return step.i, step.f, step.g, step.o, step.c, step.h


class _Records(Sequence[StepRecord]):
    """The kept steps of one run, built on demand from the run's own buffers (views, not copies)."""

    def __init__(
        self,
        layer: LstmLayer,
        kept: list[int],
        slot_of: dict[int, int],
        starts: dict[int, tuple[Array, Array]],
        x: Array,
        mask: Array | None,
        backwards: bool,
        pre: Array,
        cs: Array,
        hs: Array,
        computed: Array | None,
    ) -> None:
        self.layer, self.kept, self.slot_of, self.starts = layer, kept, slot_of, starts
        self.x, self.mask, self.backwards = x, mask, backwards
        self.pre, self.cs, self.hs, self.computed = pre, cs, hs, computed

    def __len__(self) -> int:
        return len(self.kept)

    def finite(self) -> bool:
        """Whether every gate, c and h kept is a finite number. Checking c and h as computed (before any
        mask) is enough: an inf or NaN gate makes c = f·c_prev + i·g or h = o·activation(c) inf or NaN
        too, even where it meets a zero (inf·0 is NaN)."""
        spare = len(self.kept)
        buffers = [self.cs[:spare], self.hs[:spare]] if self.computed is None else [self.computed]
        return all(np.isfinite(buffer).all() for buffer in buffers)

    def stacked(self) -> StepArrays:
        """Every step, the run's buffers read at once: the gates activated from z by the same calls as the
        run's (_gate_activation), on the steps side by side."""
        steps, u = len(self.kept), self.layer.units
        h0, c0 = self.starts[0]
        gates = self.pre.copy()  # (steps, batch, 4*units), engine gate order i, f, o, g
        with np.errstate(all="ignore"):
            _gate_activation(self.layer, gates.reshape(-1, 4 * u))()
        i, f, o, g = (gates[..., n * u : (n + 1) * u] for n in range(4))
        if self.computed is None:
            c, h = self.cs[:steps], self.hs[:steps]
        else:  # masked: what each step computed, beside what it carried on
            c, h = self.computed[:, 0], self.computed[:, 1]
        order = slice(None, None, -1) if self.backwards else slice(None)
        return StepArrays(
            t=np.arange(self.x.shape[1])[order],
            x=self.x.transpose(1, 0, 2)[order],
            h_prev=np.concatenate([h0[np.newaxis], self.hs[: steps - 1]]),
            c_prev=np.concatenate([c0[np.newaxis], self.cs[: steps - 1]]),
            z=_swap_g_and_o(self.pre),
            i=i,
            f=f,
            g=g,
            o=o,
            c=c,
            h=h,
            carried_c=self.cs[:steps],
            carried_h=self.hs[:steps],
            valid=None if self.mask is None else self.mask.T[order],
        )

    @overload
    def __getitem__(self, index: int) -> StepRecord: ...
    @overload
    def __getitem__(self, index: slice) -> list[StepRecord]: ...
    def __getitem__(self, index: int | slice) -> StepRecord | list[StepRecord]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        k = self.kept[index]
        slot = self.slot_of[k]
        t = self.x.shape[1] - 1 - k if self.backwards else k
        if k in self.starts:  # the first step, or one after steps that were not kept
            h_prev, c_prev = self.starts[k]
        else:
            previous = self.slot_of[k - 1]
            h_prev, c_prev = self.hs[previous], self.cs[previous]
        u = self.layer.units
        z = self.pre[slot]  # (batch, 4*units), engine gate order
        gates = z.copy()  # laid out as run_lstm's, so that the same calls give the same numbers
        with np.errstate(all="ignore"):
            _gate_activation(self.layer, gates)()
        i, f, o, g = (gates[:, n * u : (n + 1) * u] for n in range(4))
        c_step, h_step = (self.cs[slot], self.hs[slot]) if self.computed is None else self.computed[slot]
        step = Step(_swap_g_and_o(z), i, f, g, o, c_step, h_step)
        masked = None if self.mask is None else ~self.mask[:, t]
        return StepRecord(t, self.x[:, t], h_prev, c_prev, step, self.hs[slot], self.cs[slot], masked)


@dataclass(frozen=True)
class StepArrays:
    """A layer's steps stacked along a leading axis, in processing order: what backprop and compare read,
    without a Python object per step. Every array is (steps, batch, units) unless noted."""

    t: Array  # (steps,): each step's index into the input; counts down under go_backwards
    x: Array  # (steps, batch, features)
    h_prev: Array  # (steps, batch, units), or (steps, batch, proj) with a projection
    c_prev: Array
    z: Array  # (steps, batch, 4*units), Keras's gate order, as Step.z
    i: Array
    f: Array
    g: Array
    o: Array
    c: Array  # c_t as computed, before masking
    h: Array  # h_t as computed, before masking
    carried_c: Array  # what each step carried on: c_prev on a masked row
    carried_h: Array
    valid: Array | None  # (steps, batch), True where the step counted; None without a mask


def stacked_steps(steps: Sequence[StepRecord]) -> StepArrays:
    """Every step of a run recorded whole (`run_lstm(..., record=True)`), stacked. A fast run's records are
    read from its buffers at once."""
    if isinstance(steps, _Records) and len(steps.kept) == steps.x.shape[1]:
        return steps.stacked()
    records = list(steps)

    def stack(read: Callable[[StepRecord], Array]) -> Array:
        return np.stack([read(record) for record in records])

    masked = [record.masked for record in records]
    return StepArrays(
        t=np.array([record.t for record in records]),
        x=stack(lambda r: r.x),
        h_prev=stack(lambda r: r.h_prev),
        c_prev=stack(lambda r: r.c_prev),
        z=stack(lambda r: r.step.z),
        i=stack(lambda r: r.step.i),
        f=stack(lambda r: r.step.f),
        g=stack(lambda r: r.step.g),
        o=stack(lambda r: r.step.o),
        c=stack(lambda r: r.step.c),
        h=stack(lambda r: r.step.h),
        carried_c=stack(lambda r: r.c),
        carried_h=stack(lambda r: r.h),
        valid=None if masked[0] is None else ~np.stack(masked),  # type: ignore[arg-type]
    )


def run_dense(layer: DenseLayer, x: Array) -> Array:
    """y = activation(x @ kernel + bias) on the last axis."""
    assert layer.kernel is not None  # config.require_data has refused weightless layers
    z = x @ layer.kernel  # (..., units)
    if layer.bias is not None:
        z = z + layer.bias
    return get_activation(layer.activation)(z)


def run_embedding(layer: EmbeddingLayer, ids: Array) -> Array:
    """Row `id` of the table for each id: (batch, timesteps) → (batch, timesteps, output_dim)."""
    assert layer.embeddings is not None  # config.require_data has refused weightless layers
    return layer.embeddings[ids]


@dataclass
class RunResult:
    values: dict[str, Array]  # every reference the run produced, as in `forward --format json`
    traces: list[LayerTrace] = field(default_factory=list)
    masks: dict[str, Array] = field(default_factory=dict)  # mask source's name → (batch, timesteps)


def run_model(
    model: Model,
    *,
    record: bool | Callable[[str], bool] = False,
    known: Mapping[str, Array] | None = None,
    window: tuple[int, int] | None = None,
    skip: Collection[str] = (),
    progress: Progress | None = None,
) -> RunResult:
    """Run every layer in order. `record` keeps per-step records for all layers, or those it accepts;
    `window=(first, last)` keeps only the first and last steps of each, so that a bounded view of a long
    run holds bounded memory. `known` holds references computed before, read as they are (decode runs
    its encoder only once). Layers named in `skip` are not run: their outputs are read from `known`
    (compare's diagnosis re-runs one layer on another model's values). `progress` hears of the
    recurrent steps as they run, `recurrent_steps(model)` in all."""
    dtype = np.dtype(model.dtype)
    run = _Run(model, record, window, progress)
    run.values.update(known or {})
    for name, spec in model.inputs.items():
        assert spec.data is not None  # config.require_data has refused shape-only inputs
        ids = spec.data.dtype.kind in "iu"  # an embedding's input stays integer
        run.values[name] = spec.data if ids else spec.data.astype(dtype, copy=False)
    with np.errstate(all="ignore"):  # overflow is reported with the layer and step, not as a warning
        for layer in model.layers:
            if layer.name in skip:
                continue
            if isinstance(layer, DenseLayer):
                run.dense(layer)
            elif isinstance(layer, MaskingLayer):
                run.masking(layer)
            elif isinstance(layer, BidirectionalLayer):
                run.bidirectional(layer)
            elif isinstance(layer, EmbeddingLayer):
                run.embedding(layer)
            elif isinstance(layer, NoOpLayer):  # the identity at inference; its input's mask passes on
                run.values[layer.name] = run.values[layer.input]
            else:
                run.lstm(layer)
    run.result.values = {ref: value for ref, value in run.values.items() if ref not in model.inputs}
    run.result.masks = run.masks
    return run.result


class _Run:
    """The state of one pass over a model: every reference's value and mask, and the traces kept."""

    def __init__(
        self,
        model: Model,
        record: bool | Callable[[str], bool],
        window: tuple[int, int] | None,
        progress: Progress | None,
    ) -> None:
        self.model = model
        self.record = record
        self.window = window
        self.progress = progress
        self.values: dict[str, Array] = {}
        self.masks: dict[str, Array] = {}  # each mask's (batch, timesteps), True where a step counts
        self.taken = masks_taken(model)  # whose mask each recurrent layer takes
        self.result = RunResult(values={})

    def keeps(self, name: str) -> bool:
        return self.record(name) if callable(self.record) else self.record

    def dense(self, layer: DenseLayer) -> None:
        self.values[layer.name] = run_dense(layer, self.values[layer.input])
        _check_finite(self.model, layer.name, self.values[layer.name])

    def masking(self, layer: MaskingLayer) -> None:
        x = self.values[layer.input]
        valid = np.any(x != layer.mask_value, axis=-1)  # (batch, timesteps)
        self.values[layer.name] = np.where(valid[..., np.newaxis], x, 0.0).astype(x.dtype)
        self.masks[layer.name] = valid

    def embedding(self, layer: EmbeddingLayer) -> None:
        ids = self.values[layer.input]
        self.values[layer.name] = run_embedding(layer, ids)
        if layer.mask_zero:
            self.masks[layer.name] = ids != 0

    def lstm(self, layer: LstmLayer) -> None:
        result = self.run_half(layer, layer.go_backwards, "forward", zero_output_for_mask=False)
        self.values[layer.name] = result.output
        if layer.return_state:
            h_ref, c_ref = state_refs(layer.name)
            self.values[h_ref], self.values[c_ref] = result.h, result.c

    def bidirectional(self, layer: BidirectionalLayer) -> None:
        # Keras 3 zeroes masked steps' outputs inside Bidirectional when it returns sequences.
        zero = layer.return_sequences
        forward = self.run_half(layer.forward, False, "forward", zero_output_for_mask=zero)
        backward = self.run_half(layer.backward, True, "backward", zero_output_for_mask=zero)
        y, y_rev = forward.output, backward.output
        if layer.return_sequences:
            y_rev = y_rev[:, ::-1]  # back to input order before merging
        if layer.merge_mode is None:
            forward_ref, backward_ref = (half_ref(layer.name, direction) for direction in DIRECTIONS)
            self.values[forward_ref], self.values[backward_ref] = y, y_rev
        else:
            self.values[layer.name] = merge_halves(layer.merge_mode, y, y_rev)
            # finite halves can overflow as they merge
            where = f" as merge_mode {layer.merge_mode} joined its halves"
            _check_finite(self.model, layer.name, self.values[layer.name], where)
        if layer.return_state:
            for direction, half in zip(DIRECTIONS, (forward, backward), strict=True):
                h_ref, c_ref = state_refs(half_ref(layer.name, direction))
                self.values[h_ref], self.values[c_ref] = half.h, half.c

    def run_half(
        self, layer: LstmLayer, backwards: bool, direction: str, zero_output_for_mask: bool
    ) -> LstmResult:
        assert layer.weights is not None  # config.require_data has refused weightless layers
        x = self.values[layer.input]
        h0, c0 = _initial_state(layer, self.values, x.shape[0], x.dtype)
        masking = self.taken.get(layer.name)  # a bidirectional layer's halves carry its name
        mask = None if masking is None else self.masks[masking.name]
        timesteps = x.shape[1]
        keep_step = None
        if self.window is not None:
            first, last = self.window
            keep_step = lambda k: k < first or k >= timesteps - last  # noqa: E731
        result = run_lstm(
            layer,
            layer.weights,
            x,
            h0,
            c0,
            mask=mask,
            backwards=backwards,
            zero_output_for_mask=zero_output_for_mask,
            record=self.keeps(layer.name),
            keep_step=keep_step,
            progress=self.progress,
        )
        if not all(np.isfinite(a).all() for a in (result.output, result.h, result.c)):
            replay = run_lstm(layer, layer.weights, x, h0, c0, mask=mask, backwards=backwards, record=True)
            assert replay.steps is not None
            bad = next(s for s in replay.steps if not (np.isfinite(s.h).all() and np.isfinite(s.c).all()))
            _overflowed(self.model, layer.name, f" at timestep {bad.t}")
        if isinstance(result.steps, _Records) and not result.steps.finite():
            # a masked row's discarded step is still shown in the tables
            bad = next(r for r in result.steps if not all(np.isfinite(a).all() for a in _shown(r.step)))
            _overflowed(self.model, layer.name, f" at timestep {bad.t}")
        if result.steps is not None:
            self.result.traces.append(LayerTrace(layer, direction, layer.weights, result.steps, timesteps))
        return result


def recurrent_steps(model: Model) -> int:
    """The steps a run of `model` takes in its recurrent layers: each half of a bidirectional layer runs
    its input's timesteps too."""
    halves = {"lstm": 1, "bidirectional": 2}
    return sum(
        halves[layer.type] * (model.shapes[layer.input][1] or 0)
        for layer in model.layers
        if isinstance(layer, LstmLayer | BidirectionalLayer)
    )


def merge_halves(mode: str, y: Array, y_rev: Array) -> Array:
    """A bidirectional layer's output from its halves, both in input order."""
    if mode == "concat":
        return np.concatenate([y, y_rev], axis=-1)
    if mode == "sum":
        return y + y_rev
    if mode == "mul":
        return y * y_rev
    return (y + y_rev) / 2  # ave


def _initial_state(
    layer: LstmLayer, values: dict[str, Array], batch: int, dtype: np.dtype
) -> tuple[Array, Array]:
    widths = (layer.output_units, layer.units)  # h is (batch, proj) with a projection
    if layer.initial_state is None:
        h0, c0 = (np.zeros((batch, width), dtype) for width in widths)
        return h0, c0
    h0, c0 = (
        values[part] if isinstance(part, str) else np.broadcast_to(part, (batch, width)).astype(dtype)
        for part, width in zip((layer.initial_state.h, layer.initial_state.c), widths, strict=True)
    )
    return h0, c0


def _check_finite(model: Model, name: str, value: Array, where: str = "") -> None:
    if not np.isfinite(value).all():
        _overflowed(model, name, where)


def _overflowed(model: Model, name: str, where: str) -> None:
    """Refuse to show inf or NaN as a number: name the layer and, for an LSTM, the first bad step."""
    raise model.error(
        model.layer(name).key_path,
        f"layer {name!r} overflowed to inf or NaN{where}; "
        "its values grow without bound (a linear activation?)",
    )


@dataclass(frozen=True)
class Mismatch:
    ref: str
    index: tuple[int, ...]
    expected: float
    actual: float


def check_expectations(model: Model, values: dict[str, Array]) -> list[Mismatch]:
    """Every value under `expect:` that differs from the run by more than its tolerance."""
    return mismatches_of(model.expect, values)


def mismatches_of(expectations: Iterable[Expectation], values: Mapping[str, Array]) -> list[Mismatch]:
    """Every expected value that differs from `values` (keyed by each expectation's ref) by more than its
    tolerance: `expect:`'s, and `expect_gradients:`'s."""
    mismatches = []
    for expectation in expectations:
        actual = values[expectation.ref].astype(np.float64)
        differs = np.abs(actual - expectation.expected) > expectation.tolerance
        for index in np.argwhere(differs):
            at = tuple(int(i) for i in index)
            mismatches.append(
                Mismatch(expectation.ref, at, float(expectation.expected[at]), float(actual[at]))
            )
    return mismatches
