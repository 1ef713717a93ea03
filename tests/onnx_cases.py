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
