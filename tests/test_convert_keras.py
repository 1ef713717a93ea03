"""Oracle: `lstm-cli convert` against Keras 3 itself, both ways.

In: real models are saved by Keras 3 inside each test (`.keras`, `.weights.h5`), converted with the CLI,
run with `lstm_cli.forward` in float32 and compared with Keras's own `predict`. Out: each built-in example
config is converted to `.weights.h5`, loaded into the same layers built with Keras (`load_weights`), and
Keras's prediction is compared with lstm-cli's.

tf.keras 2 `.h5` files cannot be written here (TensorFlow is not installed), so the tests build them with
h5py, following the format tf.keras 2 writes: the `model_config` attribute (JSON), `model_weights/<layer>/
<weight name>` datasets whose names end in `:0`, and the `weight_names` attribute, whole or chunked into
`weight_names0`, `weight_names1`. Keras 3's own legacy loader (`load_weights` of an `.h5`) reads the
Sequential one too, so the hand-built layout is checked by Keras as well as by lstm-cli. (Keras 3 cannot
load these models whole: tf.keras 2's LSTM config has `time_major`, which Keras 3 refuses.)
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from conftest import ROOT, keras_activation, run_cli
from graph_configs import graph_configs, plain_arrays
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
h5py = pytest.importorskip("h5py")

import lstm_cli  # noqa: E402
from lstm_cli.config import example_names, load_model  # noqa: E402
from lstm_cli.errors import LstmCliError  # noqa: E402
from lstm_cli.model import (  # noqa: E402
    BidirectionalLayer,
    DenseLayer,
    EmbeddingLayer,
    LstmLayer,
    MaskingLayer,
    NoOpLayer,
)

pytestmark = [
    pytest.mark.slow,  # an oracle: files for Keras, loaded by Keras
    pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword"),
    pytest.mark.filterwarnings("ignore:You are using a softmax over axis -1"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]

TOLERANCE = 2e-5  # float32 against float32, relative to the largest magnitude (see tests/oracle_cases.py)


def assert_close(actual: np.ndarray, expected: Any, what: str) -> None:
    expected = np.asarray(expected)
    scale = max(1.0, float(np.abs(expected).max()))
    assert actual.shape == expected.shape, what
    np.testing.assert_allclose(actual, expected, rtol=0, atol=TOLERANCE * scale, err_msg=what)


def assert_within_1e6(actual: np.ndarray, expected: Any, what: str) -> None:
    """The issue's bar for a round trip through lstm-cli: float32 against float32, max |Δ| ≤ 1e-6."""
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, what
    assert np.abs(actual - expected).max() <= 1e-6, f"{what}: max |Δ| {np.abs(actual - expected).max():.3g}"


def convert(*args: str) -> None:
    run = run_cli("convert", *args)
    assert run.exit_code == 0, run.stderr
    assert run.stdout == ""


def data(seed: int, *shape: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def randomise(model: Any, seed: int) -> None:
    """Weights other than Keras's initial ones: a nonzero bias everywhere, so that no slot hides."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(-0.6, 0.6, w.shape).astype(np.float32) for w in model.get_weights()])


# -- .keras in ---------------------------------------------------------------------------------------------


def sequential() -> Any:
    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input((None, 3)),
            layers.Masking(0.0),
            layers.LSTM(4, return_sequences=True, recurrent_activation="hard_sigmoid"),
            layers.Dropout(0.5),
            layers.Bidirectional(layers.LSTM(2, use_bias=False, return_sequences=True), merge_mode="ave"),
            layers.LSTM(3, activation="relu", go_backwards=True),
            layers.Dense(5, activation="softmax"),
        ]
    )


@pytest.mark.parametrize("inline_limit", ["10000", "0"], ids=["inline", "npz-beside"])
def test_keras_sequential_converts_and_predicts_as_keras(tmp_path: Path, inline_limit: str) -> None:
    model = sequential()
    randomise(model, 1)
    model.save(tmp_path / "m.keras")
    x = data(2, 2, 5, 3)
    x[0, 3:] = 0.0  # masked steps at the end of sample 0
    np.save(tmp_path / "x.npy", x)
    convert(
        str(tmp_path / "m.keras"),
        "-o",
        str(tmp_path / "m.yaml"),
        "--input",
        str(tmp_path / "x.npy"),
        "--inline-limit",
        inline_limit,
    )
    assert (tmp_path / "m.npz").exists() == (inline_limit == "0")
    text = (tmp_path / "m.yaml").read_text()
    assert "dtype: float32" in text
    assert "  - type: dropout\n" in text  # the identity at inference: kept for summary, skipped when run
    assert (
        "\n# Skipped when run (the identity at inference, as in Keras), kept so that `summary` lists them: "
        in (text)
    )
    out = lstm_cli.forward(tmp_path / "m.yaml")
    assert_close(out[model.layers[-1].name], model.predict(x, verbose=0), "the model's output")


def test_keras_functional_seq2seq_with_states_and_every_merge_mode(tmp_path: Path) -> None:
    layers = keras.layers
    encoder_inputs = keras.Input((None, 3), name="encoder_inputs")
    decoder_inputs = keras.Input((None, 2), name="decoder_inputs")
    _, h, c = layers.LSTM(4, return_state=True, name="encoder")(encoder_inputs)
    sequence, _, _ = layers.LSTM(4, return_sequences=True, return_state=True, name="decoder")(
        decoder_inputs, initial_state=[h, c]
    )
    probabilities = layers.Dense(3, activation="softmax", name="head")(sequence)
    both = layers.Bidirectional(layers.LSTM(2, return_state=True), merge_mode=None, name="both")(
        encoder_inputs
    )
    summed = layers.Bidirectional(layers.LSTM(2, return_sequences=True), merge_mode="sum", name="summed")(
        encoder_inputs
    )
    model = keras.Model([encoder_inputs, decoder_inputs], [probabilities, h, *both, summed])
    randomise(model, 3)
    model.save(tmp_path / "s2s.keras")
    x, y = data(4, 2, 5, 3), data(5, 2, 4, 2)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    convert(
        str(tmp_path / "s2s.keras"),
        "-o",
        str(tmp_path / "s2s.yaml"),
        "--input",
        f"encoder_inputs={tmp_path / 'x.npy'}",
        "--input",
        f"decoder_inputs={tmp_path / 'y.npy'}",
    )
    out = lstm_cli.forward(tmp_path / "s2s.yaml")
    expected = model.predict([x, y], verbose=0)
    refs = ["head", "encoder.h", "both.forward", "both.backward", "both.forward.h", "both.forward.c",
            "both.backward.h", "both.backward.c", "summed"]  # fmt: skip
    for ref, value in zip(refs, expected, strict=True):
        assert_close(out[ref], value, ref)
    assert (
        "\noutputs: [head, encoder.h, both.forward, both.backward, both.forward.h, both.forward.c, "
        in (tmp_path / "s2s.yaml").read_text()
    )


def test_keras_functional_with_masking_converts_and_predicts_as_keras(tmp_path: Path) -> None:
    # Keras 3 writes each Masking layer's mask into a Functional graph as NotEqual and Any ops, passed to
    # every LSTM as mask=; the converted config leaves them out and computes the same mask from Masking.
    layers = keras.layers
    inputs = keras.Input((None, 3), name="x")
    masked = layers.Masking(0.5, name="masked")(inputs)
    halves = layers.Bidirectional(
        layers.LSTM(2, return_sequences=True, return_state=True), merge_mode=None, name="bi"
    )(masked)
    projected = layers.Dense(3, name="projected")(halves[0])
    stacked = layers.LSTM(4, return_sequences=True, name="stacked")(projected)
    last = layers.LSTM(2, go_backwards=True, name="last")(stacked)
    on_backward = layers.LSTM(2, name="on_backward")(halves[1])
    model = keras.Model(inputs, [last, on_backward, halves[2]])
    assert {"NotEqual", "Any"} <= {layer["class_name"] for layer in model.get_config()["layers"]}
    randomise(model, 8)
    model.save(tmp_path / "m.keras")
    x = data(9, 3, 6, 3)
    x[0, :2] = 0.5  # sample 0 starts masked, sample 1 ends masked, sample 2 is masked in the middle
    x[1, -1] = 0.5
    x[2, 3] = 0.5
    np.save(tmp_path / "x.npy", x)
    convert(str(tmp_path / "m.keras"), "-o", str(tmp_path / "m.yaml"), "--input", str(tmp_path / "x.npy"))
    assert "not_equal" not in (tmp_path / "m.yaml").read_text()
    out = lstm_cli.forward(tmp_path / "m.yaml")
    expected = model.predict(x, verbose=0)
    for ref, value in zip(["last", "on_backward", "bi.forward.h"], expected, strict=True):
        assert_close(out[ref], value, ref)


def masked_seq2seq(initial_state_mask: bool) -> Any:
    """Keras 3.15 calls an LSTM given initial_state tensors without its input's mask. With
    `initial_state_mask`, the decoder's input goes through a Masking layer whose mask Keras then drops (and
    Keras writes no mask op for it); without, the decoder's own Masking layer's mask reaches a later LSTM."""
    layers = keras.layers
    encoder_inputs = keras.Input((None, 3), name="encoder_inputs")
    decoder_inputs = keras.Input((None, 2), name="decoder_inputs")
    _, h, c = layers.LSTM(2, return_state=True, name="encoder")(
        layers.Masking(name="encoder_mask")(encoder_inputs)
    )
    masked = layers.Masking(name="decoder_mask")(decoder_inputs)
    decoded = layers.LSTM(2, return_sequences=True, name="decoder")(masked, initial_state=[h, c])
    if initial_state_mask:
        return keras.Model([encoder_inputs, decoder_inputs], decoded)
    after = layers.LSTM(3, name="after")(decoded)  # takes decoder_mask's mask, which the sequence carries
    return keras.Model([encoder_inputs, decoder_inputs], [decoded, after])


@pytest.mark.parametrize("initial_state_mask", [True, False], ids=["only-mask-dropped", "mask-carried-on"])
def test_a_keras_model_that_drops_a_mask_converts_with_use_mask_false(
    tmp_path: Path, initial_state_mask: bool
) -> None:
    model = masked_seq2seq(initial_state_mask)
    randomise(model, 31)
    model.save(tmp_path / "m.keras")
    x, y = data(32, 2, 5, 3), data(33, 2, 4, 2)
    x[0, 3:] = 0.0  # padding at the end of the encoder's sample 0 and the decoder's sample 1
    y[1, 2:] = 0.0
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    inputs = [
        "--input",
        f"encoder_inputs={tmp_path / 'x.npy'}",
        "--input",
        f"decoder_inputs={tmp_path / 'y.npy'}",
    ]
    convert(str(tmp_path / "m.keras"), "-o", str(tmp_path / "m.yaml"), *inputs)
    text = (tmp_path / "m.yaml").read_text()
    assert "    initial_state: [encoder.h, encoder.c]\n    use_mask: false\n" in text
    assert (
        "\n# decoder runs without its input's mask (use_mask: false), as Keras 3 runs an LSTM given " in text
    )
    out = lstm_cli.forward(tmp_path / "m.yaml")
    expected = model.predict([x, y], verbose=0)
    expected = expected if isinstance(expected, list) else [expected]
    for ref, value in zip(["decoder", "after"], expected, strict=False):
        assert_within_1e6(out[ref], value, ref)
    (tmp_path / "masked.yaml").write_text(text.replace("use_mask: false", "use_mask: true"))
    masked_anyway = lstm_cli.forward(tmp_path / "masked.yaml")  # what lstm-cli computed before use_mask
    assert np.abs(masked_anyway["decoder"] - out["decoder"]).max() > 1e-3
    # and back: the YAML's weights written to .weights.h5 load into the same Keras model
    convert(str(tmp_path / "m.yaml"), "-o", str(tmp_path / "back.weights.h5"))
    again = masked_seq2seq(initial_state_mask)
    again.load_weights(tmp_path / "back.weights.h5")
    again_expected = again.predict([x, y], verbose=0)
    again_expected = again_expected if isinstance(again_expected, list) else [again_expected]
    for ref, value in zip(["decoder", "after"], again_expected, strict=False):
        assert_within_1e6(out[ref], value, f"{ref}, through .weights.h5")


def test_a_mask_made_by_hand_is_refused(tmp_path: Path) -> None:
    # The same ops as a Masking layer's, but no Masking layer: lstm-cli has no way to give that mask.
    inputs = keras.Input((None, 3))
    mask = keras.ops.any(keras.ops.not_equal(inputs, 0.0), axis=-1)
    keras.Model(inputs, keras.layers.LSTM(2, name="lstm")(inputs, mask=mask)).save(tmp_path / "m.keras")
    run = run_cli("convert", str(tmp_path / "m.keras"), "-o", str(tmp_path / "m.yaml"))
    assert run.exit_code == 2
    assert run.stderr == (
        f"lstm-cli: error: {tmp_path / 'm.keras'}: layer 'lstm' is called with a mask that lstm-cli would "
        "not give it (it masks as a Masking layer or an Embedding with mask_zero before it does)\n"
    )


def test_keras_weights_h5_with_an_architecture_config(tmp_path: Path) -> None:
    model = sequential()
    randomise(model, 6)
    model.save_weights(tmp_path / "m.weights.h5")
    architecture = """\
input: {shape: [null, 3]}
layers:
  - type: masking
  - type: lstm
    units: 4
    recurrent_activation: hard_sigmoid
    return_sequences: true
  - type: bidirectional
    units: 2
    use_bias: false
    return_sequences: true
    merge_mode: ave
  - type: lstm
    units: 3
    activation: relu
    go_backwards: true
  - type: dense
    units: 5
    activation: softmax
"""
    (tmp_path / "arch.yaml").write_text(architecture)
    x = data(7, 3, 6, 3)
    np.save(tmp_path / "x.npy", x)
    convert(
        str(tmp_path / "m.weights.h5"),
        "--config",
        str(tmp_path / "arch.yaml"),
        "-o",
        str(tmp_path / "m.yaml"),
        "--input",
        str(tmp_path / "x.npy"),
    )
    assert_close(lstm_cli.forward(tmp_path / "m.yaml")["dense"], model.predict(x, verbose=0), "dense")


def test_a_weights_file_that_does_not_fit_the_config_is_named(tmp_path: Path) -> None:
    model = keras.Sequential([keras.Input((None, 3)), keras.layers.LSTM(4)])
    model.save_weights(tmp_path / "m.weights.h5")

    def convert_with(layer: str) -> Any:
        (tmp_path / "arch.yaml").write_text(f"input: {{shape: [null, 3]}}\nlayers:\n  - {layer}\n")
        weights, arch, out = (str(tmp_path / name) for name in ("m.weights.h5", "arch.yaml", "m.yaml"))
        return run_cli("convert", weights, "--config", arch, "-o", out)

    run = convert_with("{type: lstm, units: 5}")
    assert run.exit_code == 2
    assert run.stderr == (
        f"lstm-cli: error: {tmp_path / 'm.weights.h5'}: layers[0].kernel: expected shape (3, 20) = "
        "(features, 4*units), got (3, 16)\n"
    )
    run = convert_with("{type: dense, units: 4}")
    assert run.exit_code == 2
    assert "no layers/dense for the config's layer 'dense'" in run.stderr
    assert "the file holds: layers/lstm" in run.stderr


# -- YAML out to .weights.h5, into Keras --------------------------------------------------------------


def build_keras(config: Path) -> tuple[Any, list[str], list[np.ndarray]]:
    """The config's layers built with Keras's functional API (weights left to load_weights), the
    references it outputs, and the config's input data in the model's input order."""
    model = load_model(config)
    tensors: dict[str, Any] = {}
    inputs = []
    for name, spec in model.inputs.items():
        dtype = "int32" if len(spec.shape) == 1 else "float32"  # ids, which an embedding reads
        tensors[name] = keras.Input(spec.shape, dtype=dtype, name=name)
        inputs.append(tensors[name])
    for layer in model.layers:
        source = tensors[layer.input]
        if isinstance(layer, MaskingLayer):
            tensors[layer.name] = keras.layers.Masking(layer.mask_value, name=layer.name)(source)
        elif isinstance(layer, EmbeddingLayer):
            embedding = keras.layers.Embedding(
                layer.input_dim, layer.output_dim, mask_zero=layer.mask_zero, name=layer.name
            )
            tensors[layer.name] = embedding(source)
        elif isinstance(layer, NoOpLayer):
            no_op = getattr(keras.layers, layer.keras_class)(**dict(layer.options), name=layer.name)
            tensors[layer.name] = no_op(source)
        elif isinstance(layer, DenseLayer):
            dense = keras.layers.Dense(
                layer.units, keras_activation(layer.activation), layer.use_bias, name=layer.name
            )
            tensors[layer.name] = dense(source)
        elif isinstance(layer, LstmLayer):
            kwargs = {}
            if not layer.use_mask and layer.initial_state is None:
                pytest.skip("Keras runs an LSTM without its input's mask only when given initial_state")
            if layer.initial_state is not None:
                state = layer.initial_state
                if not isinstance(state.h, str) or not isinstance(state.c, str):
                    pytest.skip("an initial state given as an array")
                kwargs["initial_state"] = [tensors[state.h], tensors[state.c]]
            result = _lstm(layer, layer.name)(source, **kwargs)
            _record(tensors, layer.name, result, layer.return_state, ["h", "c"])
        else:
            assert isinstance(layer, BidirectionalLayer)
            wrapper = keras.layers.Bidirectional(
                _lstm(layer.forward, None), layer.merge_mode, name=layer.name
            )
            halves = ("forward", "backward") if layer.merge_mode is None else ()
            states = ["forward.h", "forward.c", "backward.h", "backward.c"]
            _record(tensors, layer.name, wrapper(source), layer.return_state, states, halves)
    refs = [ref for ref in tensors if ref not in model.inputs]
    keras_model = keras.Model(inputs, [tensors[ref] for ref in refs])
    data = [
        spec.data.astype(np.int32 if len(spec.shape) == 1 else np.float32)
        for spec in model.inputs.values()
        if spec.data is not None
    ]
    return keras_model, refs, data


def _lstm(layer: LstmLayer, name: str | None) -> Any:
    return keras.layers.LSTM(
        layer.units,
        activation=keras_activation(layer.activation),
        recurrent_activation=keras_activation(layer.recurrent_activation),
        use_bias=layer.use_bias,
        return_sequences=layer.return_sequences,
        return_state=layer.return_state,
        go_backwards=layer.go_backwards,
        name=name,
    )


def _record(
    tensors: dict[str, Any],
    name: str,
    result: Any,
    has_states: bool,
    states: list[str],
    halves: tuple[str, ...] = (),
) -> None:
    results = list(result) if isinstance(result, list | tuple) else [result]
    outputs = [f"{name}.{half}" for half in halves] or [name]
    names = outputs + ([f"{name}.{state}" for state in states] if has_states else [])
    tensors.update(zip(names, results, strict=True))


# Keras's LSTM has no variant options (peepholes, projection, ...): convert refuses those examples.
VARIANT_EXAMPLES = ("tf1-peepholes", "pytorch-projection")
WITH_WEIGHTS = [
    name for name in example_names() if "architecture" not in name and name not in VARIANT_EXAMPLES
]


@pytest.mark.parametrize("example", WITH_WEIGHTS)
def test_every_example_goes_to_weights_h5_and_keras_predicts_as_lstm_cli(
    example: str, tmp_path: Path
) -> None:
    config = ROOT / "configs" / f"{example}.yaml"
    convert(str(config), "-o", str(tmp_path / "m.weights.h5"))
    keras_model, refs, inputs = build_keras(config)
    keras_model.load_weights(tmp_path / "m.weights.h5")
    expected = keras_model.predict(inputs, verbose=0)
    expected = expected if isinstance(expected, list) else [expected]
    out = lstm_cli.forward(config, dtype="float32")
    for ref, value in zip(refs, expected, strict=True):
        assert_close(out[ref], value, f"{example}: {ref}")


def test_a_branching_graph_goes_to_weights_h5_in_keras_layer_order(tmp_path: Path) -> None:
    # Keras lists a functional model's layers in graph order (b1 before b0 here, as m2 reads b1), and a
    # .weights.h5 numbers each class's groups in that order; written in the config's order instead, Keras
    # loaded b1's weights into b0 and b0's into b1.
    rng = np.random.default_rng(21)

    def weights(features: int) -> dict[str, Any]:
        return {
            "kernel": rng.uniform(-0.8, 0.8, (features, 4)).tolist(),
            "recurrent_kernel": rng.uniform(-0.8, 0.8, (1, 4)).tolist(),
            "bias": rng.uniform(-0.8, 0.8, 4).tolist(),
        }

    def bidirectional(name: str) -> dict[str, Any]:
        return {"type": "bidirectional", "name": name, "input": "input", "units": 1, "return_sequences": True}

    layers = [
        bidirectional("b0") | {"forward": weights(2), "backward": weights(2)},
        bidirectional("b1") | {"forward": weights(2), "backward": weights(2)},
        {"type": "masking", "name": "m2", "input": "b1"},
        {"type": "lstm", "name": "l3", "input": "input", "units": 1} | weights(2),
        {"type": "dense", "name": "d4", "input": "m2", "units": 1, "kernel": [[0.5], [-0.5]], "bias": [0.1]},
        {"type": "lstm", "name": "l5", "input": "b0", "units": 1} | weights(2),
    ]
    config = {"dtype": "float32", "input": rng.uniform(-1, 1, (2, 3, 2)).tolist(), "layers": layers}
    path = tmp_path / "branching.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    keras_model, refs, inputs = build_keras(path)
    assert [layer.name for layer in keras_model.layers][1:3] == ["b1", "b0"]
    path.write_text(yaml.safe_dump(config | {"outputs": refs}, sort_keys=False), encoding="utf-8")
    convert(str(path), "-o", str(tmp_path / "m.weights.h5"))
    keras_model.load_weights(tmp_path / "m.weights.h5")
    expected = keras_model.predict(inputs, verbose=0)
    out = lstm_cli.forward(path)
    for ref, value in zip(refs, expected, strict=True):
        assert_close(out[ref], value, ref)
    # and back: Keras's own file, read with the config as the architecture, gives the same numbers
    keras_model.save_weights(tmp_path / "keras.weights.h5")
    convert(str(tmp_path / "keras.weights.h5"), "--config", str(path), "-o", str(tmp_path / "back.yaml"))
    back = lstm_cli.forward(tmp_path / "back.yaml")
    for ref, value in zip(refs, expected, strict=True):
        assert_close(back[ref], value, ref)


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,  # the same graphs on every run
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    config=graph_configs(arrays=plain_arrays, dtypes=("float32",)), choice=st.randoms(use_true_random=False)
)
def test_random_graphs_go_to_weights_h5_and_keras_predicts_as_lstm_cli(
    config: dict[str, Any], choice: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Layer graphs as the fuzz suite draws them (every layer type and activation, both weight layouts,
    layers reading states and unmerged halves), with plain numbers: every reference against Keras."""
    config.pop("expect", None)
    x = np.array(config["input"], np.float32)
    for layer in config["layers"]:
        if layer["type"] == "bidirectional":  # Keras rebuilds the wrapped LSTM from its config, and a
            for key in ("activation", "recurrent_activation"):  # formula (keras_activation) has none
                if layer[key] == "hard_sigmoid_tf2":
                    layer[key] = "hard_sigmoid"
        if layer["type"] == "masking" and layer["input"] == "input":  # masked steps, so that masks bite
            for sample in range(x.shape[0]):
                x[sample, choice.sample(range(x.shape[1]), choice.randint(0, x.shape[1]))] = layer[
                    "mask_value"
                ]
    config["input"] = x.tolist()
    folder = tmp_path_factory.mktemp("graph")
    path = folder / "graph.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    keras_model, refs, inputs = build_keras(path)
    # The same outputs on both sides: Keras orders model.layers, and so the .weights.h5 groups, by them.
    path.write_text(yaml.safe_dump(config | {"outputs": refs}, sort_keys=False), encoding="utf-8")
    convert(str(path), "-o", str(folder / "m.weights.h5"))
    keras_model.load_weights(folder / "m.weights.h5")
    expected = keras_model.predict(inputs, verbose=0)
    expected = expected if isinstance(expected, list) else [expected]
    try:
        out = lstm_cli.forward(path)
    except LstmCliError as error:  # an exponential activation can overflow float32: Keras must too
        assert "overflowed to inf or NaN" in str(error)
        assert not all(np.isfinite(value).all() for value in expected)
        return
    for ref, value in zip(refs, expected, strict=True):
        assert_close(out[ref], value, ref)
    # and back: the Keras model saved whole, converted, gives the same references and numbers
    keras_model.save(folder / "m.keras")
    np.save(folder / "x.npy", x)
    convert(str(folder / "m.keras"), "-o", str(folder / "back.yaml"), "--input", str(folder / "x.npy"))
    back = lstm_cli.forward(folder / "back.yaml")
    for ref, value in zip(refs, expected, strict=True):
        assert_close(back[ref], value, f"{ref}, from m.keras")


# -- tf.keras 2 .h5 in ------------------------------------------------------------------------------------


def keras2_layer(cls: str, name: str, **config: Any) -> dict[str, Any]:
    """A layer as tf.keras 2.12 writes it into model_config (options it adds that change nothing left out,
    but `time_major` and `implementation` kept: Keras 3 itself cannot read them back)."""
    if cls == "LSTM":
        config = {"time_major": False, "implementation": 2, "unroll": False, "stateful": False, **config}
    return {"class_name": cls, "config": {"name": name, "trainable": True, "dtype": "float32", **config}}


def write_attribute(group: Any, name: str, items: list[str], chunks: int = 1) -> None:
    """A list attribute as Keras writes it: whole, or split into NAME0, NAME1, ... (past HDF5's limit)."""
    array = np.array([item.encode("utf-8") for item in items])
    if chunks == 1:
        group.attrs[name] = array
    else:
        for index, part in enumerate(np.array_split(array, chunks)):
            group.attrs[f"{name}{index}"] = part


def write_keras2_h5(
    path: Path,
    model_config: dict[str, Any] | None,
    weights: dict[str, list[tuple[str, np.ndarray]]],
    chunks: int = 1,
) -> None:
    """A tf.keras 2 `model.save("m.h5")` (or, without model_config, `save_weights`) file."""
    with h5py.File(path, "w") as store:
        root = store
        if model_config is not None:
            store.attrs["keras_version"] = b"2.12.0"
            store.attrs["backend"] = b"tensorflow"
            store.attrs["model_config"] = json.dumps(model_config).encode("utf-8")
            root = store.create_group("model_weights")
        root.attrs["keras_version"] = b"2.12.0"
        root.attrs["backend"] = b"tensorflow"
        write_attribute(root, "layer_names", list(weights))
        for layer, named in weights.items():
            group = root.create_group(layer)
            write_attribute(group, "weight_names", [name for name, _ in named], chunks)
            for name, array in named:
                group.create_dataset(name, data=array)


def lstm_weights(prefix: str, arrays: list[np.ndarray]) -> list[tuple[str, np.ndarray]]:
    names = ("kernel", "recurrent_kernel", "bias")[: len(arrays)]
    return [(f"{prefix}/lstm_cell/{name}:0", a) for name, a in zip(names, arrays, strict=True)]


@pytest.mark.parametrize("recurrent_activation", ["sigmoid", "hard_sigmoid"])
def test_tf_keras_2_sequential_h5(tmp_path: Path, recurrent_activation: str) -> None:
    """Keras 2's hard_sigmoid is clip(0.2x + 0.5): the oracle LSTM gets that function, not Keras 3's."""
    layers = keras.layers
    recurrent = keras_activation("sigmoid" if recurrent_activation == "sigmoid" else "hard_sigmoid_tf2")
    oracle = keras.Sequential(
        [
            keras.Input((5, 3)),
            layers.LSTM(4, recurrent_activation=recurrent, return_sequences=True),
            layers.Dense(2, activation="softmax"),
        ]
    )
    randomise(oracle, 8)
    kernel, recurrent_kernel, bias, dense_kernel, dense_bias = oracle.get_weights()
    model_config = {
        "class_name": "Sequential",
        "config": {
            "name": "sequential",
            "layers": [
                {"class_name": "InputLayer",
                 "config": {"batch_input_shape": [None, 5, 3], "dtype": "float32", "sparse": False,
                            "ragged": False, "name": "lstm_input"}},
                keras2_layer("LSTM", "lstm", units=4, activation="tanh",
                             recurrent_activation=recurrent_activation, use_bias=True, return_sequences=True,
                             return_state=False, go_backwards=False),
                keras2_layer("Dense", "dense", units=2, activation="softmax", use_bias=True),
            ],
        },
    }  # fmt: skip
    weights = {
        "lstm": lstm_weights("lstm", [kernel, recurrent_kernel, bias]),
        "dense": [("dense/kernel:0", dense_kernel), ("dense/bias:0", dense_bias)],
    }
    write_keras2_h5(tmp_path / "m.h5", model_config, weights, chunks=2)
    check = keras.Sequential(
        [
            keras.Input((5, 3)),
            layers.LSTM(4, recurrent_activation=recurrent, return_sequences=True),
            layers.Dense(2, activation="softmax"),
        ]
    )
    check.load_weights(tmp_path / "m.h5")  # Keras's own legacy loader reads the hand-built file
    x = data(9, 2, 5, 3)
    np.save(tmp_path / "x.npy", x)
    convert(str(tmp_path / "m.h5"), "-o", str(tmp_path / "m.yaml"), "--input", str(tmp_path / "x.npy"))
    text = (tmp_path / "m.yaml").read_text()
    mapped = "hard_sigmoid_tf2" if recurrent_activation == "hard_sigmoid" else "sigmoid"
    assert f"recurrent_activation: {mapped}\n" in text
    out = lstm_cli.forward(tmp_path / "m.yaml")["dense"]
    assert_close(out, oracle.predict(x, verbose=0), "dense")
    assert_close(out, check.predict(x, verbose=0), "dense, read by Keras")


def test_tf_keras_2_functional_h5_with_initial_state_and_bidirectional(tmp_path: Path) -> None:
    """Keras 2 writes an RNN's initial_state tensors after its input, in one inbound node."""
    layers = keras.layers
    encoder_inputs = keras.Input((None, 3), name="encoder_inputs")
    decoder_inputs = keras.Input((None, 2), name="decoder_inputs")
    _, h, c = layers.LSTM(4, return_state=True, name="encoder")(encoder_inputs)
    sequence = layers.LSTM(4, return_sequences=True, name="decoder")(decoder_inputs, initial_state=[h, c])
    both = layers.Bidirectional(layers.LSTM(3, return_sequences=True), name="bidirectional")(sequence)
    head = layers.Dense(2, name="head")(both)
    oracle = keras.Model([encoder_inputs, decoder_inputs], head)
    randomise(oracle, 10)
    weights = {layer.name: layer.get_weights() for layer in oracle.layers if layer.get_weights()}

    def node(*tensors: tuple[str, int]) -> list[list[Any]]:
        return [[[name, 0, index, {}] for name, index in tensors]]

    lstm = {"activation": "tanh", "recurrent_activation": "sigmoid", "use_bias": True, "go_backwards": False}
    model_config = {
        "class_name": "Functional",
        "config": {
            "name": "model",
            "layers": [
                {"class_name": "InputLayer", "name": "encoder_inputs", "inbound_nodes": [],
                 "config": {"batch_input_shape": [None, None, 3], "name": "encoder_inputs"}},
                {"class_name": "InputLayer", "name": "decoder_inputs", "inbound_nodes": [],
                 "config": {"batch_input_shape": [None, None, 2], "name": "decoder_inputs"}},
                {**keras2_layer("LSTM", "encoder", units=4, return_sequences=False, return_state=True,
                                **lstm),
                 "name": "encoder", "inbound_nodes": node(("encoder_inputs", 0))},
                {**keras2_layer("LSTM", "decoder", units=4, return_sequences=True, return_state=False,
                                **lstm),
                 "name": "decoder",
                 "inbound_nodes": node(("decoder_inputs", 0), ("encoder", 1), ("encoder", 2))},
                {**keras2_layer("Bidirectional", "bidirectional", merge_mode="concat",
                                layer=keras2_layer("LSTM", "lstm", units=3, return_sequences=True, **lstm)),
                 "name": "bidirectional", "inbound_nodes": node(("decoder", 0))},
                {**keras2_layer("Dense", "head", units=2, activation="linear", use_bias=True),
                 "name": "head", "inbound_nodes": node(("bidirectional", 0))},
            ],
            "input_layers": [["encoder_inputs", 0, 0], ["decoder_inputs", 0, 0]],
            "output_layers": [["head", 0, 0]],
        },
    }  # fmt: skip
    names = {
        "encoder": lstm_weights("encoder", weights["encoder"]),
        "decoder": lstm_weights("decoder", weights["decoder"]),
        "bidirectional": lstm_weights("bidirectional/forward_lstm", weights["bidirectional"][:3])
        + lstm_weights("bidirectional/backward_lstm", weights["bidirectional"][3:]),
        "head": [("head/kernel:0", weights["head"][0]), ("head/bias:0", weights["head"][1])],
    }
    write_keras2_h5(tmp_path / "m.h5", model_config, names)
    x, y = data(11, 2, 4, 3), data(12, 2, 5, 2)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    convert(
        str(tmp_path / "m.h5"),
        "-o",
        str(tmp_path / "m.yaml"),
        "--input",
        f"encoder_inputs={tmp_path / 'x.npy'}",
        "--input",
        f"decoder_inputs={tmp_path / 'y.npy'}",
    )
    assert "    initial_state: [encoder.h, encoder.c]\n" in (tmp_path / "m.yaml").read_text()
    assert_close(lstm_cli.forward(tmp_path / "m.yaml")["head"], oracle.predict([x, y], verbose=0), "head")

    # The same weights saved by save_weights (no model_config), read into a config given with --config.
    write_keras2_h5(tmp_path / "w.h5", None, names)
    convert(str(tmp_path / "w.h5"), "--config", str(tmp_path / "m.yaml"), "-o", str(tmp_path / "w.yaml"))
    assert_close(lstm_cli.forward(tmp_path / "w.yaml")["head"], oracle.predict([x, y], verbose=0), "head")


def test_keras_layers_lstm_cli_does_not_compute_are_named(tmp_path: Path) -> None:
    model = keras.Sequential([keras.Input((None, 3)), keras.layers.GRU(2)])
    model.save(tmp_path / "gru.keras")
    run = run_cli("convert", str(tmp_path / "gru.keras"), "-o", str(tmp_path / "gru.yaml"))
    assert run.exit_code == 2
    assert run.stderr == (
        f"lstm-cli: error: {tmp_path / 'gru.keras'}: layer 'gru' is a 'GRU'; lstm-cli converts LSTM, "
        "Bidirectional(LSTM), Dense, TimeDistributed(Dense), Embedding, Masking, InputLayer and the layers "
        "that do nothing at inference (Dropout, SpatialDropout1D, GaussianNoise, GaussianDropout, "
        "AlphaDropout, ActivityRegularization)\n"
    )
    assert not (tmp_path / "gru.yaml").exists()


def test_a_converted_keras_model_round_trips_through_yaml_back_to_keras(tmp_path: Path) -> None:
    model = sequential()
    randomise(model, 13)
    model.save(tmp_path / "m.keras")
    convert(str(tmp_path / "m.keras"), "-o", str(tmp_path / "m.yaml"))
    convert(str(tmp_path / "m.yaml"), "-o", str(tmp_path / "back.weights.h5"))
    again = sequential()
    again.load_weights(tmp_path / "back.weights.h5")
    # float32 written in its shortest digits reads back exactly
    for before, after in zip(model.get_weights(), again.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)


def test_a_legacy_h5_written_by_keras_3_keeps_keras_3s_hard_sigmoid(tmp_path: Path) -> None:
    model = sequential()
    randomise(model, 14)
    model.save(tmp_path / "m.h5")  # Keras 3's legacy format: keras_version 3.x, Keras 3's config
    x = data(15, 2, 5, 3)
    np.save(tmp_path / "x.npy", x)
    convert(str(tmp_path / "m.h5"), "-o", str(tmp_path / "m.yaml"), "--input", str(tmp_path / "x.npy"))
    assert "recurrent_activation: hard_sigmoid\n" in (tmp_path / "m.yaml").read_text()
    last = model.layers[-1].name  # Keras numbers its names across the session: dense, dense_1, ...
    assert_close(lstm_cli.forward(tmp_path / "m.yaml")[last], model.predict(x, verbose=0), last)


# -- Embedding, TimeDistributed(Dense) and the no-op layers, as keras.io tutorials build them ---------------

# Padded id sequences: id 0 is padding, masked by Embedding(mask_zero=True) in sample 0's and 1's tails.
IDS = np.array([[1, 4, 2, 0, 0], [5, 3, 0, 0, 0], [2, 6, 2, 1, 3]], np.int32)


def gate_weights(rng: np.random.Generator, features: int, units: int) -> list[np.ndarray]:
    """An LSTM's [kernel, recurrent_kernel, bias] with a distinct offset per gate block (i, f, g, o), so
    that two gates swapped anywhere along the way could not give the same numbers."""
    offsets = np.repeat([0.3, -0.2, 0.1, 0.5], units)
    return [
        (rng.uniform(-0.8, 0.8, (features, 4 * units)) + offsets).astype(np.float32),
        (rng.uniform(-0.8, 0.8, (units, 4 * units)) - offsets).astype(np.float32),
        (rng.uniform(-0.4, 0.4, 4 * units) + offsets).astype(np.float32),
    ]


def set_distinct_weights(model: Any, seed: int) -> None:
    """Every layer's weights: tables and Dense layers uniform, LSTMs (each half of a Bidirectional too)
    with distinct gates."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        shapes = [w.shape for w in layer.get_weights()]
        if isinstance(layer, keras.layers.LSTM | keras.layers.Bidirectional):
            units = shapes[1][0]
            halves = [gate_weights(rng, shape[0], units) for shape in shapes[::3]]  # 1, or 2 if bidirectional
            layer.set_weights([array for half in halves for array in half])
        elif shapes:
            layer.set_weights([rng.uniform(-1, 1, s).astype(np.float32) for s in shapes])


def tagger(head: str = "time_distributed") -> Any:
    """keras.io's sequence tagger: Embedding(mask_zero) → LSTM(return_sequences) → TimeDistributed(Dense)."""
    dense = keras.layers.Dense(5, activation="softmax", name="tags")
    return keras.Sequential(
        [
            keras.Input((5,), dtype="int32"),
            keras.layers.Embedding(7, 3, mask_zero=True, name="embedding"),
            keras.layers.LSTM(4, return_sequences=True, name="lstm"),
            keras.layers.TimeDistributed(dense, name="head") if head == "time_distributed" else dense,
        ]
    )


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_embedding_mask_zero_lstm_time_distributed_softmax_converts_both_ways(
    tmp_path: Path, suffix: str
) -> None:
    model = tagger()
    set_distinct_weights(model, 41)
    expected = model.predict(IDS, verbose=0)
    model.save(tmp_path / f"m{suffix}")  # .h5: Keras 3's legacy format, read as tf.keras 2's
    np.save(tmp_path / "ids.npy", IDS)
    convert(
        str(tmp_path / f"m{suffix}"), "-o", str(tmp_path / "m.yaml"), "--input", str(tmp_path / "ids.npy")
    )
    text = (tmp_path / "m.yaml").read_text()
    assert "\ninput: [[1, 4, 2, 0, 0],\n" in text  # ids, (batch, timesteps)
    assert (
        "  - type: embedding\n    name: embedding\n    input_dim: 7\n    output_dim: 3\n    mask_zero: true\n"
        in text
    )
    assert "  - type: dense\n    name: head\n    units: 5\n    activation: softmax\n" in text
    out = lstm_cli.forward(tmp_path / "m.yaml")
    assert_within_1e6(out["head"], expected, "head")
    assert "\ninput: {shape: [5]}\n" in run_cli("convert", str(tmp_path / f"m{suffix}"), "-o", "-").stdout

    # Keras's own weights file, read with the converted YAML as the architecture: its TimeDistributed
    # keeps the Dense's weights in layers/time_distributed/layer, which the config's dense layer reads.
    model.save_weights(tmp_path / "keras.weights.h5")
    convert(
        str(tmp_path / "keras.weights.h5"),
        "--config",
        str(tmp_path / "m.yaml"),
        "-o",
        str(tmp_path / "w.yaml"),
    )
    assert_within_1e6(lstm_cli.forward(tmp_path / "w.yaml")["head"], expected, "head, from .weights.h5")

    # And out: the YAML's weights to .weights.h5, which Keras loads into the same model with the Dense that
    # TimeDistributed wrapped (a `dense` layer is written as Keras writes a Dense).
    convert(str(tmp_path / "m.yaml"), "-o", str(tmp_path / "back.weights.h5"))
    again = tagger(head="dense")
    again.load_weights(tmp_path / "back.weights.h5")
    assert_within_1e6(out["head"], again.predict(IDS, verbose=0), "head, in Keras from .weights.h5")


def sentiment(dropout: str = "Dropout") -> Any:
    """keras.io's bidirectional LSTM classifier, functional: ids → Embedding → Bidirectional(LSTM) x2 →
    Dropout → Dense(sigmoid)."""
    layers = keras.layers
    inputs = keras.Input((None,), dtype="int32", name="ids")
    x = layers.Embedding(7, 4, mask_zero=True, name="embedding")(inputs)
    x = layers.Bidirectional(layers.LSTM(3, return_sequences=True), name="bi")(x)
    x = layers.Bidirectional(layers.LSTM(2), name="bi_1")(x)
    x = getattr(layers, dropout)(0.5, name="drop")(x)
    return keras.Model(inputs, layers.Dense(1, activation="sigmoid", name="score")(x))


def test_embedding_bidirectional_dropout_dense_converts_both_ways(tmp_path: Path) -> None:
    model = sentiment()
    set_distinct_weights(model, 42)
    expected = model.predict(IDS, verbose=0)
    model.save(tmp_path / "m.keras")
    np.save(tmp_path / "ids.npy", IDS)
    convert(
        str(tmp_path / "m.keras"), "-o", str(tmp_path / "m.yaml"), "--input", f"ids={tmp_path / 'ids.npy'}"
    )
    text = (tmp_path / "m.yaml").read_text()
    assert "  - type: dropout\n    name: drop\n    input: bi_1\n    rate: 0.5\n" in text
    assert (
        "\n# Skipped when run (the identity at inference, as in Keras), kept so that `summary` lists them: "
        "drop (Dropout).\n" in text
    )
    out = lstm_cli.forward(tmp_path / "m.yaml")
    assert_within_1e6(out["score"], expected, "score")
    assert_within_1e6(out["drop"], out["bi_1"], "the dropout at inference")

    convert(str(tmp_path / "m.yaml"), "-o", str(tmp_path / "back.weights.h5"))
    again = sentiment()
    again.load_weights(tmp_path / "back.weights.h5")
    assert_within_1e6(out["score"], again.predict(IDS, verbose=0), "score, in Keras from .weights.h5")

    # Keras's weights with an architecture-only config written by hand
    architecture = """\
inputs: {ids: {shape: [null]}}
layers:
  - {type: embedding, input_dim: 7, output_dim: 4, mask_zero: true}
  - {type: bidirectional, name: bi, units: 3, return_sequences: true}
  - {type: bidirectional, name: bi_1, units: 2}
  - {type: dropout, name: drop, rate: 0.5}
  - {type: dense, name: score, units: 1, activation: sigmoid}
"""
    (tmp_path / "arch.yaml").write_text(architecture)
    model.save_weights(tmp_path / "keras.weights.h5")
    convert(
        str(tmp_path / "keras.weights.h5"),
        "--config",
        str(tmp_path / "arch.yaml"),
        "-o",
        str(tmp_path / "w.yaml"),
        "--input",
        f"ids={tmp_path / 'ids.npy'}",
    )
    assert_within_1e6(lstm_cli.forward(tmp_path / "w.yaml")["score"], expected, "score, from .weights.h5")


def ids_seq2seq() -> Any:
    """keras.io's seq2seq on token ids: Embedding(mask_zero) for each side, the decoder LSTM started from the
    encoder's state (so Keras 3 runs it without its mask), a softmax over the target vocabulary."""
    layers = keras.layers
    encoder_ids = keras.Input((None,), dtype="int32", name="encoder_ids")
    decoder_ids = keras.Input((None,), dtype="int32", name="decoder_ids")
    encoded = layers.Embedding(7, 3, mask_zero=True, name="source_embedding")(encoder_ids)
    _, h, c = layers.LSTM(4, return_state=True, name="encoder")(encoded)
    decoded = layers.Embedding(8, 3, mask_zero=True, name="target_embedding")(decoder_ids)
    sequence = layers.LSTM(4, return_sequences=True, name="decoder")(decoded, initial_state=[h, c])
    sequence = layers.Dropout(0.2, name="drop")(sequence)
    outputs = layers.Dense(8, activation="softmax", name="next_token")(sequence)
    return keras.Model([encoder_ids, decoder_ids], outputs)


def test_a_masked_seq2seq_on_ids_converts_both_ways(tmp_path: Path) -> None:
    model = ids_seq2seq()
    set_distinct_weights(model, 43)
    targets = np.array([[1, 2, 7, 0], [3, 0, 0, 0], [4, 5, 6, 7]], np.int32)  # padded, as the sources
    expected = model.predict([IDS, targets], verbose=0)
    model.save(tmp_path / "m.keras")
    np.save(tmp_path / "ids.npy", IDS)
    np.save(tmp_path / "targets.npy", targets)
    inputs = [
        "--input",
        f"encoder_ids={tmp_path / 'ids.npy'}",
        "--input",
        f"decoder_ids={tmp_path / 'targets.npy'}",
    ]
    convert(str(tmp_path / "m.keras"), "-o", str(tmp_path / "m.yaml"), *inputs)
    assert (
        "    initial_state: [encoder.h, encoder.c]\n    use_mask: false\n"
        in (tmp_path / "m.yaml").read_text()
    )
    out = lstm_cli.forward(tmp_path / "m.yaml")
    assert_within_1e6(out["next_token"], expected, "next_token")

    convert(str(tmp_path / "m.yaml"), "-o", str(tmp_path / "back.weights.h5"))
    again = ids_seq2seq()
    again.load_weights(tmp_path / "back.weights.h5")
    assert_within_1e6(
        out["next_token"], again.predict([IDS, targets], verbose=0), "in Keras from .weights.h5"
    )


def test_every_no_op_layer_converts_both_ways_and_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    layers = keras.layers

    def build() -> Any:
        return keras.Sequential(
            [
                keras.Input((None, 3)),
                layers.Masking(0.0, name="masking"),
                layers.SpatialDropout1D(0.1, name="spatial_dropout1d"),
                layers.GaussianNoise(0.2, name="gaussian_noise"),
                layers.LSTM(4, return_sequences=True, name="lstm"),
                layers.GaussianDropout(0.3, name="gaussian_dropout"),
                layers.AlphaDropout(0.4, name="alpha_dropout"),
                layers.ActivityRegularization(l1=0.01, l2=0.02, name="activity_regularization"),
                layers.Dense(2, name="dense"),
            ],
            name="sequential",
        )

    model = build()
    set_distinct_weights(model, 44)
    x = data(45, 2, 5, 3)
    x[0, 3:] = 0.0
    expected = model.predict(x, verbose=0)
    model.save(tmp_path / "m.keras")
    np.save(tmp_path / "x.npy", x)
    convert(str(tmp_path / "m.keras"), "-o", str(tmp_path / "m.yaml"), "--input", str(tmp_path / "x.npy"))
    text = (tmp_path / "m.yaml").read_text()
    assert (
        "\n# Skipped when run (the identity at inference, as in Keras), kept so that `summary` lists them: "
        "spatial_dropout1d (SpatialDropout1D), gaussian_noise (GaussianNoise), gaussian_dropout "
        "(GaussianDropout), alpha_dropout (AlphaDropout), activity_regularization (ActivityRegularization).\n"
    ) in text
    assert (
        "  - type: activity_regularization\n    name: activity_regularization\n    l1: 0.01\n    l2: 0.02\n"
        in text
    )
    assert_within_1e6(lstm_cli.forward(tmp_path / "m.yaml")["dense"], expected, "dense")
    monkeypatch.setenv("COLUMNS", "100")  # the width run_cli gives lstm-cli
    printed: list[str] = []
    model.summary(print_fn=printed.append)
    convert(str(tmp_path / "m.keras"), "-o", str(tmp_path / "arch.yaml"))  # no data: timesteps None
    assert run_cli("summary", str(tmp_path / "arch.yaml")).stdout == "".join(printed)  # no-ops listed too
    convert(str(tmp_path / "m.yaml"), "-o", str(tmp_path / "back.weights.h5"))
    again = build()
    again.load_weights(tmp_path / "back.weights.h5")  # Keras finds a group, holding nothing, for each
    assert_within_1e6(again.predict(x, verbose=0), expected, "in Keras from .weights.h5")


def test_tf_keras_2_h5_with_embedding_dropout_and_time_distributed_dense(tmp_path: Path) -> None:
    """tf.keras 2 names an Embedding's table `embeddings:0`, and a TimeDistributed(Dense)'s weights under the
    wrapper's name; a Dropout is listed in layer_names with no weights."""
    layers = keras.layers

    def build() -> Any:
        return keras.Sequential(
            [
                keras.Input((5,), dtype="int32"),
                layers.Embedding(7, 3, mask_zero=True),
                layers.LSTM(4, return_sequences=True),
                layers.Dropout(0.5),
                layers.TimeDistributed(layers.Dense(5, activation="softmax")),
            ]
        )

    oracle = build()
    set_distinct_weights(oracle, 46)
    table, kernel, recurrent_kernel, bias, dense_kernel, dense_bias = oracle.get_weights()
    initializer = {"class_name": "RandomUniform", "config": {"minval": -0.05, "maxval": 0.05, "seed": None}}
    model_config = {
        "class_name": "Sequential",
        "config": {
            "name": "sequential",
            "layers": [
                {"class_name": "InputLayer",
                 "config": {"batch_input_shape": [None, 5], "dtype": "int32", "sparse": False,
                            "ragged": False, "name": "embedding_input"}},
                keras2_layer("Embedding", "embedding", batch_input_shape=[None, 5], input_dim=7, output_dim=3,
                             embeddings_initializer=initializer, embeddings_regularizer=None,
                             activity_regularizer=None, embeddings_constraint=None, mask_zero=True,
                             input_length=5, sparse=False),
                keras2_layer("LSTM", "lstm", units=4, activation="tanh", recurrent_activation="sigmoid",
                             use_bias=True, return_sequences=True, return_state=False, go_backwards=False),
                keras2_layer("Dropout", "dropout", rate=0.5, noise_shape=None, seed=None),
                keras2_layer("TimeDistributed", "time_distributed", layer=keras2_layer(
                    "Dense", "dense", units=5, activation="softmax", use_bias=True)),
            ],
        },
    }  # fmt: skip
    weights = {
        "embedding": [("embedding/embeddings:0", table)],
        "lstm": lstm_weights("lstm", [kernel, recurrent_kernel, bias]),
        "dropout": [],
        "time_distributed": [
            ("time_distributed/kernel:0", dense_kernel),
            ("time_distributed/bias:0", dense_bias),
        ],
    }
    write_keras2_h5(tmp_path / "m.h5", model_config, weights)
    check = build()
    check.load_weights(tmp_path / "m.h5")  # Keras's own legacy loader reads the hand-built file
    np.save(tmp_path / "ids.npy", IDS)
    convert(str(tmp_path / "m.h5"), "-o", str(tmp_path / "m.yaml"), "--input", str(tmp_path / "ids.npy"))
    text = (tmp_path / "m.yaml").read_text()
    assert "description: tf.keras 2 Sequential 'sequential', converted from m.h5\n" in text
    assert "  - type: dropout\n    name: dropout\n    rate: 0.5\n" in text
    out = lstm_cli.forward(tmp_path / "m.yaml")["time_distributed"]
    assert_within_1e6(out, oracle.predict(IDS, verbose=0), "time_distributed")
    assert_within_1e6(out, check.predict(IDS, verbose=0), "time_distributed, read by Keras")


def test_embedding_options_lstm_cli_does_not_compute_are_refused_by_name(tmp_path: Path) -> None:
    model = keras.Sequential([keras.Input((4,), dtype="int32"), keras.layers.Embedding(6, 3, name="table")])
    model.quantize("int8")
    model.save(tmp_path / "q.keras")
    run = run_cli("convert", str(tmp_path / "q.keras"), "-o", "-")
    assert run.exit_code == 2
    assert run.stderr == (
        f"lstm-cli: error: {tmp_path / 'q.keras'}: layer 'table' is quantized (int8); lstm-cli computes with "
        "the float weights of a model that is not\n"
    )
    wrapped = keras.Sequential(
        [keras.Input((4, 3)), keras.layers.TimeDistributed(keras.layers.Dropout(0.5), name="td")]
    )
    wrapped.save(tmp_path / "td.keras")
    run = run_cli("convert", str(tmp_path / "td.keras"), "-o", "-")
    assert run.stderr == (
        f"lstm-cli: error: {tmp_path / 'td.keras'}: layer 'td' is a TimeDistributed(Dropout); lstm-cli "
        "converts TimeDistributed(Dense)\n"
    )
