"""The ops of an ONNX graph that become lstm-cli layers: LSTM (through `onnx_lstm`), Gather on a constant
table (an embedding), and MatMul or Gemm followed by Add and one activation op (a dense layer).

A dense layer is read from a chain: MatMul(x, W) or Gemm(x, W, C), then perhaps Add(·, b), then perhaps
one activation; each op reads the one before it and nothing else reads that one, so that no other part of
the graph sees a value that lstm-cli's dense layer does not give.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from lstm_cli.modelfiles.onnx_activations import AXIS_OPS, DENSE_ACTIVATION_OPS, dense_activation, op_text
from lstm_cli.modelfiles.onnx_lstm import read_lstm
from lstm_cli.modelfiles.onnx_values import Axis, Const, Data, Source, Value, article, const_array, node_name

if TYPE_CHECKING:
    from lstm_cli.modelfiles.onnx_walk import Walk


@dataclass
class Layer:
    """A layer being read: its config entry so far, and what the rest of the graph reads of it."""

    name: str
    kind: str  # lstm, bidirectional, dense, embedding
    node: str  # the node it came from, for messages
    entry: dict[str, Any]
    reads: Source
    states: list[np.ndarray | Source | None] = field(default_factory=list)
    ops: list[str] = field(default_factory=list)  # the ops it was read from: MatMul, Add, Softmax
    current: str = ""  # dense: the value its next Add or activation must read
    stage: int = 0  # dense: 0 after MatMul, 1 with its bias, 2 with its activation


def lstm_layer(walk: Walk, node: Any, ins: list[Value | None], attrs: dict[str, Any]) -> list[Value]:
    bidirectional = attrs.get("direction") == "bidirectional"
    name = walk.name_for(node, "bidirectional" if bidirectional else "lstm")
    op = read_lstm(walk.ctx, node, ins, attrs, name)
    walk.notes += op.notes
    entry: dict[str, Any] = {"units": op.units, **op.options}
    if op.bidirectional:
        entry["forward"], entry["backward"] = op.weights
    else:
        entry.update(op.weights[0])
    kind = "bidirectional" if op.bidirectional else "lstm"
    walk.layers[name] = Layer(name, kind, node_name(node), entry, op.reads, op.states, ["LSTM"])
    return op.outputs


def embedding_layer(walk: Walk, node: Any, ins: list[Value | None], attrs: dict[str, Any]) -> list[Value]:
    table, ids = ins[0], ins[1]
    assert isinstance(table, Const) and isinstance(ids, Data)  # as _visit chose this op
    if int(attrs.get("axis", 0)) != 0 or table.array.ndim != 2 or table.array.dtype.kind != "f":
        raise walk.ctx.fail(
            node,
            f"gathers from a constant of shape {table.array.shape} along axis {attrs.get('axis', 0)}; "
            "lstm-cli reads Gather of rows of a 2-D table as an embedding",
        )
    if ids.source.part != "ids" or ids.flipped or any(axis.kind != "label" for axis in ids.axes):
        raise walk.ctx.fail(
            node, "looks up ids computed in the graph; lstm-cli's embedding reads a graph input of ids"
        )
    if not np.isfinite(table.array).all():
        raise walk.ctx.fail(node, "its table holds NaN or infinity")
    rows, width = table.array.shape
    name = walk.name_for(node, "embedding")
    entry = {"input_dim": rows, "output_dim": width, "embeddings": table.array}
    walk.layers[name] = Layer(name, "embedding", node_name(node), entry, ids.source, ops=["Gather"])
    return [Data((*ids.axes, Axis("feature", width)), Source(name, "out"))]


def dense_layer(walk: Walk, node: Any, ins: list[Value | None], attrs: dict[str, Any]) -> list[Value]:
    """MatMul(x, W) or Gemm(x, W, C) with W a constant: a dense layer."""
    x = ins[0] if ins else None
    w = ins[1] if len(ins) > 1 else None
    op = str(node.op_type)
    if not isinstance(x, Data) or not isinstance(w, Const):
        raise walk.ctx.fail(
            node, f"is {article(op)} {op} op that lstm-cli reads only as {op}(x, W), W a constant"
        )
    kernel = w.array
    if op == "Gemm":
        if attrs.get("transA", 0) or len(x.axes) != 2:
            raise walk.ctx.fail(
                node, "is a Gemm op on a transposed or not 2-D input; lstm-cli reads Gemm(x, W, C)"
            )
        kernel = kernel.T if attrs.get("transB", 0) else kernel
        alpha = float(attrs.get("alpha", 1.0))
        with np.errstate(over="ignore"):  # a kernel that overflows is refused below as infinite
            kernel = kernel if alpha == 1.0 else kernel * np.asarray(alpha, dtype=kernel.dtype)
    width = x.axes[-1].size if x.axes[-1].kind == "feature" else -1
    if kernel.ndim != 2 or kernel.dtype.kind != "f" or kernel.shape[0] != width:
        raise walk.ctx.fail(
            node,
            f"multiplies {walk.ctx.shape_text(x)} by a constant of shape {kernel.shape}; a dense layer's "
            f"kernel is (features, units) = ({width}, units)",
        )
    if any(axis.kind == "direction" and axis.size == 2 for axis in x.axes):
        raise walk.ctx.fail(node, "multiplies both halves of a bidirectional LSTM stacked on their own axis")
    if not np.isfinite(kernel).all():
        raise walk.ctx.fail(node, f"its {op} constant holds NaN or infinity")
    name = walk.name_for(node, "dense")
    entry: dict[str, Any] = {"units": kernel.shape[1], "kernel": np.ascontiguousarray(kernel)}
    layer = Layer(name, "dense", node_name(node), entry, x.source, ops=[op], current=str(node.output[0]))
    walk.layers[name] = layer
    out = Data((*x.axes[:-1], Axis("feature", kernel.shape[1])), Source(name, "out"), x.flipped)
    if op == "Gemm" and len(ins) > 2 and ins[2] is not None:
        _bias(walk, node, layer, ins[2], float(attrs.get("beta", 1.0)), 2)
    return [out]


def dense_bias(walk: Walk, node: Any, ins: list[Value | None], attrs: dict[str, Any]) -> list[Value]:
    """Add(x, b) right after a dense layer's MatMul: its bias."""
    data = [(k, v) for k, v in enumerate(ins) if isinstance(v, Data)]
    consts = [v for v in ins if isinstance(v, Const)]
    if len(ins) != 2 or len(data) != 1 or len(consts) != 1:
        raise walk.ctx.fail(node, "is an Add op that lstm-cli reads only as a dense layer's bias, Add(x, b)")
    k, value = data[0]
    assert isinstance(value, Data)  # chosen so above
    layer = _open_dense(walk, node, value, str(node.input[k]), 0)
    _bias(walk, node, layer, consts[0], 1.0, len(value.axes))
    layer.ops.append("Add")
    layer.current = str(node.output[0])
    return [value]


def _bias(walk: Walk, node: Any, layer: Layer, value: Value, beta: float, rank: int) -> None:
    """A dense layer's bias: a constant that broadcasts along the last axis alone, (units,), (1, units),
    or one number for every unit."""
    units = layer.entry["units"]
    bias = const_array(walk.ctx, node, value, "bias")
    along_last = all(d == 1 for d in bias.shape[:-1]) and bias.shape[-1:] in ((), (1,), (units,))
    if bias.dtype.kind != "f" or not along_last or bias.ndim > rank:
        raise walk.ctx.fail(
            node, f"adds a constant of shape {bias.shape} to {units} units; a bias is ({units},)"
        )
    if not np.isfinite(bias).all():
        raise walk.ctx.fail(node, "its bias holds NaN or infinity")
    bias = np.broadcast_to(bias.reshape(-1), (units,)).copy()
    with np.errstate(over="ignore"):
        bias = bias if beta == 1.0 else bias * np.asarray(beta, dtype=bias.dtype)
    if not np.isfinite(bias).all():
        raise walk.ctx.fail(node, "its bias times beta overflows")
    layer.entry["bias"] = bias
    layer.stage = 1


def dense_activation_op(walk: Walk, node: Any, ins: list[Value | None], attrs: dict[str, Any]) -> list[Value]:
    op = str(node.op_type)
    value = ins[0] if ins else None
    if not isinstance(value, Data):
        raise walk.ctx.fail(
            node, f"is {article(op)} {op} op on a constant; lstm-cli reads {op} as a dense layer's activation"
        )
    layer = _open_dense(walk, node, value, str(node.input[0]), 1)
    if op in AXIS_OPS:
        default = -1 if walk.model.opset >= 13 else 1
        axis = int(attrs.get("axis", default))
        if axis % len(value.axes) != len(value.axes) - 1:
            raise walk.ctx.fail(
                node, f"is {article(op)} {op} over axis {axis}; a dense layer's {op} is over its units"
            )
    bounds = _clip_bounds(walk, node, ins, attrs) if op == "Clip" else (None, None)
    name = dense_activation(op, attrs, bounds)
    if name is None:
        shown = op_text(op, {**attrs, **({"min": bounds[0], "max": bounds[1]} if op == "Clip" else {})})
        raise walk.ctx.fail(node, f"is {shown}, which is none of lstm-cli's activations")
    layer.entry["activation"] = name
    layer.ops.append(op)
    layer.stage = 2
    layer.current = str(node.output[0])
    return [value]


def _clip_bounds(
    walk: Walk, node: Any, ins: list[Value | None], attrs: dict[str, Any]
) -> tuple[float | None, float | None]:
    """Clip's min and max: inputs since opset 11, attributes before."""
    if walk.model.opset < 11:
        found: list[Any] = [attrs.get("min"), attrs.get("max")]
    else:
        found = [None if v is None else const_array(walk.ctx, node, v, "min/max") for v in ins[1:3]]
    low, high = (None if v is None else float(np.asarray(v).reshape(-1)[0]) for v in [*found, None][:2])
    return low, high


def _open_dense(walk: Walk, node: Any, value: Data, name: str, most: int) -> Layer:
    """The dense layer whose output `name` is, if an Add (most = 0) or an activation (most = 1) may
    still join it: right after it, and read by nothing else."""
    op = str(node.op_type)
    layer = walk.layers.get(value.source.owner)
    open_layer = layer is not None and layer.kind == "dense" and layer.current == name and layer.stage <= most
    if layer is None or not open_layer or walk.consumers[name] != 1:
        raise walk.ctx.fail(
            node,
            f"is {article(op)} {op} op on {walk.ctx.shape_text(value)}; lstm-cli reads {op} only as part of "
            "a dense "
            "layer: MatMul or Gemm, then Add, then one activation, each read by the next alone",
        )
    return layer


LAYER_OPS: dict[str, Any] = {
    "LSTM": lstm_layer,
    "MatMul": dense_layer,
    "Gemm": dense_layer,
    "Add": dense_bias,
    **dict.fromkeys(DENSE_ACTIVATION_OPS, dense_activation_op),
}
