"""`lstm-cli decode`: greedy seq2seq decoding, held to Keras's own encoder_model/decoder_model loop, to
hand-worked tiny models (ties, stop, --max-steps, the carried state), and to exact messages for bad input.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from conftest import CONFIGS, assert_golden, run_cli

from lstm_cli.config import load_model
from lstm_cli.decoding import decode
from lstm_cli.engine import run_model

SEQ2SEQ = str(CONFIGS / "seq2seq.yaml")
SEED = str(CONFIGS / "seed.yaml")
REVERSE = ("decode", SEQ2SEQ, "--feed", "decoder_inputs", "--start", "<s>", "--stop", "</s>")
FLOAT32_TOLERANCE = 1e-5  # Keras computes in float32


def write(tmp_path: Path, text: str, name: str = "model.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def decoded_json(*args: str) -> dict[str, Any]:
    run = run_cli(*args, "--format", "json")
    assert run.exit_code == 0, run.stderr
    assert run.stderr == ""
    document = json.loads(run.stdout)
    assert isinstance(document, dict)
    return document


# -- the example: configs/seq2seq.yaml reverses its string ----------------------------------------------


def test_seq2seq_example_reverses_abcd() -> None:
    document = decoded_json(*REVERSE)
    assert list(document) == ["tokens", "indices", "probabilities"]
    assert document["tokens"] == ["d", "c", "b", "a", "</s>"]
    assert document["indices"] == [5, 4, 3, 2, 1]
    probabilities = np.array(document["probabilities"])
    assert probabilities.shape == (5, 6)  # (steps, vocab)
    assert np.allclose(probabilities.sum(axis=1), 1.0)  # the decoder ends in a softmax
    assert (probabilities.max(axis=1) > 0.98).all()


def test_seq2seq_example_reverses_every_string_it_was_trained_on() -> None:
    """All 340 strings of 1 to 4 letters, as scripts/train_seq2seq.py checks before writing the file."""
    model = load_model(SEQ2SEQ)
    spec = model.inputs["encoder_inputs"]
    for length in range(1, 5):
        for letters in itertools.product("abcd", repeat=length):
            data = np.eye(6)[[2 + "abcd".index(letter) for letter in letters]][np.newaxis]
            inputs = {**model.inputs, "encoder_inputs": dataclasses.replace(spec, data=data)}
            decoding = decode(
                dataclasses.replace(model, inputs=inputs), "decoder_inputs", "<s>", stop="</s>", max_steps=6
            )
            assert decoding.tokens == [*letters[::-1], "</s>"], letters


def test_decode_agrees_with_forward_under_teacher_forcing() -> None:
    """The config's decoder_inputs is `<s> d c b a`, the tokens decode feeds itself: one computation."""
    model = load_model(SEQ2SEQ)
    forward = run_model(model).values["decoder_dense"][0]  # (5, vocab)
    decoding = decode(model, "decoder_inputs", "<s>", stop="</s>", max_steps=20, record=True)
    assert np.allclose([step.probabilities for step in decoding.steps], forward, rtol=0, atol=1e-12)
    (trace,) = decoding.traces
    assert [record.t for record in trace.steps] == [0, 1, 2, 3, 4]
    hidden = run_model(model).values["decoder_lstm"][0]  # (5, units)
    assert np.allclose([record.h[0] for record in trace.steps], hidden, rtol=0, atol=1e-12)


def test_seq2seq_table_golden() -> None:
    run = run_cli(*REVERSE)
    assert run.exit_code == 0
    assert run.stderr == ""
    assert_golden("decode-seq2seq.txt", run.stdout)
    assert "decoded: d c b a </s>" in run.stdout
    assert "stopped at </s> after 5 tokens" in run.stdout


def test_seq2seq_trace_golden() -> None:
    run = run_cli(*REVERSE, "--trace")
    assert run.exit_code == 0
    assert_golden("decode-seq2seq-trace.txt", run.stdout)
    assert "decoder_lstm (LSTM): 4 units" in run.stdout


def test_precision_rounds_json() -> None:
    document = decoded_json(*REVERSE, "--precision", "2")
    assert document["probabilities"][0] == [0.0, 0.0, 0.0, 0.0, 0.0, 1.0]


def test_float32() -> None:
    document = decoded_json(*REVERSE, "--dtype", "float32")
    assert document["tokens"] == ["d", "c", "b", "a", "</s>"]


def test_batch_decodes_the_chosen_sequence(tmp_path: Path) -> None:
    config = yaml.safe_load((CONFIGS / "seq2seq.yaml").read_text())
    letters = {"a": 2, "b": 3, "c": 4, "d": 5}
    config["inputs"] = {
        "encoder_inputs": [np.eye(6)[[letters[x] for x in text]].tolist() for text in ("ab", "cd")],
        "decoder_inputs": {"shape": [None, 6]},  # decode feeds it; it needs no data
    }
    path = write(tmp_path, yaml.safe_dump(config))
    args = ("decode", path, "--feed", "decoder_inputs", "--start", "<s>", "--stop", "</s>")
    assert decoded_json(*args, "--sample", "0")["tokens"] == ["b", "a", "</s>"]
    assert decoded_json(*args, "--sample", "1")["tokens"] == ["d", "c", "</s>"]
    assert_one_line_error(
        run_cli(*args),
        "the batch holds 2 sequences; decode one at a time with --sample B (0 to 1)",
    )
    assert_one_line_error(
        run_cli(*args, "--sample", "2"), "--sample 2: out of range; the batch holds 2 sequences (0 to 1)"
    )


# -- hand-worked tiny models ----------------------------------------------------------------------------

# The decoder's LSTM ignores what it is fed and counts: with linear gates and z = bias, i = f = g = o = 1,
# so c_t = c_{t-1} + 1 and h_t = c_t = t + 1 from a zero state. The Dense logits are
# h * [-1, 0, 1] + [1.5, 0, -1.5]: [0.5, 0, -0.5] at h = 1 (x), [-0.5, 0, 0.5] at h = 2 (z), then z.
# A decoder that did not carry its state from step to step would say x at every step.
COUNTER = """\
description: A counter that ignores its input.
vocab: [x, y, z]
inputs:
  tokens: {shape: [null, 3]}
layers:
  - type: lstm
    name: counter
    units: 1
    activation: linear
    recurrent_activation: linear
    kernel: [[0, 0, 0, 0],
             [0, 0, 0, 0],
             [0, 0, 0, 0]]
    recurrent_kernel: [[0, 0, 0, 0]]
    bias: [1, 1, 1, 1]
    return_sequences: true
  - type: dense
    units: 3
    kernel: [[-1, 0, 1]]
    bias: [1.5, 0, -1.5]
"""

# Logits [0, 1, 1] whatever happens: y and z tie, and the first index (y) wins, as numpy.argmax and
# Keras's example (np.argmax) take it.
TIE = """\
vocab: [x, y, z]
inputs:
  tokens: {shape: [null, 3]}
layers:
  - type: lstm
    name: decoder
    units: 1
    kernel: [[0, 0, 0, 0],
             [0, 0, 0, 0],
             [0, 0, 0, 0]]
    recurrent_kernel: [[0, 0, 0, 0]]
    bias: [0, 0, 0, 0]
  - type: dense
    units: 3
    kernel: [[0, 0, 0]]
    bias: [0, 1, 1]
"""


def counter_args(tmp_path: Path, *extra: str, text: str = COUNTER) -> tuple[str, ...]:
    return ("decode", write(tmp_path, text), "--feed", "tokens", "--start", "x", *extra)


def test_state_is_carried_from_step_to_step(tmp_path: Path) -> None:
    document = decoded_json(*counter_args(tmp_path, "--max-steps", "4"))
    assert document == {
        "tokens": ["x", "z", "z", "z"],
        "indices": [0, 2, 2, 2],
        "probabilities": [[0.5, 0.0, -0.5], [-0.5, 0.0, 0.5], [-1.5, 0.0, 1.5], [-2.5, 0.0, 2.5]],
    }


def test_configured_initial_state_starts_the_first_step(tmp_path: Path) -> None:
    # c_0 = 2, so h = 3, 4: z from the first step.
    text = COUNTER.replace("    return_sequences: true\n", "    initial_state: [[2], [2]]\n")
    document = decoded_json(*counter_args(tmp_path, "--max-steps", "2", text=text))
    assert document["tokens"] == ["z", "z"]
    assert document["probabilities"] == [[-1.5, 0.0, 1.5], [-2.5, 0.0, 2.5]]


def test_stop_token_ends_the_decoding_and_is_kept(tmp_path: Path) -> None:
    document = decoded_json(*counter_args(tmp_path, "--stop", "z", "--max-steps", "10"))
    assert document["tokens"] == ["x", "z"]
    run = run_cli(*counter_args(tmp_path, "--stop", "z"))
    assert "stopped at z after 2 tokens" in run.stdout


def test_stop_on_the_first_step(tmp_path: Path) -> None:
    assert decoded_json(*counter_args(tmp_path, "--stop", "x"))["tokens"] == ["x"]


def test_max_steps_caps_the_tokens(tmp_path: Path) -> None:
    assert decoded_json(*counter_args(tmp_path, "--max-steps", "1"))["tokens"] == ["x"]
    document = decoded_json(*counter_args(tmp_path, "--stop", "y", "--max-steps", "3"))
    assert document["tokens"] == ["x", "z", "z"]  # y never comes
    run = run_cli(*counter_args(tmp_path, "--stop", "y", "--max-steps", "3"))
    assert "stopped after --max-steps 3 (3 tokens) without reaching y" in run.stdout


def test_default_max_steps_is_20(tmp_path: Path) -> None:
    assert len(decoded_json(*counter_args(tmp_path))["tokens"]) == 20
    run = run_cli(*counter_args(tmp_path))
    assert "no --stop given: stopped after --max-steps 20 (20 tokens)" in run.stdout


def test_ties_take_the_first_index(tmp_path: Path) -> None:
    document = decoded_json(*counter_args(tmp_path, "--max-steps", "2", text=TIE))
    assert document["tokens"] == ["y", "y"]
    assert document["indices"] == [1, 1]
    run = run_cli(*counter_args(tmp_path, "--max-steps", "2", text=TIE))
    assert "│    0 │ x   │ y 1            │ z 1   │ x 0   │" in run.stdout  # ranked stably: y before z


def test_top_sets_the_columns(tmp_path: Path) -> None:
    run = run_cli(*counter_args(tmp_path, "--max-steps", "1", "--top", "1"))
    assert "top 1 (chosen)" in run.stdout
    assert "top 2" not in run.stdout
    run = run_cli(*counter_args(tmp_path, "--max-steps", "1", "--top", "9"))  # at most the vocab
    assert "top 3" in run.stdout
    assert "top 4" not in run.stdout


def test_trace_rows_are_decoding_steps(tmp_path: Path) -> None:
    run = run_cli(*counter_args(tmp_path, "--max-steps", "3", "--trace"))
    assert run.exit_code == 0
    rows = [line for line in run.stdout.splitlines() if re.match(r"│ \d │ \[1\]", line)]
    assert [row.split("│")[1].strip() for row in rows] == ["0", "1", "2"]
    assert rows[2].split("│")[6].strip() == "[3]"  # c after three steps


def test_masking_in_the_decoder_passes_the_tokens(tmp_path: Path) -> None:
    text = COUNTER.replace("layers:\n", "layers:\n  - type: masking\n    name: mask\n    input: tokens\n")
    assert decoded_json(*counter_args(tmp_path, "--max-steps", "2", text=text))["tokens"] == ["x", "z"]


def test_long_decoding_table_is_bounded(tmp_path: Path) -> None:
    run = run_cli(*counter_args(tmp_path, "--max-steps", "100"))
    assert run.exit_code == 0
    assert "60 of 100 steps left out; --format json gives every value" in " ".join(run.stdout.split())
    assert "│   99 │" in run.stdout


# -- against Keras's own inference loop -----------------------------------------------------------------


def random_seq2seq(seed: int, vocab_size: int, latent: int, timesteps: int, stacked: int) -> dict[str, Any]:
    """A Keras-style seq2seq config with random weights: an encoder, `stacked` decoder LSTMs (the first
    starts from the encoder's states, the rest from zeros) and a Dense softmax."""
    rng = np.random.default_rng(seed)

    def lstm(features: int) -> dict[str, Any]:
        return {
            "units": latent,
            "kernel": rng.normal(0, 1.0, (features, 4 * latent)).tolist(),
            "recurrent_kernel": rng.normal(0, 1.0, (latent, 4 * latent)).tolist(),
            "bias": rng.normal(0, 0.5, 4 * latent).tolist(),
        }

    encoder = {"type": "lstm", "name": "encoder", "input": "encoder_inputs", "return_state": True}
    layers: list[dict[str, Any]] = [{**encoder, **lstm(vocab_size)}]
    source = "decoder_inputs"
    for index in range(stacked):
        layer = {"type": "lstm", "name": f"decoder_{index}", "input": source, "return_sequences": True}
        layer.update(lstm(vocab_size if index == 0 else latent))
        if index == 0:
            layer["initial_state"] = ["encoder.h", "encoder.c"]
        layers.append(layer)
        source = layer["name"]
    layers.append(
        {
            "type": "dense",
            "name": "decoder_dense",
            "input": source,
            "units": vocab_size,
            "activation": "softmax",
            "kernel": rng.normal(0, 2.0, (latent, vocab_size)).tolist(),
            "bias": rng.normal(0, 0.5, vocab_size).tolist(),
        }
    )
    return {
        "vocab": ["<s>", "</s>", *[f"t{k}" for k in range(vocab_size - 2)]],
        "inputs": {
            "encoder_inputs": np.eye(vocab_size)[rng.integers(2, vocab_size, timesteps)].tolist(),
            "decoder_inputs": {"shape": [None, vocab_size]},
        },
        "layers": layers,
        "outputs": ["decoder_dense"],
    }


def keras_decode(config: dict[str, Any], max_steps: int) -> tuple[list[int], np.ndarray]:
    """The ten-minute example's inference: encoder_model gives the states, then decoder_model runs one
    step at a time on the one-hot of the last argmax, its states fed back, until '</s>' or max_steps."""
    keras = pytest.importorskip("keras")
    vocab_size = len(config["vocab"])
    encoder_spec, *decoder_specs, dense_spec = config["layers"]
    latent = encoder_spec["units"]

    def weights(spec: dict[str, Any]) -> list[np.ndarray]:
        return [np.array(spec[key], dtype="float32") for key in ("kernel", "recurrent_kernel", "bias")]

    encoder_inputs = keras.Input(shape=(None, vocab_size))
    encoder = keras.layers.LSTM(latent, return_state=True)
    _, state_h, state_c = encoder(encoder_inputs)
    encoder.set_weights(weights(encoder_spec))
    encoder_model = keras.Model(encoder_inputs, [state_h, state_c])

    decoder_inputs = keras.Input(shape=(None, vocab_size))
    states_inputs = [keras.Input(shape=(latent,)) for _ in range(2 * len(decoder_specs))]
    x, states = decoder_inputs, []
    for index, spec in enumerate(decoder_specs):
        lstm = keras.layers.LSTM(latent, return_sequences=True, return_state=True)
        x, h, c = lstm(x, initial_state=states_inputs[2 * index : 2 * index + 2])
        lstm.set_weights(weights(spec))
        states += [h, c]
    dense = keras.layers.Dense(vocab_size, activation="softmax")
    outputs = dense(x)
    dense.set_weights([np.array(dense_spec["kernel"], "float32"), np.array(dense_spec["bias"], "float32")])
    decoder_model = keras.Model([decoder_inputs, *states_inputs], [outputs, *states])

    input_seq = np.array([config["inputs"]["encoder_inputs"]], dtype="float32")
    states_value = [np.asarray(s) for s in encoder_model.predict(input_seq, verbose=0)]
    states_value += [np.zeros((1, latent), "float32")] * (2 * (len(decoder_specs) - 1))
    target_seq = np.zeros((1, 1, vocab_size), "float32")
    target_seq[0, 0, 0] = 1.0  # <s>
    indices, probabilities = [], []
    while True:
        output_tokens, *states_value = decoder_model.predict([target_seq, *states_value], verbose=0)
        sampled = int(np.argmax(output_tokens[0, -1, :]))
        indices.append(sampled)
        probabilities.append(np.asarray(output_tokens[0, -1, :]))
        if sampled == 1 or len(indices) >= max_steps:  # '</s>'
            break
        target_seq = np.zeros((1, 1, vocab_size), "float32")
        target_seq[0, 0, sampled] = 1.0
    return indices, np.array(probabilities)


def keras_available() -> None:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    pytest.importorskip("keras")


@pytest.mark.slow  # an oracle: Keras
@pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")
@pytest.mark.parametrize(
    ("seed", "vocab_size", "latent", "timesteps", "stacked"),
    [(0, 6, 4, 3, 1), (1, 7, 5, 5, 1), (2, 5, 3, 2, 2), (3, 8, 6, 4, 2)],
)
def test_decode_matches_keras_inference_loop(
    tmp_path: Path, seed: int, vocab_size: int, latent: int, timesteps: int, stacked: int
) -> None:
    keras_available()
    config = random_seq2seq(seed, vocab_size, latent, timesteps, stacked)
    expected_indices, expected_probabilities = keras_decode(config, max_steps=8)
    path = write(tmp_path, yaml.safe_dump(config))
    args = (*REVERSE[:1], path, *REVERSE[2:], "--max-steps", "8")
    for dtype in ("float32", "float64"):
        document = decoded_json(*args, "--dtype", dtype)
        assert document["indices"] == expected_indices
        assert document["tokens"] == [config["vocab"][k] for k in expected_indices]
        assert np.allclose(document["probabilities"], expected_probabilities, rtol=0, atol=FLOAT32_TOLERANCE)


@pytest.mark.slow  # an oracle: Keras
@pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")
def test_seq2seq_example_matches_keras_inference_loop() -> None:
    keras_available()
    config = yaml.safe_load((CONFIGS / "seq2seq.yaml").read_text())
    expected_indices, expected_probabilities = keras_decode(config, max_steps=20)
    document = decoded_json(*REVERSE, "--dtype", "float32")
    assert document["indices"] == expected_indices == [5, 4, 3, 2, 1]
    assert np.allclose(document["probabilities"], expected_probabilities, rtol=0, atol=FLOAT32_TOLERANCE)


# -- errors: one line on stderr, exit 2, nothing on stdout ------------------------------------------------


def assert_one_line_error(run: Any, message: str) -> None:
    assert run.exit_code == 2
    assert run.stdout == ""
    assert run.stderr == f"lstm-cli: error: {message}\n"


def test_error_model_without_vocab() -> None:
    run = run_cli("decode", SEED, "--feed", "input", "--start", "a")
    assert_one_line_error(
        run,
        f"{SEED}:1:1: decode needs a `vocab:` in the config, "
        "a list of tokens (token k is one-hot position k), or --vocab FILE, one token per line",
    )


def test_error_unknown_feed_input() -> None:
    run = run_cli("decode", SEQ2SEQ, "--feed", "decoder_input", "--start", "<s>")
    assert_one_line_error(
        run,
        "--feed 'decoder_input': no such input; did you mean 'decoder_inputs'? "
        "(the inputs are: encoder_inputs, decoder_inputs)",
    )


def test_error_unknown_start_token() -> None:
    run = run_cli("decode", SEQ2SEQ, "--feed", "decoder_inputs", "--start", "<S>")
    assert_one_line_error(
        run,
        "--start '<S>' is not in the vocab; did you mean '<s>'? "
        "(the vocab: '<s>', '</s>', 'a', 'b', 'c', 'd')",
    )


def test_error_unknown_stop_token() -> None:
    run = run_cli("decode", SEQ2SEQ, "--feed", "decoder_inputs", "--start", "<s>", "--stop", "e")
    assert_one_line_error(
        run, "--stop 'e' is not in the vocab (the vocab: '<s>', '</s>', 'a', 'b', 'c', 'd')"
    )


def test_error_long_vocab_is_cut_short(tmp_path: Path) -> None:
    tokens = [f"w{k}" for k in range(20)]
    text = TIE.replace("vocab: [x, y, z]", f"vocab: [{', '.join(tokens)}]")
    run = run_cli("decode", write(tmp_path, text), "--feed", "tokens", "--start", "nothing")
    assert run.exit_code == 2
    assert run.stderr.endswith("'w10', 'w11', ... (20 tokens))\n")


def test_error_feed_width_differs_from_vocab(tmp_path: Path) -> None:
    text = TIE.replace("vocab: [x, y, z]", "vocab: [x, y, z, w]")
    path = write(tmp_path, text)
    run = run_cli("decode", path, "--feed", "tokens", "--start", "x")
    assert_one_line_error(
        run,
        f"{path}:3:3: inputs.tokens: --feed 'tokens' reads 3 features, but the vocab has 4 tokens; "
        "the fed one-hot is as wide as the vocab",
    )


def test_error_feed_read_by_an_embedding(tmp_path: Path) -> None:
    # Its shape (timesteps,) is no one-hot width: the check above once read the timesteps as features.
    path = write(
        tmp_path,
        "vocab: [<pad>, a, b]\ninputs:\n  ids: [[a, b]]\nlayers:\n"
        "  - {type: embedding, input_dim: 3, output_dim: 3, embeddings: [[0, 0, 0], [1, 0, 0], [0, 1, 0]]}\n",
    )
    run = run_cli("decode", path, "--feed", "ids", "--start", "a")
    assert_one_line_error(
        run,
        f"{path}:3:3: inputs.ids: --feed 'ids' is read by an embedding as ids; decode feeds one-hot rows as "
        "wide as the vocab (Keras's character-level seq2seq), and does not drive a decoder that embeds ids",
    )


def test_error_decoded_output_width_differs_from_vocab(tmp_path: Path) -> None:
    text = TIE.replace("    units: 3\n    kernel: [[0, 0, 0]]\n    bias: [0, 1, 1]", "    units: 2")
    text = text.replace("  - type: dense\n", "  - type: dense\n    kernel: [[0, 0]]\n    bias: [0, 1]\n")
    path = write(tmp_path, text)
    run = run_cli("decode", path, "--feed", "tokens", "--start", "x")
    assert_one_line_error(
        run,
        f"{path}:13:5: layers[1]: the decoded output 'dense' has 2 values per step, but the vocab has 3 "
        "tokens; its argmax must pick a token",
    )


def test_error_no_output_depends_on_the_feed(tmp_path: Path) -> None:
    text = TIE.replace(
        "  tokens: {shape: [null, 3]}\n", "  tokens: {shape: [null, 3]}\n  other: [[1, 0, 0]]\n"
    )
    text = text.replace("    name: decoder\n", "    name: decoder\n    input: tokens\n")
    run = run_cli("decode", write(tmp_path, text), "--feed", "other", "--start", "x")
    assert_one_line_error(
        run,
        "no output of the model depends on --feed 'other' (the outputs are: dense); "
        "feed the input that the decoder reads",
    )


def test_error_bidirectional_decoder(tmp_path: Path) -> None:
    zeros = "[0, 0, 0, 0]"
    half = f"{{kernel: [{zeros}, {zeros}, {zeros}], recurrent_kernel: [{zeros}], bias: {zeros}}}"
    text = f"""\
vocab: [x, y, z]
inputs:
  tokens: {{shape: [null, 3]}}
layers:
  - type: bidirectional
    name: both
    units: 1
    merge_mode: sum
    forward: {half}
    backward: {half}
  - type: dense
    units: 3
    kernel: [[0, 0, 0]]
    bias: [0, 1, 1]
"""
    path = write(tmp_path, text)
    run = run_cli("decode", path, "--feed", "tokens", "--start", "x")
    assert_one_line_error(
        run,
        f"{path}:5:5: layers[0]: layer 'both' (bidirectional) depends on --feed 'tokens', but decode feeds "
        "one step at a time and a bidirectional layer reads the whole sequence",
    )


def test_a_decoder_fed_only_through_its_initial_state_is_refused() -> None:
    # --feed encoder_inputs: decoder_lstm depends on it only through [encoder.h, encoder.c], and reads the
    # whole decoder_inputs sequence at every decoding step; its tokens would never be fed.
    run = run_cli("decode", SEQ2SEQ, "--feed", "encoder_inputs", "--start", "<s>")
    assert_one_line_error(
        run,
        f"{SEQ2SEQ}:37:5: layers[1]: layer 'decoder_lstm' depends on --feed 'encoder_inputs' only through "
        "its initial state: it reads 'decoder_inputs', which decode does not feed one step at a time; feed "
        "the input the decoder reads",
    )


def test_error_decoder_without_weights(tmp_path: Path) -> None:
    text = re.sub(r"    kernel: \[\[0, 0, 0, 0\],\n.*\n.*\n    recurrent_kernel: .*\n    bias: .*\n", "", TIE)
    path = write(tmp_path, text)
    run = run_cli("decode", path, "--feed", "tokens", "--start", "x")
    assert_one_line_error(
        run, f"{path}:5:5: layers[0]: layer 'decoder' has no weights; without them it serves `summary` only"
    )


def test_error_encoder_input_without_data(tmp_path: Path) -> None:
    text = (CONFIGS / "seq2seq.yaml").read_text()
    text = re.sub(
        r"  encoder_inputs: \[\[.*?\]\]\n", "  encoder_inputs: {shape: [null, 6]}\n", text, flags=re.S
    )
    path = write(tmp_path, text)
    line = text.splitlines().index("  encoder_inputs: {shape: [null, 6]}") + 1
    run = run_cli(*REVERSE[:1], path, *REVERSE[2:])
    assert_one_line_error(
        run,
        f"{path}:{line}:3: inputs.encoder_inputs: input 'encoder_inputs' has a shape but no data; "
        "give an array to run it, or --input encoder_inputs=FILE",
    )


def test_error_overflow_names_the_decoding_step(tmp_path: Path) -> None:
    # f = 1e200 with linear gates: c = 1e200 after step 0, then 1e400 = inf.
    text = COUNTER.replace("bias: [1, 1, 1, 1]", "bias: [0, 1e200, 0, 0]\n    initial_state: [[1], [1]]")
    path = write(tmp_path, text)
    run = run_cli(*counter_args(tmp_path, text=text))
    assert_one_line_error(
        run,
        f"{path}:6:5: layers[0]: decoding step 1: layer 'counter' overflowed to inf or NaN at timestep 0; "
        "its values grow without bound (a linear activation?)",
    )


def test_trace_of_a_decoder_without_lstm_layers_says_so(tmp_path: Path) -> None:
    # An identity softmax Dense as the whole decoder: fed x = [1, 0, 0], it gives softmax([1, 0, 0]),
    # whose argmax is x again. There are no gates to trace, and the view says so rather than nothing.
    text = (
        "vocab: [x, y, z]\ninputs: {tokens: {shape: [null, 3]}}\nlayers:\n  - {type: dense, units: 3, "
        "activation: softmax, kernel: [[1, 0, 0], [0, 1, 0], [0, 0, 1]], bias: [0, 0, 0]}\n"
    )
    run = run_cli(
        "decode", write(tmp_path, text), "--feed", "tokens", "--start", "x", "--max-steps", "2", "--trace"
    )
    assert run.exit_code == 0
    assert "decoded: x x" in run.stdout
    assert run.stdout.endswith("--trace: the decoder has no LSTM layers, so there are no gates to show.\n")


def test_error_trace_with_json() -> None:
    run = run_cli(*REVERSE, "--trace", "--format", "json")
    assert_one_line_error(run, "--trace shows the table format; it does not apply to --format json")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--start", "<s>"), "Missing option '--feed'."),
        (("--feed", "decoder_inputs"), "Missing option '--start'."),
        (
            ("--feed", "decoder_inputs", "--start", "<s>", "--max-steps", "0"),
            "Invalid value for '--max-steps': 0 is not in the range x>=1.",
        ),
        (
            ("--feed", "decoder_inputs", "--start", "<s>", "--format", "csv"),
            "Invalid value for '--format' / '-f': 'csv' is not one of 'table', 'json'.",
        ),
    ],
)
def test_usage_errors(args: tuple[str, ...], message: str) -> None:
    assert_one_line_error(run_cli("decode", SEQ2SEQ, *args), message)


def test_missing_config_file() -> None:
    run = run_cli("decode", "nowhere.yaml", "--feed", "x", "--start", "a")
    assert run.exit_code == 2
    assert run.stdout == ""
    assert run.stderr.startswith("lstm-cli: error: nowhere.yaml")
    assert run.stderr.count("\n") == 1
