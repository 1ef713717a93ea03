"""Functional graphs against Keras 3: seq2seq state passing, Bidirectional in every merge mode, Masking.

Each case builds one Keras functional model (Input → Masking → LSTM/Bidirectional → ...) with random
weights, runs `model.predict`, and compares every output with lstm_cli run on the same weights in float32.
Tolerance: 2e-5 of the array's largest magnitude (float32 arithmetic, a few hundred ulps of slack).
"""

from __future__ import annotations

import os
import zlib

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

import lstm_cli  # noqa: E402

pytestmark = pytest.mark.slow  # an oracle: Keras 3 on random functional graphs

TOLERANCE = 2e-5


def lstm_weights(rng: np.random.Generator, features: int, units: int) -> dict[str, np.ndarray]:
    return {
        "kernel": rng.uniform(-0.6, 0.6, (features, 4 * units)).astype(np.float32),
        "recurrent_kernel": rng.uniform(-0.6, 0.6, (units, 4 * units)).astype(np.float32),
        "bias": rng.uniform(-0.3, 0.3, 4 * units).astype(np.float32),
    }


def as_list(weights: dict[str, np.ndarray]) -> list[np.ndarray]:
    return [weights["kernel"], weights["recurrent_kernel"], weights["bias"]]


def compare(ours: dict[str, np.ndarray], theirs: dict[str, np.ndarray]) -> None:
    assert set(theirs) <= set(ours), f"missing references: {set(theirs) - set(ours)}"
    for ref, expected in theirs.items():
        expected = np.asarray(expected)
        assert ours[ref].shape == expected.shape, ref
        scale = max(1.0, float(np.abs(expected).max()))
        np.testing.assert_allclose(ours[ref], expected, atol=TOLERANCE * scale, rtol=0, err_msg=ref)


def masked_input(
    rng: np.random.Generator, batch: int, timesteps: int, features: int, pattern: str
) -> np.ndarray:
    x = rng.normal(0, 1, (batch, timesteps, features)).astype(np.float32)
    if pattern == "leading":
        x[:, :2] = 0.0
    elif pattern == "middle":
        x[:, timesteps // 2] = 0.0
    elif pattern == "trailing":
        x[:, -2:] = 0.0
    elif pattern == "mixed":  # a different pattern per sample, one sample fully masked
        x[0, :2] = 0.0
        x[1, -1] = 0.0
        x[-1] = 0.0
    return x


def test_seq2seq_decoder_starts_from_the_encoder_state() -> None:
    rng = np.random.default_rng(1)
    batch, enc_steps, dec_steps, enc_tokens, dec_tokens, latent = 2, 5, 4, 6, 7, 4
    encoder_x = rng.normal(0, 1, (batch, enc_steps, enc_tokens)).astype(np.float32)
    decoder_x = rng.normal(0, 1, (batch, dec_steps, dec_tokens)).astype(np.float32)
    encoder_w, decoder_w = lstm_weights(rng, enc_tokens, latent), lstm_weights(rng, dec_tokens, latent)
    dense_kernel = rng.uniform(-1, 1, (latent, dec_tokens)).astype(np.float32)
    dense_bias = rng.uniform(-0.2, 0.2, dec_tokens).astype(np.float32)

    encoder_inputs = keras.Input(shape=(None, enc_tokens))
    encoder = keras.layers.LSTM(latent, return_state=True)
    _, state_h, state_c = encoder(encoder_inputs)
    decoder_inputs = keras.Input(shape=(None, dec_tokens))
    decoder_lstm = keras.layers.LSTM(latent, return_sequences=True, return_state=True)
    decoder_outputs, _, _ = decoder_lstm(decoder_inputs, initial_state=[state_h, state_c])
    decoder_dense = keras.layers.Dense(dec_tokens, activation="softmax")
    model = keras.Model([encoder_inputs, decoder_inputs], [decoder_dense(decoder_outputs), state_h, state_c])
    encoder.set_weights(as_list(encoder_w))
    decoder_lstm.set_weights(as_list(decoder_w))
    decoder_dense.set_weights([dense_kernel, dense_bias])
    probabilities, h, c = model.predict([encoder_x, decoder_x], verbose=0)

    ours = lstm_cli.forward(
        {
            "dtype": "float32",
            "inputs": {"encoder_input": encoder_x, "decoder_input": decoder_x},
            "layers": [
                {
                    "type": "lstm",
                    "name": "encoder",
                    "input": "encoder_input",
                    "units": latent,
                    "return_state": True,
                    **encoder_w,
                },
                {
                    "type": "lstm",
                    "name": "decoder",
                    "input": "decoder_input",
                    "units": latent,
                    "return_sequences": True,
                    "return_state": True,
                    "initial_state": ["encoder.h", "encoder.c"],
                    **decoder_w,
                },
                {
                    "type": "dense",
                    "name": "decoder_dense",
                    "units": dec_tokens,
                    "activation": "softmax",
                    "kernel": dense_kernel,
                    "bias": dense_bias,
                },
            ],
            "outputs": ["decoder_dense"],
        }
    )
    compare(ours, {"decoder_dense": probabilities, "encoder.h": h, "encoder.c": c})


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("return_state", [False, True])
def test_bidirectional_every_merge_mode(
    merge_mode: str | None, return_sequences: bool, return_state: bool
) -> None:
    rng = np.random.default_rng(zlib.crc32(repr((merge_mode, return_sequences, return_state)).encode()))
    batch, timesteps, features, units = 2, 5, 3, 3
    x = rng.normal(0, 1, (batch, timesteps, features)).astype(np.float32)
    forward_w, backward_w = lstm_weights(rng, features, units), lstm_weights(rng, features, units)
    inputs = keras.Input(shape=(timesteps, features))
    layer = keras.layers.Bidirectional(
        keras.layers.LSTM(units, return_sequences=return_sequences, return_state=return_state),
        merge_mode=merge_mode,
    )
    outputs = layer(inputs)
    model = keras.Model(inputs, outputs)
    layer.set_weights(as_list(forward_w) + as_list(backward_w))
    predicted = model.predict(x, verbose=0)
    predicted = list(predicted) if isinstance(predicted, list | tuple) else [predicted]
    names = ["bi.forward", "bi.backward"] if merge_mode is None else ["bi"]
    if return_state:
        names += ["bi.forward.h", "bi.forward.c", "bi.backward.h", "bi.backward.c"]
    config_layer = {
        "type": "bidirectional",
        "name": "bi",
        "units": units,
        "return_sequences": return_sequences,
        "return_state": return_state,
        "merge_mode": merge_mode,
        "forward": forward_w,
        "backward": backward_w,
    }
    ours = lstm_cli.forward({"dtype": "float32", "input": x, "layers": [config_layer]})
    compare(ours, dict(zip(names, predicted, strict=True)))


@pytest.mark.parametrize("pattern", ["leading", "middle", "trailing", "mixed"])
@pytest.mark.parametrize("with_initial_state", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_masking_carries_state_and_repeats_the_output(
    pattern: str, with_initial_state: bool, return_sequences: bool
) -> None:
    rng = np.random.default_rng(zlib.crc32(repr((pattern, with_initial_state, return_sequences)).encode()))
    batch, timesteps, features, units = 3, 6, 2, 3
    x = masked_input(rng, batch, timesteps, features, pattern)
    weights = lstm_weights(rng, features, units)
    h0 = rng.normal(0, 0.5, (batch, units)).astype(np.float32)
    c0 = rng.normal(0, 0.5, (batch, units)).astype(np.float32)

    lstm = keras.layers.LSTM(units, return_sequences=return_sequences, return_state=True)
    if with_initial_state:
        # Keras 3.15's functional graph drops the Masking mask when initial_state arrives as Input tensors
        # (it then computes as if nothing were masked), so this case calls the layers eagerly, handing the
        # LSTM the mask that Keras's own Masking layer computes.
        masking = keras.layers.Masking(mask_value=0.0)
        lstm.build(x.shape)
        lstm.set_weights(as_list(weights))
        outputs = lstm(masking(x), initial_state=[h0, c0], mask=masking.compute_mask(x))
        output, h, c = (keras.ops.convert_to_numpy(tensor) for tensor in outputs)
    else:
        inputs = keras.Input(shape=(timesteps, features))
        model = keras.Model(inputs, list(lstm(keras.layers.Masking(mask_value=0.0)(inputs))))
        lstm.set_weights(as_list(weights))
        output, h, c = model.predict(x, verbose=0)

    layer = {
        "type": "lstm",
        "name": "lstm",
        "units": units,
        "return_sequences": return_sequences,
        "return_state": True,
        **weights,
    }
    if with_initial_state:
        layer["initial_state"] = [h0, c0]
    ours = lstm_cli.forward(
        {"dtype": "float32", "input": x, "layers": [{"type": "masking", "mask_value": 0.0}, layer]}
    )
    compare(ours, {"lstm": output, "lstm.h": h, "lstm.c": c})


@pytest.mark.parametrize("pattern", ["leading", "trailing", "mixed"])
@pytest.mark.parametrize("merge_mode", ["concat", "ave"])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_bidirectional_with_masking(pattern: str, merge_mode: str, return_sequences: bool) -> None:
    rng = np.random.default_rng(zlib.crc32(repr((pattern, merge_mode, return_sequences)).encode()))
    batch, timesteps, features, units = 3, 5, 2, 2
    x = masked_input(rng, batch, timesteps, features, pattern)
    forward_w, backward_w = lstm_weights(rng, features, units), lstm_weights(rng, features, units)
    inputs = keras.Input(shape=(timesteps, features))
    masked = keras.layers.Masking(mask_value=0.0)(inputs)
    layer = keras.layers.Bidirectional(
        keras.layers.LSTM(units, return_sequences=return_sequences, return_state=True), merge_mode=merge_mode
    )
    model = keras.Model(inputs, list(layer(masked)))
    layer.set_weights(as_list(forward_w) + as_list(backward_w))
    output, fh, fc, bh, bc = model.predict(x, verbose=0)
    ours = lstm_cli.forward(
        {
            "dtype": "float32",
            "input": x,
            "layers": [
                {"type": "masking"},
                {
                    "type": "bidirectional",
                    "name": "bi",
                    "units": units,
                    "return_sequences": return_sequences,
                    "return_state": True,
                    "merge_mode": merge_mode,
                    "forward": forward_w,
                    "backward": backward_w,
                },
            ],
        }
    )
    compare(
        ours, {"bi": output, "bi.forward.h": fh, "bi.forward.c": fc, "bi.backward.h": bh, "bi.backward.c": bc}
    )


@pytest.mark.parametrize("masked", [False, True])
def test_layers_read_states_and_unmerged_halves(masked: bool) -> None:
    """Layers fed NAME.forward, NAME.backward (merge_mode null) and NAME.forward.h / NAME.c: the halves keep
    the sequence's mask, as Keras's Bidirectional passes it to both outputs; states carry none."""
    rng = np.random.default_rng(11 + masked)
    batch, timesteps, features = 3, 5, 2
    x = masked_input(rng, batch, timesteps, features, "mixed" if masked else "none")
    forward_w, backward_w = lstm_weights(rng, features, 2), lstm_weights(rng, features, 2)
    on_forward_w, on_backward_w = lstm_weights(rng, 2, 3), lstm_weights(rng, 2, 2)
    dense_kernel = rng.uniform(-1, 1, (2, 3)).astype(np.float32)
    dense_bias = rng.uniform(-0.2, 0.2, 3).astype(np.float32)

    inputs = keras.Input(shape=(timesteps, features))
    hidden = keras.layers.Masking()(inputs) if masked else inputs
    bi = keras.layers.Bidirectional(
        keras.layers.LSTM(2, return_sequences=True, return_state=True), merge_mode=None
    )
    forward_seq, backward_seq, forward_h, _, _, _ = bi(hidden)
    on_forward = keras.layers.LSTM(3, return_state=True)
    on_backward = keras.layers.LSTM(2, return_sequences=True)
    dense_on_state = keras.layers.Dense(3)
    on_forward_output, _, on_forward_c = on_forward(forward_seq)
    outputs = [on_forward_output, on_backward(backward_seq), dense_on_state(forward_h), on_forward_c]
    model = keras.Model(inputs, outputs)
    bi.set_weights(as_list(forward_w) + as_list(backward_w))
    on_forward.set_weights(as_list(on_forward_w))
    on_backward.set_weights(as_list(on_backward_w))
    dense_on_state.set_weights([dense_kernel, dense_bias])
    expected_forward, expected_backward, expected_dense, expected_c = model.predict(x, verbose=0)

    layers: list[dict] = [{"type": "masking"}] if masked else []
    layers += [
        {
            "type": "bidirectional",
            "name": "bi",
            "units": 2,
            "return_sequences": True,
            "return_state": True,
            "merge_mode": None,
            "forward": forward_w,
            "backward": backward_w,
        },
        {"type": "lstm", "name": "on_forward", "input": "bi.forward", "units": 3, "return_state": True}
        | on_forward_w,
        {"type": "lstm", "name": "on_backward", "input": "bi.backward", "units": 2, "return_sequences": True}
        | on_backward_w,
        {"type": "dense", "name": "on_state", "input": "bi.forward.h", "units": 3}
        | {"kernel": dense_kernel, "bias": dense_bias},
        {"type": "dense", "name": "on_c", "input": "on_forward.c", "units": 3}
        | {"kernel": np.eye(3, dtype=np.float32), "bias": np.zeros(3, np.float32)},
    ]
    ours = lstm_cli.forward({"dtype": "float32", "input": x, "layers": layers})
    compare(
        ours,
        {
            "on_forward": expected_forward,
            "on_backward": expected_backward,
            "on_state": expected_dense,
            "on_c": expected_c,  # an identity Dense over a state: the state itself
        },
    )


@pytest.mark.parametrize("masked", [False, True])
def test_stacked_bidirectional_layers_then_dense(masked: bool) -> None:
    rng = np.random.default_rng(7 + masked)
    batch, timesteps, features = 2, 6, 3
    x = masked_input(rng, batch, timesteps, features, "mixed" if masked else "none")
    first_f, first_b = lstm_weights(rng, features, 3), lstm_weights(rng, features, 3)
    second_f, second_b = lstm_weights(rng, 6, 2), lstm_weights(rng, 6, 2)
    dense_kernel = rng.uniform(-1, 1, (2, 4)).astype(np.float32)
    dense_bias = np.zeros(4, np.float32)

    inputs = keras.Input(shape=(timesteps, features))
    hidden = keras.layers.Masking()(inputs) if masked else inputs
    first = keras.layers.Bidirectional(keras.layers.LSTM(3, return_sequences=True))
    second = keras.layers.Bidirectional(keras.layers.LSTM(2, return_sequences=True), merge_mode="sum")
    dense = keras.layers.Dense(4, activation="softmax")
    model = keras.Model(inputs, dense(second(first(hidden))))
    first.set_weights(as_list(first_f) + as_list(first_b))
    second.set_weights(as_list(second_f) + as_list(second_b))
    dense.set_weights([dense_kernel, dense_bias])
    expected = model.predict(x, verbose=0)

    layers: list[dict] = [{"type": "masking"}] if masked else []
    layers += [
        {
            "type": "bidirectional",
            "units": 3,
            "return_sequences": True,
            "forward": first_f,
            "backward": first_b,
        },
        {
            "type": "bidirectional",
            "units": 2,
            "return_sequences": True,
            "merge_mode": "sum",
            "forward": second_f,
            "backward": second_b,
        },
        {"type": "dense", "units": 4, "activation": "softmax", "kernel": dense_kernel, "bias": dense_bias},
    ]
    ours = lstm_cli.forward({"dtype": "float32", "input": x, "layers": layers})
    assert {"bidirectional", "bidirectional_1", "dense"} <= set(ours)  # Keras naming
    compare(ours, {"dense": expected})


def test_bidirectional_pytorch_layout_halves() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    batch, timesteps, features, units = 2, 4, 3, 2
    x = rng.normal(0, 1, (batch, timesteps, features)).astype(np.float32)
    module = torch.nn.LSTM(features, units, batch_first=True, bidirectional=True)
    state = {key: value.detach().numpy() for key, value in module.state_dict().items()}
    with torch.no_grad():
        expected, (h_n, c_n) = module(torch.from_numpy(x))
    halves = {
        direction: {
            name: state[f"{name}_l0{suffix}"] for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        }
        for direction, suffix in (("forward", ""), ("backward", "_reverse"))
    }
    ours = lstm_cli.forward(
        {
            "dtype": "float32",
            "input": x,
            "layers": [
                {
                    "type": "bidirectional",
                    "name": "bi",
                    "units": units,
                    "return_sequences": True,
                    "return_state": True,
                    **halves,
                }
            ],
        }
    )
    compare(
        ours,
        {
            "bi": expected.numpy(),
            "bi.forward.h": h_n[0].numpy(),
            "bi.backward.h": h_n[1].numpy(),
            "bi.forward.c": c_n[0].numpy(),
            "bi.backward.c": c_n[1].numpy(),
        },
    )


@pytest.mark.parametrize(
    "layers",
    [
        [("masking", None), ("bidirectional", None), ("lstm", None), ("bidirectional", None), ("lstm", None)],
        [("bidirectional", None), ("lstm", "lstm"), ("lstm", None)],  # Keras's count ignores given names
        [("lstm", None), ("bidirectional", "lstm_1"), ("lstm", None)],
    ],
    ids=["auto", "given-lstm", "given-lstm_1"],
)
def test_default_names_follow_keras(layers: list[tuple[str, str | None]]) -> None:
    """Names left out get Keras's own: a Bidirectional uses up an `lstm` name for the LSTM it wraps."""
    from lstm_cli.config import load_model

    build = {
        "masking": lambda name: keras.layers.Masking(name=name),
        "bidirectional": lambda name: keras.layers.Bidirectional(
            keras.layers.LSTM(2, return_sequences=True), name=name
        ),
        "lstm": lambda name: keras.layers.LSTM(2, return_sequences=True, name=name),
    }
    keras.backend.clear_session()  # Keras counts names per session: start from lstm, not lstm_7
    model = keras.Sequential([keras.Input((4, 3)), *(build[kind](name) for kind, name in layers)])
    config = [
        {"type": kind}
        | ({"name": name} if name else {})
        | ({} if kind == "masking" else {"units": 2, "return_sequences": True})
        for kind, name in layers
    ]
    ours = load_model({"input": {"shape": [4, 3]}, "layers": config})
    assert [layer.name for layer in ours.layers] == [layer.name for layer in model.layers]
