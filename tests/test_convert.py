"""`lstm-cli convert` without the frameworks: YAML and .npz round trips, sizes, and every way a file can
be wrong, each a one-line error with exit code 2. (Keras and PyTorch oracles: test_convert_keras.py and
test_convert_torch.py.)"""

from __future__ import annotations

import io
import json
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, run_cli

import lstm_cli
from lstm_cli.config import example_names, load_model
from lstm_cli.yamlwriter import dump_yaml

CONFIGS = ROOT / "configs"


def convert_ok(*args: str) -> str:
    run = run_cli("convert", *args)
    assert run.exit_code == 0, run.stderr
    return run.stdout


def error(*args: str) -> str:
    """The one line `convert ARGS` writes on stderr, checked to come with exit code 2 and nothing else."""
    run = run_cli("convert", *args)
    assert run.exit_code == 2, run.stderr
    assert run.stdout == ""
    assert run.stderr.count("\n") == 1 and run.stderr.startswith("lstm-cli: error: "), run.stderr
    return run.stderr.removeprefix("lstm-cli: error: ").removesuffix("\n")


def assert_same_run(first: Path, second: Path) -> None:
    one, two = lstm_cli.forward(first), lstm_cli.forward(second)
    assert one.keys() == two.keys()
    for ref in one:
        np.testing.assert_array_equal(one[ref], two[ref], err_msg=ref)


# -- YAML and .npz ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("example", example_names())
def test_every_example_converts_to_yaml_that_runs_the_same(example: str, tmp_path: Path) -> None:
    text = convert_ok(str(CONFIGS / f"{example}.yaml"), "-o", "-")
    assert text.startswith(f"# Converted from {example}.yaml by `lstm-cli convert`.\n")
    (tmp_path / "copy.yaml").write_text(text)
    original, copy = load_model(CONFIGS / f"{example}.yaml"), load_model(tmp_path / "copy.yaml")
    assert [layer.name for layer in copy.layers] == [layer.name for layer in original.layers]
    assert copy.outputs == original.outputs and copy.vocab == original.vocab
    if "architecture" not in example:
        assert_same_run(CONFIGS / f"{example}.yaml", tmp_path / "copy.yaml")


def test_seed_to_yaml_on_stdout_is_exactly_this() -> None:
    assert convert_ok(str(CONFIGS / "seed.yaml"), "-o", "-") == (
        "# Converted from seed.yaml by `lstm-cli convert`.\n"
        'description: "The blog\'s hand check, one step, no activations. Keras gives h=[0,4,0], c=[0,4,1]."\n'
        "input: [[[1, 0]]]\n"
        "layers:\n"
        "  - type: lstm\n"
        "    units: 3\n"
        "    activation: null\n"
        "    recurrent_activation: null\n"
        "    return_sequences: true\n"
        "    return_state: true\n"
        "    kernel: [[2, 1, 1, 0, 0, 0, 0, 1, 1, 0, 1, 0],\n"
        "             [1, 1, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0]]\n"
        "    recurrent_kernel: [[1, 0, 0, 1, 2, 1, 0, 1, 2, 0, 1, 0],\n"
        "                       [1, 1, 0, 0, 2, 1, 0, 1, 2, 2, 0, 0],\n"
        "                       [1, 0, 1, 2, 0, 1, 0, 1, 1, 0, 1, 0]]\n"
        "    bias: [3, 1, 0, 1, 1, 0, 0, 1, 0, 2, 0, 0]\n"
    )


@pytest.mark.parametrize("example", ["bidirectional-masking", "pytorch-layout", "seq2seq"])
def test_yaml_to_npz_and_back_with_the_architecture(example: str, tmp_path: Path) -> None:
    config = CONFIGS / f"{example}.yaml"
    convert_ok(str(config), "-o", str(tmp_path / "w.npz"))
    with np.load(tmp_path / "w.npz") as archive:
        keys = set(archive.files)
    model = load_model(config)
    assert {key.split("/")[1] for key in keys if key.startswith("layers/")} == {
        layer.name for layer in model.layers if layer.type != "masking"
    }
    assert ("input" in keys) == ("input" in model.inputs)
    # An architecture-only copy of the config gets its weights and data back from the .npz.
    convert_ok(str(config), "-o", str(tmp_path / "arch.yaml"), "--inline-limit", "0")
    (tmp_path / "arch.npz").unlink()
    text = (tmp_path / "arch.yaml").read_text()
    assert "{file: arch.npz, key: layers/" in text
    convert_ok(str(tmp_path / "w.npz"), "--config", str(config), "-o", str(tmp_path / "back.yaml"))
    assert_same_run(config, tmp_path / "back.yaml")


def test_the_npz_keys_are_the_documented_ones(tmp_path: Path) -> None:
    convert_ok(str(CONFIGS / "bidirectional-masking.yaml"), "-o", str(tmp_path / "w.npz"))
    with np.load(tmp_path / "w.npz") as archive:
        assert sorted(archive.files) == [
            "input",
            "layers/encoder/backward/bias",
            "layers/encoder/backward/kernel",
            "layers/encoder/backward/recurrent_kernel",
            "layers/encoder/forward/bias",
            "layers/encoder/forward/kernel",
            "layers/encoder/forward/recurrent_kernel",
        ]


def test_big_arrays_go_to_an_npz_beside_the_yaml(tmp_path: Path) -> None:
    source = CONFIGS / "stacked.yaml"
    stderr = run_cli("convert", str(source), "-o", str(tmp_path / "m.yaml"), "--inline-limit", "50").stderr
    assert stderr == f"lstm-cli: wrote {tmp_path / 'm.yaml'}\nlstm-cli: wrote {tmp_path / 'm.npz'}\n"
    text = (tmp_path / "m.yaml").read_text()
    assert "# The arrays are in m.npz, beside this file.\n" in text
    assert "    kernel: {file: m.npz, key: layers/encoder/kernel}\n" in text
    assert "input: {file: m.npz, key: input}\n" in text
    assert_same_run(source, tmp_path / "m.yaml")
    # A config that reads .npz files converts on to a self-contained one.
    convert_ok(str(tmp_path / "m.yaml"), "-o", str(tmp_path / "inline.yaml"))
    assert "file:" not in (tmp_path / "inline.yaml").read_text()
    assert_same_run(source, tmp_path / "inline.yaml")


def test_an_existing_file_is_kept_unless_forced(tmp_path: Path) -> None:
    (tmp_path / "m.npz").write_text("keep me")
    seed = str(CONFIGS / "seed.yaml")
    assert error(seed, "-o", str(tmp_path / "m.yaml"), "--inline-limit", "0") == (
        f"{tmp_path / 'm.npz'}: already exists; add --force to overwrite it"
    )
    assert not (tmp_path / "m.yaml").exists() and (tmp_path / "m.npz").read_text() == "keep me"
    convert_ok(seed, "-o", str(tmp_path / "m.yaml"), "--inline-limit", "0", "--force")
    assert_same_run(CONFIGS / "seed.yaml", tmp_path / "m.yaml")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["m.npz", "m.yaml"]  # no temporary files


def torch_style_npz(path: Path, seed: int = 0, layers: int = 2) -> dict[str, np.ndarray]:
    """An nn.LSTM(3, 4, num_layers=layers) state_dict as an .npz (numpy.savez of its tensors)."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for k in range(layers):
        width = 3 if k == 0 else 4
        for name, shape in (
            ("weight_ih", (16, width)),
            ("weight_hh", (16, 4)),
            ("bias_ih", (16,)),
            ("bias_hh", (16,)),
        ):
            arrays[f"rnn.{name}_l{k}"] = rng.uniform(-0.5, 0.5, shape).astype(np.float32)
    np.savez(path, **arrays)
    return arrays


def test_float32_weights_are_written_in_their_shortest_digits_and_read_back_exactly(tmp_path: Path) -> None:
    arrays = torch_style_npz(tmp_path / "sd.npz")
    convert_ok(str(tmp_path / "sd.npz"), "-o", str(tmp_path / "m.yaml"))
    text = (tmp_path / "m.yaml").read_text()
    assert "dtype: float32\n" in text
    model = load_model(tmp_path / "m.yaml")
    weights = model.layers[1].weights
    assert weights is not None
    np.testing.assert_array_equal(weights.kernel, arrays["rnn.weight_ih_l1"].T)
    numbers = text.split("layers:")[1].replace(",", " ").replace("[", " ").replace("]", " ").split()
    longest = max(len(token) for token in numbers if token[0] in "-0123456789")
    assert longest <= 15  # "-0.123456789" style, not float64's 0.12345678907632828


def test_a_torch_style_npz_names_its_layers_as_documented(tmp_path: Path) -> None:
    torch_style_npz(tmp_path / "sd.npz", layers=3)
    np.save(tmp_path / "x.npy", np.ones((2, 5, 3)))
    x_npy = str(tmp_path / "x.npy")
    convert_ok(str(tmp_path / "sd.npz"), "-o", str(tmp_path / "m.yaml"), "--input", x_npy, "--batch-first")
    text = (tmp_path / "m.yaml").read_text()
    assert "nn.LSTM(input_size=3, hidden_size=4, num_layers=3) at 'rnn'" in text
    out = lstm_cli.forward(tmp_path / "m.yaml")
    assert {"lstm", "lstm.h", "lstm.c", "lstm_1.h", "lstm_2", "lstm_2.h", "lstm_2.c"} <= set(out)
    assert out["lstm_2"].shape == (2, 5, 4)


def test_input_data_can_be_attached_by_name(tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", np.zeros((1, 3, 71)))
    source = str(CONFIGS / "seq2seq-architecture.yaml")
    assert error(source, "-o", "-", "--input", str(tmp_path / "x.npy")) == (
        f"--input {tmp_path / 'x.npy'}: the model has inputs encoder_inputs, decoder_inputs; say which "
        "with NAME=FILE"
    )
    assert error(source, "-o", "-", "--input", f"nope={tmp_path / 'x.npy'}") == (
        f"--input nope={tmp_path / 'x.npy'}: no input 'nope' (the model has: encoder_inputs, decoder_inputs)"
    )
    text = convert_ok(source, "-o", "-", "--input", f"encoder_inputs={tmp_path / 'x.npy'}")
    assert "  encoder_inputs: [[[0, 0," in text and "  decoder_inputs: {shape: [null, 93]}" in text
    assert "# Input decoder_inputs has a shape but no data: put data there (or convert with --input" in text
    assert error(source, "-o", "-", "--input", f"decoder_inputs={tmp_path / 'x.npy'}") == (
        f"--input decoder_inputs={tmp_path / 'x.npy'}: the array's shape is (1, 3, 71); input "
        "'decoder_inputs' takes (batch, timesteps, 93)"
    )  # the file's fault, not the decoder's kernel's
    twice = f"encoder_inputs={tmp_path / 'x.npy'}"
    assert error(source, "-o", "-", "--input", twice, "--input", twice) == (
        f"--input {twice}: input 'encoder_inputs' is given twice"
    )


# -- errors: one line, exit 2 ----------------------------------------------------------------------------


def test_missing_unknown_and_misnamed_files(tmp_path: Path) -> None:
    out = str(tmp_path / "m.yaml")
    assert error(str(tmp_path / "nope.keras"), "-o", out) == f"{tmp_path / 'nope.keras'}: no such file"
    (tmp_path / "model.txt").write_text("hello")
    assert error(str(tmp_path / "model.txt"), "-o", out) == (
        f"{tmp_path / 'model.txt'}: unknown kind of model file; lstm-cli reads "
        ".keras, .weights.h5, .h5, .pt, .pth, .npz, .onnx, .yaml"
    )
    (tmp_path / "config.keras").write_text("layers: []\n")
    assert error(str(tmp_path / "config.keras"), "-o", out) == (
        f"{tmp_path / 'config.keras'}: not a Keras 3 .keras archive (a zip holding config.json and "
        "model.weights.h5): it looks like a text file"
    )
    np.savez(tmp_path / "w.npz", a=np.zeros(3))
    (tmp_path / "w.pt").write_bytes((tmp_path / "w.npz").read_bytes())
    assert error(str(tmp_path / "w.pt"), "-o", out) == (
        f"{tmp_path / 'w.pt'}: not a PyTorch file (torch.save of a state_dict): it looks like a numpy .npz "
        "archive"
    )
    (tmp_path / "w.h5").write_bytes((tmp_path / "w.npz").read_bytes())
    assert error(str(tmp_path / "w.h5"), "-o", out) == (
        f"{tmp_path / 'w.h5'}: not an HDF5 model file (.h5): it looks like a numpy .npz archive"
    )
    (tmp_path / "empty.pt").write_bytes(b"")
    assert error(str(tmp_path / "empty.pt"), "-o", out).endswith("it looks like an empty file")
    assert not (tmp_path / "m.yaml").exists()


def keras_archive(path: Path, config: object, weights: bytes = b"") -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.15.0"}))
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("model.weights.h5", weights)


def test_a_truncated_or_corrupt_keras_archive(tmp_path: Path) -> None:
    model = {"class_name": "Sequential", "config": {"layers": [{"class_name": "LSTM", "config": {}}]}}
    keras_archive(tmp_path / "m.keras", model)
    raw = (tmp_path / "m.keras").read_bytes()
    (tmp_path / "cut.keras").write_bytes(raw[: len(raw) // 2])
    assert error(str(tmp_path / "cut.keras"), "-o", "-").endswith(
        "it looks like a damaged or truncated zip archive"
    )
    with zipfile.ZipFile(tmp_path / "bad.keras", "w") as archive:
        archive.writestr("config.json", "{not json")
    assert error(str(tmp_path / "bad.keras"), "-o", "-").startswith(
        f"{tmp_path / 'bad.keras'}: config.json is not valid JSON: "
    )


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"class_name": "MyModel", "config": {}}, "the model is a 'MyModel'; lstm-cli reads Sequential and "
         "Functional models (a subclassed model has no config to read: save its weights and give --config)"),
        ({"class_name": "Sequential", "config": {"layers": [
            {"class_name": "InputLayer", "config": {"batch_shape": [None, 4, 3], "name": "x"}},
            {"class_name": "Conv1D", "config": {"name": "conv1d"}}]}},
         "layer 'conv1d' is a 'Conv1D'; lstm-cli converts LSTM, Bidirectional(LSTM), Dense, "
         "TimeDistributed(Dense), Embedding, Masking, InputLayer and the layers that do nothing at inference "
         "(Dropout, SpatialDropout1D, GaussianNoise, GaussianDropout, AlphaDropout, ActivityRegularization)"),
        ({"class_name": "Sequential", "config": {"layers": [
            {"class_name": "InputLayer", "config": {"batch_shape": [None, 4, 3], "name": "x"}},
            {"class_name": "TimeDistributed", "config": {"name": "td", "layer": {
                "class_name": "Conv1D", "config": {"name": "conv1d"}}}}]}},
         "layer 'td' is a TimeDistributed(Conv1D); lstm-cli converts TimeDistributed(Dense)"),
        ({"class_name": "Sequential", "config": {"layers": [
            {"class_name": "InputLayer", "config": {"batch_shape": [None, 4, 3], "name": "x"}},
            {"class_name": "Embedding", "config": {"name": "embedding", "input_dim": 5, "output_dim": 2}}]}},
         "layer 'embedding' is an Embedding that reads input 'input' of shape (None, 4, 3); lstm-cli's "
         "Embedding reads a model input of ids (batch, timesteps)"),
        ({"class_name": "Sequential", "config": {"layers": [
            {"class_name": "InputLayer", "config": {"batch_shape": [None, 4], "name": "x"}},
            {"class_name": "Embedding", "config": {"name": "embedding", "input_dim": 5, "output_dim": 2,
                                                   "sparse": True}}]}},
         "layer 'embedding': Embedding(sparse=True) returns a sparse tensor, which lstm-cli does not "
         "compute"),
        ({"class_name": "Sequential", "config": {"layers": [
            {"class_name": "InputLayer", "config": {"batch_shape": [None, 4], "name": "x"}},
            {"class_name": "Embedding", "config": {"name": "embedding", "input_dim": 5, "output_dim": 2,
             "dtype": {"class_name": "QuantizedDTypePolicy",
                       "config": {"mode": "int8", "source_name": "float32"}}}}]}},
         "layer 'embedding' is quantized (int8); lstm-cli computes with the float weights of a model that "
         "is not"),
        ({"class_name": "Sequential", "config": {"layers": [
            {"class_name": "InputLayer", "config": {"batch_shape": [None, 3], "name": "x"}},
            {"class_name": "Dense", "config": {"name": "dense", "units": 2}}]}},
         "layer 'dense' reads input 'input' of shape (None, 3); lstm-cli reads sequences (batch, timesteps, "
         "features), or ids (batch, timesteps) into an Embedding"),
        ({"class_name": "Sequential", "config": {"layers": [
            {"class_name": "InputLayer", "config": {"batch_shape": [None], "name": "x"}},
            {"class_name": "Dense", "config": {"name": "dense", "units": 2}}]}},
         "the model's input has shape (None); lstm-cli reads sequences (batch, timesteps, features), or ids "
         "(batch, timesteps) into an Embedding"),
        ({"class_name": "Sequential", "config": {"layers": [
            {"class_name": "LSTM", "config": {"name": "lstm", "units": 2}}]}},
         "the model's input shape is unknown: it was saved before it was built"),
        ({"class_name": "Sequential", "config": {"layers": [
            {"class_name": "InputLayer", "config": {"batch_shape": [None, 4, 3], "name": "x"}},
            {"class_name": "LSTM", "config": {"name": "lstm", "units": 2, "activation": "crelu"}}]}},
         "layer 'lstm': activation 'crelu' is not one lstm-cli computes (it has: linear, tanh, sigmoid, "
         "hard_sigmoid, hard_sigmoid_tf2, relu, relu6, leaky_relu, elu, selu, gelu, softplus, softsign, "
         "silu, swish, hard_silu, hard_swish, mish, exponential, softmax, log_softmax)"),
        ({"class_name": "Functional", "config": {"name": "f", "layers": [
            {"class_name": "InputLayer", "name": "x", "config": {"batch_shape": [None, 4, 3]},
             "inbound_nodes": []},
            {"class_name": "Dense", "name": "shared", "config": {"units": 3},
             "inbound_nodes": [[["x", 0, 0, {}]], [["shared", 0, 0, {}]]]}],
            "input_layers": [["x", 0, 0]], "output_layers": [["shared", 1, 0]]}},
         "layer 'shared' is called 2 times; lstm-cli converts layers used once"),
    ],
    ids=["subclassed", "conv1d", "time-distributed-conv1d", "embedding-of-a-sequence", "sparse-embedding",
         "quantized", "not-a-sequence", "a-vector", "never-built", "unknown-activation", "shared-layer"],
)  # fmt: skip
def test_keras_configs_lstm_cli_cannot_convert_are_named(
    tmp_path: Path, config: object, message: str
) -> None:
    keras_archive(tmp_path / "m.keras", config)
    assert error(str(tmp_path / "m.keras"), "-o", "-") == f"{tmp_path / 'm.keras'}: {message}"


def test_weights_only_files_need_the_architecture_and_others_refuse_it(tmp_path: Path) -> None:
    np.savez(tmp_path / "w.npz", **{"layers/lstm/kernel": np.zeros((2, 12))})
    assert error(str(tmp_path / "w.npz"), "-o", "-") == (
        f"{tmp_path / 'w.npz'}: an .npz holds arrays without the architecture; give it with --config "
        "ARCH.yaml"
    )
    seed = str(CONFIGS / "seed.yaml")
    np.savez(tmp_path / "w.npz", **{"layers/lstm/kernel": np.zeros((2, 12))})
    assert error(str(tmp_path / "w.npz"), "--config", seed, "-o", "-") == (
        f"{tmp_path / 'w.npz'}: layers[0]: missing key 'recurrent_kernel'"
    )  # the layer's weights come from the archive, all of them
    np.savez(tmp_path / "w.npz", **{"layers/lsmt/kernel": np.zeros((2, 12))})
    assert error(str(tmp_path / "w.npz"), "--config", seed, "-o", "-") == (
        f"{tmp_path / 'w.npz'}: layers/lsmt/kernel: no such place in the config (its layers: layers/lstm/...)"
    )
    keras_archive(tmp_path / "m.keras", {"class_name": "Sequential", "config": {"layers": []}})
    assert error(str(tmp_path / "m.keras"), "--config", seed, "-o", "-") == (
        f"--config gives the architecture of a weights-only file (.weights.h5, .npz, .pt); "
        f"{tmp_path / 'm.keras'} holds its own"
    )
    assert error(seed, "--prefix", "lstm", "-o", "-") == (
        "--prefix names an nn.LSTM in a PyTorch state_dict; give a .pt source or destination"
    )


def test_a_pickled_npz_is_refused(tmp_path: Path) -> None:
    np.savez(tmp_path / "w.npz", **{"layers/lstm/kernel": np.array([{"a": 1}], dtype=object)})
    assert error(str(tmp_path / "w.npz"), "--config", str(CONFIGS / "seed.yaml"), "-o", "-") == (
        f"{tmp_path / 'w.npz'}: cannot load: it holds pickled objects, which are refused"
    )


def test_destinations_lstm_cli_does_not_write(tmp_path: Path) -> None:
    seed = str(CONFIGS / "seed.yaml")
    assert error(seed, "-o", str(tmp_path / "m.h5")) == (
        f"{tmp_path / 'm.h5'}: lstm-cli writes Keras 3 weights; name the file *.weights.h5 "
        "(tf.keras 2 .h5 files are read, not written)"
    )
    assert error(seed, "-o", str(tmp_path / "m.keras")) == (
        f"{tmp_path / 'm.keras'}: lstm-cli does not write .keras archives; write .weights.h5 and load it "
        "into "
        "the same model with model.load_weights"
    )
    assert error(seed, "-o", str(tmp_path / "m.tflite")) == (
        f"{tmp_path / 'm.tflite'}: unknown kind of model file; lstm-cli writes "
        ".yaml (or - for stdout), .weights.h5, .pt, .pth, .npz, .onnx"
    )
    assert error(seed, "-o", str(tmp_path / "no" / "m.npz")) == (
        f"{tmp_path / 'no' / 'm.npz'}: the folder {tmp_path / 'no'} does not exist"
    )
    assert error(str(CONFIGS / "seq2seq-architecture.yaml"), "-o", str(tmp_path / "m.npz")) == (
        "the config holds no arrays, so there is nothing to write to an .npz"
    )
    assert error(str(CONFIGS / "seq2seq-architecture.yaml"), "-o", str(tmp_path / "m.weights.h5")) == (
        "layer 'encoder' has no weights, so there is nothing to write to a .weights.h5"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_bad_yaml_source_keeps_its_location(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("input: [[[1, 0]]]\nlayers:\n  - type: lstm\n    unit: 3\n")
    assert error(str(tmp_path / "bad.yaml"), "-o", "-") == (
        f"{tmp_path / 'bad.yaml'}:4:5: layers[0].unit: unknown key 'unit'; did you mean 'units'?"
    )


# -- optional dependencies --------------------------------------------------------------------------------


def test_without_h5py_the_error_names_the_install_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "m.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    monkeypatch.setitem(sys.modules, "h5py", None)
    assert error(str(tmp_path / "m.h5"), "-o", "-") == (
        "reading .h5 files needs h5py, which is not installed; install it with: pip install h5py "
        "(lstm-cli's keras extra)"
    )
    assert error(str(CONFIGS / "seed.yaml"), "-o", str(tmp_path / "m.weights.h5")) == (
        "writing .weights.h5 files needs h5py, which is not installed; install it with: "
        "pip install h5py (lstm-cli's keras extra)"
    )


def test_without_torch_the_error_names_the_install_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("m/data.pkl", b"\x80\x02}q\x00.")
    (tmp_path / "m.pt").write_bytes(buffer.getvalue())
    monkeypatch.setitem(sys.modules, "torch", None)
    assert error(str(tmp_path / "m.pt"), "-o", "-") == (
        "reading PyTorch files needs torch, which is not installed; install it with: pip install torch "
        "(lstm-cli's torch extra)"
    )


def test_h5_files_that_are_corrupt_or_truncated(tmp_path: Path) -> None:
    h5py = pytest.importorskip("h5py")
    (tmp_path / "junk.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    assert error(str(tmp_path / "junk.h5"), "-o", "-").startswith(
        f"{tmp_path / 'junk.h5'}: cannot read the HDF5 weights: "
    )
    with h5py.File(tmp_path / "whole.h5", "w") as store:
        store.create_dataset("layers/lstm/cell/vars/0", data=np.zeros((300, 400)))
    raw = (tmp_path / "whole.h5").read_bytes()
    (tmp_path / "cut.weights.h5").write_bytes(raw[: len(raw) // 3])
    assert error(
        str(tmp_path / "cut.weights.h5"), "--config", str(CONFIGS / "seed.yaml"), "-o", "-"
    ).startswith(f"{tmp_path / 'cut.weights.h5'}: cannot read the HDF5 weights: ")
    assert error(str(tmp_path / "whole.h5"), "-o", "-") == (
        f"{tmp_path / 'whole.h5'}: a Keras 3 weights file holds no architecture; give it with --config "
        "ARCH.yaml"
    )


def test_help_shows_an_example() -> None:
    run = run_cli("convert", "--help")
    assert run.exit_code == 0
    assert "Example: lstm-cli convert model.keras -o model.yaml" in " ".join(run.stdout.split())


def damaged_copies(raw: bytes) -> list[bytes]:
    """A file cut at a quarter, a half, three quarters, one byte short, and with bytes overwritten."""
    cuts = [raw[: len(raw) * k // 4] for k in (1, 2, 3)] + [raw[:-1]]
    rng = np.random.default_rng(0)
    flipped = []
    for _ in range(4):
        data = bytearray(raw)
        for index in rng.integers(0, len(raw), 8):
            data[index] ^= 0xFF
        flipped.append(bytes(data))
    return cuts + flipped


@pytest.mark.parametrize("kind", ["npz", "keras", "h5"])
def test_damaged_files_give_one_line_and_exit_2(tmp_path: Path, kind: str) -> None:
    source = tmp_path / f"model.{kind}"
    extra: tuple[str, ...] = ()
    if kind == "npz":
        torch_style_npz(source)
    elif kind == "keras":
        model = {"class_name": "Sequential", "config": {"layers": [
            {"class_name": "InputLayer", "config": {"batch_shape": [None, 4, 3], "name": "x"}},
            {"class_name": "Dense", "config": {"name": "dense", "units": 2}}]}}  # fmt: skip
        keras_archive(source, model, b"\x89HDF\r\n\x1a\n" + bytes(64))
    else:
        h5py = pytest.importorskip("h5py")
        with h5py.File(source, "w") as store:
            store.create_dataset("layers/lstm/cell/vars/0", data=np.ones((2, 12)))
            store.create_dataset("layers/lstm/cell/vars/1", data=np.ones((3, 12)))
            store.create_dataset("layers/lstm/cell/vars/2", data=np.ones(12))
        extra = ("--config", str(CONFIGS / "seed.yaml"))
    for index, data in enumerate(damaged_copies(source.read_bytes())):
        damaged = tmp_path / f"damaged{index}.{kind}"
        damaged.write_bytes(data)
        run = run_cli("convert", str(damaged), *extra, "-o", "-")
        assert run.exit_code in (0, 2), run.stderr  # a flipped byte may land where nothing is read
        if run.exit_code == 2:
            assert run.stderr.startswith(f"lstm-cli: error: {damaged}") and run.stderr.count("\n") == 1


def zeros(*shape: int) -> np.ndarray:
    return np.zeros(shape, dtype=np.float32)


LAYER_0 = {"weight_ih_l0": zeros(8, 3), "weight_hh_l0": zeros(8, 2)}


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({**LAYER_0, "weight_ih_l2": zeros(8, 2), "weight_hh_l2": zeros(8, 2)},
         "weight_ih_l1: missing (layers must be l0, l1, ...)"),
        ({"weight_ih_l0": zeros(8, 3), "weight_hh_l0": zeros(8, 3)},
         "weight_hh_l0: expected shape (12, 3) = (4*hidden_size, hidden_size), got (8, 3)"),
        ({**LAYER_0, "weight_ih_l1": zeros(8, 3), "weight_hh_l1": zeros(8, 2)},
         "weight_ih_l1: expected shape (8, 2) = (4*hidden_size, hidden_size), got (8, 3)"),
        ({**LAYER_0, "weight_ih_l0_reverse": zeros(8, 3), "weight_hh_l0_reverse": zeros(8, 2),
          "weight_ih_l1": zeros(8, 4), "weight_hh_l1": zeros(8, 2)},
         "weight_ih_l1: layer 1 has one direction, layer 0 has two directions; the layers of one nn.LSTM "
         "have the same"),
        ({**LAYER_0, "bias_ih_l0": zeros(7), "bias_hh_l0": zeros(8)},
         "bias_ih_l0: expected shape (8,) = (4*hidden_size,), got (7,)"),
        ({**LAYER_0, "bias_ih_l0": zeros(8)}, "bias_hh_l0: missing"),
    ],
    ids=["gap", "hidden", "width", "directions", "bias-shape", "one-bias"],
)  # fmt: skip
def test_a_malformed_state_dict_is_named_by_its_keys(
    tmp_path: Path, arrays: dict[str, np.ndarray], message: str
) -> None:
    np.savez(tmp_path / "sd.npz", **arrays)
    assert error(str(tmp_path / "sd.npz"), "-o", "-") == f"{tmp_path / 'sd.npz'}: {message}"


# -- PyTorch state_dicts without torch: refusals going out, chains coming in (as .npz) ---------------------


def one_lstm(**options: object) -> dict[str, object]:
    """LSTM(2) on 2 features, with weights, and the options given."""
    rng = np.random.default_rng(0)
    layer = {
        "type": "lstm",
        "units": 2,
        "kernel": rng.uniform(-1, 1, (2, 8)),
        "recurrent_kernel": rng.uniform(-1, 1, (2, 8)),
        "bias": rng.uniform(-1, 1, 8),
    }
    return {"input": {"shape": [None, 2]}, "layers": [layer | options]}


def pt_refusal(config: dict[str, object], tmp_path: Path, *args: str) -> str:
    (tmp_path / "m.yaml").write_text(dump_yaml(config))
    message = error(str(tmp_path / "m.yaml"), *args, "-o", str(tmp_path / "m.pt"))
    assert not (tmp_path / "m.pt").exists()
    return message


def test_a_layer_that_no_nn_module_computes_is_refused_naming_what_stands_in_the_way(tmp_path: Path) -> None:
    assert error(str(CONFIGS / "seed.yaml"), "-o", str(tmp_path / "m.pt")) == (
        "layer 'lstm' cannot be an nn.LSTM: its activation is linear, and nn.LSTM's is tanh"
    )
    assert pt_refusal(one_lstm(recurrent_activation="hard_sigmoid"), tmp_path) == (
        "layer 'lstm' cannot be an nn.LSTM: its recurrent_activation is hard_sigmoid, and nn.LSTM's is "
        "sigmoid"
    )
    assert pt_refusal(one_lstm(go_backwards=True), tmp_path) == (
        "layer 'lstm' cannot be an nn.LSTM: it goes backwards (go_backwards), and nn.LSTM reads the "
        "sequence forwards"
    )
    assert pt_refusal(one_lstm(initial_state=[[0.5, 0.5], [0.0, 0.0]]), tmp_path) == (
        "layer 'lstm' cannot be an nn.LSTM: its initial_state is given as arrays, which a state_dict does "
        "not hold (nn.LSTM takes h_0 and c_0 in forward)"
    )
    assert error(str(CONFIGS / "bidirectional-masking.yaml"), "-o", str(tmp_path / "m.pt")) == (
        "layer 'masking' is a Masking layer, which has no nn module: nn.LSTM cannot skip masked steps"
    )
    assert list(tmp_path.iterdir()) == [tmp_path / "m.yaml"]


@pytest.mark.parametrize(
    ("merge_mode", "merge"), [("sum", "merges its halves with sum"), (None, "keeps its halves apart")]
)
def test_a_bidirectional_layer_that_does_not_concatenate_is_refused(
    tmp_path: Path, merge_mode: str | None, merge: str
) -> None:
    rng = np.random.default_rng(1)
    half = {"kernel": rng.uniform(-1, 1, (2, 4)), "recurrent_kernel": rng.uniform(-1, 1, (1, 4))}
    layer = {"type": "bidirectional", "units": 1, "use_bias": False, "merge_mode": merge_mode}
    config = {"input": {"shape": [None, 2]}, "layers": [layer | {"forward": half, "backward": half}]}
    assert pt_refusal(config, tmp_path) == (
        f"layer 'bidirectional' cannot be an nn.LSTM: it {merge}, and nn.LSTM(bidirectional=True) "
        "concatenates them"
    )


def test_mask_zero_reaching_an_lstm_is_refused_and_the_layer_alone_is_written_as_asked(
    tmp_path: Path,
) -> None:
    config = one_lstm()
    embedding = {"type": "embedding", "input_dim": 3, "output_dim": 2, "mask_zero": True}
    config.update(
        input={"shape": [None]}, layers=[embedding | {"embeddings": np.eye(3, 2)}, *config["layers"]]
    )
    assert pt_refusal(config, tmp_path) == (
        "layer 'embedding' masks id 0 (mask_zero) for layer 'lstm', and nn.LSTM cannot skip masked steps "
        "(nn.Embedding's padding_idx masks nothing)"
    )
    assert pt_refusal(config, tmp_path, "--layer", "lsmt") == (
        "--layer lsmt: no such layer (the model has: embedding, lstm)"
    )
    assert error(str(tmp_path / "m.yaml"), "--layer", "lstm", "-o", "-") == (
        "--layer writes one layer as a PyTorch state_dict; - is not a .pt or .pth file"
    )
    source = str(CONFIGS / "seq2seq-architecture.yaml")
    assert error(source, "--layer", "decoder_dense", "-o", str(tmp_path / "m.pt")) == (
        "layer 'decoder_dense' has no weights, so there is nothing to write to a .pt"
    )


def torch_modules_npz(path: Path, **shapes: tuple[int, ...]) -> None:
    """A state_dict as numpy.savez writes it, keys in the order given: `lstm__weight_ih_l0=(8, 3)` is
    the key `lstm.weight_ih_l0`."""
    rng = np.random.default_rng(2)
    arrays = {
        key.replace("__", "."): rng.uniform(-1, 1, shape).astype(np.float32) for key, shape in shapes.items()
    }
    np.savez(path, **arrays)  # type: ignore[arg-type]


LSTM_3_TO_2 = {
    "lstm__weight_ih_l0": (8, 3),
    "lstm__weight_hh_l0": (8, 2),
    "lstm__bias_ih_l0": (8,),
    "lstm__bias_hh_l0": (8,),
}


def test_modules_that_do_not_chain_are_named_with_both_shapes(tmp_path: Path) -> None:
    source = tmp_path / "sd.npz"
    torch_modules_npz(source, emb__weight=(10, 4), **LSTM_3_TO_2)
    assert error(str(source), "-o", "-") == (
        f"{source}: lstm.weight_ih_l0: (8, 3) = (4*hidden_size, input_size) reads 3 features, but emb.weight "
        "before it, (10, 4) = (num_embeddings, embedding_dim), gives 4; a state_dict's modules are read in "
        "registration order, each reading the one before it (--prefix lstm reads the nn.LSTM alone)"
    )
    torch_modules_npz(source, **LSTM_3_TO_2, fc__weight=(5, 3), fc__bias=(5,))
    assert error(str(source), "-o", "-") == (
        f"{source}: fc.weight: (5, 3) = (out_features, in_features) reads 3 features, but lstm.weight_hh_l0 "
        "before it, (8, 2) = (4*hidden_size, hidden_size), gives 2; a state_dict's modules are read in "
        "registration order, each reading the one before it (--prefix lstm reads the nn.LSTM alone)"
    )
    torch_modules_npz(source, **LSTM_3_TO_2, fc__weight=(5, 2), fc__bias=(2,))
    assert (
        error(str(source), "-o", "-") == f"{source}: fc.bias: expected shape (5,) = (out_features,), got (2,)"
    )
    torch_modules_npz(source, **LSTM_3_TO_2, dec__weight_ih_l0=(8, 3), dec__weight_hh_l0=(8, 2))
    assert error(str(source), "-o", "-") == (
        f"{source}: it holds several nn.LSTM modules ('dec', 'lstm'); a state_dict does not say how they "
        "connect (stacked, or an encoder whose state starts a decoder): choose one with --prefix, or give "
        "the architecture with --config ARCH.yaml"
    )


def test_the_chain_is_read_in_registration_order_and_ends_at_another_kind_of_module(tmp_path: Path) -> None:
    source = tmp_path / "sd.npz"
    # A weight alone that comes first is an nn.Embedding, unless only a bias-free nn.Linear fits.
    torch_modules_npz(source, proj__weight=(3, 7), **LSTM_3_TO_2, norm__weight=(2,), fc__weight=(4, 2))
    run = run_cli("convert", str(source), "-o", "-")
    assert run.exit_code == 0, run.stderr
    assert run.stderr == (
        "lstm-cli: note: left out 2 arrays that are not in the chain of modules read: norm.weight, "
        "fc.weight\n"
        "lstm-cli: note: a state_dict holds no activation, so dense layer proj is linear; set the one that "
        "forward applies after the nn.Linear (log_softmax, softmax, ...)\n"
    )
    model = load_model(yaml_text_path(tmp_path, run.stdout))
    assert [(layer.type, layer.name) for layer in model.layers] == [("dense", "proj"), ("lstm", "lstm")]
    assert model.inputs["input"].shape == (None, 7)
    torch_modules_npz(
        source, **{"model__emb__weight": (5, 3)}, **{f"model__{k}": s for k, s in LSTM_3_TO_2.items()}
    )
    run = run_cli("convert", str(source), "-o", "-")
    assert run.exit_code == 0, run.stderr
    model = load_model(yaml_text_path(tmp_path, run.stdout))
    assert [(layer.type, layer.name) for layer in model.layers] == [
        ("embedding", "model_emb"),
        ("lstm", "model_lstm"),
    ]
    run = run_cli("convert", str(source), "--prefix", "model", "-o", "-")
    model = load_model(yaml_text_path(tmp_path, run.stdout))
    assert [layer.name for layer in model.layers] == ["emb", "lstm"]


def yaml_text_path(tmp_path: Path, text: str) -> Path:
    (tmp_path / "read.yaml").write_text(text)
    return tmp_path / "read.yaml"


def test_an_embedding_table_goes_to_the_npz_beside_a_big_config(tmp_path: Path) -> None:
    source = tmp_path / "sd.npz"
    torch_modules_npz(source, emb__weight=(50, 3), **LSTM_3_TO_2)
    convert_ok(str(source), "-o", str(tmp_path / "m.yaml"), "--inline-limit", "100")
    assert "    embeddings: {file: m.npz, key: layers/emb/embeddings}\n" in (tmp_path / "m.yaml").read_text()
    with np.load(source) as archive:
        np.testing.assert_array_equal(
            load_model(tmp_path / "m.yaml").layers[0].embeddings, archive["emb.weight"]
        )


def seq2seq_state(**changes: tuple[int, ...] | None) -> dict[str, tuple[int, ...]]:
    """The seq2seq example's state_dict shapes (6 tokens, latent 4), with keys changed or left out."""
    shapes: dict[str, tuple[int, ...]] = {}
    for name in ("encoder", "decoder_lstm"):
        shapes.update({f"{name}__weight_ih_l0": (16, 6), f"{name}__weight_hh_l0": (16, 4)})
        shapes.update({f"{name}__bias_ih_l0": (16,), f"{name}__bias_hh_l0": (16,)})
    shapes.update(decoder_dense__weight=(6, 4), decoder_dense__bias=(6,))
    for key, shape in changes.items():
        if shape is None:
            shapes.pop(key)
        else:
            shapes[key] = shape
    return shapes


def test_with_config_a_state_dict_fills_the_architecture_by_layer_name(tmp_path: Path) -> None:
    source, architecture = tmp_path / "s2s.npz", str(CONFIGS / "seq2seq.yaml")
    torch_modules_npz(source, **seq2seq_state(), extra__weight=(2, 2))
    run = run_cli("convert", str(source), "--config", architecture, "-o", str(tmp_path / "m.yaml"))
    assert run.stderr == (
        "lstm-cli: note: left out 1 arrays that no layer of the architecture reads: extra.weight\n"
        f"lstm-cli: wrote {tmp_path / 'm.yaml'}\n"
    )
    text = (tmp_path / "m.yaml").read_text()
    assert "# The weights are s2s.npz's, each layer's from the module of its name.\n" in text
    model = load_model(tmp_path / "m.yaml")
    with np.load(source) as archive:
        np.testing.assert_array_equal(model.layers[2].kernel, archive["decoder_dense.weight"].T)
        assert model.layers[1].initial_state == load_model(architecture).layers[1].initial_state
    torch_modules_npz(source, **seq2seq_state(decoder_lstm__weight_hh_l0=None))
    assert error(str(source), "--config", architecture, "-o", "-") == (
        f"{source}: decoder_lstm.weight_hh_l0: missing (layer 'decoder_lstm' reads its weights from it)"
    )
    torch_modules_npz(source, **seq2seq_state(decoder_dense__weight=(4, 6)))
    assert error(str(source), "--config", architecture, "-o", "-") == (
        f"{source}: decoder_dense.weight: expected shape (6, 4) = (units, in) for layer 'decoder_dense', got "
        "(4, 6)"
    )
    torch_modules_npz(source, **seq2seq_state(encoder__weight_ih_l0_reverse=(16, 6)))
    assert error(str(source), "--config", architecture, "-o", "-") == (
        f"{source}: encoder.weight_ih_l0_reverse: the state_dict has it, but layer 'encoder' of the "
        "architecture does not"
    )


def test_an_array_beside_an_nn_lstms_own_is_left_out_and_noted(tmp_path: Path) -> None:
    source = tmp_path / "sd.npz"  # a weight-dropped LSTM keeps the raw weight beside the dropped one
    shapes = {key.replace("lstm__", "rnn__module__"): shape for key, shape in LSTM_3_TO_2.items()}
    torch_modules_npz(source, **shapes, rnn__module__weight_hh_l0_raw=(8, 2))
    run = run_cli("convert", str(source), "-o", "-")
    assert run.exit_code == 0, run.stderr
    assert run.stderr == (
        "lstm-cli: note: left out 1 arrays that are not this nn.LSTM's: rnn.module.weight_hh_l0_raw\n"
    )


def test_prefix_may_name_a_module_holding_several_nn_lstms_and_is_told_so(tmp_path: Path) -> None:
    source = tmp_path / "sd.npz"
    shapes = {
        f"model__{name}__{key.split('__')[1]}": s for name in ("enc", "dec") for key, s in LSTM_3_TO_2.items()
    }
    torch_modules_npz(source, **shapes)
    assert error(str(source), "--prefix", "model", "-o", "-") == (
        f"{source}: the module at --prefix 'model' holds several nn.LSTM modules ('model.dec', 'model.enc'); "
        "a state_dict does not say how they connect (stacked, or an encoder whose state starts a decoder): "
        "choose one with --prefix, or give the architecture with --config ARCH.yaml"
    )


def test_a_module_named_by_its_position_gets_a_layer_name(tmp_path: Path) -> None:
    source = tmp_path / "sd.npz"  # nn.Sequential-style keys: 0.weight, 1.weight_ih_l0, ...
    torch_modules_npz(
        source, **{"0__weight": (9, 3)}, **{k.replace("lstm", "1"): s for k, s in LSTM_3_TO_2.items()}
    )
    model = load_model(yaml_text_path(tmp_path, convert_ok(str(source), "-o", "-")))
    assert [(layer.type, layer.name) for layer in model.layers] == [
        ("embedding", "module_0"),
        ("lstm", "module_1"),
    ]
