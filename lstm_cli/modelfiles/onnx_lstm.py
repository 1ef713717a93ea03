"""The ONNX LSTM op, read as an lstm-cli `lstm` layer (direction forward or reverse) or `bidirectional` one.

`LSTM(X, W, R, B, sequence_lens, initial_h, initial_c, P)`: with `layout` 0, X is (timesteps, batch,
features) and Y (timesteps, directions, batch, hidden); with `layout` 1, (batch, timesteps, features) and
(batch, timesteps, directions, hidden). W (directions, 4*hidden, features), R (directions, 4*hidden,
hidden) and B (directions, 8*hidden) = [Wb, Rb] keep the gates in the order i, o, f, c; in Keras's layout
that is `kernel = W[d].T`, `recurrent_kernel = R[d].T` and `bias = Wb + Rb`, each with its blocks put in
the order i, f, g(=c), o.

`direction: reverse` runs the sequence backwards, as Keras's `go_backwards` does, but ONNX gives its Y in
input order where Keras gives the sequence in processing order: the reader follows that as a value in
reverse time order (see `onnx_values.Data.flipped`). An LSTM reading a sequence in reverse time order runs
forwards through the original one, so `go_backwards` is `reverse` XOR the flip of its input.

The variant attributes and inputs map onto lstm-cli's LSTM variants (docs/config.md#lstm-variants), each in
one function below: P is `peepholes` (ONNX stores p_i, p_o, p_f), clip `activation_clip`, input_forget
`input_forget: true` (P's p_f dropped, as ONNX then ignores it) and an h activation other than g's
`output_activation`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lstm_cli.layers.lstm import reorder_gates
from lstm_cli.modelfiles.onnx_activations import lstm_cli_activation, parse_lstm_activations
from lstm_cli.modelfiles.onnx_file import KERAS_FROM_ONNX, peepholes_from_onnx
from lstm_cli.modelfiles.onnx_values import (
    MAX_FOLDED,
    Axis,
    Const,
    Context,
    Data,
    Dim,
    Fill,
    Source,
    Value,
    const_array,
    node_name,
)

LSTM_ATTRIBUTES = (
    "activation_alpha",
    "activation_beta",
    "activations",
    "clip",
    "direction",
    "hidden_size",
    "input_forget",
    "layout",
)
DIRECTIONS = ("forward", "reverse", "bidirectional")
DEFAULT_ACTIVATIONS = {"recurrent_activation": "sigmoid", "activation": "tanh"}
HALVES = ("forward", "backward")


@dataclass
class LstmOp:
    """What one LSTM node is in lstm-cli's terms."""

    bidirectional: bool
    units: int
    options: dict[str, Any]  # config keys beside the weights: activations, use_bias, go_backwards
    weights: list[dict[str, Any]]  # per direction: kernel, recurrent_kernel, bias, peepholes; Keras layout
    reads: Source
    states: list[np.ndarray | Source | None]  # initial h and c: an array, a reference, or zeros (None)
    outputs: list[Value]  # Y, Y_h, Y_c
    notes: list[str]  # for stderr: what differs from onnxruntime


def read_lstm(ctx: Context, node: Any, ins: list[Value | None], attrs: dict[str, Any], name: str) -> LstmOp:
    for key in attrs:
        if key not in LSTM_ATTRIBUTES:
            raise ctx.fail(node, f"attribute {key}: the LSTM op has no such attribute")
    direction = attrs.get("direction", "forward")
    if direction not in DIRECTIONS:
        raise ctx.fail(node, f"attribute direction={direction!r}: expected forward, reverse or bidirectional")
    layout = attrs.get("layout", 0)
    if layout not in (0, 1):
        raise ctx.fail(node, f"attribute layout={layout}: expected 0 or 1")
    halves = 2 if direction == "bidirectional" else 1
    x, w, r, b, lengths, h0, c0, p = (list(ins) + [None] * 8)[:8]
    weights, units, features = _weights(ctx, node, w, r, b, halves, attrs)
    options: dict[str, Any] = {}
    options.update(lstm_activations(ctx, node, attrs, halves))
    options.update(lstm_input_forget(ctx, node, attrs))
    for one, peepholes in zip(weights, lstm_peepholes(ctx, node, p, halves, units, options), strict=True):
        if peepholes:
            one["peepholes"] = peepholes
    notes: list[str] = []
    options.update(lstm_clip(ctx, node, attrs, notes))
    data, time, batch = _input(ctx, node, x, layout, features)
    _sequence_lens(ctx, node, lengths, time)
    if halves == 2 and data.flipped:
        raise ctx.fail(
            node,
            "a bidirectional LSTM reads a sequence in reverse time order; lstm-cli's bidirectional layer "
            "cannot swap its halves",
        )
    backwards = (direction == "reverse") != data.flipped
    if backwards:
        options["go_backwards"] = True
    if "bias" not in weights[0]:
        options["use_bias"] = False
    states = [
        _state(ctx, node, value, which, halves, units, batch) for value, which in ((h0, "h"), (c0, "c"))
    ]
    parts = HALVES if halves == 2 else ()
    direction_axis = Axis("direction", halves)
    t, n, hidden = Axis("label", label=time), Axis("label", label=batch), Axis("feature", units)
    y_axes = (t, direction_axis, n, hidden) if layout == 0 else (n, t, direction_axis, hidden)
    state_axes = (direction_axis, n, hidden) if layout == 0 else (n, direction_axis, hidden)
    outputs: list[Value] = [
        Data(y_axes, Source(name, "seq", parts), flipped=direction == "reverse"),
        Data(state_axes, Source(name, "h", parts)),
        Data(state_axes, Source(name, "c", parts)),
    ]
    return LstmOp(halves == 2, units, options, weights, data.source, states, outputs, notes)


def _weights(
    ctx: Context,
    node: Any,
    w: Value | None,
    r: Value | None,
    b: Value | None,
    halves: int,
    attrs: dict[str, Any],
) -> tuple[list[dict[str, Any]], int, int]:
    """W, R and B in Keras's layout and gate order, per direction; the units and the features."""
    W = _float(ctx, node, w, "W")
    if W.ndim != 3 or W.shape[0] != halves or W.shape[1] % 4 or W.shape[1] == 0 or W.shape[2] == 0:
        raise ctx.fail(
            node, f"input W has shape {W.shape}; expected (directions={halves}, 4*hidden, features)"
        )
    units, features = W.shape[1] // 4, W.shape[2]
    if "hidden_size" in attrs and attrs["hidden_size"] != units:
        raise ctx.fail(node, f"attribute hidden_size={attrs['hidden_size']}, but W holds {units} units")
    R = _float(ctx, node, r, "R")
    if R.shape != (halves, 4 * units, units):
        raise ctx.fail(node, f"input R has shape {R.shape}; expected {(halves, 4 * units, units)}")
    B = None if b is None else _float(ctx, node, b, "B")
    if B is not None and B.shape != (halves, 8 * units):
        raise ctx.fail(
            node, f"input B has shape {B.shape}; expected {(halves, 8 * units)} = (directions, 8*hidden)"
        )
    found = []
    for d in range(halves):
        one = {
            "kernel": np.ascontiguousarray(reorder_gates(W[d], KERAS_FROM_ONNX, 0).T),
            "recurrent_kernel": np.ascontiguousarray(reorder_gates(R[d], KERAS_FROM_ONNX, 0).T),
        }
        if B is not None:
            with np.errstate(over="ignore"):  # Wb + Rb beyond float32: refused by the config as infinite
                one["bias"] = reorder_gates(B[d, : 4 * units] + B[d, 4 * units :], KERAS_FROM_ONNX, 0)
        found.append(one)
    return found, units, features


def _float(ctx: Context, node: Any, value: Value | None, what: str) -> np.ndarray:
    if value is None:
        raise ctx.fail(node, f"input {what} is missing")
    array = const_array(ctx, node, value, what)
    if array.dtype.kind != "f":
        raise ctx.fail(node, f"input {what} holds {array.dtype} values; expected floats")
    if not np.isfinite(array).all():
        raise ctx.fail(node, f"input {what} holds NaN or infinity")
    return array.astype(np.float32) if array.dtype.itemsize < 4 else array


def _input(ctx: Context, node: Any, x: Value | None, layout: int, features: int) -> tuple[Data, str, str]:
    """X as a sequence, its time and batch axes bound; (X, the time label, the batch label)."""
    wanted = "(timesteps, batch, features)" if layout == 0 else "(batch, timesteps, features)"
    if not isinstance(x, Data) or len(x.axes) != 3:
        shape = ctx.shape_text(x) if x is not None else "missing"
        raise ctx.fail(node, f"input X is {shape}; the LSTM op (layout {layout}) reads {wanted} of the graph")
    t, b, f = (x.axes[0], x.axes[1], x.axes[2]) if layout == 0 else (x.axes[1], x.axes[0], x.axes[2])
    if t.kind != "label" or b.kind != "label" or f.kind != "feature":
        raise ctx.fail(
            node, f"input X has shape {ctx.shape_text(x)}; the LSTM op (layout {layout}) reads {wanted}"
        )
    labels = ctx.labels
    if labels.find(t.label) == labels.find(b.label) or not (
        labels.bind(t.label, "time") and labels.bind(b.label, "batch")
    ):
        raise ctx.fail(
            node,
            f"input X {ctx.shape_text(x)} is read as {wanted}, but another node read those axes the other "
            "way round",
        )
    if f.size != features:
        raise ctx.fail(node, f"input X has {f.size} features, but W reads {features}")
    return x, t.label, b.label


def _sequence_lens(ctx: Context, node: Any, lengths: Value | None, time: str) -> None:
    """sequence_lens stops each sequence at its length and emits zeros after it, which is not Keras's
    masking (a masked step keeps the state and repeats the previous output): read only when it changes
    nothing, a constant equal to the fixed number of timesteps."""
    if lengths is None:
        return
    why = (
        "ONNX stops each sequence at its length and emits zeros after it, unlike Keras's masking (a masked "
        "step keeps the state and repeats the previous output)"
    )
    if not isinstance(lengths, Const):
        raise ctx.fail(node, f"input sequence_lens is computed in the graph, not a constant; {why}")
    steps = ctx.labels.fixed(time)
    values = sorted({int(v) for v in lengths.array.reshape(-1)})
    if steps is None or values != [steps]:
        fixed = f"{steps} timesteps" if steps is not None else "a number of timesteps that is not fixed"
        raise ctx.fail(
            node,
            f"input sequence_lens is {values} for {fixed}; lstm-cli reads it only when it holds every step; "
            f"{why}",
        )


def _state(
    ctx: Context, node: Any, value: Value | None, which: str, halves: int, units: int, batch: str
) -> np.ndarray | Source | None:
    """initial_h or initial_c (directions, batch, hidden): zeros (None), an array (batch, units) or
    (units,) when every sample starts alike, or another layer's state (batch, units)."""
    what = f"input initial_{which}"
    if value is None:
        return None
    if isinstance(value, Const | Fill):
        return _state_array(ctx, node, value, what, halves, units, batch)
    if isinstance(value, Data):
        axes = value.axes
        source = value.source
        if source.part in ("input", "ids"):
            raise ctx.fail(
                node,
                f"{what} is graph input {source.owner!r}; lstm-cli starts an LSTM from arrays or from "
                "another layer's state, not from an input",
            )
        shaped = len(axes) == 3 and axes[0].size == 1 and axes[0].kind in ("one", "direction")
        if (
            not shaped
            or axes[1].kind != "label"
            or axes[2] != Axis("feature", units)
            or len(source.halves) > 1
        ):
            raise ctx.fail(node, f"{what} has shape {ctx.shape_text(value)}; expected (1, batch, {units})")
        if halves == 2:
            raise ctx.fail(
                node, f"{what} comes from another layer; lstm-cli's bidirectional layer starts from zeros"
            )
        if not ctx.labels.join(axes[1].label, batch):
            raise ctx.fail(node, f"{what}: its batch axis is another node's time axis")
        return source
    raise ctx.fail(node, f"{what} is a shape; expected (directions, batch, {units})")


def _state_array(
    ctx: Context, node: Any, value: Const | Fill, what: str, halves: int, units: int, batch: str
) -> np.ndarray | None:
    dims: tuple[Dim, ...]
    if isinstance(value, Const):
        base, dims = value.array, tuple(int(d) for d in value.array.shape)
    else:
        base, dims = value.base, value.dims
    if len(dims) != 3 or dims[0] != halves or dims[2] != units or isinstance(dims[0], str):
        raise ctx.fail(node, f"{what} has shape {dims}; expected ({halves}, batch, {units})")
    if isinstance(dims[1], str) and not ctx.labels.join(dims[1], batch):
        raise ctx.fail(node, f"{what}: its batch axis is another node's time axis")
    if base.dtype.kind not in "fiu" or not np.isfinite(base).all():
        raise ctx.fail(node, f"{what} holds {base.dtype} values, or NaN or infinity")
    if not base.any():
        return None
    if isinstance(dims[1], int) and dims[1] * units > MAX_FOLDED:
        raise ctx.fail(node, f"{what} holds {dims[1] * units} values; lstm-cli reads at most {MAX_FOLDED}")
    if halves == 2:
        raise ctx.fail(
            node,
            f"{what} is not zeros; lstm-cli's bidirectional layer starts from zeros (Keras's Bidirectional "
            "takes initial states only as tensors)",
        )
    state = np.broadcast_to(base, (base.shape[0], base.shape[1], units))[0]
    if isinstance(dims[1], str):
        return np.ascontiguousarray(state[0])  # (units,): every sample of any batch starts alike
    return np.ascontiguousarray(np.broadcast_to(state, (dims[1], units)))


# -- the variant attributes and inputs: one function each ---------------------------------------------------


def lstm_activations(ctx: Context, node: Any, attrs: dict[str, Any], halves: int) -> dict[str, str]:
    """`activations` (f, g, h per direction) as recurrent_activation (f), activation (g) and, when h is
    another activation than g, output_activation (h)."""
    if "activations" not in attrs:
        return {}
    names = list(attrs["activations"])
    if len(names) != 3 * halves:
        raise ctx.fail(
            node,
            f"attribute activations holds {len(names)} names; the LSTM op takes 3 per direction (f, g, h), "
            f"{3 * halves} here",
        )
    parsed = parse_lstm_activations(
        names,
        list(attrs.get("activation_alpha", [])),
        list(attrs.get("activation_beta", [])),
        lambda message: ctx.fail(node, message),
    )
    found = []
    for d in range(halves):
        mapped = []
        for slot, activation in zip("fgh", parsed[3 * d : 3 * d + 3], strict=True):
            name = lstm_cli_activation(activation)
            if name is None:
                raise ctx.fail(
                    node,
                    f"attribute activations: {slot} is {activation.text()}, which is none of lstm-cli's "
                    "activations",
                )
            mapped.append(name)
        one = {"recurrent_activation": mapped[0], "activation": mapped[1]}
        if mapped[2] != mapped[1]:
            one["output_activation"] = mapped[2]
        found.append(one)
    if halves == 2 and found[0] != found[1]:
        raise ctx.fail(
            node,
            f"attribute activations: the directions differ ({', '.join(names)}); lstm-cli's bidirectional "
            "layer runs both halves with one set",
        )
    return {key: value for key, value in found[0].items() if DEFAULT_ACTIVATIONS.get(key) != value}


def lstm_peepholes(
    ctx: Context, node: Any, p: Value | None, halves: int, units: int, options: dict[str, Any]
) -> list[dict[str, np.ndarray]]:
    """P (directions, 3*hidden) = [p_i, p_o, p_f] per direction as lstm-cli's `peepholes: {i, f, o}`, one
    mapping per direction (empty: none). All zeros is no peepholes; with input_forget ONNX ignores p_f
    (f = 1 - i), so it is left out."""
    if p is None:
        return [{} for _ in range(halves)]
    array = _float(ctx, node, p, "P")
    if array.shape != (halves, 3 * units):
        raise ctx.fail(node, f"input P has shape {array.shape}; expected {(halves, 3 * units)}")
    if not array.any():
        return [{} for _ in range(halves)]
    found = []
    for d in range(halves):
        peepholes = peepholes_from_onnx(array[d])
        if options.get("input_forget"):
            del peepholes["f"]
        found.append(peepholes)
    return found


def lstm_clip(ctx: Context, node: Any, attrs: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    """clip: lstm-cli's `activation_clip: X`, with a note on onnxruntime's reading of it."""
    if "clip" not in attrs:
        return {}
    clip = float(attrs["clip"])
    if not np.isfinite(clip) or clip <= 0:
        raise ctx.fail(node, f"attribute clip={clip:g}: expected a number above 0")
    notes.append(clip_note(f"{node_name(node)}: clip={clip:g} is activation_clip", clip))
    return {"activation_clip": clip}


def clip_note(what: str, clip: float) -> str:
    return (
        f"{what}; onnxruntime 1.32 leaves c_t unclipped inside h's activation (onnxruntime issue 27224), "
        f"which lstm-cli clips as the ONNX operator says, so the two differ where |c_t| exceeds {clip:g}"
    )


def lstm_input_forget(ctx: Context, node: Any, attrs: dict[str, Any]) -> dict[str, Any]:
    """input_forget=1 (f = 1 - i): lstm-cli's `input_forget: true`."""
    value = attrs.get("input_forget", 0)
    if value == 0:
        return {}
    if value != 1:
        raise ctx.fail(node, f"attribute input_forget={value}: expected 0 or 1")
    return {"input_forget": True}
