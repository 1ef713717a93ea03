"""The LSTM backwards over a whole sequence: `lstm_step_backward` (backprop/cell.py) made fast.

Everything a step's backward needs that does not depend on the gradient flowing back (each activation's
slope at its step, the clips' pass masks, tanh(c)) is computed for every step at once from the forward
records (engine.StepArrays), before the loop. The loop then carries dh and dc back through time, a few
in-place products and one GEMM (dh_prev = dz @ recurrent_kernelᵀ) a step, and writes each step's dz into
one (steps, batch, 4*units) array. The weights' gradients are then one GEMM each over all steps, as are
the inputs'. Memory: the records, and a few arrays of (steps, batch, units); no Python object per value.

Masking, as Keras runs it (engine.run_lstm): a masked step carries h and c unchanged and emits the previous
output (or zeros inside a bidirectional layer with return_sequences). Backwards, its row passes dh and dc
through unchanged, hands the gradient of its output to the step before, and adds nothing to any weight.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lstm_cli.activations import get_activation
from lstm_cli.engine import Progress, StepArrays
from lstm_cli.model import Array, LstmLayer, LstmWeights

from .activations import activation_backward, clip_passes, derivative

GATE_INDEX = {"i": 0, "f": 1, "g": 2, "o": 3}  # Keras's order along the last axis of z
PROGRESS_CHUNK = 1024  # steps between two reports to a progress bar


@dataclass(frozen=True)
class StepTable:
    """Each step's gradients, stacked in processing order; (steps, batch, units) unless noted."""

    dh: Array  # all that reaches the step's h_t (zero on a masked row: its h is not used)
    dc: Array  # all that reaches its c_t
    dgates: Array  # (steps, batch, 4*units): d i, f, g, o after activation, Keras's gate order
    dz: Array  # (steps, batch, 4*units): before activation
    dx: Array  # (steps, batch, features)
    dh_prev: Array  # what reaches h_{t-1} (a masked row passes dh through)
    dc_prev: Array
    dh_out: Array  # dh's share from the output at t (and from later masked steps' outputs, which repeat it)
    dh_state: Array  # (batch, width): what reaches the returned state h (the last step's dh from after it)
    dc_state: Array  # (batch, units): what reaches the returned state c


@dataclass(frozen=True)
class CellGradients:
    """One LSTM cell run backwards over a sequence."""

    dx: Array  # (batch, timesteps, features), in input order
    dh0: Array  # (batch, units) or (batch, proj): the initial state's
    dc0: Array
    weights: dict[str, Array]  # kernel, recurrent_kernel, bias, peepholes.i, projection.kernel, ...
    table: StepTable | None  # with record


@dataclass(frozen=True)
class OutputGradients:
    """What reaches one cell's outputs from later layers and the loss; None where nothing does."""

    sequence: Array | None = None  # (batch, timesteps, width) in processing order, with return_sequences
    last: Array | None = None  # (batch, width): the output of the last step, without
    h: Array | None = None  # the final states
    c: Array | None = None


class _Slopes:
    """Each gate's activation slope at every step, computed at once: dz = dy·slope. softmax and
    log_softmax, whose Jacobians are not diagonal, go through activation_backward step by step."""

    def __init__(self, layer: LstmLayer, steps: StepArrays) -> None:
        self.layer, self.u = layer, layer.units
        bound = layer.activation_clip
        self.inputs: dict[str, Array] = {}
        self.slopes: dict[str, Array | None] = {}
        self.passes: dict[str, Array | None] = {}
        for gate, index in GATE_INDEX.items():
            z = steps.z[..., index * self.u : (index + 1) * self.u]
            clipped = z if bound is None else np.clip(z, -bound, bound)
            slope = derivative(self.name(gate), clipped, getattr(steps, gate))
            self.inputs[gate], self.passes[gate] = clipped, clip_passes(z, bound)
            self.slopes[gate] = slope if slope is None or bound is None else slope * self.passes[gate]
        self.outputs = {gate: getattr(steps, gate) for gate in GATE_INDEX}

    def name(self, gate: str) -> str:
        return self.layer.activation if gate == "g" else self.layer.recurrent_activation

    def dz(self, gate: str, k: int, dy: Array, out: Array) -> None:
        """dL/dz of `gate` at step k, from dL/d(gate), written into `out`."""
        slope = self.slopes[gate]
        if slope is not None:
            np.multiply(dy, slope[k], out=out)
            return
        name, z, y = self.name(gate), self.inputs[gate][k], self.outputs[gate][k]
        passes = self.passes[gate]
        out[...] = activation_backward(name, z, y, dy) * (1 if passes is None else passes[k])


@dataclass(frozen=True)
class _CellState:
    """The records' other step-invariant parts: h's activation of c and its slope, and the clips' masks."""

    c: Array  # c_t as h's activation reads it (after activation_clip)
    tanh_c: Array  # output_activation(clip(c)): "tanh(c)"
    o_slope: Array | None  # o · tanh'(c): dc gets dm·o_slope; None for softmax, whose product is not
    c_passes: Array | None  # where activation_clip let c through to h's activation
    cell_passes: Array | None  # where cell_clip let c through
    m: Array | None  # o·tanh(c), with a projection: h = proj_clip(m @ projection)
    proj_passes: Array | None


def _cell_state(layer: LstmLayer, weights: LstmWeights, steps: StepArrays) -> _CellState:
    bound = layer.activation_clip
    c = steps.c if bound is None else np.clip(steps.c, -bound, bound)
    tanh_c = get_activation(layer.h_activation)(c)
    slope = derivative(layer.h_activation, c, tanh_c)
    c_passes = clip_passes(steps.c, bound)
    o_slope = None
    if slope is not None:
        o_slope = steps.o * slope if c_passes is None else steps.o * slope * c_passes
    cell_passes = clip_passes(steps.f * steps.c_prev + steps.i * steps.g, layer.cell_clip)
    m = proj_passes = None
    if weights.projection is not None:
        m = steps.o * tanh_c
        proj_passes = clip_passes(m @ weights.projection, layer.proj_clip)
    return _CellState(c, tanh_c, o_slope, c_passes, cell_passes, m, proj_passes)


def lstm_backward(
    layer: LstmLayer,
    weights: LstmWeights,
    steps: StepArrays,  # the forward run's, every step
    reaching: OutputGradients,
    *,
    backwards: bool,
    zero_output_for_mask: bool = False,
    record: bool = False,
    progress: Progress | None = None,
) -> CellGradients:
    """One cell backwards through every step; with `record`, each step's gradients as well. `progress`
    hears of the steps run, PROGRESS_CHUNK at a time."""
    run = _Backward(layer, weights, steps, record)
    dh_carry = _or_zeros(reaching.h, steps.h_prev[0])
    dc_carry = _or_zeros(reaching.c, steps.c_prev[0])
    states = (dh_carry, dc_carry)
    pending = reaching.last  # the gradient of an output that an earlier step emitted
    valid = steps.valid
    for k in reversed(range(len(steps.z))):
        if progress is not None and k % PROGRESS_CHUNK == 0:  # the chunk of steps from k on
            progress(min(k + PROGRESS_CHUNK, len(steps.z)) - k)
        d_output = pending
        if reaching.sequence is not None:
            d_output = reaching.sequence[:, k] if d_output is None else d_output + reaching.sequence[:, k]
        dh = dh_carry if d_output is None else dh_carry + d_output
        if run.table is not None:
            run.table.dh_out[k] = 0 if d_output is None else d_output
        if valid is None:
            dh_carry, dc_carry = run.step(k, dh, dc_carry)
            pending = None
            continue
        rows = valid[k][:, np.newaxis]  # (batch, 1)
        dh_prev, dc_prev = run.step(k, np.where(rows, dh, 0), np.where(rows, dc_carry, 0))
        dh_carry, dc_carry = np.where(rows, dh_prev, dh_carry), np.where(rows, dc_prev, dc_carry)
        if run.table is not None:
            run.table.dh_prev[k], run.table.dc_prev[k] = dh_carry, dc_carry
        if d_output is not None:  # a masked row emitted the previous output, or zeros
            pending = None if zero_output_for_mask else np.where(rows, 0, d_output)
    return run.finish(dh_carry, dc_carry, backwards, states)


def _or_zeros(value: Array | None, like: Array) -> Array:
    return np.zeros_like(like) if value is None else value.astype(like.dtype, copy=False)


class _Backward:
    """The arrays of one cell's backward run, and its step. Each step writes its dz into `dz`."""

    def __init__(self, layer: LstmLayer, weights: LstmWeights, steps: StepArrays, record: bool) -> None:
        dtype = steps.c.dtype
        self.layer, self.steps, self.u = layer, steps, layer.units
        self.weights = weights
        self.slopes = _Slopes(layer, steps)
        self.state = _cell_state(layer, weights, steps)
        self.peepholes = {gate: p.astype(dtype) for gate, p in (weights.peepholes or {}).items()}
        self.projection = None if weights.projection is None else weights.projection.astype(dtype)
        self.recurrent_t = np.ascontiguousarray(weights.recurrent_kernel.T, dtype)  # (4*units, width)
        self.dz = np.empty(steps.z.shape, dtype)  # (steps, batch, 4*units)
        self.dprojected = np.empty(steps.h_prev.shape, dtype) if self.projection is not None else None
        self.dgates = np.empty(steps.z.shape, dtype) if record else None
        self.table = _empty_table(steps) if record else None

    def step(self, k: int, dh: Array, dc_next: Array) -> tuple[Array, Array]:
        """lstm_step_backward at step k, with dz written into self.dz[k]: (dh_prev, dc_prev)."""
        u, state, steps, slopes = self.u, self.state, self.steps, self.slopes
        dz = self.dz[k]
        dz_i, dz_f, dz_g, dz_o = dz[:, :u], dz[:, u : 2 * u], dz[:, 2 * u : 3 * u], dz[:, 3 * u :]
        dm = dh
        if self.projection is not None and self.dprojected is not None:
            dprojected = dh if state.proj_passes is None else dh * state.proj_passes[k]
            self.dprojected[k] = dprojected
            dm = dprojected @ self.projection.T
        do = dm * state.tanh_c[k]
        slopes.dz("o", k, do, dz_o)
        if state.o_slope is not None:
            dc = dc_next + dm * state.o_slope[k]
        else:  # softmax of c
            name, c, tanh_c = self.layer.h_activation, state.c[k], state.tanh_c[k]
            dc = dc_next + activation_backward(name, c, tanh_c, dm * steps.o[k]) * _at(state.c_passes, k)
        if "o" in self.peepholes:
            dc = dc + dz_o * self.peepholes["o"]
        dc_unclipped = dc if state.cell_passes is None else dc * state.cell_passes[k]
        di, df, dg = dc_unclipped * steps.g[k], dc_unclipped * steps.c_prev[k], dc_unclipped * steps.i[k]
        dc_prev = dc_unclipped * steps.f[k]
        if self.layer.input_forget:  # f = 1 - i
            di -= df
            dz_f[...] = 0
        else:
            slopes.dz("f", k, df, dz_f)
        slopes.dz("i", k, di, dz_i)
        slopes.dz("g", k, dg, dz_g)
        if "i" in self.peepholes:
            dc_prev += dz_i * self.peepholes["i"]
        if "f" in self.peepholes:
            dc_prev += dz_f * self.peepholes["f"]
        dh_prev = dz @ self.recurrent_t
        if self.table is not None and self.dgates is not None:
            self.dgates[k] = np.concatenate([di, df, dg, do], axis=-1)
            table = self.table
            table.dh[k], table.dc[k], table.dh_prev[k], table.dc_prev[k] = dh, dc, dh_prev, dc_prev
        return dh_prev, dc_prev

    def finish(self, dh0: Array, dc0: Array, backwards: bool, states: tuple[Array, Array]) -> CellGradients:
        """The weights' and the inputs' gradients, one GEMM each over every step; `states` is what reached
        the returned h and c, for the table."""
        steps, dz, weights = self.steps, self.dz, self.weights
        flat_dz = dz.reshape(-1, dz.shape[-1])  # (steps*batch, 4*units)
        grads = {
            "kernel": steps.x.reshape(-1, steps.x.shape[-1]).T @ flat_dz,
            "recurrent_kernel": steps.h_prev.reshape(-1, steps.h_prev.shape[-1]).T @ flat_dz,
        }
        if weights.bias is not None:
            grads["bias"] = flat_dz.sum(axis=0)
        u = self.u
        for gate, state in (("i", steps.c_prev), ("f", steps.c_prev), ("o", steps.c)):
            if gate in self.peepholes:
                index = GATE_INDEX[gate]
                grads[f"peepholes.{gate}"] = (dz[..., index * u : (index + 1) * u] * state).sum(axis=(0, 1))
        if self.dprojected is not None and self.state.m is not None:
            m = self.state.m
            dprojected = self.dprojected.reshape(-1, self.dprojected.shape[-1])  # (steps*batch, proj)
            grads["projection.kernel"] = m.reshape(-1, u).T @ dprojected
        dx = dz @ weights.kernel.T.astype(dz.dtype)  # (steps, batch, features), processing order
        dx_input = dx.transpose(1, 0, 2)[:, ::-1] if backwards else dx.transpose(1, 0, 2)
        table = None
        if self.table is not None and self.dgates is not None:
            recorded = self.table
            table = StepTable(
                *(recorded.dh, recorded.dc, self.dgates, dz, dx, recorded.dh_prev, recorded.dc_prev),
                *(recorded.dh_out, *states),
            )
        return CellGradients(np.ascontiguousarray(dx_input), dh0, dc0, grads, table)


@dataclass(frozen=True)
class _Table:
    dh: Array
    dc: Array
    dh_prev: Array
    dc_prev: Array
    dh_out: Array


def _empty_table(steps: StepArrays) -> _Table:
    return _Table(
        np.empty(steps.h_prev.shape, steps.c.dtype),
        np.empty(steps.c.shape, steps.c.dtype),
        np.empty(steps.h_prev.shape, steps.c.dtype),
        np.empty(steps.c.shape, steps.c.dtype),
        np.empty(steps.h_prev.shape, steps.c.dtype),
    )


def _at(passes: Array | None, k: int) -> Array | int:
    return 1 if passes is None else passes[k]
