"""`lstm_cli.backward` against torch's autograd on the same model written in torch ops, float64, with the
loss from Keras 3's own loss classes: every gradient within 1e-7 of the largest in its array
(tests/backward_oracle.py). Every loss, activation, layer type, merge mode, masking, seq2seq and variant."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest

pytestmark = [pytest.mark.slow]

torch = pytest.importorskip("torch")
os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

from backward_oracle import (  # noqa: E402
    dense_entry,
    gate_distinct,
    keras_float64,  # noqa: F401  (autouse: Keras stays float64)
    lstm_weights,
    oracle_gradients,
    target_for,
)

import lstm_cli  # noqa: E402
from lstm_cli.activations import ACTIVATIONS  # noqa: E402
from lstm_cli.losses import LOSS_TYPES  # noqa: E402

RTOL = 1e-7


def assert_matches_oracle(config: dict[str, Any]) -> dict[str, np.ndarray]:
    ours = lstm_cli.backward(config, dtype="float64")
    expected = oracle_gradients(config)
    assert set(expected) <= set(ours)
    for key, want in expected.items():
        got = ours[key]
        assert got.shape == want.shape, key
        scale = max(1.0, float(np.abs(want).max(initial=0)))
        np.testing.assert_allclose(got, want, rtol=0, atol=RTOL * scale, err_msg=key)
    return ours


def chain(
    seed: int,
    loss: str = "mse",
    *,
    batch: int = 2,
    timesteps: int = 4,
    features: int = 3,
    units: int = 3,
    lstm: dict[str, Any] | None = None,
    head: dict[str, Any] | None = None,
    masked_steps: bool = False,
    from_logits: bool = False,
    loss_output: str | None = None,
) -> dict[str, Any]:
    """input → [masking] → lstm (options `lstm`) → [dense head] with a `loss`, all drawn from `seed`."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (batch, timesteps, features))
    layers: list[dict[str, Any]] = []
    if masked_steps:
        x[0, -1] = 0.0  # a masked last step
        x[-1, 0] = 0.0  # and a masked first one
        layers.append({"type": "masking"})
    options = {"return_sequences": True, **(lstm or {})}
    proj = options.pop("proj", None)
    entry = {
        "type": "lstm",
        "name": "lstm",
        "units": units,
        **lstm_weights(rng, features, units, proj),
        **options,
    }
    if options.get("use_bias") is False:
        del entry["bias"]
    if proj is not None:
        entry["projection"] = {"kernel": rng.uniform(-0.7, 0.7, (units, proj)).tolist()}
    layers.append(entry)
    width = proj or units
    if head is not None:
        layers.append(dense_entry(rng, width, **head))
    config: dict[str, Any] = {"input": x.tolist(), "layers": layers}
    config["loss"] = {"type": loss}
    if loss_output:
        config["loss"]["output"] = loss_output
    if from_logits:
        config["loss"]["from_logits"] = True
    if loss != "sum":
        shape = _output_shape(config, loss_output)
        config["loss"]["target"] = target_for(loss, shape, rng)
    return config


def _output_shape(config: dict[str, Any], ref: str | None) -> tuple[int, ...]:
    values = lstm_cli.forward({k: v for k, v in config.items() if k != "loss"})
    return values[ref if ref else _last(config, values)].shape


def _last(config: dict[str, Any], values: dict[str, np.ndarray]) -> str:
    last = config["layers"][-1]
    return last.get("name", "dense") if last["type"] == "dense" else "lstm"


# -- losses ------------------------------------------------------------------------------------------------

PROBABILITY_HEADS = {
    "binary_crossentropy": "sigmoid",
    "categorical_crossentropy": "softmax",
    "sparse_categorical_crossentropy": "softmax",
}


@pytest.mark.parametrize("masked", [False, True], ids=["plain", "masked"])
@pytest.mark.parametrize("loss", LOSS_TYPES)
def test_every_loss_matches_keras(loss: str, masked: bool) -> None:
    head = {"units": 4, "activation": PROBABILITY_HEADS.get(loss, "linear"), "name": "dense"}
    assert_matches_oracle(chain(10 + LOSS_TYPES.index(loss), loss, head=head, masked_steps=masked))


@pytest.mark.parametrize(
    "loss", ["binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy"]
)
def test_crossentropies_from_logits_match_keras(loss: str) -> None:
    head = {"units": 3, "activation": "linear", "name": "dense"}
    assert_matches_oracle(chain(20, loss, head=head, from_logits=True, masked_steps=True))


def test_a_loss_on_the_last_output_and_on_the_cell_state() -> None:
    assert_matches_oracle(chain(21, "mse", lstm={"return_sequences": False}))
    config = chain(22, "mse", lstm={"return_state": True}, loss_output="lstm.c")
    assert_matches_oracle(config)


def test_probabilities_clipped_at_keras_epsilon_get_no_gradient() -> None:
    config = chain(23, "binary_crossentropy", head={"units": 2, "activation": "sigmoid", "name": "dense"})
    config["layers"][-1]["bias"] = [40.0, -40.0]  # sigmoid saturates to 1 and 0: clipped to [1e-7, 1 - 1e-7]
    assert_matches_oracle(config)


# -- activations, options ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_every_activation_matches_torch_autograd(name: str) -> None:
    seed = 30 + sorted(ACTIVATIONS).index(name)
    assert_matches_oracle(
        chain(seed, "mse", lstm={"activation": name}, head={"units": 2, "activation": name})
    )
    assert_matches_oracle(chain(seed + 100, "mse", lstm={"recurrent_activation": name}))


@pytest.mark.parametrize(
    "options",
    [
        {"go_backwards": True},
        {"go_backwards": True, "return_sequences": False},
        {"use_bias": False},
        {"return_state": True},
    ],
    ids=["go_backwards", "go_backwards-last", "no-bias", "return_state"],
)
def test_lstm_options_match_torch_autograd(options: dict[str, Any]) -> None:
    assert_matches_oracle(chain(60, "mse", lstm=options, masked_steps=True))


def test_initial_states_given_as_arrays_get_their_gradients() -> None:
    rng = np.random.default_rng(61)
    config = chain(61, "mse", masked_steps=True)  # sample 1's first step masked: it carries h0 on
    config["layers"][1]["initial_state"] = {
        "h": rng.normal(0, 1, (2, 3)).tolist(),
        "c": rng.normal(0, 1, 3).tolist(),
    }
    ours = assert_matches_oracle(config)
    assert ours["lstm.initial_state.c"].shape == (3,)  # shared by the batch: summed over it


VARIANTS = {
    "forget_bias": {"forget_bias": 1.0},
    "peepholes": {"peepholes": {"i": [0.3, -0.2, 0.5], "f": [-0.4, 0.1, 0.2], "o": [0.25, 0.6, -0.3]}},
    "cell_clip": {"cell_clip": 0.3},
    "activation_clip": {"activation_clip": 0.4},
    "input_forget": {"input_forget": True},
    "output_activation": {"output_activation": "softsign"},
    "projection": {"proj": 2},
    "projection-clip": {"proj": 2, "proj_clip": 0.1},
    "everything": {
        "forget_bias": 0.5,
        "peepholes": {"i": [0.3, -0.2, 0.5], "o": [0.25, 0.6, -0.3]},
        "cell_clip": 0.5,
        "activation_clip": 0.7,
        "output_activation": "sigmoid",
        "proj": 2,
        "proj_clip": 0.2,
    },
}


@pytest.mark.parametrize("name", list(VARIANTS))
def test_lstm_variants_match_torch_autograd(name: str) -> None:
    config = chain(70, "mse", lstm=dict(VARIANTS[name]), masked_steps=True)
    ours = assert_matches_oracle(config)
    if "peepholes" in VARIANTS[name]:
        assert "lstm.peepholes.i" in ours
    if name.startswith("projection"):
        assert ours["lstm.projection.kernel"].shape == (3, 2)


# -- layers and graphs -------------------------------------------------------------------------------------


def bidirectional(seed: int, merge_mode: str | None, return_sequences: bool, masked: bool) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (2, 4, 3))
    if masked:
        x[0, 2:] = 0.0
        x[1, 0] = 0.0
    halves = {direction: lstm_weights(rng, 3, 2) for direction in ("forward", "backward")}
    layers: list[dict[str, Any]] = [{"type": "masking"}] if masked else []
    layers.append(
        {
            "type": "bidirectional",
            "name": "bi",
            "units": 2,
            "merge_mode": merge_mode,
            "return_sequences": return_sequences,
            "return_state": True,
            **halves,
        }
    )
    config: dict[str, Any] = {"input": x.tolist(), "layers": layers}
    outputs = lstm_cli.forward(config)
    ref = "bi.backward" if merge_mode is None else "bi"
    config["loss"] = {"type": "mse", "output": ref, "target": rng.normal(0, 1, outputs[ref].shape).tolist()}
    return config


@pytest.mark.parametrize("masked", [False, True], ids=["plain", "masked"])
@pytest.mark.parametrize("return_sequences", [True, False], ids=["sequences", "last"])
@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
def test_bidirectional_every_merge_mode_matches_torch_autograd(
    merge_mode: str | None, return_sequences: bool, masked: bool
) -> None:
    assert_matches_oracle(bidirectional(80, merge_mode, return_sequences, masked))


def test_a_loss_on_a_bidirectional_state_reaches_its_half() -> None:
    config = bidirectional(81, "concat", True, True)
    config["loss"] = {"type": "sum", "output": "bi.backward.c"}
    ours = assert_matches_oracle(config)
    assert not ours["bi.forward.kernel"].any() and ours["bi.backward.kernel"].any()


def test_seq2seq_gradient_reaches_the_encoder() -> None:
    import yaml

    with open("configs/seq2seq.yaml", encoding="utf-8") as file:
        config = yaml.safe_load(file)
    config["inputs"] = {
        name: np.eye(6)[[row.index(1) for row in rows]].tolist() for name, rows in config["inputs"].items()
    }
    config.pop("vocab")
    config["loss"] = {"type": "categorical_crossentropy", "target": np.eye(6)[[[5, 4, 3, 2, 1]]].tolist()}
    ours = assert_matches_oracle(config)
    assert np.abs(ours["encoder.kernel"]).max() > 1e-6  # through [encoder.h, encoder.c] only


def test_embedding_with_mask_zero_matches_torch_autograd() -> None:
    rng = np.random.default_rng(90)
    config = {
        "input": [[3, 1, 0, 0], [2, 2, 4, 1]],
        "layers": [
            {
                "type": "embedding",
                "name": "emb",
                "input_dim": 5,
                "output_dim": 3,
                "mask_zero": True,
                "embeddings": rng.normal(0, 1, (5, 3)).tolist(),
            },
            {"type": "lstm", "units": 2, "return_sequences": True, **lstm_weights(rng, 3, 2)},
            dense_entry(rng, 2, 3, "softmax", name="dense"),
        ],
        "loss": {"type": "sparse_categorical_crossentropy", "target": [[0, 1, 2, 0], [1, 2, 0, 1]]},
    }
    ours = assert_matches_oracle(config)
    assert not ours["emb.embeddings"][0].any()  # id 0 only at masked steps


def test_stacked_lstms_with_go_backwards_and_states_match_torch_autograd() -> None:
    rng = np.random.default_rng(91)
    config = {
        "input": rng.normal(0, 1, (3, 5, 2)).tolist(),
        "layers": [
            {
                "type": "lstm",
                "name": "first",
                "units": 3,
                "return_sequences": True,
                "go_backwards": True,
                **lstm_weights(rng, 2, 3),
            },
            {"type": "dropout", "rate": 0.5},
            {
                "type": "lstm",
                "name": "second",
                "units": 2,
                "return_state": True,
                "initial_state": {"h": [0.1, -0.2], "c": [0.3, 0.0]},
                **lstm_weights(rng, 3, 2),
            },
            dense_entry(rng, 2, 2, "tanh", name="head"),
        ],
        "outputs": ["head", "second.c"],
        "loss": {"type": "mae", "output": "head", "target": rng.normal(0, 1, (3, 2)).tolist()},
    }
    assert_matches_oracle(config)


# -- PyTorch's layout --------------------------------------------------------------------------------------


@pytest.mark.parametrize("proj_size", [0, 2])
def test_pytorch_layout_gradients_equal_nn_lstm_parameter_grads(proj_size: int) -> None:
    torch.manual_seed(5)
    lstm = torch.nn.LSTM(3, 4, batch_first=True, proj_size=proj_size).double()
    x = torch.randn(2, 5, 3, dtype=torch.float64)
    output, _ = lstm(x)
    output.sum().backward()
    state = {name.removesuffix("_l0"): p.detach().numpy().tolist() for name, p in lstm.named_parameters()}
    config = {
        "input": x.numpy().tolist(),
        "layers": [{"type": "lstm", "name": "lstm", "units": 4, "return_sequences": True, **state}],
        "loss": {"type": "sum"},
    }
    ours = lstm_cli.backward(config)
    for name, parameter in lstm.named_parameters():
        assert parameter.grad is not None
        expected = parameter.grad.numpy()
        np.testing.assert_allclose(
            ours[f"lstm.{name.removesuffix('_l0')}"],
            expected,
            rtol=0,
            atol=RTOL * max(1, np.abs(expected).max()),
        )
    np.testing.assert_allclose(ours["lstm.kernel"], ours["lstm.weight_ih"].T)


def test_gate_distinct_weights_tell_every_gate_apart() -> None:
    weights = gate_distinct(np.random.default_rng(0), (3, 16))
    means = weights.reshape(3, 4, 4).mean(axis=(0, 2))
    assert len(set(np.round(means, 2))) == 4
