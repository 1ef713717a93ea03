"""One LSTM step backwards: `lstm_step_backward`, to be read beside engine.lstm_step and the equations of
docs/config.md#one-lstm-step. The fast loop (backprop/recurrent.py) is the same arithmetic over every step
at once, and tests hold the two equal.

Forward, one step (without the variant options, Keras's cell):

    z = x @ kernel + h_prev @ recurrent_kernel + bias          i, f, o = σ(z_i), σ(z_f), σ(z_o)
    g = tanh(z_g)      c = f·c_prev + i·g                      h = o·tanh(c)

Backward, given dh (all that reaches h: from the output at t and from step t+1) and dc_next (what reaches
c from step t+1, through its f and its peepholes):

    do = dh·tanh(c)                dc = dc_next + dh·o·tanh'(c)
    di = dc·g     df = dc·c_prev   dg = dc·i                  dc_prev = dc·f
    dz = [di·σ'(z_i), df·σ'(z_f), dg·tanh'(z_g), do·σ'(z_o)]
    dx = dz @ kernelᵀ    dh_prev = dz @ recurrent_kernelᵀ
    dkernel = xᵀ @ dz    drecurrent_kernel = h_prevᵀ @ dz       dbias = Σ_batch dz
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from lstm_cli.activations import get_activation
from lstm_cli.engine import Step
from lstm_cli.model import Array, LstmLayer, LstmWeights

from .activations import activation_backward, clip_passes


@dataclass(frozen=True)
class StepGradients:
    """dL/d(everything) of one step, named as the step's own values. (batch, units) unless noted."""

    dh: Array  # all that reaches h_t: (batch, proj) with a projection
    dc: Array  # all that reaches c_t
    di: Array  # the gates, after activation (with input_forget, di holds f = 1 - i's share too)
    df: Array
    dg: Array
    do: Array
    dz: Array  # (batch, 4*units): before activation, Keras's gate order
    dx: Array  # (batch, features)
    dh_prev: Array
    dc_prev: Array
    dkernel: Array  # this step's share of each weight's gradient, summed over the batch
    drecurrent_kernel: Array
    dbias: Array | None
    dpeepholes: Mapping[str, Array]
    dprojection: Array | None


def lstm_step_backward(
    x: Array,  # (batch, features): x_t
    h_prev: Array,  # (batch, units), or (batch, proj) with a projection
    c_prev: Array,  # (batch, units)
    step: Step,  # what engine.lstm_step computed from them
    weights: LstmWeights,
    layer: LstmLayer,  # its activations and variant options
    dh: Array,  # dL/dh_t
    dc_next: Array,  # dL/dc_t through step t+1 (its dc_prev); zeros at the last step
) -> StepGradients:
    """One step's gradients. The variant options (docs/config.md#lstm-variants) add their terms, in reverse
    order of lstm_step's."""
    bound = layer.activation_clip

    def clip(value: Array) -> Array:
        return value if bound is None else np.clip(value, -bound, bound)

    def through(name: str, z: Array, y: Array, dy: Array) -> Array:
        """dL/dz from dL/dy, for y = name(clip(z))."""
        dz = activation_backward(name, clip(z), y, dy)
        passes = clip_passes(z, bound)
        return dz if passes is None else dz * passes

    z_i, z_f, z_g, z_o = np.split(step.z, 4, axis=-1)
    i, f, g, o, c = step.i, step.f, step.g, step.o, step.c
    peepholes = weights.peepholes or {}
    tanh_c = get_activation(layer.h_activation)(clip(c))  # "tanh(c)": h's activation of c
    dprojection = None
    dm = dh  # m = o·tanh(c): h itself without a projection
    if weights.projection is not None:  # h = proj_clip(m @ projection)
        m = o * tanh_c
        passes = clip_passes(m @ weights.projection, layer.proj_clip)
        dprojected = dh if passes is None else dh * passes
        dprojection = m.T @ dprojected
        dm = dprojected @ weights.projection.T
    do = dm * tanh_c
    dz_o = through(layer.recurrent_activation, z_o, o, do)
    dc = dc_next + through(layer.h_activation, c, tanh_c, dm * o)
    if "o" in peepholes:
        dc = dc + dz_o * peepholes["o"]  # z_o read c_t
    passes = clip_passes(f * c_prev + i * g, layer.cell_clip)
    dc_unclipped = dc if passes is None else dc * passes
    di, df, dg = dc_unclipped * g, dc_unclipped * c_prev, dc_unclipped * i
    dc_prev = dc_unclipped * f
    if layer.input_forget:  # f = 1 - i
        di = di - df
        dz_f = np.zeros_like(df)
    else:
        dz_f = through(layer.recurrent_activation, z_f, f, df)
    dz_i = through(layer.recurrent_activation, z_i, i, di)
    dz_g = through(layer.activation, z_g, g, dg)
    if "i" in peepholes:
        dc_prev = dc_prev + dz_i * peepholes["i"]  # z_i read c_prev
    if "f" in peepholes:
        dc_prev = dc_prev + dz_f * peepholes["f"]
    dz = np.concatenate([dz_i, dz_f, dz_g, dz_o], axis=-1)  # (batch, 4*units)
    return StepGradients(
        dh=dh,
        dc=dc,
        di=di,
        df=df,
        dg=dg,
        do=do,
        dz=dz,
        dx=dz @ weights.kernel.T,
        dh_prev=dz @ weights.recurrent_kernel.T,
        dc_prev=dc_prev,
        dkernel=x.T @ dz,
        drecurrent_kernel=h_prev.T @ dz,
        dbias=None if weights.bias is None else dz.sum(axis=0),
        dpeepholes={
            gate: (dz_gate * state).sum(axis=0)
            for gate, dz_gate, state in (("i", dz_i, c_prev), ("f", dz_f, c_prev), ("o", dz_o, c))
            if gate in peepholes
        },
        dprojection=dprojection,
    )
