"""ONNX graphs built with onnx.helper for the ONNX tests, and onnxruntime as their oracle.

Imported only by test modules that have skipped already without onnx and onnxruntime.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

# Distinct per gate, in ONNX's order i, o, f, c: a gate read in the wrong block gives other numbers.
GATE_OFFSETS = {"i": 0.3, "o": -0.2, "f": -0.6, "c": 0.9}
OPSET = 17


def weights(seed: int, directions: int, hidden: int, features: int) -> dict[str, np.ndarray]:
    """W, R and B for an LSTM op, each gate's bias offset by its own value."""
    rng = np.random.default_rng(seed)
    offsets = np.concatenate([np.full(hidden, GATE_OFFSETS[g], np.float32) for g in "iofc"])
    return {
        "W": (rng.standard_normal((directions, 4 * hidden, features)) * 0.6).astype(np.float32),
        "R": (rng.standard_normal((directions, 4 * hidden, hidden)) * 0.6).astype(np.float32),
        "B": np.concatenate(
            [
                (rng.standard_normal((directions, 4 * hidden)) * 0.3 + offsets).astype(np.float32),
                (rng.standard_normal((directions, 4 * hidden)) * 0.3).astype(np.float32),
            ],
            axis=1,
        ),
    }


def lstm_graph(
    *,
    direction: str = "forward",
    hidden: int = 3,
    features: int = 2,
    layout: int = 0,
    seed: int = 0,
    initial: tuple[np.ndarray, np.ndarray] | None = None,
    peepholes: np.ndarray | None = None,
    sequence_lens: Any = None,
    bias: bool = True,
    name: str = "encoder",
    **attributes: Any,
) -> Any:
    """One LSTM op, its X a graph input `X` (T, B, F) (layout 1: (B, T, F)), its Y, Y_h and Y_c outputs."""
    directions = 2 if direction == "bidirectional" else 1
    arrays = weights(seed, directions, hidden, features)
    if not bias:
        del arrays["B"]
    x_dims = ["T", "N", features] if layout == 0 else ["N", "T", features]
    graph_inputs = [helper.make_tensor_value_info("X", TensorProto.FLOAT, x_dims)]
    inputs = ["X", "W", "R", "B" if bias else "", "", "", "", ""]
    if initial is not None:
        arrays["initial_h"], arrays["initial_c"] = initial
        inputs[5], inputs[6] = "initial_h", "initial_c"
    if peepholes is not None:
        arrays["P"] = peepholes
        inputs[7] = "P"
    if isinstance(sequence_lens, str):  # a graph input
        graph_inputs.append(helper.make_tensor_value_info(sequence_lens, TensorProto.INT32, ["N"]))
        inputs[4] = sequence_lens
    elif sequence_lens is not None:
        arrays["sequence_lens"] = np.asarray(sequence_lens, dtype=np.int32)
        inputs[4] = "sequence_lens"
    while inputs[-1] == "":
        inputs.pop()
    node = helper.make_node(
        "LSTM", inputs, ["Y", "Y_h", "Y_c"], name=name, hidden_size=hidden, direction=direction, **attributes
    )
    if layout:
        node.attribute.append(helper.make_attribute("layout", layout))
    y_dims = ["T", directions, "N", hidden] if layout == 0 else ["N", "T", directions, hidden]
    state_dims = [directions, "N", hidden] if layout == 0 else ["N", directions, hidden]
    outputs = [
        helper.make_tensor_value_info("Y", TensorProto.FLOAT, y_dims),
        helper.make_tensor_value_info("Y_h", TensorProto.FLOAT, state_dims),
        helper.make_tensor_value_info("Y_c", TensorProto.FLOAT, state_dims),
    ]
    initializers = [numpy_helper.from_array(array, key) for key, array in arrays.items()]
    return model_of([node], graph_inputs, outputs, initializers)


def model_of(nodes: list[Any], inputs: list[Any], outputs: list[Any], initializers: list[Any]) -> Any:
    graph = helper.make_graph(nodes, "test", inputs, outputs, initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    return model


def save(model: Any, path: Path) -> Path:
    path.write_bytes(model.SerializeToString())
    return path


def run_ort(model: Any, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    data = model.SerializeToString() if not isinstance(model, Path) else str(model)
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    return list(session.run(None, feeds))


def check(model: Any) -> None:
    onnx.checker.check_model(model)


def torch_style_graph(seed: int = 0, vocab: int = 7, width: int = 3, hidden: int = 2) -> Any:
    """Embedding → two stacked LSTMs → Linear, time-major, as torch.onnx.export(dynamo=False) writes it with
    dynamic axes: zero states built from the input's shape (Shape, Gather, Unsqueeze, Concat,
    ConstantOfShape), a Slice of them per layer, Squeeze of each Y, h_n the Concat of the Y_h."""
    rng = np.random.default_rng(seed)
    const = {
        "table": rng.standard_normal((vocab, width)).astype(np.float32),
        "fc_weight_t": rng.standard_normal((hidden, 4)).astype(np.float32),
        "fc_bias": rng.standard_normal(4).astype(np.float32),
        "one": np.array(1, np.int64),
        "two": np.array([2], np.int64),
        "hidden": np.array([hidden], np.int64),
        "zero_axis": np.array([0], np.int64),
        "axis1": np.array([1], np.int64),
    }
    nodes = [
        helper.make_node("Gather", ["table", "tokens"], ["embedded"], name="/emb/Gather"),
        helper.make_node("Shape", ["embedded"], ["shape"], name="/lstm/Shape"),
        helper.make_node("Gather", ["shape", "one"], ["batch"], name="/lstm/Gather", axis=0),
        helper.make_node("Unsqueeze", ["batch", "zero_axis"], ["batch1"], name="/lstm/Unsqueeze"),
        helper.make_node("Concat", ["two", "batch1", "hidden"], ["state_shape"], name="/lstm/Concat", axis=0),
        helper.make_node("ConstantOfShape", ["state_shape"], ["zeros"], name="/lstm/ConstantOfShape"),
    ]
    x, features = "embedded", width
    for k in range(2):
        arrays = weights(seed + k, 1, hidden, features)
        for key, array in arrays.items():
            const[f"{key}{k}"] = array
        const[f"start{k}"], const[f"end{k}"] = np.array([k], np.int64), np.array([k + 1], np.int64)
        suffix = f"_{k}" if k else ""
        nodes += [
            helper.make_node(
                "Slice",
                ["zeros", f"start{k}", f"end{k}", "zero_axis"],
                [f"h0_{k}"],
                name=f"/lstm/Slice{suffix}",
            ),
            helper.make_node(
                "LSTM",
                [x, f"W{k}", f"R{k}", f"B{k}", "", f"h0_{k}", f"h0_{k}"],
                [f"Y{k}", f"Y_h{k}", f"Y_c{k}"],
                name=f"/lstm/LSTM{suffix}",
                hidden_size=hidden,
            ),
            helper.make_node("Squeeze", [f"Y{k}", "axis1"], [f"seq{k}"], name=f"/lstm/Squeeze{suffix}"),
        ]
        x, features = f"seq{k}", hidden
    nodes += [
        helper.make_node("Concat", ["Y_h0", "Y_h1"], ["h_n"], name="/lstm/Concat_1", axis=0),
        helper.make_node("MatMul", [x, "fc_weight_t"], ["fc_out"], name="/fc/MatMul"),
        helper.make_node("Add", ["fc_bias", "fc_out"], ["logits"], name="/fc/Add"),
    ]
    inputs = [helper.make_tensor_value_info("tokens", TensorProto.INT64, ["time", "batch"])]
    outputs = [
        helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["time", "batch", 4]),
        helper.make_tensor_value_info("h_n", TensorProto.FLOAT, [2, "batch", hidden]),
    ]
    initializers = [numpy_helper.from_array(array, key) for key, array in const.items()]
    return model_of(nodes, inputs, outputs, initializers)
