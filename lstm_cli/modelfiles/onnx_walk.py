"""The walk through an ONNX graph: from its inputs, node by node in the graph's (topological) order, through
the nodes that its outputs depend on, following each value (`onnx_values`) and reading layers on the way
(`onnx_layers`). Any op that is neither glue nor a layer is refused by name.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from lstm_cli.modelfiles.onnx_file import OnnxModel
from lstm_cli.modelfiles.onnx_layers import LAYER_OPS, Layer, embedding_layer
from lstm_cli.modelfiles.onnx_select import MERGES, op_gather, op_reshape, op_slice
from lstm_cli.modelfiles.onnx_select import op_reduce as op_reduce_merge
from lstm_cli.modelfiles.onnx_values import (
    Axis,
    Const,
    Context,
    Data,
    Glue,
    Opaque,
    Source,
    Stack,
    Value,
    article,
    attributes,
    node_name,
    op_concat,
    op_constant,
    op_constant_of_shape,
    op_expand,
    op_identity,
    op_shape,
    op_squeeze,
    op_transpose,
    op_unsqueeze,
    shown,
)
from lstm_cli.names import KerasNames

GLUE: dict[str, Glue] = {
    "Identity": op_identity,
    "Constant": op_constant,
    "Shape": op_shape,
    "ConstantOfShape": op_constant_of_shape,
    "Expand": op_expand,
    "Transpose": op_transpose,
    "Unsqueeze": op_unsqueeze,
    "Squeeze": op_squeeze,
    "Concat": op_concat,
    "Gather": op_gather,
    "Slice": op_slice,
    "Reshape": op_reshape,
    **dict.fromkeys(MERGES, op_reduce_merge),
}
READ_OPS = (
    "LSTM ops with their glue (Transpose, Squeeze, Unsqueeze, Slice, Gather, Concat, Reshape, Identity, "
    "Shape, Constant, ConstantOfShape, Expand), MatMul or Gemm with Add and an activation as dense, and "
    "Gather on a table as embedding"
)
FLOAT_TYPES = (1, 10, 11, 16)
INT_TYPES = (2, 3, 4, 5, 6, 7, 12, 13)
SEQUENCE_LENS = 4  # the LSTM op's input sequence_lens
NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9_\-]")


@dataclass
class GraphInput:
    onnx_name: str
    ids: bool
    labels: tuple[str, str]
    features: int | None
    dims: tuple[int | None, ...]


def _glue(ctx: Context, node: Any, ins: list[Value | None], attrs: dict[str, Any]) -> list[Value]:
    """A glue op on constants and shapes, numpy's refusal of a value it cannot fold said as the node's."""
    try:
        return GLUE[str(node.op_type)](ctx, node, ins, attrs)
    except (ValueError, IndexError, TypeError, OverflowError, MemoryError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ctx.fail(node, f"cannot fold it: {first}") from None


class Walk:
    """The walk through the graph: every value an output depends on, and the layers read on the way."""

    def __init__(self, model: OnnxModel) -> None:
        self.model = model
        self.ctx = Context(model)
        self.values: dict[str, Value] = {}
        self.layers: dict[str, Layer] = {}
        self.inputs: dict[str, GraphInput] = {}
        self.initializers = {t.name: t for t in model.graph.initializer}
        self.outputs = [o.name for o in model.graph.output]
        self.consumers: Counter[str] = Counter()
        self.taken: set[str] = set()  # the layers' names
        self.reserved = {"input"}  # and the names the inputs may get, which no layer takes
        self.automatic = KerasNames()  # Keras's names for nodes that have none of their own
        self.notes: list[str] = []  # the layers' notes, for stderr

    def run(self) -> None:
        graph = self.model.graph
        if not self.outputs:
            raise self.model.error("the graph has no outputs")
        for k, node in enumerate(graph.node):
            if not node.name:
                node.name = f"#{k}"
            self.consumers.update(name for name in node.input if name)
        self.consumers.update(self.outputs)
        for info in graph.input:
            if info.name not in self.initializers:
                self.values[info.name] = self._graph_input(info)
                self.reserved.add(NAME_CHARACTERS.sub("_", info.name))
        needed = self._needed()
        for k, node in enumerate(graph.node):
            if k in needed:
                self._visit(node)
        for name in self.outputs:
            if name not in self.values:
                raise self.model.error(f"output {shown(name)!r} is given by no node")

    def _needed(self) -> set[int]:
        """The nodes that the graph's outputs depend on."""
        producer = {out: k for k, node in enumerate(self.model.graph.node) for out in node.output if out}
        needed: set[int] = set()
        pending = list(self.outputs)
        while pending:
            k = producer.get(pending.pop())
            if k is not None and k not in needed:
                needed.add(k)
                pending += [name for name in self.model.graph.node[k].input if name]
        return needed

    def _graph_input(self, info: Any) -> Value:
        name = str(info.name)
        kind = info.type.WhichOneof("value")
        tensor = info.type.tensor_type
        dims = tuple(int(d.dim_value) if d.HasField("dim_value") else None for d in tensor.shape.dim)
        float_input = tensor.elem_type in FLOAT_TYPES and len(dims) == 3
        ids_input = tensor.elem_type in INT_TYPES and len(dims) == 2
        if kind != "tensor_type" or not (float_input or ids_input):
            shape = (
                "("
                + ", ".join("?" if d is None else str(d) for d in dims)
                + ("," if len(dims) == 1 else "")
                + ")"
            )
            return Opaque(
                f"reads graph input {name!r} of shape {shape}; lstm-cli's inputs are (batch, timesteps, "
                "features) of floats, or (batch, timesteps) of integer ids"
            )
        if float_input and dims[2] is None:
            return Opaque(f"reads graph input {name!r}, whose features (its last axis) have no fixed number")
        labels = (f"{name}:0", f"{name}:1")
        for label, size in zip(labels, dims, strict=False):
            self.ctx.labels.add(label, size)
        self.inputs[name] = GraphInput(name, ids_input, labels, dims[2] if float_input else None, dims)
        axes = [Axis("label", label=label) for label in labels]
        if float_input:
            axes.append(Axis("feature", int(dims[2] or 0)))
        return Data(tuple(axes), Source(name, "ids" if ids_input else "input"))

    def value(self, node: Any, name: str) -> Value | None:
        if not name:
            return None
        if name in self.values:
            return self.values[name]
        if name in self.initializers:
            self.values[name] = Const(self.model.array(self.initializers[name], f"initializer {name!r}"))
            return self.values[name]
        raise self.ctx.fail(node, f"reads {shown(name)!r}, which no input, initializer or earlier node gives")

    def _visit(self, node: Any) -> None:
        ctx = self.ctx
        op = str(node.op_type)
        if node.domain not in ("", "ai.onnx"):
            raise ctx.fail(
                node, f"is {article(op)} {op} op of domain {node.domain!r}; lstm-cli reads {READ_OPS}"
            )
        if op not in GLUE and op not in LAYER_OPS:
            raise self.model.error(
                f"{node_name(node)} is {article(op)} {op} op; lstm-cli reads LSTM graphs: {READ_OPS}"
            )
        ins = [self.value(node, name) for name in node.input]
        for k, value in enumerate(ins):
            if isinstance(value, Opaque) and not (
                op == "LSTM" and k == SEQUENCE_LENS
            ):  # refused there, with why
                raise ctx.fail(node, value.why)
            if isinstance(value, Stack) and op not in ("Concat", "Identity"):
                raise ctx.fail(
                    node,
                    f"is {article(op)} {op} op on the states of several layers concatenated; lstm-cli gives "
                    "them apart",
                )
        attrs = attributes(ctx, node)
        is_table = op == "Gather" and len(ins) > 1 and isinstance(ins[0], Const) and isinstance(ins[1], Data)
        if is_table:
            outs = embedding_layer(self, node, ins, attrs)
        elif op in LAYER_OPS:
            outs = LAYER_OPS[op](self, node, ins, attrs)
        else:
            outs = _glue(ctx, node, ins, attrs)
        for name, value in zip(node.output, outs, strict=False):
            if name:
                self.values[name] = value

    def name_for(self, node: Any, kind: str) -> str:
        """A layer's name from its node's: `/lstm/LSTM_1` → `lstm_1`; unnamed nodes as Keras names them."""
        raw = str(node.name)
        parts = [part for part in raw.split("/") if part]
        base = ""
        if parts and not raw.startswith("#"):
            op = re.escape(str(node.op_type))
            suffix = re.fullmatch(rf"{op}(_\d+)?", parts[-1]) if len(parts) > 1 else None
            if suffix is not None:
                parts, tail = parts[:-1], suffix.group(1) or ""
                base = "_".join(parts) + tail
            else:
                base = "_".join(parts)
            base = NAME_CHARACTERS.sub("_", base)
            if base and not (base[0].isalpha() or base[0] == "_"):
                base = f"{kind}_{base}"
        if not base:
            self.automatic.taken = self.taken | self.reserved
            base = self.automatic.next(kind)
        name, k = base, 1
        while name in self.taken or name in self.reserved:
            k += 1
            name = f"{base}_{k}"
        self.taken.add(name)
        return name
