"""An lstm-cli model → an ONNX graph that onnxruntime runs with the same numbers (float32, opset 20; 24 when a
dense layer uses silu, ONNX's Swish).

The graph takes and returns batch first, as lstm-cli does, and each reference the model's outputs name is
a graph output of that name (`lstm`, `encoder.h`, `bidirectional.forward`). Each `lstm` or `bidirectional`
layer is one LSTM op, node named after the layer, `layout` 0 (onnxruntime refuses `layout` 1 on the CPU),
with a Transpose before it and after it. W, R and B hold the gates in ONNX's order (i, o, f, c), the whole
bias in B's first half. `go_backwards` is `direction: reverse`, its Y reversed in time (Slice with step -1)
to give the sequence in processing order, as Keras does. A bidirectional layer's halves are merged as its
`merge_mode` says: concatenated (Transpose + Reshape), summed, averaged or multiplied (ReduceSum,
ReduceMean, ReduceProd), or kept apart (Gather). An initial state is an initializer (an array), Expand of
one over the batch (a `(units,)` array), or Unsqueeze of another layer's state (a reference). A dense layer
is MatMul, Add and its activation's op; an embedding Gather; a no-op layer Identity.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lstm_cli.errors import LstmCliError
from lstm_cli.graph import masks_taken
from lstm_cli.layers.lstm import PEEPHOLES, LstmWeights, reorder_gates
from lstm_cli.model import (
    BidirectionalLayer,
    DenseLayer,
    EmbeddingLayer,
    InputSpec,
    Layer,
    LstmLayer,
    MaskingLayer,
    Model,
)
from lstm_cli.modelfiles.common import optional_module
from lstm_cli.modelfiles.onnx_activations import DENSE_OPS, TO_LSTM, OnnxActivation
from lstm_cli.modelfiles.onnx_file import ONNX_FROM_KERAS, peepholes_to_onnx
from lstm_cli.modelfiles.onnx_lstm import clip_note

OPSET = 20
SWISH_OPSET = 24  # Swish (silu) joined the operator set in version 24
IR_VERSIONS = {20: 9, 24: 11}
INT64_MIN = -(2**63)
MERGE_OPS = {"sum": "ReduceSum", "ave": "ReduceMean", "mul": "ReduceProd"}
HALVES = ("forward", "backward")
DEFAULT_LSTM_ACTIVATIONS = ("sigmoid", "tanh")


def check_writable(model: Model) -> list[str]:
    """Refuse what ONNX cannot compute as lstm-cli does, before anything is written; notes on the rest."""
    notes: list[str] = []
    for layer in model.layers:
        if isinstance(layer, MaskingLayer):
            raise LstmCliError(
                f"layer {layer.name!r} is a Masking layer; ONNX's LSTM op cannot skip masked steps as Keras "
                "does (its sequence_lens cuts each sequence short instead)"
            )
        lstm = layer.forward if isinstance(layer, BidirectionalLayer) else layer
        if isinstance(lstm, LstmLayer):
            notes += _check_lstm(layer, lstm)
    for name, source in masks_taken(model).items():
        raise LstmCliError(
            f"layer {source.name!r} masks id 0 (mask_zero) for layer {name!r}; ONNX's LSTM op cannot skip "
            "masked steps as Keras does (its sequence_lens cuts each sequence short instead)"
        )
    if model.dtype == "float64":
        notes.append(
            "the .onnx holds float32 weights, as ONNX runtimes compute an LSTM (the config computes in "
            "float64)"
        )
    return notes


def _check_lstm(layer: Layer, lstm: LstmLayer) -> list[str]:
    """Refuse the LSTM options that ONNX's LSTM op cannot hold; notes on forget_bias and activation_clip."""
    for key in ("recurrent_activation", "activation", "output_activation"):
        name = getattr(lstm, key)
        if name is not None and name not in TO_LSTM:
            raise LstmCliError(
                f"layer {layer.name!r}: {key} {name} is none of the ONNX LSTM op's activations (it "
                f"takes {', '.join(sorted(TO_LSTM))} in lstm-cli's terms)"
            )
    halves = [layer.forward, layer.backward] if isinstance(layer, BidirectionalLayer) else [lstm]
    refused = [
        key
        for key, present in (
            ("cell_clip", lstm.cell_clip is not None),
            ("projection", any(h.weights is not None and h.weights.projection is not None for h in halves)),
            ("proj_clip", lstm.proj_clip is not None),
        )
        if present
    ]
    if refused:
        raise LstmCliError(
            f"layer {layer.name!r}: ONNX's LSTM op has no {' or '.join(refused)} (it takes peepholes, clip "
            "as activation_clip, input_forget and a third activation as output_activation)"
        )
    notes = []
    if lstm.forget_bias:
        notes.append(
            f"layer {layer.name!r}: forget_bias {lstm.forget_bias:g} is folded into the f block of the LSTM "
            "op's B, which ONNX adds to z_f before the activation as lstm-cli adds forget_bias: the same "
            "numbers"
        )
    if lstm.activation_clip is not None:
        notes.append(
            clip_note(
                f"layer {layer.name!r}: activation_clip {lstm.activation_clip:g} is the LSTM op's clip",
                lstm.activation_clip,
            )
        )
    return notes


def write_onnx(model: Model, path: Path) -> None:
    onnx = optional_module("onnx", "writing ONNX files")
    check_writable(model)
    path.write_bytes(build(onnx, model).SerializeToString())


def build(onnx: Any, model: Model) -> Any:
    graph = _Graph(onnx, model)
    for layer in model.layers:
        graph.layer(layer)
    helper = onnx.helper
    outputs = []
    for ref in model.outputs:
        shape = model.shapes[ref]
        dims = ["batch", *([None] * (len(shape) - 2)), shape[-1]]  # timesteps as the inputs give them
        outputs.append(helper.make_tensor_value_info(graph.output(ref), onnx.TensorProto.FLOAT, dims))
    swish = any(
        isinstance(layer, DenseLayer) and layer.activation in ("silu", "swish") for layer in model.layers
    )
    opset = SWISH_OPSET if swish else OPSET
    proto = helper.make_model(
        helper.make_graph(graph.nodes, "lstm_cli", graph.inputs, outputs, graph.initializers),
        opset_imports=[helper.make_opsetid("", opset)],
        producer_name="lstm-cli",
    )
    proto.ir_version = IR_VERSIONS[opset]
    return proto


class _Graph:
    """The nodes, initializers and inputs being written, and the value that holds each reference."""

    def __init__(self, onnx: Any, model: Model) -> None:
        self.onnx = onnx
        self.model = model
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.names: dict[str, str] = {}  # reference → the value holding it, batch first
        self.counter = 0
        self.needed = set(model.outputs)
        for layer in model.layers:
            self.needed.add(layer.input)
            state = layer.initial_state if isinstance(layer, LstmLayer) else None
            if state is not None:
                self.needed.update(part for part in (state.h, state.c) if isinstance(part, str))
        self.inputs = [self._input(name, spec) for name, spec in model.inputs.items()]

    def _input(self, name: str, spec: InputSpec) -> Any:
        """The graph input (batch, timesteps[, features]): timesteps fixed only where the config's shape
        fixes them, not by the example data it holds."""
        shape = spec.shape
        steps: int | str = "timesteps" if len(self.model.inputs) == 1 else f"{name}_timesteps"
        if spec.data is None and shape[0] is not None:
            steps = shape[0]
        ids = len(shape) == 1
        kind = self.onnx.TensorProto.INT64 if ids else self.onnx.TensorProto.FLOAT
        self.names[name] = name
        return self.onnx.helper.make_tensor_value_info(name, kind, ["batch", steps, *shape[1:]])

    def const(self, hint: str, array: np.ndarray) -> str:
        name = self._fresh(hint)
        array = np.array(array, order="C")  # a copy that keeps a 0-d array 0-d (ascontiguousarray would not)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def ints(self, hint: str, values: list[int] | int) -> str:
        return self.const(hint, np.asarray(values, dtype=np.int64))

    def node(self, op: str, inputs: list[str], output: str, name: str | None = None, **attrs: Any) -> str:
        """One node; `output` is its value's name if it is a reference, else a hint for a fresh name."""
        out = output if output in self.needed else self._fresh(output)
        self.nodes.append(
            self.onnx.helper.make_node(op, inputs, [out], name=name or self._fresh(f"{output}/{op}"), **attrs)
        )
        return out

    def _fresh(self, hint: str) -> str:
        self.counter += 1
        return f"{hint}#{self.counter}" if "/" not in hint else f"{hint}_{self.counter}"

    def define(self, ref: str, value: str) -> None:
        self.names[ref] = value

    def output(self, ref: str) -> str:
        """The graph output for `ref`, named `ref`."""
        value = self.names[ref]
        if value != ref:
            self.nodes.append(self.onnx.helper.make_node("Identity", [value], [ref], name=f"{ref}/Identity"))
            self.names[ref] = ref
        return ref

    # -- layers ----------------------------------------------------------------------------------------------

    def layer(self, layer: Layer) -> None:
        name = layer.name
        if isinstance(layer, LstmLayer | BidirectionalLayer):
            self.lstm(layer)
        elif isinstance(layer, DenseLayer):
            self.dense(layer)
        elif isinstance(layer, EmbeddingLayer):
            table = self.const(f"{name}/embeddings", np.asarray(layer.embeddings, dtype=np.float32))
            self.define(name, self.node("Gather", [table, self.names[layer.input]], name, name=name))
        else:  # the no-op layers: the identity at inference
            self.define(name, self.node("Identity", [self.names[layer.input]], name, name=name))

    def dense(self, layer: DenseLayer) -> None:
        name = layer.name
        kernel = self.const(f"{name}/kernel", np.asarray(layer.kernel, dtype=np.float32))
        steps: list[tuple[str, list[str], dict[str, Any]]] = [("MatMul", [kernel], {})]
        if layer.bias is not None:
            steps.append(("Add", [self.const(f"{name}/bias", np.asarray(layer.bias, dtype=np.float32))], {}))
        if layer.activation in DENSE_OPS:
            op, attrs = DENSE_OPS[layer.activation]
            extra = []
            if op == "Clip":
                extra = [
                    self.const(f"{name}/min", np.asarray(0.0, dtype=np.float32)),
                    self.const(f"{name}/max", np.asarray(6.0, dtype=np.float32)),
                ]
            steps.append((op, extra, attrs))
        value = self.names[layer.input]
        for k, (op, extra, attrs) in enumerate(steps):
            last = k == len(steps) - 1
            node_name = name if op in ("MatMul",) else f"{name}/{op}"
            value = self.node(op, [value, *extra], name if last else f"{name}/{op}", name=node_name, **attrs)
        self.define(name, value)

    def lstm(self, layer: LstmLayer | BidirectionalLayer) -> None:
        name = layer.name
        halves = [layer.forward, layer.backward] if isinstance(layer, BidirectionalLayer) else [layer]
        x = self.node("Transpose", [self.names[layer.input]], f"{name}/X", perm=[1, 0, 2])
        weights = [half.weights for half in halves]
        if any(w is None for w in weights):
            raise LstmCliError(f"layer {name!r} has no weights, so there is nothing to write to an .onnx")
        W = np.stack([reorder_gates(w.kernel.T, ONNX_FROM_KERAS, 0) for w in weights if w is not None])
        R = np.stack(
            [reorder_gates(w.recurrent_kernel.T, ONNX_FROM_KERAS, 0) for w in weights if w is not None]
        )
        inputs = [
            x,
            self.const(f"{name}/W", W.astype(np.float32)),
            self.const(f"{name}/R", R.astype(np.float32)),
        ]
        B = _bias([w for w in weights if w is not None], halves[0])
        inputs += [self.const(f"{name}/B", B) if B is not None else "", "", "", ""]
        if isinstance(layer, LstmLayer) and layer.initial_state is not None:
            state = layer.initial_state
            inputs[5:7] = [self._state(layer, state.h, "h", x), self._state(layer, state.c, "c", x)]
        P = _peepholes([w for w in weights if w is not None], layer.units)
        if P is not None:
            inputs.append(self.const(f"{name}/P", P))
        while inputs[-1] == "":
            inputs.pop()
        attrs: dict[str, Any] = {"hidden_size": layer.units, **_activations(halves[0], len(halves))}
        if halves[0].activation_clip is not None:
            attrs["clip"] = float(halves[0].activation_clip)
        if halves[0].input_forget:
            attrs["input_forget"] = 1
        if isinstance(layer, BidirectionalLayer):
            attrs["direction"] = "bidirectional"
        elif layer.go_backwards:
            attrs["direction"] = "reverse"
        outs = [f"{name}/Y", f"{name}/Y_h", f"{name}/Y_c"]
        self.nodes.append(self.onnx.helper.make_node("LSTM", inputs, outs, name=name, **attrs))
        if isinstance(layer, BidirectionalLayer):
            self._bidirectional_outputs(layer, *outs)
        else:
            self._lstm_outputs(layer, *outs)

    def _state(self, layer: LstmLayer, value: Any, which: str, x: str) -> str:
        """(1, batch, units): another layer's state unsqueezed, an array as it is, or a (units,) array
        expanded over the batch that x has."""
        name = layer.name
        if isinstance(value, str):
            return self.node(
                "Unsqueeze", [self.names[value], self.ints(f"{name}/axes", [0])], f"{name}/initial_{which}"
            )
        array = np.asarray(value, dtype=np.float32)
        if array.ndim == 2:
            return self.const(f"{name}/initial_{which}", array[np.newaxis])
        shape = self.node("Shape", [x], f"{name}/shape")
        batch = self.node("Gather", [shape, self.ints(f"{name}/one", 1)], f"{name}/batch", axis=0)
        batch = self.node("Unsqueeze", [batch, self.ints(f"{name}/axes", [0])], f"{name}/batch")
        dims = self.node(
            "Concat",
            [self.ints(f"{name}/directions", [1]), batch, self.ints(f"{name}/units", [layer.units])],
            f"{name}/state_shape",
            axis=0,
        )
        base = self.const(f"{name}/initial_{which}", array.reshape(1, 1, -1))
        return self.node("Expand", [base, dims], f"{name}/initial_{which}")

    def _lstm_outputs(self, layer: LstmLayer, y: str, y_h: str, y_c: str) -> None:
        name = layer.name
        if layer.return_sequences and name in self.needed:
            seq = self.node("Squeeze", [y, self.ints(f"{name}/axes", [1])], f"{name}/Y")
            if layer.go_backwards:  # ONNX gives Y in input order; Keras in processing order
                starts, ends = self.ints(f"{name}/starts", [-1]), self.ints(f"{name}/ends", [INT64_MIN])
                axes, steps = self.ints(f"{name}/axes", [0]), self.ints(f"{name}/steps", [-1])
                seq = self.node("Slice", [seq, starts, ends, axes, steps], f"{name}/Y")
            self.define(name, self.node("Transpose", [seq], name, perm=[1, 0, 2]))
        h_refs = [name] if not layer.return_sequences else []
        h_refs += [f"{name}.h"] if layer.return_state else []
        wanted = [ref for ref in h_refs if ref in self.needed]
        if wanted:
            h = self.node("Squeeze", [y_h, self.ints(f"{name}/axes", [0])], wanted[0])
            for ref in wanted:
                self.define(ref, h)
        if layer.return_state and f"{name}.c" in self.needed:
            self.define(f"{name}.c", self.node("Squeeze", [y_c, self.ints(f"{name}/axes", [0])], f"{name}.c"))

    def _bidirectional_outputs(self, layer: BidirectionalLayer, y: str, y_h: str, y_c: str) -> None:
        name = layer.name
        mode = layer.merge_mode
        sequence = layer.return_sequences
        source, axis = (y, 1) if sequence else (y_h, 0)
        if mode is None:
            for d, half in enumerate(HALVES):
                if f"{name}.{half}" in self.needed:
                    picked = self.node(
                        "Gather", [source, self.ints(f"{name}/{half}", d)], f"{name}/{half}", axis=axis
                    )
                    if sequence:
                        picked = self.node("Transpose", [picked], f"{name}.{half}", perm=[1, 0, 2])
                    self.define(f"{name}.{half}", picked)
        elif name in self.needed:
            if mode == "concat":
                perm = [0, 2, 1, 3] if sequence else [1, 0, 2]
                side = self.node("Transpose", [source], f"{name}/halves", perm=perm)
                shape = self.ints(f"{name}/shape", [0, 0, -1] if sequence else [0, -1])
                merged = self.node("Reshape", [side, shape], name if not sequence else f"{name}/merged")
            else:
                axes = self.ints(f"{name}/axes", [axis])
                merged = self.node(
                    MERGE_OPS[mode], [source, axes], name if not sequence else f"{name}/merged", keepdims=0
                )
            if sequence:
                merged = self.node("Transpose", [merged], name, perm=[1, 0, 2])
            self.define(name, merged)
        if layer.return_state:
            for d, half in enumerate(HALVES):
                for part, value in (("h", y_h), ("c", y_c)):
                    ref = f"{name}.{half}.{part}"
                    if ref in self.needed:
                        self.define(
                            ref, self.node("Gather", [value, self.ints(f"{name}/{half}", d)], ref, axis=0)
                        )


def _bias(weights: list[LstmWeights], cell: LstmLayer) -> np.ndarray | None:
    """B (directions, 8*units): the bias in ONNX's gate order, forget_bias folded into the f block (ONNX adds
    B to z_f before the activation, as lstm-cli adds forget_bias), then zeros for Rb. None: no bias."""
    if all(w.bias is None for w in weights) and not cell.forget_bias:
        return None
    rows = []
    for w in weights:
        bias = np.zeros(w.kernel.shape[1]) if w.bias is None else np.asarray(w.bias, dtype=np.float64)
        units = bias.shape[0] // 4
        bias = bias.copy()
        bias[units : 2 * units] += cell.forget_bias  # Keras's f block
        rows.append(np.concatenate([reorder_gates(bias, ONNX_FROM_KERAS, 0), np.zeros_like(bias)]))
    return np.stack(rows).astype(np.float32)


def _peepholes(weights: list[LstmWeights], units: int) -> np.ndarray | None:
    """P (directions, 3*units) = [p_i, p_o, p_f] per direction, zeros for a gate without one; None: none."""
    if all(w.peepholes is None for w in weights):
        return None
    rows = []
    for w in weights:
        given = w.peepholes or {}
        rows.append(peepholes_to_onnx({gate: given.get(gate, np.zeros(units)) for gate in PEEPHOLES}))
    return np.stack(rows).astype(np.float32)


def _activations(layer: LstmLayer, directions: int) -> dict[str, Any]:
    """The LSTM op's activations attribute (f, g, h per direction) and their alpha and beta, in order."""
    h_name = layer.h_activation
    if (layer.recurrent_activation, layer.activation, h_name) == (*DEFAULT_LSTM_ACTIVATIONS, "tanh"):
        return {}
    f, g, h = TO_LSTM[layer.recurrent_activation], TO_LSTM[layer.activation], TO_LSTM[h_name]
    chosen: list[OnnxActivation] = [f, g, h] * directions
    attrs: dict[str, Any] = {"activations": [a.name for a in chosen]}
    alphas = [a.alpha for a in chosen if a.alpha is not None]
    betas = [a.beta for a in chosen if a.beta is not None]
    if alphas:
        attrs["activation_alpha"] = alphas
    if betas:
        attrs["activation_beta"] = betas
    return attrs
