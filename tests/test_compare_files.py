"""`compare` on real files: a Keras model against PyTorch, ONNX and tf.keras 2 ports written the way people
write them, each with one real mistake (SPEC §9, issue 17), and against its own conversions, which must
agree. Every finding is checked by name, layer and exit code, through the command line.

Each model has distinct, non-zero biases per gate, so that a swapped or doubled block cannot pass. The port
scripts copy weights by hand, as the threads that found these mistakes did.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from conftest import Run, run_cli

pytestmark = pytest.mark.slow  # an oracle: Keras, PyTorch, onnxruntime and their files

UNITS, FEATURES, TIMESTEPS, BATCH, CLASSES = 4, 3, 6, 2, 2
GATE_BIAS = (0.3, 0.8, -0.2, 0.5)  # i, f, g, o: distinct and non-zero

Arrays = tuple[np.ndarray, ...]


# -- the models -------------------------------------------------------------------------------------------


def lstm_arrays(rng: np.random.Generator, features: int) -> Arrays:
    """Keras's kernel (features, 4u), recurrent_kernel (u, 4u) and bias (4u,), float32."""
    kernel = rng.uniform(-0.6, 0.6, (features, 4 * UNITS))
    recurrent = rng.uniform(-0.6, 0.6, (UNITS, 4 * UNITS))
    bias = np.repeat(GATE_BIAS, UNITS) + rng.uniform(-0.1, 0.1, 4 * UNITS)
    return tuple(array.astype(np.float32) for array in (kernel, recurrent, bias))


def dense_arrays(rng: np.random.Generator, features: int) -> Arrays:
    return rng.uniform(-1, 1, (features, CLASSES)).astype(np.float32), np.array([0.1, -0.2], np.float32)


@pytest.fixture
def keras() -> ModuleType:
    keras = pytest.importorskip("keras")
    pytest.importorskip("h5py")
    keras.backend.clear_session()
    return keras


@pytest.fixture
def torch() -> ModuleType:
    return pytest.importorskip("torch")


def keras_model(keras: Any, *, layers: int = 1, bidirectional: bool = False, seed: int = 0) -> Any:
    """As keras.io writes one: Input → LSTM(return_sequences=True) [→ LSTM] → Dense, then weights set."""
    inputs = keras.Input((TIMESTEPS, FEATURES))
    x = inputs
    for k in range(layers):
        lstm = keras.layers.LSTM(UNITS, return_sequences=True, name="lstm" + (f"_{k}" if k else ""))
        x = keras.layers.Bidirectional(lstm, name="bidirectional")(x) if bidirectional else lstm(x)
    model = keras.Model(inputs, keras.layers.Dense(CLASSES, name="dense")(x))
    rng = np.random.default_rng(seed)
    weights: list[np.ndarray] = []
    width = FEATURES
    for _ in range(layers):
        for _ in range(2 if bidirectional else 1):
            weights += lstm_arrays(rng, width)
        width = 2 * UNITS if bidirectional else UNITS
    model.set_weights([*weights, *dense_arrays(rng, width)])
    return model


def lstm_weights(model: Any) -> list[Arrays]:
    return [tuple(layer.get_weights()) for layer in model.layers if type(layer).__name__ == "LSTM"]


def torch_port(
    torch: Any, lstms: Sequence[Arrays], dense: Arrays, *, bias_hh_from_keras: Sequence[int] = ()
) -> Any:
    """A PyTorch port as people write one: nn.LSTM(batch_first=True) + nn.Linear, weights copied with .T.
    Layer k in `bias_hh_from_keras` has the SO 48361376 bug: Keras's one bias copied into both biases."""
    nn = torch.nn

    class Port(nn.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(FEATURES, UNITS, num_layers=len(lstms), batch_first=True)
            self.dense = nn.Linear(UNITS, CLASSES)

        def forward(self, x: Any) -> Any:
            out, _ = self.lstm(x)
            return self.dense(out)

    port = Port()
    with torch.no_grad():
        for k, (kernel, recurrent, bias) in enumerate(lstms):
            getattr(port.lstm, f"weight_ih_l{k}").copy_(torch.from_numpy(kernel.T.copy()))
            getattr(port.lstm, f"weight_hh_l{k}").copy_(torch.from_numpy(recurrent.T.copy()))
            getattr(port.lstm, f"bias_ih_l{k}").copy_(torch.from_numpy(bias.copy()))
            bias_hh = bias if k in bias_hh_from_keras else np.zeros_like(bias)
            getattr(port.lstm, f"bias_hh_l{k}").copy_(torch.from_numpy(bias_hh))
        port.dense.weight.copy_(torch.from_numpy(dense[0].T.copy()))
        port.dense.bias.copy_(torch.from_numpy(dense[1].copy()))
    return port


def run_port(torch: Any, port: Any, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return port(torch.from_numpy(x)).numpy()


@pytest.fixture
def x(tmp_path: Path) -> Path:
    """The input, standard normal: the weights above keep the gates away from saturation on it."""
    path = tmp_path / "x.npy"
    np.save(path, np.random.default_rng(5).standard_normal((BATCH, TIMESTEPS, FEATURES)).astype(np.float32))
    return path


# -- running compare --------------------------------------------------------------------------------------


def compare(*args: object) -> tuple[Run, dict[str, Any]]:
    """`compare ARGS --format json`: the run and its document."""
    run = run_cli("compare", *map(str, args), "--format", "json")
    assert run.exit_code in (0, 1), run.stderr
    return run, json.loads(run.stdout)


def first_finding(*args: object) -> dict[str, Any]:
    """The best finding of a run that must differ, and be explained."""
    run, document = compare(*args)
    assert run.exit_code == 1
    assert document["agree"] is False
    best = document["diagnosis"][0]
    assert best["agrees"] is True, document["diagnosis"][:3]
    return dict(best)


def agrees(*args: object) -> dict[str, Any]:
    run, document = compare(*args)
    assert run.exit_code == 0, document
    assert document["agree"] is True and document["first_difference"] is None
    assert document["diagnosis"] == []
    return document


def story(*args: object) -> str:
    """The `--explain` text, its lines joined: Rich wraps it to the terminal's width."""
    run = run_cli("compare", *map(str, args), "--explain")
    assert run.exit_code == 1, run.stderr
    return " ".join(run.stdout.split())


def error(*args: object) -> str:
    """The one error line of a run that must fail with exit 2."""
    run = run_cli("compare", *map(str, args))
    assert run.exit_code == 2
    assert run.stdout == ""
    assert "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("lstm-cli: error: ")]
    assert len(errors) == 1 and run.stderr.endswith(errors[0] + "\n"), run.stderr
    return errors[0].removeprefix("lstm-cli: error: ")


def save_numbers(folder: Path, y: np.ndarray, name: str = "port") -> Iterator[Path]:
    """The port's output as another runtime dumps it: .npy, .npz keyed by reference, and JSON."""
    np.save(folder / f"{name}.npy", y)
    np.savez(folder / f"{name}.npz", dense=y)
    (folder / f"{name}.json").write_text(json.dumps({"dense": y.tolist()}), encoding="utf-8")
    return (folder / f"{name}.{suffix}" for suffix in ("npy", "npz", "json"))


# -- SO 48361376, the bias copied into both of PyTorch's biases -------------------------------------------


def test_a_pytorch_port_with_the_bias_in_bias_ih_and_bias_hh_is_bias_twice_and_fixed(
    keras: Any, torch: Any, tmp_path: Path, x: Path
) -> None:
    model = keras_model(keras)
    model.save(tmp_path / "model.keras")
    port = torch_port(
        torch, lstm_weights(model), tuple(model.get_layer("dense").get_weights()), bias_hh_from_keras=[0]
    )
    torch.save(port.state_dict(), tmp_path / "port.pt")
    a, b = tmp_path / "model.keras", tmp_path / "port.pt"

    assert first_finding(a, b, "--input", x) == {
        "hypothesis": "bias:twice",
        "layer": "lstm",
        "max_abs_diff": pytest.approx(0, abs=1e-6),
        "agrees": True,
    }
    said = story(a, b, "--input", x)
    assert "B adds the bias twice" in said and "bias_hh" in said and "SO 48361376" in said
    # Without --input, on compare's own seeded input, the same finding.
    assert first_finding(a, b)["hypothesis"] == "bias:twice"

    run = run_cli("compare", str(a), str(b), "--input", str(x), "--fix", str(tmp_path / "fixed.pt"))
    assert run.exit_code == 1
    assert "--fix: undid bias:twice in 'lstm'" in run.stderr
    fixed = torch.load(tmp_path / "fixed.pt")  # Keras's bias once: in bias_ih, or split between the two
    assert torch.equal(fixed["lstm.bias_ih_l0"] + fixed["lstm.bias_hh_l0"], port.lstm.bias_ih_l0.detach())
    agrees(a, tmp_path / "fixed.pt", "--input", x)
    agrees(a, tmp_path / "fixed.pt")


def test_the_bias_bug_is_found_from_the_ports_output_alone_as_npy_npz_and_json(
    keras: Any, torch: Any, tmp_path: Path, x: Path
) -> None:
    model = keras_model(keras)
    model.save(tmp_path / "model.keras")
    dense = tuple(model.get_layer("dense").get_weights())
    port = torch_port(torch, lstm_weights(model), dense, bias_hh_from_keras=[0])
    for numbers in save_numbers(tmp_path, run_port(torch, port, np.load(x))):
        found = first_finding(tmp_path / "model.keras", numbers, "--input", x)
        assert (found["hypothesis"], found["layer"]) == ("bias:twice", "lstm"), numbers.name
    said = story(tmp_path / "model.keras", tmp_path / "port.npy", "--input", x)
    assert "B adds the bias twice" in said and "bias_hh" in said
    # Numbers need the input they were computed from: A is a .keras file, with none of its own.
    assert error(tmp_path / "model.keras", tmp_path / "port.npy") == (
        f"{tmp_path / 'model.keras'} has no input data, and B ({tmp_path / 'port.npy'}) is numbers: give "
        "the input they were computed from with --input"
    )


def test_the_bias_bug_exported_by_torch_onnx_export_is_found_in_the_onnx_file(
    keras: Any, torch: Any, tmp_path: Path, x: Path
) -> None:
    pytest.importorskip("onnx")
    model = keras_model(keras)
    model.save(tmp_path / "model.keras")
    dense = tuple(model.get_layer("dense").get_weights())
    port = torch_port(torch, lstm_weights(model), dense, bias_hh_from_keras=[0])
    with warnings.catch_warnings():  # the TorchScript exporter's notes on LSTM batch sizes
        warnings.simplefilter("ignore")
        torch.onnx.export(port, (torch.from_numpy(np.load(x)),), tmp_path / "port.onnx", dynamo=False)
    # PyTorch's exporter writes B = [bias_ih, bias_hh] into the ONNX LSTM op: the bias is still there twice.
    found = first_finding(tmp_path / "model.keras", tmp_path / "port.onnx", "--input", x)
    assert (found["hypothesis"], found["layer"]) == ("bias:twice", "lstm")


# -- ONNX's gate order read as Keras's, and the other way round -------------------------------------------


def onnx_initializers(path: Path) -> tuple[Any, dict[str, np.ndarray]]:
    onnx = pytest.importorskip("onnx")
    from onnx import numpy_helper

    graph = onnx.load(path).graph
    return graph, {tensor.name: numpy_helper.to_array(tensor) for tensor in graph.initializer}


def test_a_pytorch_port_of_the_onnx_weights_keeps_onnxs_gate_order_iofg(
    keras: Any, torch: Any, tmp_path: Path, x: Path
) -> None:
    model = keras_model(keras)
    model.save(tmp_path / "model.keras")
    assert (
        run_cli("convert", str(tmp_path / "model.keras"), "-o", str(tmp_path / "model.onnx")).exit_code == 0
    )
    # The port script: ONNX's W (1, 4u, features) and R (1, 4u, u) have PyTorch's shapes, and B is
    # [Wb, Rb], so the script copies them straight into nn.LSTM, without reordering ONNX's i, o, f, c.
    graph, values = onnx_initializers(tmp_path / "model.onnx")
    lstm = next(node for node in graph.node if node.op_type == "LSTM")
    matmul = next(node for node in graph.node if node.op_type == "MatMul")
    add = next(node for node in graph.node if node.op_type == "Add")
    w, r, b = (values[name][0] for name in lstm.input[1:4])
    port = torch_port(torch, [(w.T, r.T, b[: 4 * UNITS])], (values[matmul.input[1]], values[add.input[1]]))
    with torch.no_grad():
        port.lstm.bias_hh_l0.copy_(
            torch.from_numpy(b[4 * UNITS :].copy())
        )  # Rb: zeros, as lstm-cli writes it
    torch.save(port.state_dict(), tmp_path / "port.pt")

    # B (the port) holds the four blocks in ONNX's order and reads them as (i, f, g, o): SPEC §9's
    # gate_order:iofg, "B's weights hold the blocks in order PERM". As numbers it is the same: the port
    # computes what A computes with A's blocks rearranged to i, o, f, g.
    found = first_finding(tmp_path / "model.keras", tmp_path / "port.pt", "--input", x)
    assert (found["hypothesis"], found["layer"]) == ("gate_order:iofg", "lstm")
    said = story(tmp_path / "model.keras", tmp_path / "port.pt", "--input", x)
    assert "B's gates are stored in ONNX's order (i, o, f, c) but read as Keras's (i, f, c, o)" in said
    for numbers in save_numbers(tmp_path, run_port(torch, port, np.load(x))):
        found = first_finding(tmp_path / "model.keras", numbers, "--input", x)
        assert (found["hypothesis"], found["layer"]) == ("gate_order:iofg", "lstm"), numbers.name

    run = run_cli(
        "compare",
        str(tmp_path / "model.keras"),
        str(tmp_path / "port.pt"),
        "--fix",
        str(tmp_path / "fixed.pt"),
    )
    assert run.exit_code == 1, run.stderr
    agrees(tmp_path / "model.keras", tmp_path / "fixed.pt", "--input", x)


def test_keras_weights_written_into_an_onnx_lstm_unreordered_are_the_inverse_igof(
    keras: Any, tmp_path: Path, x: Path
) -> None:
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from onnx import numpy_helper

    model = keras_model(keras)
    model.save(tmp_path / "model.keras")
    assert (
        run_cli("convert", str(tmp_path / "model.keras"), "-o", str(tmp_path / "model.onnx")).exit_code == 0
    )
    # The export script: Keras's kernel.T, recurrent_kernel.T and bias put into the LSTM op's W, R and B
    # as they are, in Keras's i, f, g, o, where ONNX reads i, o, f, c.
    kernel, recurrent, bias = lstm_weights(model)[0]
    graph = onnx.load(tmp_path / "model.onnx")
    lstm = next(node for node in graph.graph.node if node.op_type == "LSTM")
    keras_order = {
        lstm.input[1]: kernel.T[None],
        lstm.input[2]: recurrent.T[None],
        lstm.input[3]: np.concatenate([bias, np.zeros_like(bias)])[None],
    }
    for tensor in graph.graph.initializer:
        if tensor.name in keras_order:
            tensor.CopyFrom(numpy_helper.from_array(keras_order[tensor.name].copy(), tensor.name))
    onnx.save(graph, tmp_path / "port.onnx")

    # ONNX's i is Keras's i; its o is Keras's f; its f, Keras's g; its c, Keras's o. Read back in Keras's
    # order, block k of the port holds i, g, o, f: gate_order:igof, the inverse of ONNX's iofg (SPEC §9's
    # note: a runtime that reads Keras weights as ONNX's order).
    found = first_finding(tmp_path / "model.keras", tmp_path / "port.onnx", "--input", x)
    assert (found["hypothesis"], found["layer"]) == ("gate_order:igof", "lstm")
    said = story(tmp_path / "model.keras", tmp_path / "port.onnx", "--input", x)
    assert "weights already in Keras's order were taken as if in ONNX's order (i, o, f, c)" in said
    # onnxruntime's own numbers from that file: the same finding, and the story says which way round.
    session = ort.InferenceSession(str(tmp_path / "port.onnx"), providers=["CPUExecutionProvider"])
    (y,) = session.run(["dense"], {session.get_inputs()[0].name: np.load(x)})
    for numbers in save_numbers(tmp_path, y, "onnxruntime"):
        found = first_finding(tmp_path / "model.keras", numbers, "--input", x)
        assert (found["hypothesis"], found["layer"]) == ("gate_order:igof", "lstm"), numbers.name
    said = story(tmp_path / "model.keras", tmp_path / "onnxruntime.npy", "--input", x)
    assert "reads A's Keras-ordered weights as if they were in ONNX's order (i, o, f, c)" in said


# -- tf.keras 2's hard_sigmoid ----------------------------------------------------------------------------


def write_tf_keras_2_h5(path: Path, recurrent_activation: str, lstm: Arrays, dense: Arrays) -> None:
    """`model.save("m.h5")` of tf.keras 2.x: Input → LSTM(return_sequences=True) → Dense, written with
    h5py as tf.keras 2 lays the file out (TensorFlow itself is not needed)."""
    h5py = pytest.importorskip("h5py")

    def layer(cls: str, name: str, **config: Any) -> dict[str, Any]:
        return {"class_name": cls, "config": {"name": name, "trainable": True, "dtype": "float32", **config}}

    model_config = {
        "class_name": "Sequential",
        "config": {
            "name": "sequential",
            "layers": [
                layer("InputLayer", "lstm_input", batch_input_shape=[None, TIMESTEPS, FEATURES]),
                layer("LSTM", "lstm", units=UNITS, activation="tanh", use_bias=True, return_sequences=True,
                      recurrent_activation=recurrent_activation, return_state=False, go_backwards=False,
                      time_major=False, implementation=2, unroll=False, stateful=False),
                layer("Dense", "dense", units=CLASSES, activation="linear", use_bias=True),
            ],
        },
    }  # fmt: skip
    weights = {
        "lstm": [
            (f"lstm/lstm_cell/{name}:0", array)
            for name, array in zip(("kernel", "recurrent_kernel", "bias"), lstm, strict=True)
        ],
        "dense": [("dense/kernel:0", dense[0]), ("dense/bias:0", dense[1])],
    }
    with h5py.File(path, "w") as store:
        store.attrs["keras_version"] = b"2.12.0"
        store.attrs["backend"] = b"tensorflow"
        store.attrs["model_config"] = json.dumps(model_config).encode("utf-8")
        root = store.create_group("model_weights")
        root.attrs["keras_version"] = b"2.12.0"
        root.attrs["backend"] = b"tensorflow"
        root.attrs["layer_names"] = np.array([name.encode() for name in weights])
        for name, named in weights.items():
            group = root.create_group(name)
            group.attrs["weight_names"] = np.array([weight.encode() for weight, _ in named])
            for weight, array in named:
                group.create_dataset(weight, data=array)


def test_a_tf_keras_2_model_with_hard_sigmoid_against_a_pytorch_port_names_the_activation(
    torch: Any, tmp_path: Path, x: Path
) -> None:
    rng = np.random.default_rng(3)
    lstm, dense = lstm_arrays(rng, FEATURES), dense_arrays(rng, UNITS)
    write_tf_keras_2_h5(tmp_path / "model.h5", "hard_sigmoid", lstm, dense)
    port = torch_port(torch, [lstm], dense)  # copied right: only nn.LSTM's sigmoid differs
    torch.save(port.state_dict(), tmp_path / "port.pt")
    h5, pt = tmp_path / "model.h5", tmp_path / "port.pt"

    # A, the tf.keras 2 model, computes i, f, o with clip(0.2·x + 0.5, 0, 1) (lstm-cli's hard_sigmoid_tf2);
    # B, the port, with nn.LSTM's sigmoid: B computes what A would with recurrent_activation sigmoid.
    found = first_finding(h5, pt, "--input", x)
    assert (found["hypothesis"], found["layer"]) == ("recurrent_activation:sigmoid", "lstm")
    said = story(h5, pt, "--input", x)
    assert "B's gates i, f and o use sigmoid where A's use tf.keras 2's hard_sigmoid" in said
    assert "tensorflow#47495" in said
    for numbers in save_numbers(tmp_path, run_port(torch, port, np.load(x))):
        found = first_finding(h5, numbers, "--input", x)
        assert (found["hypothesis"], found["layer"]) == ("recurrent_activation:sigmoid", "lstm"), numbers.name
    # The other way round, the port as the reference: the .h5 is the one with tf.keras 2's hard_sigmoid.
    found = first_finding(pt, h5, "--input", x, "--batch-first")
    assert (found["hypothesis"], found["layer"]) == ("recurrent_activation:hard_sigmoid_tf2", "lstm")
    # nn.LSTM has no hard sigmoid: a fixed .pt is refused, and a fixed YAML config agrees with the .h5.
    assert error(h5, pt, "--input", x, "--fix", tmp_path / "fixed.pt") == (
        "layer 'lstm' cannot be an nn.LSTM: its recurrent_activation is hard_sigmoid_tf2, and nn.LSTM's is "
        "sigmoid"
    )
    assert not (tmp_path / "fixed.pt").exists()
    run = run_cli("compare", str(h5), str(pt), "--input", str(x), "--fix", str(tmp_path / "fixed.yaml"))
    assert run.exit_code == 1, run.stderr
    assert "recurrent_activation: hard_sigmoid_tf2" in (tmp_path / "fixed.yaml").read_text()
    agrees(h5, tmp_path / "fixed.yaml", "--input", x)


# -- no false diagnosis -----------------------------------------------------------------------------------

SHAPES = {"one layer": {}, "bidirectional": {"bidirectional": True}, "two layers": {"layers": 2}}


@pytest.mark.parametrize("shape", SHAPES)
def test_a_keras_model_agrees_with_each_of_its_conversions_and_with_itself_saved_again(
    keras: Any, torch: Any, tmp_path: Path, x: Path, shape: str
) -> None:
    pytest.importorskip("onnx")
    model = keras_model(keras, **SHAPES[shape])
    a = tmp_path / "model.keras"
    model.save(a)
    again = keras_model(keras, **SHAPES[shape], seed=1)  # built afresh, then given the same weights
    again.set_weights(model.get_weights())
    again.save(tmp_path / "again.keras")
    conversions = [tmp_path / "again.keras"]
    for suffix in ("pt", "onnx", "yaml"):
        conversions.append(tmp_path / f"model.{suffix}")
        run = run_cli("convert", str(a), "-o", str(conversions[-1]), "--input", str(x))
        assert run.exit_code == 0, run.stderr
    if shape == "two layers":
        # convert writes each Keras LSTM as its own nn.LSTM module, and a state_dict with two of them is
        # read only with --config, which compare's B does not take: the port people write, one
        # nn.LSTM(num_layers=2) with the weights copied right, stands in for it.
        port = torch_port(torch, lstm_weights(model), tuple(model.get_layer("dense").get_weights()))
        torch.save(port.state_dict(), tmp_path / "model.pt")
    recurrent = (
        ["bidirectional"]
        if shape == "bidirectional"
        else ["lstm", "lstm_1"][: SHAPES[shape].get("layers", 1)]
    )
    for b in conversions:
        for given in (["--input", x], []):  # the input given, and compare's own seeded one
            document = agrees(a, b, *given)
            assert sorted({layer["a"] for layer in document["layers"]}) == recurrent, b.name
            assert document["max_abs_diff"] <= 1e-5, b.name
        assert "A and B agree" in run_cli("compare", str(a), str(b)).stdout


# -- a difference no known mistake explains ---------------------------------------------------------------


def test_noise_on_one_recurrent_weight_is_no_known_mistake_and_names_the_closest(
    keras: Any, tmp_path: Path, x: Path
) -> None:
    model = keras_model(keras)
    model.save(tmp_path / "model.keras")
    kernel, recurrent, bias, *head = model.get_weights()
    recurrent = recurrent.copy()
    recurrent[1, 5] += 0.3  # unit 1's pull on unit 1's forget gate
    model.set_weights([kernel, recurrent, bias, *head])
    model.save(tmp_path / "noisy.keras")
    a, b = tmp_path / "model.keras", tmp_path / "noisy.keras"

    run, document = compare(a, b, "--input", x)
    assert run.exit_code == 1
    assert document["first_difference"]["quantity"] == "f"  # at t=1, the first step h_0 is not zero
    assert document["first_difference"]["t"] == 1
    closest = document["diagnosis"][0]
    assert not any(finding["agrees"] for finding in document["diagnosis"])
    # The closest is the hypothesis that leaves the least difference on the layer's output, which may be
    # more than A and B differ by unchanged: a nudged weight is not any known mistake, nor near one.
    assert closest["layer"] == "lstm" and closest["max_abs_diff"] > 0
    said = story(a, b, "--input", x)
    assert "No known mistake explains it" in said
    assert f"The closest is {closest['hypothesis']} in layer 'lstm'" in said
    run = run_cli("compare", str(a), str(b), "--input", str(x), "--fix", str(tmp_path / "fixed.keras"))
    assert run.exit_code == 1
    assert "no known mistake makes A and B agree" in run.stderr
    assert not (tmp_path / "fixed.keras").exists()


# -- a mistake in the second layer only -------------------------------------------------------------------


def test_a_two_layer_port_with_the_bias_bug_in_its_second_layer_is_found_there(
    keras: Any, torch: Any, tmp_path: Path, x: Path
) -> None:
    model = keras_model(keras, layers=2)
    model.save(tmp_path / "model.keras")
    dense = tuple(model.get_layer("dense").get_weights())
    port = torch_port(torch, lstm_weights(model), dense, bias_hh_from_keras=[1])  # nn.LSTM(num_layers=2)
    torch.save(port.state_dict(), tmp_path / "port.pt")
    a = tmp_path / "model.keras"

    run, document = compare(a, tmp_path / "port.pt", "--input", x)
    assert run.exit_code == 1
    first, second = (layer for layer in document["layers"])
    assert (first["a"], second["a"]) == ("lstm", "lstm_1")
    assert all(value == 0 for step in first["steps"] for key, value in step.items() if key != "t")
    assert document["first_difference"]["a_layer"] == "lstm_1"
    assert document["diagnosis"][0] == {
        "hypothesis": "bias:twice",
        "layer": "lstm_1",
        "max_abs_diff": pytest.approx(0, abs=1e-6),
        "agrees": True,
    }
    assert "In layer 'lstm_1', B adds the bias twice" in story(a, tmp_path / "port.pt", "--input", x)
    # From the output alone, A is changed layer by layer: the first layer's hypotheses fail, the second's
    # agree.
    for numbers in save_numbers(tmp_path, run_port(torch, port, np.load(x))):
        found = first_finding(a, numbers, "--input", x)
        assert (found["hypothesis"], found["layer"]) == ("bias:twice", "lstm_1"), numbers.name
    run = run_cli("compare", str(a), str(tmp_path / "port.pt"), "--fix", str(tmp_path / "fixed.pt"))
    assert "--fix: undid bias:twice in 'lstm_l1'" in run.stderr  # B's name: nn.LSTM's layer 1
    agrees(a, tmp_path / "fixed.pt", "--input", x)


# -- errors -----------------------------------------------------------------------------------------------


def test_different_structures_name_the_first_layer_without_a_counterpart(
    keras: Any, torch: Any, tmp_path: Path, x: Path
) -> None:
    two = keras_model(keras, layers=2)
    two.save(tmp_path / "two.keras")
    one = keras_model(keras)
    one_port = torch_port(torch, lstm_weights(one), tuple(one.get_layer("dense").get_weights()))
    torch.save(one_port.state_dict(), tmp_path / "one.pt")
    assert error(tmp_path / "two.keras", tmp_path / "one.pt", "--input", x) == (
        "B has no counterpart for A's layer 'lstm_1' (LSTM, 4 units); "
        "the layers matched so far: 'lstm' = 'lstm'"
    )
    wide = torch.nn.Sequential()  # a port with 5 units where Keras has 4
    wide.add_module("lstm", torch.nn.LSTM(FEATURES, UNITS + 1, batch_first=True))
    wide.add_module("dense", torch.nn.Linear(UNITS + 1, CLASSES))
    torch.save(wide.state_dict(), tmp_path / "wide.pt")
    assert error(tmp_path / "two.keras", tmp_path / "wide.pt") == (
        "B has no counterpart for A's layer 'lstm' (LSTM, 4 units); the layers matched so far: none"
    )


def test_bad_numbers_and_misused_options_are_one_line_exit_2(keras: Any, tmp_path: Path, x: Path) -> None:
    keras_model(keras).save(tmp_path / "model.keras")
    a = tmp_path / "model.keras"
    np.save(tmp_path / "short.npy", np.zeros((BATCH, TIMESTEPS - 1, CLASSES), np.float32))
    assert error(a, tmp_path / "short.npy", "--input", x).endswith(
        "'dense' has shape (2, 5, 2) where A's has (2, 6, 2)"
    )
    (tmp_path / "bad.json").write_text('{"dense": [[0.5, 0.25],\n  [0.1, oops]]}', encoding="utf-8")
    assert error(a, tmp_path / "bad.json", "--input", x) == (
        f"{tmp_path / 'bad.json'}:2:9: not JSON: Expecting value"
    )
    np.save(tmp_path / "right.npy", np.zeros((BATCH, TIMESTEPS, CLASSES), np.float32))
    assert error(a, tmp_path / "right.npy", "--input", x, "--fix", tmp_path / "fixed.pt") == (
        f"--fix writes B corrected, and B ({tmp_path / 'right.npy'}) is numbers, not a model"
    )
    assert error(a, a, "--force") == "--force overwrites the --fix FILE; give --fix FILE"
    assert not (tmp_path / "fixed.pt").exists()
