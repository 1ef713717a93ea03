"""`lstm_cli.backward` against Keras 3 itself: the model built from Keras's layers (torch backend, float64),
the loss from `keras.losses` reading the output's own mask, and the gradients of the Keras variables from
torch's autograd. Within 1e-7 of the largest value in each array."""

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
    KERAS_LOSSES,
    dense_entry,
    keras_float64,  # noqa: F401  (autouse: Keras stays float64)
    lstm_weights,
    target_for,
)
from oracle_cases import ACTIVATIONS  # noqa: E402

import lstm_cli  # noqa: E402
from lstm_cli.config import load_model  # noqa: E402
from lstm_cli.model import BidirectionalLayer, DenseLayer, LstmLayer, MaskingLayer  # noqa: E402

RTOL = 1e-7


def _activation(name: str) -> Any:
    return None if name == "linear" else name


def _lstm(layer: LstmLayer) -> Any:
    return keras.layers.LSTM(
        layer.units,
        activation=_activation(layer.activation),
        recurrent_activation=_activation(layer.recurrent_activation),
        use_bias=layer.use_bias,
        return_sequences=layer.return_sequences,
        return_state=layer.return_state,
        go_backwards=layer.go_backwards,
        dtype="float64",
    )


def keras_gradients(config: dict[str, Any]) -> dict[str, np.ndarray]:
    """The model in Keras layers, run eagerly; "loss" and each weight's and input's gradient by autograd."""
    model = load_model(config, dtype="float64")
    values: dict[str, Any] = {}
    inputs = {}
    for name, spec in model.inputs.items():
        inputs[name] = torch.tensor(spec.data, dtype=torch.float64, requires_grad=True)
        values[name] = inputs[name]
    variables: dict[str, Any] = {}
    for layer in model.layers:
        _run(layer, values, variables)
    spec = model.loss
    assert spec is not None and spec.target is not None
    output = values[spec.output]
    loss_class = getattr(keras.losses, KERAS_LOSSES[spec.type])
    loss = loss_class(dtype="float64", **({"from_logits": True} if spec.from_logits else {}))
    value = loss(torch.tensor(spec.target), output)
    assert value.dtype == torch.float64
    value.backward()
    grads = {"loss": value.detach().numpy()}
    for key, variable in {**variables, **inputs}.items():
        grads[key] = variable.grad.numpy() if variable.grad is not None else np.zeros(tuple(variable.shape))
    return grads


def _run(layer: Any, values: dict[str, Any], variables: dict[str, Any]) -> None:
    x = values[layer.input]
    if isinstance(layer, MaskingLayer):
        values[layer.name] = keras.layers.Masking(layer.mask_value, dtype="float64")(x)
        return
    if isinstance(layer, DenseLayer):
        dense = keras.layers.Dense(
            layer.units, activation=_activation(layer.activation), use_bias=layer.use_bias, dtype="float64"
        )
        dense.build(tuple(x.shape))
        dense.set_weights([layer.kernel] + ([layer.bias] if layer.bias is not None else []))
        values[layer.name] = dense(x)
        _collect(variables, layer.name, dense.trainable_variables, ("kernel", "bias"))
        return
    if isinstance(layer, BidirectionalLayer):
        wrapper = keras.layers.Bidirectional(
            _lstm(layer.forward),
            backward_layer=_lstm(layer.backward),
            merge_mode=layer.merge_mode,
            dtype="float64",
        )
        wrapper.build(tuple(x.shape))
        wrapper.set_weights([*_cell(layer.forward), *_cell(layer.backward)])
        names = [f"{d}.{w}" for d in ("forward", "backward") for w in ("kernel", "recurrent_kernel", "bias")]
        _collect(variables, layer.name, wrapper.trainable_variables, tuple(names))
        result = wrapper(x)
        result = list(result) if isinstance(result, list | tuple) else [result]
        refs = (
            [f"{layer.name}.forward", f"{layer.name}.backward"] if layer.merge_mode is None else [layer.name]
        )
        if layer.return_state:
            refs += [f"{layer.name}.{d}.{s}" for d in ("forward", "backward") for s in ("h", "c")]
        values.update(zip(refs, result, strict=True))
        return
    lstm = _lstm(layer)
    lstm.build(tuple(x.shape))
    lstm.set_weights(_cell(layer))
    _collect(variables, layer.name, lstm.trainable_variables, ("kernel", "recurrent_kernel", "bias"))
    state = layer.initial_state
    kwargs = {} if state is None else {"initial_state": [values[state.h], values[state.c]]}
    result = lstm(x, **kwargs)
    if layer.return_state:
        values[layer.name], values[f"{layer.name}.h"], values[f"{layer.name}.c"] = result
    else:
        values[layer.name] = result


def _cell(layer: LstmLayer) -> list[np.ndarray]:
    weights = layer.weights
    assert weights is not None
    return [weights.kernel, weights.recurrent_kernel] + ([weights.bias] if weights.bias is not None else [])


def _collect(variables: dict[str, Any], prefix: str, found: list[Any], names: tuple[str, ...]) -> None:
    for name, variable in zip(names, found, strict=False):
        variables[f"{prefix}.{name}"] = variable.value


def assert_matches_keras(config: dict[str, Any]) -> None:
    ours = lstm_cli.backward(config, dtype="float64")
    expected = keras_gradients(config)
    for key, want in expected.items():
        scale = max(1.0, float(np.abs(want).max(initial=0)))
        np.testing.assert_allclose(ours[key], want, rtol=0, atol=RTOL * scale, err_msg=key)


def masked_chain(
    seed: int,
    loss: str,
    activation: str = "tanh",
    recurrent_activation: str = "sigmoid",
    head: str = "linear",
    from_logits: bool = False,
) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 0.3 if "exponential" in (activation, head) else 1, (2, 4, 3))  # exp grows fast
    x[0, -1] = 0.0
    x[1, 0] = 0.0
    config: dict[str, Any] = {
        "input": x.tolist(),
        "layers": [
            {"type": "masking"},
            {
                "type": "lstm",
                "name": "lstm",
                "units": 3,
                "return_sequences": True,
                "activation": activation,
                "recurrent_activation": recurrent_activation,
                **lstm_weights(rng, 3, 3),
            },
            dense_entry(rng, 3, 4, head, name="dense"),
        ],
    }
    config["loss"] = {"type": loss, "target": target_for(loss, (2, 4, 4), rng)} | (
        {"from_logits": True} if from_logits else {}
    )
    return config


HEADS = {
    "binary_crossentropy": "sigmoid",
    "categorical_crossentropy": "softmax",
    "sparse_categorical_crossentropy": "softmax",
}


@pytest.mark.parametrize("loss", list(KERAS_LOSSES))
def test_every_loss_through_masking_matches_keras(loss: str) -> None:
    assert_matches_keras(masked_chain(100, loss, head=HEADS.get(loss, "linear")))


@pytest.mark.parametrize(
    "loss", ["binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy"]
)
def test_crossentropies_from_logits_match_keras(loss: str) -> None:
    assert_matches_keras(masked_chain(101, loss, from_logits=True))


# Keras 3 knows every activation of SPEC §1 but tf.keras 2's hard sigmoid, which it dropped.
KERAS_ACTIVATIONS = tuple(name for name in ACTIVATIONS if name is not None and name != "hard_sigmoid_tf2")


@pytest.mark.parametrize("name", KERAS_ACTIVATIONS)
def test_every_activation_matches_keras(name: str) -> None:
    seed = 110 + KERAS_ACTIVATIONS.index(name)
    assert_matches_keras(masked_chain(seed, "mse", activation=name, head=name))
    assert_matches_keras(masked_chain(seed, "mse", recurrent_activation=name))


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
def test_bidirectional_every_merge_mode_matches_keras(merge_mode: str | None) -> None:
    rng = np.random.default_rng(130)
    x = rng.normal(0, 1, (2, 4, 3))
    x[0, 2:] = 0.0
    layer = {
        "type": "bidirectional",
        "name": "bi",
        "units": 2,
        "merge_mode": merge_mode,
        "return_sequences": True,
        "forward": lstm_weights(rng, 3, 2),
        "backward": lstm_weights(rng, 3, 2),
    }
    config: dict[str, Any] = {"input": x.tolist(), "layers": [{"type": "masking"}, layer]}
    ref = "bi.backward" if merge_mode is None else "bi"
    shape = lstm_cli.forward(config)[ref].shape
    config["loss"] = {"type": "mse", "output": ref, "target": rng.normal(0, 1, shape).tolist()}
    assert_matches_keras(config)


def test_seq2seq_matches_keras() -> None:
    import yaml

    with open("configs/seq2seq.yaml", encoding="utf-8") as file:
        config = yaml.safe_load(file)
    config.pop("vocab")
    config["inputs"] = {
        name: np.eye(6)[[row.index(1) for row in rows]].tolist() for name, rows in config["inputs"].items()
    }
    config["loss"] = {"type": "categorical_crossentropy", "target": np.eye(6)[[[5, 4, 3, 2, 1]]].tolist()}
    assert_matches_keras(config)


def test_the_float64_patch_is_what_keeps_keras_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the fixture's patch, Keras's Dense computes its matmul in float32 (SPEC's oracle notes)."""
    from keras.src.backend.common import dtypes

    monkeypatch.setitem(dtypes.BIT64_TO_BIT32_DTYPE, "float64", "float32")
    config = masked_chain(140, "mse")
    with pytest.raises(AssertionError):
        keras_gradients(config)
