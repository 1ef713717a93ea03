"""Hypothesis invariants of the engine: things that hold for every weight, input and option."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import lstm_cli
from lstm_cli.activations import ACTIVATIONS
from lstm_cli.config import load_model
from lstm_cli.engine import run_model

GATE_ACTIVATIONS = ["sigmoid", "hard_sigmoid", "hard_sigmoid_tf2"]  # each maps into [0, 1]


@st.composite
def lstm_configs(draw: st.DrawFn) -> dict:
    batch = draw(st.integers(1, 3))
    timesteps = draw(st.integers(1, 5))
    features = draw(st.integers(1, 4))
    units = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    scale = draw(st.sampled_from([0.1, 1.0, 3.0]))
    layer = {
        "type": "lstm",
        "units": units,
        "activation": draw(st.sampled_from(["tanh", "linear", "relu", "softsign", "elu"])),
        "recurrent_activation": draw(st.sampled_from(GATE_ACTIVATIONS)),
        "return_sequences": draw(st.booleans()),
        "return_state": True,
        "go_backwards": draw(st.booleans()),
        "kernel": rng.normal(0, scale, (features, 4 * units)),
        "recurrent_kernel": rng.normal(0, scale, (units, 4 * units)),
        "bias": rng.normal(0, scale, 4 * units),
    }
    return {"input": rng.normal(0, 1, (batch, timesteps, features)), "layers": [layer]}


@settings(max_examples=60, deadline=None)
@given(lstm_configs())
def test_gates_of_sigmoid_kind_lie_in_unit_interval(config: dict) -> None:
    result = run_model(load_model(config), record=True)
    for record in result.traces[0].steps:
        for gate in (record.step.i, record.step.f, record.step.o):
            assert np.all((gate >= 0) & (gate <= 1))


@settings(max_examples=60, deadline=None)
@given(lstm_configs())
def test_batch_equals_row_by_row(config: dict) -> None:
    whole = lstm_cli.forward(config)
    for row in range(config["input"].shape[0]):
        single = lstm_cli.forward({**config, "input": config["input"][row : row + 1]})
        for ref, value in single.items():
            np.testing.assert_allclose(whole[ref][row : row + 1], value, rtol=1e-12, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(lstm_configs())
def test_final_state_equals_the_last_output(config: dict) -> None:
    out = lstm_cli.forward(config)
    last = out["lstm"][:, -1] if config["layers"][0]["return_sequences"] else out["lstm"]
    np.testing.assert_array_equal(last, out["lstm.h"])


@settings(max_examples=60, deadline=None)
@given(lstm_configs())
def test_go_backwards_equals_forwards_on_the_reversed_input(config: dict) -> None:
    layer = config["layers"][0]
    flipped = {
        **config,
        "input": config["input"][:, ::-1],
        "layers": [{**layer, "go_backwards": not layer["go_backwards"]}],
    }
    a, b = lstm_cli.forward(config), lstm_cli.forward(flipped)
    for ref in a:
        np.testing.assert_allclose(a[ref], b[ref], rtol=1e-12, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(lstm_configs(), st.integers(1, 4))
def test_running_in_two_parts_chains_the_state(config: dict, split: int) -> None:
    # Running steps [0, k) and then [k, T) from the first part's (h, c) equals running all T steps.
    layer = {**config["layers"][0], "go_backwards": False, "return_sequences": False}
    x = config["input"]
    k = min(split, x.shape[1])
    whole = lstm_cli.forward({"input": x, "layers": [layer]})
    first = lstm_cli.forward({"input": x[:, :k], "layers": [layer]})
    if k == x.shape[1]:
        np.testing.assert_array_equal(first["lstm.h"], whole["lstm.h"])
        return
    second_layer = {**layer, "initial_state": [first["lstm.h"], first["lstm.c"]]}
    second = lstm_cli.forward({"input": x[:, k:], "layers": [second_layer]})
    np.testing.assert_allclose(second["lstm.h"], whole["lstm.h"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(second["lstm.c"], whole["lstm.c"], rtol=1e-12, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(lstm_configs())
def test_pytorch_layout_equals_keras_layout(config: dict) -> None:
    layer = dict(config["layers"][0])
    kernel, recurrent_kernel, bias = layer.pop("kernel"), layer.pop("recurrent_kernel"), layer.pop("bias")
    half = bias / 2
    torch_layer = {
        **layer,
        "weight_ih": kernel.T,
        "weight_hh": recurrent_kernel.T,
        "bias_ih": half,
        "bias_hh": bias - half,
    }
    a = lstm_cli.forward(config)
    b = lstm_cli.forward({**config, "layers": [torch_layer]})
    for ref in a:
        np.testing.assert_allclose(a[ref], b[ref], rtol=1e-10, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(lstm_configs())
def test_float32_stays_close_to_float64(config: dict) -> None:
    a = lstm_cli.forward(config)
    b = lstm_cli.forward(config, dtype="float32")
    for ref in a:
        assert b[ref].dtype == np.float32
        scale = max(1.0, float(np.abs(a[ref]).max()))
        np.testing.assert_allclose(b[ref], a[ref], atol=1e-4 * scale)


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(sorted(ACTIVATIONS)),
    st.sampled_from([np.float32, np.float64]),
    st.lists(st.floats(allow_nan=False, allow_infinity=False, width=32), min_size=1, max_size=8),
)
def test_activations_never_warn_and_keep_the_dtype(name: str, dtype: type, values: list[float]) -> None:
    x = np.array(values, dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        if name == "exponential":
            x = np.minimum(x, 80.0).astype(dtype)  # exp itself overflows beyond; the engine reports that
        y = ACTIVATIONS[name](x)
    assert y.dtype == dtype
    assert y.shape == x.shape
