"""Oracle: `lstm-cli convert` and ONNX files, both ways, against onnxruntime (and torch.onnx.export).

In: LSTM graphs built with onnx.helper, their gates' biases apart (tests/onnx_cases.py), and files that
torch.onnx.export writes, read into a config and run by lstm-cli in float32: equal to onnxruntime (and to
torch) within 1e-6 of the largest value. Out: configs written to .onnx run in onnxruntime as lstm-cli runs
them, and read back to the same numbers. Every refusal is held to its exact message.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import CONFIGS, run_cli

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from onnx_cases import lstm_graph, model_of, run_ort, save, torch_style_graph, weights  # noqa: E402

import lstm_cli  # noqa: E402
from lstm_cli.activations import ACTIVATIONS  # noqa: E402
from lstm_cli.config import load_model  # noqa: E402
from lstm_cli.errors import LstmCliError  # noqa: E402
from lstm_cli.modelfiles.convert import read_source  # noqa: E402
from lstm_cli.modelfiles.onnx_file import peepholes_from_onnx, peepholes_to_onnx  # noqa: E402
from lstm_cli.modelfiles.onnx_write import write_onnx  # noqa: E402
from lstm_cli.sources import Inputs  # noqa: E402
from lstm_cli.yamlwriter import dump_yaml  # noqa: E402

TOLERANCE = 1e-6  # float32 against float32, relative to the largest value compared
T, N, F, H = 5, 2, 2, 3


def assert_close(actual: np.ndarray, expected: np.ndarray, what: str) -> None:
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, what
    scale = max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(actual, expected, rtol=0, atol=TOLERANCE * scale, err_msg=what)


def data(seed: int, *shape: int) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(shape) * 1.2).astype(np.float32)


def run_file(path: Path, tmp_path: Path, *arrays: tuple[str, np.ndarray]) -> dict[str, np.ndarray]:
    """lstm-cli's outputs for the model file at `path`, each --input as its own file, as the CLI reads "
    "them."""
    files = []
    for k, (name, array) in enumerate(arrays):
        np.save(tmp_path / f"in{k}.npy", array)
        files.append(f"{name}={tmp_path / f'in{k}.npy'}" if name else str(tmp_path / f"in{k}.npy"))
    converted = read_source(path, inputs=Inputs(files=tuple(files)))
    return lstm_cli.forward(converted.mapping)


def refused(path: Path) -> str:
    with pytest.raises(LstmCliError) as info:
        read_source(path)
    return str(info.value)


# -- in: LSTM ops built with onnx.helper -------------------------------------------------------------------


def test_the_lstm_op_reads_with_onnxs_gate_order_i_o_f_c_put_into_kerass_i_f_g_o(tmp_path: Path) -> None:
    path = save(lstm_graph(hidden=H, features=F), tmp_path / "m.onnx")
    entry = read_source(path).mapping["layers"][0]
    W, R, B = (weights(0, 1, H, F)[key][0] for key in ("W", "R", "B"))
    onnx_block = {"i": 0, "o": 1, "f": 2, "c": 3}
    for keras_k, gate in enumerate("ifco"):  # Keras's i, f, g(=c), o
        k = onnx_block[gate]
        rows, cols = slice(k * H, (k + 1) * H), slice(keras_k * H, (keras_k + 1) * H)
        np.testing.assert_array_equal(entry["kernel"][:, cols], W[rows].T, err_msg=gate)
        np.testing.assert_array_equal(entry["recurrent_kernel"][:, cols], R[rows].T, err_msg=gate)
        np.testing.assert_allclose(
            entry["bias"][cols], B[rows] + B[4 * H :][rows], rtol=0, atol=0, err_msg=gate
        )
    assert (entry["type"], entry["name"], entry["units"]) == ("lstm", "encoder", H)


def _states(directions: int, kind: str) -> tuple[np.ndarray, np.ndarray] | None:
    if kind == "none":
        return None
    if kind == "zeros":
        zeros = np.zeros((directions, N, H), np.float32)
        return zeros, zeros
    return data(11, directions, N, H), data(12, directions, N, H)


@pytest.mark.parametrize(
    ("direction", "states"),
    [
        ("forward", "none"),
        ("forward", "arrays"),
        ("reverse", "none"),
        ("reverse", "arrays"),
        ("bidirectional", "none"),
        ("bidirectional", "zeros"),
    ],
)
def test_lstm_ops_read_from_onnx_predict_as_onnxruntime(tmp_path: Path, direction: str, states: str) -> None:
    directions = 2 if direction == "bidirectional" else 1
    model = lstm_graph(direction=direction, hidden=H, features=F, initial=_states(directions, states))
    x = data(3, T, N, F)  # (T, N, F): the graph's own layout, which --input follows
    y, y_h, y_c = run_ort(model, {"X": x})
    out = run_file(save(model, tmp_path / "m.onnx"), tmp_path, ("", x))
    if direction == "bidirectional":
        for d, half in enumerate(("forward", "backward")):
            assert_close(out[f"encoder.{half}"], y[:, d].transpose(1, 0, 2), f"Y[:, {d}]")
            assert_close(out[f"encoder.{half}.h"], y_h[d], f"Y_h[{d}]")
            assert_close(out[f"encoder.{half}.c"], y_c[d], f"Y_c[{d}]")
        return
    sequence = out["encoder"]
    if direction == "reverse":  # ONNX: input order; lstm-cli, as Keras's go_backwards: processing order
        sequence = sequence[:, ::-1]
    assert_close(sequence, y[:, 0].transpose(1, 0, 2), "Y")
    assert_close(out["encoder.h"], y_h[0], "Y_h")
    assert_close(out["encoder.c"], y_c[0], "Y_c")


def test_a_reverse_lstms_y_is_noted_as_the_sequence_in_reverse_time_order(tmp_path: Path) -> None:
    path = save(lstm_graph(direction="reverse"), tmp_path / "m.onnx")
    converted = read_source(path)
    assert converted.mapping["layers"][0]["go_backwards"] is True
    assert converted.notes == [
        "output 'Y' is encoder in reverse time order: ONNX gives a reverse LSTM's Y in input order, and "
        "Keras's go_backwards (so lstm-cli) in processing order"
    ]
    header = " ".join(line.strip() for line in converted.header)
    line = (
        "ONNX output 'Y' (timesteps, 1, batch, 3): encoder, here (batch, timesteps, 3) in reverse time order."
    )
    assert line in header


def test_layout_1_reads_as_the_layout_0_graph_that_onnxruntime_runs(tmp_path: Path) -> None:
    batchwise = lstm_graph(direction="bidirectional", layout=1, seed=4)
    x = data(5, N, T, F)  # (N, T, F), as layout 1 reads it
    y, y_h, _ = run_ort(lstm_graph(direction="bidirectional", layout=0, seed=4), {"X": x.transpose(1, 0, 2)})
    out = run_file(save(batchwise, tmp_path / "m.onnx"), tmp_path, ("", x))
    assert_close(out["encoder.forward"], y[:, 0].transpose(1, 0, 2), "Y forward")
    assert_close(out["encoder.backward"], y[:, 1].transpose(1, 0, 2), "Y backward")
    assert_close(out["encoder.backward.h"], y_h[1], "Y_h backward")


@pytest.mark.parametrize(
    ("activations", "alpha", "beta", "expected"),
    [
        (["Sigmoid", "Tanh", "Tanh"], None, None, {}),
        (
            ["HardSigmoid", "Relu", "Relu"],
            [1 / 6],
            [0.5],
            {"recurrent_activation": "hard_sigmoid", "activation": "relu"},
        ),
        (
            ["HardSigmoid", "Softsign", "Softsign"],
            None,
            None,
            {"recurrent_activation": "hard_sigmoid_tf2", "activation": "softsign"},
        ),
        (["Sigmoid", "Affine", "Affine"], [1.0, 1.0], [0.0, 0.0], {"activation": "linear"}),
        (
            ["LeakyRelu", "Elu", "Elu"],
            [0.2, 1.0, 1.0],
            None,
            {"recurrent_activation": "leaky_relu", "activation": "elu"},
        ),
        (["Sigmoid", "Softplus", "Softplus"], None, None, {"activation": "softplus"}),
    ],
    ids=["default", "hard_sigmoid", "hard_sigmoid_tf2", "linear", "leaky_relu", "softplus"],
)
def test_the_activations_attribute_maps_onto_lstm_cli_activations(
    tmp_path: Path, activations: list[str], alpha: Any, beta: Any, expected: dict[str, str]
) -> None:
    params = {"activations": activations}
    if alpha is not None:
        params["activation_alpha"] = alpha
    if beta is not None:
        params["activation_beta"] = beta
    model = lstm_graph(seed=2, **params)
    x = data(6, T, N, F) * 0.3
    y, _, _ = run_ort(model, {"X": x})
    path = save(model, tmp_path / "m.onnx")
    entry = read_source(path).mapping["layers"][0]
    assert {key: entry[key] for key in ("activation", "recurrent_activation") if key in entry} == expected
    assert_close(run_file(path, tmp_path, ("", x))["encoder"], y[:, 0].transpose(1, 0, 2), "Y")


def test_alpha_and_beta_go_in_order_to_the_activations_that_take_them(tmp_path: Path) -> None:
    # Tanh takes none; HardSigmoid takes alpha 1/6 and beta 0.5, LeakyRelu the next alpha, 0.2.
    model = lstm_graph(
        direction="bidirectional",
        activations=["HardSigmoid", "Tanh", "Tanh", "HardSigmoid", "Tanh", "Tanh"],
        activation_alpha=[1 / 6, 1 / 6],
        activation_beta=[0.5, 0.5],
    )
    entry = read_source(save(model, tmp_path / "m.onnx")).mapping["layers"][0]
    assert entry["recurrent_activation"] == "hard_sigmoid"


def test_zero_peepholes_and_a_sequence_lens_of_every_step_change_nothing_and_read(tmp_path: Path) -> None:
    model = lstm_graph(peepholes=np.zeros((1, 3 * H), np.float32), sequence_lens=[T, T])
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_value = T  # the fixed number of timesteps
    x = data(7, T, N, F)
    y, _, _ = run_ort(model, {"X": x})
    out = run_file(save(model, tmp_path / "m.onnx"), tmp_path, ("", x))
    assert_close(out["encoder"], y[:, 0].transpose(1, 0, 2), "Y")


# -- in: what is refused, and why ----------------------------------------------------------------------------


def _peephole_array(directions: int) -> np.ndarray:
    """P with a distinct value per gate and unit, so that a swapped pair of gates cannot pass."""
    return (np.arange(directions * 3 * H, dtype=np.float32).reshape(directions, 3 * H) - 4) / 7


# clip 5.5 with |c_t| < 5.5: c starts at zero and grows by |i·g| ≤ 1 a step (sigmoid gates, tanh g) over
# T = 5 steps, so c_t stays inside the clip, where onnxruntime 1.32 (which leaves c unclipped inside h's
# activation, onnxruntime issue 27224) and lstm-cli agree; X scaled so that the clip cuts z.
VARIANTS: dict[str, dict[str, Any]] = {
    "peepholes": {"peepholes": True},
    "clip": {"clip": 5.5},
    "input_forget": {"input_forget": 1},
    "h activation": {"activations": ["Sigmoid", "Tanh", "Softsign"]},
    "all": {
        "peepholes": True,
        "clip": 5.5,
        "input_forget": 1,
        "activations": ["Sigmoid", "Tanh", "Softsign"],
    },
}


@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_lstm_variants_read_from_onnx_predict_as_onnxruntime(
    tmp_path: Path, variant: str, direction: str
) -> None:
    directions = 2 if direction == "bidirectional" else 1
    params = dict(VARIANTS[variant])
    if params.pop("peepholes", False):
        params["peepholes"] = _peephole_array(directions)
    if "activations" in params:
        params["activations"] = params["activations"] * directions
    model = lstm_graph(direction=direction, seed=7, **params)
    x = data(3, T, N, F) * 4
    y, y_h, y_c = run_ort(model, {"X": x})
    path = save(model, tmp_path / "m.onnx")
    entry = read_source(path).mapping["layers"][0]
    halves = [entry["forward"], entry["backward"]] if directions == 2 else [entry]
    if "peepholes" in params:
        for d, half in enumerate(halves):
            expected = peepholes_from_onnx(params["peepholes"][d])
            if "input_forget" in params:  # ONNX ignores p_f when f = 1 - i
                del expected["f"]
            assert {g: list(v) for g, v in half["peepholes"].items()} == {
                g: list(v) for g, v in expected.items()
            }
    assert entry.get("activation_clip") == params.get("clip")
    assert entry.get("input_forget", False) == ("input_forget" in params)
    assert entry.get("output_activation") == ("softsign" if "activations" in params else None)
    out = run_file(path, tmp_path, ("", x))
    if directions == 2:
        for d, half in enumerate(("forward", "backward")):
            assert_close(out[f"encoder.{half}"], y[:, d].transpose(1, 0, 2), f"Y[:, {d}]")
            assert_close(out[f"encoder.{half}.c"], y_c[d], f"Y_c[{d}]")
        return
    sequence = out["encoder"][:, ::-1] if direction == "reverse" else out["encoder"]
    assert_close(sequence, y[:, 0].transpose(1, 0, 2), "Y")
    assert_close(out["encoder.h"], y_h[0], "Y_h")
    assert_close(out["encoder.c"], y_c[0], "Y_c")
    if "clip" in params:  # the clip cuts: without it, onnxruntime computes other numbers
        unclipped = {key: value for key, value in params.items() if key != "clip"}
        y_free = run_ort(lstm_graph(direction=direction, seed=7, **unclipped), {"X": x})[0]
        assert np.abs(y_free - y).max() > 1e-3


def test_a_clip_read_from_onnx_is_noted(tmp_path: Path) -> None:
    converted = read_source(save(lstm_graph(clip=5.5), tmp_path / "m.onnx"))
    assert converted.mapping["layers"][0]["activation_clip"] == 5.5
    assert converted.notes == [
        "node 'encoder': clip=5.5 is activation_clip; onnxruntime 1.32 leaves c_t unclipped inside h's "
        "activation (onnxruntime issue 27224), which lstm-cli clips as the ONNX operator says, so the two "
        "differ where |c_t| exceeds 5.5"
    ]


def _conv_graph() -> Any:
    node = helper.make_node("Conv", ["X", "K"], ["Y"], name="n3")
    kernel = numpy_helper.from_array(np.ones((1, 1, 1), np.float32), "K")
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", 1, 4])
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)
    return model_of([node], [x], [y], [kernel])


def _custom_domain_graph() -> Any:
    model = lstm_graph()
    model.graph.node[0].domain = "com.microsoft"
    return model


READ_OPS = (
    "LSTM ops with their glue (Transpose, Squeeze, Unsqueeze, Slice, Gather, Concat, Reshape, Identity, "
    "Shape, "
    "Constant, ConstantOfShape, Expand), MatMul or Gemm with Add and an activation as dense, and Gather on a "
    "table as embedding"
)
STATES = np.ones((2, N, H), np.float32), np.ones((2, N, H), np.float32)
REFUSALS = {
    "an unknown op": (_conv_graph, f"node 'n3' is a Conv op; lstm-cli reads LSTM graphs: {READ_OPS}"),
    "an op of another domain": (
        _custom_domain_graph,
        f"node 'encoder': is an LSTM op of domain 'com.microsoft'; lstm-cli reads {READ_OPS}",
    ),
    "an activation lstm-cli lacks": (
        lambda: lstm_graph(
            activations=["Sigmoid", "ScaledTanh", "ScaledTanh"],
            activation_alpha=[1.0, 1.0],
            activation_beta=[2.0, 2.0],
        ),
        "node 'encoder': attribute activations: g is ScaledTanh(alpha=1, beta=2), which is none of "
        "lstm-cli's "
        "activations",
    ),
    "an unknown activation": (
        lambda: lstm_graph(activations=["Sigmoid", "Gelu", "Gelu"]),
        "node 'encoder': attribute activations: 'Gelu' is none of the LSTM op's (Relu, Tanh, Sigmoid, "
        "Affine, "
        "LeakyRelu, ThresholdedRelu, ScaledTanh, HardSigmoid, Elu, Softsign, Softplus)",
    ),
    "directions with other activations": (
        lambda: lstm_graph(
            direction="bidirectional", activations=["Sigmoid", "Tanh", "Tanh", "Sigmoid", "Relu", "Relu"]
        ),
        "node 'encoder': attribute activations: the directions differ (Sigmoid, Tanh, Tanh, Sigmoid, Relu, "
        "Relu); lstm-cli's bidirectional layer runs both halves with one set",
    ),
    "a computed sequence_lens": (
        lambda: lstm_graph(sequence_lens="lengths"),
        "node 'encoder': input sequence_lens is computed in the graph, not a constant; ONNX stops each "
        "sequence "
        "at its length and emits zeros after it, unlike Keras's masking (a masked step keeps the state and "
        "repeats the previous output)",
    ),
    "a constant sequence_lens that stops early": (
        lambda: lstm_graph(sequence_lens=[5, 3]),
        "node 'encoder': input sequence_lens is [3, 5] for a number of timesteps that is not fixed; lstm-cli "
        "reads it only when it holds every step; ONNX stops each sequence at its length and emits zeros "
        "after "
        "it, unlike Keras's masking (a masked step keeps the state and repeats the previous output)",
    ),
    "states of a bidirectional LSTM": (
        lambda: lstm_graph(direction="bidirectional", initial=STATES),
        "node 'encoder': input initial_h is not zeros; lstm-cli's bidirectional layer starts from zeros "
        "(Keras's Bidirectional takes initial states only as tensors)",
    ),
    "an unknown attribute": (
        lambda: lstm_graph(peephole_mode=1),
        "node 'encoder': attribute peephole_mode: the LSTM op has no such attribute",
    ),
    "a direction of another name": (
        lambda: lstm_graph(direction="backward"),
        "node 'encoder': attribute direction='backward': expected forward, reverse or bidirectional",
    ),
    "a clip of 0": (
        lambda: lstm_graph(clip=0.0),
        "node 'encoder': attribute clip=0: expected a number above 0",
    ),
    "an input_forget other than 0 or 1": (
        lambda: lstm_graph(input_forget=2),
        "node 'encoder': attribute input_forget=2: expected 0 or 1",
    ),
    "a hidden_size that W does not hold": (
        lambda: _with_hidden_size(lstm_graph(), 5),
        "node 'encoder': attribute hidden_size=5, but W holds 3 units",
    ),
}


def _with_hidden_size(model: Any, size: int) -> Any:
    for attribute in model.graph.node[0].attribute:
        if attribute.name == "hidden_size":
            attribute.i = size
    return model


@pytest.mark.parametrize("case", list(REFUSALS))
def test_what_lstm_cli_cannot_compute_is_refused_by_name(tmp_path: Path, case: str) -> None:
    build, message = REFUSALS[case]
    path = save(build(), tmp_path / "m.onnx")
    assert refused(path) == f"{path}: {message}"
    run = run_cli("forward", str(path))
    assert (run.exit_code, run.stdout, run.stderr) == (2, "", f"lstm-cli: error: {path}: {message}\n")


def test_initial_states_from_graph_inputs_are_refused(tmp_path: Path) -> None:
    model = lstm_graph()
    model.graph.node[0].input.extend(["", "h0"])  # X, W, R, B, sequence_lens, initial_h
    model.graph.input.append(helper.make_tensor_value_info("h0", TensorProto.FLOAT, [1, "N", H]))
    path = save(model, tmp_path / "m.onnx")
    assert refused(path) == (
        f"{path}: node 'encoder': input initial_h is graph input 'h0'; lstm-cli starts an LSTM from arrays "
        "or "
        "from another layer's state, not from an input"
    )


def test_a_step_other_than_the_last_is_refused(tmp_path: Path) -> None:
    model = lstm_graph()
    index = numpy_helper.from_array(np.array(1, np.int64), "one")
    model.graph.initializer.append(index)
    model.graph.node.append(helper.make_node("Gather", ["Y", "one"], ["step"], name="pick", axis=0))
    model.graph.output.append(helper.make_tensor_value_info("step", TensorProto.FLOAT, None))
    path = save(model, tmp_path / "m.onnx")
    assert refused(path) == (
        f"{path}: node 'pick': picks step 1 of an LSTM's sequence; lstm-cli gives the whole sequence, or the "
        "final state, which is the last step here (index -1)"
    )


def _after_lstm(nodes: list[Any], outputs: list[str], direction: str = "forward", **consts: Any) -> Any:
    """lstm_graph's LSTM (Y, Y_h, Y_c) with `nodes` after it, the graph's outputs `outputs`."""
    model = lstm_graph(direction=direction)
    model.graph.node.extend(nodes)
    model.graph.initializer.extend(numpy_helper.from_array(np.asarray(v), k) for k, v in consts.items())
    del model.graph.output[:]
    model.graph.output.extend(
        helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in outputs
    )
    return model


def _node(op: str, inputs: list[str], output: str, **attributes: Any) -> Any:
    return helper.make_node(op, inputs, [output], name=output, **attributes)


def _reversed_input() -> Any:
    model = _after_lstm([], ["Y"], direction="bidirectional")
    flip = _node("Slice", ["X", "start", "end", "axis0", "back"], "flipped")
    model.graph.node.insert(0, flip)
    model.graph.node[1].input[0] = "flipped"
    consts = {"start": [-1], "end": [-(2**63)], "axis0": [0], "back": [-1]}
    model.graph.initializer.extend(numpy_helper.from_array(np.asarray(v), k) for k, v in consts.items())
    return model


def test_the_last_step_of_y_and_a_reversed_input_read_as_keras_computes_them(tmp_path: Path) -> None:
    # Y[-1] of a forward LSTM is its final state; reading X reversed (Slice, step -1) is go_backwards;
    # then a dense layer on that last step, as a classifier reads it.
    model = _after_lstm(
        [
            _node("Gather", ["Y", "last"], "step", axis=0),
            _node("Squeeze", ["step", "axis0"], "state"),
            _node("MatMul", ["state", "kernel"], "head"),
        ],
        ["head", "Y"],
        last=np.array(-1),
        axis0=np.array([0]),
        kernel=KERNEL * np.arange(2, dtype=np.float32),
    )
    flip = _node("Slice", ["X", "start", "end", "axis0", "back"], "flipped")
    model.graph.node.insert(0, flip)
    model.graph.node[1].input[0] = "flipped"
    model.graph.initializer.extend(
        numpy_helper.from_array(np.asarray(v), k)
        for k, v in {"start": [-1], "end": [-(2**63)], "back": [-1]}.items()
    )
    x = data(9, T, N, F)
    head, y = run_ort(model, {"X": x})
    path = save(model, tmp_path / "m.onnx")
    assert read_source(path).mapping["layers"][0]["go_backwards"] is True
    out = run_file(path, tmp_path, ("", x))
    assert_close(out["head"], head, "head")
    assert_close(out["encoder"], y[:, 0].transpose(1, 0, 2), "Y: processing order, as the reversed input")


KERNEL = np.ones((H, 2), np.float32)
GLUE_REFUSALS = {
    "a reshape that mixes axes": (
        lambda: _after_lstm([_node("Reshape", ["Y", "shape"], "mixed")], ["mixed"], shape=[-1, 3]),
        "node 'mixed': reshapes (timesteps, 1, batch, 3) to [-1, 3]; lstm-cli follows a reshape that adds or "
        "removes unit axes, or puts a bidirectional LSTM's halves side by side",
    ),
    "a concat of other values": (
        lambda: _after_lstm([_node("Concat", ["Y", "Y"], "joined", axis=3)], ["joined"]),
        "node 'joined': concatenates computed values; lstm-cli concatenates only a bidirectional layer's "
        "forward and backward halves along the features (its merge_mode concat)",
    ),
    "an add of two values": (
        lambda: _after_lstm([_node("Add", ["Y_h", "Y_c"], "sum")], ["sum"]),
        "node 'sum': is an Add op that lstm-cli reads only as a dense layer's bias, Add(x, b)",
    ),
    "an activation of an lstm": (
        lambda: _after_lstm([_node("Relu", ["Y_h"], "relu")], ["relu"]),
        "node 'relu': is a Relu op on (1, batch, 3); lstm-cli reads Relu only as part of a dense layer: "
        "MatMul or Gemm, then Add, then one activation, each read by the next alone",
    ),
    "a dense activation lstm-cli lacks": (
        lambda: _after_lstm(
            [_node("MatMul", ["Y_h", "kernel"], "dense"), _node("LeakyRelu", ["dense"], "act", alpha=0.1)],
            ["act"],
            kernel=KERNEL,
        ),
        "node 'act': is LeakyRelu(alpha=0.1), which is none of lstm-cli's activations",
    ),
    "a softmax over time": (
        lambda: _after_lstm(
            [_node("MatMul", ["Y", "kernel"], "dense"), _node("Softmax", ["dense"], "act", axis=0)],
            ["act"],
            kernel=KERNEL,
        ),
        "node 'act': is a Softmax over axis 0; a dense layer's Softmax is over its units",
    ),
    "a matmul read twice": (
        lambda: _after_lstm(
            [_node("MatMul", ["Y_h", "kernel"], "dense"), _node("Add", ["dense", "bias"], "biased")],
            ["biased", "dense"],
            kernel=KERNEL,
            bias=np.ones(2, np.float32),
        ),
        "node 'biased': is an Add op on (1, batch, 2); lstm-cli reads Add only as part of a dense layer: "
        "MatMul or Gemm, then Add, then one activation, each read by the next alone",
    ),
    "a matmul of two values": (
        lambda: _after_lstm([_node("MatMul", ["Y_h", "Y_c"], "product")], ["product"]),
        "node 'product': is a MatMul op that lstm-cli reads only as MatMul(x, W), W a constant",
    ),
    "halves both merged and apart": (
        lambda: _after_lstm(
            [
                _node("Transpose", ["Y"], "side", perm=[0, 2, 1, 3]),
                _node("Reshape", ["side", "shape"], "merged"),
                _node("Gather", ["Y", "one"], "backward", axis=1),
            ],
            ["merged", "backward"],
            direction="bidirectional",
            shape=[0, 0, -1],
            one=np.array(1),
        ),
        "node 'encoder': the graph reads its halves both merged and apart, or merged two ways; one lstm-cli "
        "bidirectional layer gives them one way (its merge_mode)",
    ),
    "a bidirectional lstm on a reversed sequence": (
        _reversed_input,
        "node 'encoder': a bidirectional LSTM reads a sequence in reverse time order; lstm-cli's "
        "bidirectional layer cannot swap its halves",
    ),
    "a sample of the batch": (
        lambda: _after_lstm([_node("Gather", ["Y_h", "zero"], "first", axis=1)], ["first"], zero=np.array(0)),
        "node 'first': picks a sample of the batch of (1, batch, 3); lstm-cli keeps every sample and feature",
    ),
    "features reversed": (
        lambda: _after_lstm(
            [_node("Slice", ["Y_h", "start", "end", "axis", "back"], "flipped")],
            ["flipped"],
            start=[-1],
            end=[-(2**63)],
            axis=[2],
            back=[-1],
        ),
        "node 'flipped': reverses axis 2 of (1, batch, 3); lstm-cli reverses only time",
    ),
    "an attribute of another kind": (
        lambda: _after_lstm(
            [_node("Gather", ["Y_h", "zero"], "picked", axis="zero")], ["picked"], zero=np.array(0)
        ),
        "node 'picked': attribute axis is a string; expected an int",
    ),
    "a layout that does not exist": (
        lambda: lstm_graph(layout=2),
        "node 'encoder': attribute layout=2: expected 0 or 1",
    ),
    "an output that no node gives": (
        lambda: _after_lstm([], ["kernel"], kernel=KERNEL),
        "output 'kernel' is given by no node",
    ),
}


@pytest.mark.parametrize("case", list(GLUE_REFUSALS))
def test_glue_and_dense_ops_that_lstm_cli_cannot_follow_are_refused_by_node(
    tmp_path: Path, case: str
) -> None:
    build, message = GLUE_REFUSALS[case]
    path = save(build(), tmp_path / "m.onnx")
    assert refused(path) == f"{path}: {message}"


def test_a_graph_input_of_another_shape_is_refused_where_it_is_read(tmp_path: Path) -> None:
    model = lstm_graph()
    del model.graph.input[0].type.tensor_type.shape.dim[0]
    path = save(model, tmp_path / "m.onnx")
    assert refused(path) == (
        f"{path}: node 'encoder': reads graph input 'X' of shape (?, 2); lstm-cli's inputs are (batch, "
        "timesteps, features) of floats, or (batch, timesteps) of integer ids"
    )


def test_peepholes_go_between_onnxs_order_i_o_f_and_lstm_clis_keys() -> None:
    p = np.array([1, 1, 2, 2, 3, 3], np.float32)  # p_i, p_o, p_f as ONNX's P holds them, each gate apart
    peepholes = peepholes_from_onnx(p)
    assert {gate: list(values) for gate, values in peepholes.items()} == {
        "i": [1, 1],
        "f": [3, 3],
        "o": [2, 2],
    }
    np.testing.assert_array_equal(peepholes_to_onnx(peepholes), p)


# -- out: configs to .onnx, run by onnxruntime -------------------------------------------------------------


def _lstm(name: str, seed: int, features: int = F, units: int = H, **options: Any) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    return {
        "type": "lstm",
        "name": name,
        "units": units,
        "kernel": rng.standard_normal((features, 4 * units)) * 0.5,
        "recurrent_kernel": rng.standard_normal((units, 4 * units)) * 0.5,
        "bias": rng.standard_normal(4 * units) * 0.5,
        **options,
    }


def _no_bias(entry: dict[str, Any]) -> dict[str, Any]:
    return {**{key: value for key, value in entry.items() if key != "bias"}, "use_bias": False}


def _bidirectional(name: str, seed: int, **options: Any) -> dict[str, Any]:
    forward, backward = _lstm("f", seed), _lstm("b", seed + 1)
    halves = {
        key: {k: half[k] for k in ("kernel", "recurrent_kernel", "bias")}
        for key, half in (("forward", forward), ("backward", backward))
    }
    return {"type": "bidirectional", "name": name, "units": H, **halves, **options}


def _dense(name: str, seed: int, features: int, units: int, activation: str = "linear") -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    return {
        "type": "dense",
        "name": name,
        "units": units,
        "activation": activation,
        "kernel": rng.standard_normal((features, units)) * 0.5,
        "bias": rng.standard_normal(units) * 0.5,
    }


X = data(21, N, T, F)
OUT_CASES: dict[str, dict[str, Any]] = {
    "one lstm": {"input": X, "layers": [_lstm("lstm", 1)]},
    "go_backwards, stacked": {
        "input": X,
        "layers": [
            _lstm("back", 2, return_sequences=True, return_state=True, go_backwards=True),
            _lstm("on", 3, features=H, return_sequences=True),
        ],
        "outputs": ["back", "back.h", "back.c", "on"],
    },
    "initial states as arrays": {
        "input": X,
        "layers": [_lstm("lstm", 4, return_sequences=True, initial_state=[data(5, H), data(6, N, H)])],
    },
    "lstm activations": {
        "input": X,
        "layers": [
            _lstm("a", 7, return_sequences=True, activation="relu", recurrent_activation="hard_sigmoid"),
            _lstm(
                "b",
                8,
                features=H,
                return_sequences=True,
                activation="elu",
                recurrent_activation="hard_sigmoid_tf2",
            ),
            _no_bias(_lstm("c", 9, features=H, activation="softsign", recurrent_activation="linear")),
        ],
    },
    "seq2seq from the encoder's state": {
        "inputs": {"encoder_inputs": X, "decoder_inputs": data(22, N, 4, 2)},
        "layers": [
            _lstm("encoder", 10, input="encoder_inputs", return_state=True),
            _lstm(
                "decoder",
                11,
                input="decoder_inputs",
                return_sequences=True,
                initial_state=["encoder.h", "encoder.c"],
            ),
            _dense("head", 12, H, 4, "softmax"),
        ],
    },
    "embedding, lstm, dense": {
        "input": np.array([[1, 4, 0, 2, 6], [3, 3, 5, 0, 1]]),
        "layers": [
            {
                "type": "embedding",
                "name": "embed",
                "input_dim": 7,
                "output_dim": F,
                "embeddings": data(13, 7, F),
            },
            _lstm("lstm", 14, return_sequences=True),
            _dense("tags", 15, H, 3, "log_softmax"),
        ],
    },
}
for _mode in ("concat", "sum", "ave", "mul", None):
    for _sequences in (True, False):
        _outputs = ["bi"] if _mode else ["bi.forward", "bi.backward"]
        OUT_CASES[f"bidirectional {_mode} {'sequences' if _sequences else 'last'}"] = {
            "input": X,
            "layers": [
                _bidirectional("bi", 16, merge_mode=_mode, return_sequences=_sequences, return_state=True)
            ],
            "outputs": [*_outputs, "bi.forward.h", "bi.backward.c"],
        }


PEEPHOLES = {
    "i": np.array([0.3, -0.2, 0.1]),
    "f": np.array([-0.4, 0.5, 0.25]),
    "o": np.array([0.6, -0.7, 0.15]),
}
OUT_CASES.update(
    {
        # activation_clip 5.5 with |c_t| < 5.5 (c grows by at most 1 a step over T = 5 steps from zero), where
        # onnxruntime 1.32, which leaves c unclipped inside h's activation, agrees with lstm-cli.
        "variants": {
            "input": X * 4,
            "layers": [
                _lstm(
                    "lstm",
                    4,
                    peepholes=PEEPHOLES,
                    activation_clip=5.5,
                    output_activation="softsign",
                    forget_bias=1.0,
                    return_sequences=True,
                )
            ],
        },
        "some peepholes, input_forget, go_backwards": {
            "input": X,
            "layers": [
                _lstm("lstm", 5, peepholes={"o": PEEPHOLES["o"]}, input_forget=True, go_backwards=True)
            ],
        },
        "forget_bias without a bias": {"input": X, "layers": [_no_bias(_lstm("lstm", 6, forget_bias=0.75))]},
        "bidirectional variants": {
            "input": X,
            "layers": [
                {
                    **_bidirectional(
                        "bi", 7, activation_clip=5.5, input_forget=True, output_activation="relu"
                    ),
                    "return_sequences": True,
                }
            ],
        },
    }
)
OUT_CASES["bidirectional variants"]["layers"][0]["forward"]["peepholes"] = PEEPHOLES
OUT_CASES["bidirectional variants"]["layers"][0]["backward"]["peepholes"] = {"i": PEEPHOLES["f"]}


def test_variants_are_written_as_the_lstm_ops_p_clip_input_forget_and_activations(tmp_path: Path) -> None:
    path, _ = _write({"dtype": "float32", **OUT_CASES["variants"]}, tmp_path)
    node = onnx.load(path).graph.node[1]
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    assert attrs["clip"] == 5.5
    assert [a.decode() for a in attrs["activations"]] == ["Sigmoid", "Tanh", "Softsign"]
    initializers = {t.name: numpy_helper.to_array(t) for t in onnx.load(path).graph.initializer}
    np.testing.assert_allclose(initializers[node.input[7]][0], peepholes_to_onnx(PEEPHOLES), rtol=1e-7)
    bias = OUT_CASES["variants"]["layers"][0]["bias"]
    np.testing.assert_allclose(
        initializers[node.input[3]][0, 2 * H : 3 * H], bias[H : 2 * H] + 1.0, rtol=1e-6
    )


def test_forget_bias_and_activation_clip_are_noted_when_written(tmp_path: Path) -> None:
    source = tmp_path / "m.yaml"
    config = {"dtype": "float32", **OUT_CASES["variants"]}
    source.write_text(
        dump_yaml(json.loads(json.dumps(config, default=lambda a: a.tolist()))), encoding="utf-8"
    )
    run = run_cli("convert", str(source), "-o", str(tmp_path / "m.onnx"))
    assert run.exit_code == 0
    assert run.stderr.splitlines()[:2] == [
        "lstm-cli: note: layer 'lstm': forget_bias 1 is folded into the f block of the LSTM op's B, which "
        "ONNX adds to z_f before the activation as lstm-cli adds forget_bias: the same numbers",
        "lstm-cli: note: layer 'lstm': activation_clip 5.5 is the LSTM op's clip; onnxruntime 1.32 leaves "
        "c_t unclipped inside h's activation (onnxruntime issue 27224), which lstm-cli clips as the ONNX "
        "operator says, so the two differ where |c_t| exceeds 5.5",
    ]


def _feeds(model: Any) -> dict[str, np.ndarray]:
    return {
        name: spec.data.astype(np.int64 if spec.data.dtype.kind in "iu" else np.float32)
        for name, spec in model.inputs.items()
    }


def _write(config: dict[str, Any], tmp_path: Path) -> tuple[Path, Any]:
    model = load_model(config)
    path = tmp_path / "m.onnx"
    write_onnx(model, path)
    return path, model


@pytest.mark.parametrize("case", list(OUT_CASES))
def test_configs_written_to_onnx_run_in_onnxruntime_as_lstm_cli(tmp_path: Path, case: str) -> None:
    config = {"dtype": "float32", **OUT_CASES[case]}
    path, model = _write(config, tmp_path)
    onnx.checker.check_model(onnx.load(path))
    expected = lstm_cli.forward(config)
    session_outputs = run_ort(path, _feeds(model))
    graph_outputs = [output.name for output in onnx.load(path).graph.output]
    assert graph_outputs == list(model.outputs)
    for ref, got in zip(graph_outputs, session_outputs, strict=True):
        assert_close(got, expected[ref], ref)
    back = read_source(path).mapping  # and read back, the same numbers
    inputs = {"input": config["input"]} if "input" in config else {"inputs": config["inputs"]}
    again = lstm_cli.forward({**back, **inputs})
    for ref in model.outputs:  # a bidirectional layer's last outputs apart are its halves' final h
        assert_close(again[ref if ref in again else f"{ref}.h"], expected[ref], f"{ref}, read back")


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_every_dense_activation_is_written_as_an_op_that_onnxruntime_runs_as_lstm_cli(
    tmp_path: Path, activation: str
) -> None:
    config = {
        "dtype": "float32",
        "input": X,
        "layers": [_lstm("lstm", 30, return_sequences=True), _dense("out", 31, H, 4, activation)],
    }
    path, model = _write(config, tmp_path)
    (got,) = run_ort(path, _feeds(model))
    assert_close(got, lstm_cli.forward(config)["out"], activation)
    aliases = {"swish": "silu", "hard_swish": "hard_silu"}  # one ONNX op each, read back by the first name
    read = read_source(path).mapping["layers"][-1].get("activation", "linear")
    assert read == aliases.get(activation, activation)


@pytest.mark.parametrize("example", ["seed", "stacked", "seq2seq", "pytorch-layout", "default-activations"])
def test_the_examples_convert_to_onnx_and_back_with_the_same_numbers(tmp_path: Path, example: str) -> None:
    source = CONFIGS / f"{example}.yaml"
    for args in (
        (str(source), "-o", str(tmp_path / "m.onnx")),
        (str(tmp_path / "m.onnx"), "-o", str(tmp_path / "m.yaml")),
    ):
        run = run_cli("convert", *args)
        assert run.exit_code == 0, run.stderr
    model = load_model(source, dtype="float32")
    expected = lstm_cli.forward(source, dtype="float32")
    got = run_ort(tmp_path / "m.onnx", _feeds(model))
    for ref, value in zip(model.outputs, got, strict=True):
        assert_close(value, expected[ref], ref)


WRITE_REFUSALS = {
    "masking": (
        {"input": X, "layers": [{"type": "masking", "name": "mask"}, _lstm("lstm", 1)]},
        "layer 'mask' is a Masking layer; ONNX's LSTM op cannot skip masked steps as Keras does (its "
        "sequence_lens cuts each sequence short instead)",
    ),
    "mask_zero": (
        {
            "input": np.array([[1, 0, 2]]),
            "layers": [
                {
                    "type": "embedding",
                    "name": "embed",
                    "input_dim": 3,
                    "output_dim": F,
                    "mask_zero": True,
                    "embeddings": data(1, 3, F),
                },
                _lstm("lstm", 1),
            ],
        },
        "layer 'embed' masks id 0 (mask_zero) for layer 'lstm'; ONNX's LSTM op cannot skip masked steps as "
        "Keras "
        "does (its sequence_lens cuts each sequence short instead)",
    ),
    "cell_clip": (
        {"input": X, "layers": [_lstm("lstm", 1, cell_clip=2.0)]},
        "layer 'lstm': ONNX's LSTM op has no cell_clip (it takes peepholes, clip as activation_clip, "
        "input_forget and a third activation as output_activation)",
    ),
    "projection and proj_clip": (
        {
            "input": X,
            "layers": [
                {
                    **_lstm("lstm", 1),
                    "recurrent_kernel": np.ones((2, 4 * H)),
                    "projection": {"kernel": np.ones((H, 2))},
                    "proj_clip": 1.0,
                }
            ],
        },
        "layer 'lstm': ONNX's LSTM op has no projection or proj_clip (it takes peepholes, clip as "
        "activation_clip, input_forget and a third activation as output_activation)",
    ),
    "an output_activation": (
        {"input": X, "layers": [_lstm("lstm", 1, output_activation="gelu")]},
        "layer 'lstm': output_activation gelu is none of the ONNX LSTM op's activations (it takes elu, "
        "hard_sigmoid, hard_sigmoid_tf2, leaky_relu, linear, relu, sigmoid, softplus, softsign, tanh in "
        "lstm-cli's terms)",
    ),
    "an lstm activation": (
        {"input": X, "layers": [_lstm("lstm", 1, activation="gelu")]},
        "layer 'lstm': activation gelu is none of the ONNX LSTM op's activations (it takes elu, "
        "hard_sigmoid, "
        "hard_sigmoid_tf2, leaky_relu, linear, relu, sigmoid, softplus, softsign, tanh in lstm-cli's terms)",
    ),
}


@pytest.mark.parametrize("case", list(WRITE_REFUSALS))
def test_what_onnx_cannot_compute_is_not_written(tmp_path: Path, case: str) -> None:
    config, message = WRITE_REFUSALS[case]
    source = tmp_path / "m.yaml"
    source.write_text(
        dump_yaml(json.loads(json.dumps(config, default=lambda a: a.tolist()))), encoding="utf-8"
    )
    run = run_cli("convert", str(source), "-o", str(tmp_path / "m.onnx"))
    assert (run.exit_code, run.stderr) == (2, f"lstm-cli: error: {message}\n")
    assert not (tmp_path / "m.onnx").exists()


def test_a_float64_config_is_written_in_float32_and_says_so(tmp_path: Path) -> None:
    run = run_cli("convert", str(CONFIGS / "stacked.yaml"), "-o", str(tmp_path / "m.onnx"))
    assert run.exit_code == 0
    assert run.stderr.splitlines()[0] == (
        "lstm-cli: note: the .onnx holds float32 weights, as ONNX runtimes compute an LSTM (the config "
        "computes in float64)"
    )


# -- files that torch.onnx.export writes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("batch_first", "bidirectional", "layers", "dynamic"),
    [
        (True, False, 1, True),
        (False, False, 1, True),
        (True, True, 1, True),
        (False, False, 2, True),
        (True, True, 2, True),
        (True, False, 1, False),
    ],
    ids=["batch_first", "time_major", "bidirectional", "two_layers", "bidirectional_two_layers", "static"],
)
def test_torch_onnx_export_reads_and_predicts_as_torch_and_onnxruntime(
    tmp_path: Path, batch_first: bool, bidirectional: bool, layers: int, dynamic: bool
) -> None:
    torch = pytest.importorskip("torch")

    class Tagger(torch.nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.emb = torch.nn.Embedding(11, 5)
            self.lstm = torch.nn.LSTM(
                5, 4, num_layers=layers, bidirectional=bidirectional, batch_first=batch_first
            )
            self.fc = torch.nn.Linear(8 if bidirectional else 4, 3)

        def forward(self, tokens: Any) -> Any:
            output, (h_n, c_n) = self.lstm(self.emb(tokens))
            return self.fc(output), h_n, c_n

    torch.manual_seed(layers + 2 * bidirectional)
    net = Tagger().eval()
    tokens = torch.randint(0, 11, (2, 7) if batch_first else (7, 2))
    axes = {0: "batch", 1: "time"} if batch_first else {0: "time", 1: "batch"}
    path = tmp_path / "tagger.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            net,
            (tokens,),
            str(path),
            dynamo=False,
            input_names=["tokens"],
            output_names=["logits", "h_n", "c_n"],
            dynamic_axes={"tokens": axes, "logits": axes} if dynamic else None,
        )
    with torch.no_grad():
        logits, h_n, c_n = (t.numpy() for t in net(tokens))
    ort_logits, ort_h, _ = run_ort(path, {"tokens": tokens.numpy()})
    out = run_file(path, tmp_path, ("", tokens.numpy()))  # in the graph's own layout, as onnxruntime takes it
    got = out["fc"] if batch_first else out["fc"].transpose(1, 0, 2)
    assert_close(got, logits, "logits vs torch")
    assert_close(got, ort_logits, "logits vs onnxruntime")
    names = ["lstm", "lstm_1"][:layers]
    refs = (
        [f"{n}.{half}.h" for n in names for half in ("forward", "backward")]
        if bidirectional
        else [f"{n}.h" for n in names]
    )
    for k, ref in enumerate(refs):
        assert_close(out[ref], h_n[k], f"h_n[{k}] = {ref}")
        assert_close(out[ref.replace(".h", ".c")], c_n[k], f"c_n[{k}]")
        assert_close(out[ref], ort_h[k], f"h_n[{k}] vs onnxruntime")


def test_torch_style_glue_built_by_hand_reads_as_zero_states_and_stacked_layers(tmp_path: Path) -> None:
    model = torch_style_graph(seed=3)
    tokens = np.random.default_rng(4).integers(0, 7, (6, 2))  # (time, batch), as the graph takes them
    logits, h_n = run_ort(model, {"tokens": tokens})
    out = run_file(save(model, tmp_path / "m.onnx"), tmp_path, ("", tokens))
    assert_close(out["fc"], logits.transpose(1, 0, 2), "logits")
    assert_close(out["lstm.h"], h_n[0], "h_n[0]")
    assert_close(out["lstm_1.h"], h_n[1], "h_n[1]")


# -- the command line ----------------------------------------------------------------------------------------


def test_forward_runs_an_onnx_file_taking_input_in_the_graphs_own_layout(tmp_path: Path) -> None:
    model = lstm_graph(seed=9)
    path = save(model, tmp_path / "m.onnx")
    x = data(8, T, N, F)  # (T, N, F), as onnxruntime takes it
    np.save(tmp_path / "x.npy", x)
    run = run_cli("forward", str(path), "--input", str(tmp_path / "x.npy"), "--format", "json")
    assert run.exit_code == 0, run.stderr
    note = f"input 'input' reads {tmp_path / 'x.npy'}, time-major: 5 timesteps of a batch of 2"
    assert run.stderr == f"lstm-cli: note: {note}\n"
    y_h = run_ort(model, {"X": x})[1]
    assert_close(np.array(json.loads(run.stdout)["outputs"]["encoder.h"], np.float32), y_h[0], "Y_h")


def test_a_converted_yaml_says_where_each_onnx_input_and_output_is(tmp_path: Path) -> None:
    path = save(lstm_graph(direction="bidirectional"), tmp_path / "m.onnx")
    run = run_cli("convert", str(path), "-o", "-")
    assert run.exit_code == 0, run.stderr
    header = [line for line in run.stdout.splitlines() if line.startswith("#")]
    assert header == [
        "# Converted from m.onnx by `lstm-cli convert`.",
        "# Each LSTM op of the graph is a layer here, named after its node (torch.onnx.export's",
        "# /lstm/LSTM_1 is lstm_1), with W, R and B in Keras's layout and gate order (i, f, g, o): ONNX's",
        "# blocks (i, o, f, c) reordered, and B's two halves summed. MatMul (or Gemm) + Add + an activation",
        "# is a dense layer, and Gather on a table an embedding.",
        "# ONNX input 'X' (timesteps, batch, 2) of floats: input, here batch first; --input arrays are read",
        "#   time-major, as onnxruntime takes them.",
        "# ONNX output 'Y' (timesteps, 2, batch, 3): encoder.forward and encoder.backward, stacked on axis",
        "#   1.",
        "# ONNX output 'Y_h' (2, batch, 3): encoder.forward.h and encoder.backward.h, stacked on axis 0.",
        "# ONNX output 'Y_c' (2, batch, 3): encoder.forward.c and encoder.backward.c, stacked on axis 0.",
        "# The input has a shape but no data: put data there (or convert with --input FILE.npy) to run it.",
    ]
    assert "\ndescription: encoder (LSTM), converted from m.onnx (opset 17)\n" in run.stdout
