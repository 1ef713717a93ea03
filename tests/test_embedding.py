"""`type: embedding` (Keras Embedding, nn.Embedding): ids in, table rows out; mask_zero masks later layers."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest
from conftest import run_cli

import lstm_cli
from lstm_cli.config import load_model
from lstm_cli.errors import LstmCliError
from lstm_cli.summary import from_model

TABLE = [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]  # id 0 pads; ids 1 and 2 are the unit vectors


def one_unit_model(ids: Any, *, mask_zero: bool = False, **extra: Any) -> dict[str, Any]:
    """Embedding(3, 2) → a linear one-unit LSTM whose gates read x through distinct kernel columns."""
    return {
        "input": ids,
        **extra,
        "layers": [
            {
                "type": "embedding",
                "input_dim": 3,
                "output_dim": 2,
                "mask_zero": mask_zero,
                "embeddings": TABLE,
            },
            {
                "type": "lstm",
                "units": 1,
                "activation": None,
                "recurrent_activation": None,
                "return_sequences": True,
                "return_state": True,
                # columns i, f, g, o: x[0] feeds i=1, g=2; x[1] feeds f=1, o=3
                "kernel": [[1, 0, 2, 0], [0, 1, 0, 3]],
                "recurrent_kernel": [[0, 0, 0, 0]],
                "bias": [0, 0, 0, 0],
            },
        ],
    }


def test_an_embedding_feeds_its_rows_to_the_lstm_worked_by_hand() -> None:
    # ids [1, 2]: x_0 = [1, 0] gives i=1, f=0, g=2, o=0, so c_0 = 0*0 + 1*2 = 2 and h_0 = o*c = 0.
    # x_1 = [0, 1] gives i=0, f=1, g=0, o=3, so c_1 = 1*2 + 0 = 2 and h_1 = 3*2 = 6.
    out = lstm_cli.forward(one_unit_model([[1, 2]]))
    np.testing.assert_array_equal(out["embedding"], [[[1.0, 0.0], [0.0, 1.0]]])
    np.testing.assert_array_equal(out["lstm"], [[[0.0], [6.0]]])
    np.testing.assert_array_equal(out["lstm.c"], [[2.0]])


def test_mask_zero_masks_the_padded_steps_as_keras_does() -> None:
    # ids [1, 0, 2]: step 1 is padding, so it carries h and c unchanged and emits the previous output;
    # step 2 then runs as step 1 of the unpadded [1, 2] did.
    padded = lstm_cli.forward(one_unit_model([[1, 0, 2]], mask_zero=True))
    np.testing.assert_array_equal(padded["lstm"], [[[0.0], [0.0], [6.0]]])
    np.testing.assert_array_equal(padded["lstm.c"], [[2.0]])
    unmasked = lstm_cli.forward(one_unit_model([[1, 0, 2]], mask_zero=False))
    assert unmasked["lstm.c"][0, 0] == 0.0  # id 0's zero row then runs: f = 0 forgets c


def test_tokens_stand_for_their_ids_when_the_config_has_a_vocab() -> None:
    by_token = lstm_cli.forward(one_unit_model([["a", "b"]], vocab=["<pad>", "a", "b"]))
    by_id = lstm_cli.forward(one_unit_model([[1, 2]]))
    np.testing.assert_array_equal(by_token["lstm"], by_id["lstm"])


def test_one_sequence_of_ids_is_a_batch_of_one() -> None:
    model = load_model(one_unit_model([1, 2, 1]))
    assert model.shapes["input"] == (1, 3)
    assert model.shapes["embedding"] == (1, 3, 2)


def _error(config: dict[str, Any]) -> str:
    with pytest.raises(LstmCliError) as caught:
        load_model(config)
    return str(caught.value)


def test_an_id_outside_the_table_is_a_located_error() -> None:
    assert _error(one_unit_model([[1, 3]])) == (
        "<config>: input[0][1]: id 3 is outside [0, 3): embedding 'embedding' has input_dim 3"
    )
    assert _error(one_unit_model([2, -1])) == (
        "<config>: input[1]: id -1 is outside [0, 3): embedding 'embedding' has input_dim 3"
    )


def test_a_fractional_id_and_an_unknown_token_are_located_errors() -> None:
    assert _error(one_unit_model([[1, 1.5]])) == "<config>: input[0][1]: expected an integer id, got 1.5"
    assert _error(one_unit_model([["a", "bb"]], vocab=["<pad>", "a", "b"])) == (
        "<config>: input[0][1]: token 'bb' is not in the vocab; did you mean 'b'?"
    )


def test_an_embedding_must_read_a_model_input() -> None:
    config = one_unit_model([[1, 2]])
    config["layers"].append({"type": "embedding", "input_dim": 3, "output_dim": 2})
    assert _error(config) == (
        "<config>: layers[2]: an embedding reads integer ids (batch, timesteps) from a model input, but "
        "'lstm' is a layer; make it the first layer, or name an input with `input:`"
    )


def test_a_wrongly_shaped_table_names_the_formula() -> None:
    config = one_unit_model([[1, 2]])
    config["layers"][0]["embeddings"] = [[0.0, 0.0]]
    assert _error(config) == (
        "<config>: layers[0].embeddings: expected shape (3, 2) = (input_dim, output_dim), got (1, 2)"
    )


def test_summary_counts_the_table_and_lists_the_mask_op_as_keras_3_does() -> None:
    config = one_unit_model({"shape": [None]}, mask_zero=True)
    config["inputs"] = {"ids": config.pop("input")}
    config["outputs"] = ["lstm", "lstm.h"]  # two outputs: a functional model, as Keras would build it
    summary = from_model(load_model(config))
    rows = [(layer.name, layer.kind, layer.params, layer.inbound) for layer in summary.layers]
    # Keras 3.15: Input → Embedding(3, 2, mask_zero=True) → LSTM(1) lists a NotEqual op of the ids, which
    # the LSTM reads as its second tensor.
    assert rows == [
        ("ids", "InputLayer", 0, ()),
        ("embedding", "Embedding", 6, (("ids", 0),)),
        ("not_equal", "NotEqual", 0, (("ids", 0),)),
        ("lstm", "LSTM", 16, (("embedding", 0), ("not_equal", 0))),  # 4u(f + u + 1) = 4(2 + 1 + 1)
    ]


def test_use_mask_false_runs_an_lstm_without_its_inputs_mask() -> None:
    config = one_unit_model([[1, 0, 2]], mask_zero=True)
    config["layers"][1]["use_mask"] = False
    ignoring = lstm_cli.forward(config)
    unmasked = lstm_cli.forward(one_unit_model([[1, 0, 2]], mask_zero=False))
    np.testing.assert_array_equal(ignoring["lstm"], unmasked["lstm"])


def test_forward_shows_the_embedding_output_and_exits_0(tmp_path: Any) -> None:
    path = tmp_path / "ids.yaml"
    path.write_text(
        "input: [[1, 2]]\nlayers:\n  - type: embedding\n    input_dim: 3\n    output_dim: 2\n"
        f"    embeddings: {TABLE}\n",
        encoding="utf-8",
    )
    run = run_cli("forward", str(path), "--format", "json")
    assert run.exit_code == 0, run.stderr
    assert '"embedding": [[[1.0, 0.0], [0.0, 1.0]]]' in run.stdout


# -- against Keras 3 ------------------------------------------------------------------------------------


@pytest.mark.slow  # an oracle: Keras
def test_embedding_mask_zero_lstm_dense_softmax_matches_keras() -> None:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(7)
    vocab, dim, units, classes = 6, 3, 4, 5
    ids = np.array([[1, 4, 2, 0, 0], [5, 3, 0, 0, 0], [2, 2, 2, 1, 3]])  # padded with id 0
    table = rng.uniform(-1, 1, (vocab, dim))
    # distinct values per gate: each gate's block gets its own offset, so a swapped pair cannot agree
    offsets = np.repeat([0.3, -0.2, 0.1, 0.5], units)
    kernel = rng.uniform(-1, 1, (dim, 4 * units)) + offsets
    recurrent = rng.uniform(-1, 1, (units, 4 * units)) - offsets
    bias = rng.uniform(-0.5, 0.5, 4 * units) + offsets
    dense_kernel, dense_bias = rng.uniform(-1, 1, (units, classes)), rng.uniform(-1, 1, classes)
    model = keras.Sequential(
        [
            keras.Input((5,), dtype="int32"),
            keras.layers.Embedding(vocab, dim, mask_zero=True),
            keras.layers.LSTM(units, return_sequences=True),
            keras.layers.TimeDistributed(keras.layers.Dense(classes, activation="softmax")),
        ]
    )
    model.layers[0].set_weights([table])
    model.layers[1].set_weights([kernel, recurrent, bias])
    model.layers[2].set_weights([dense_kernel, dense_bias])
    expected = keras.ops.convert_to_numpy(model(ids))
    config = {
        "dtype": "float32",
        "input": ids,
        "layers": [
            {
                "type": "embedding",
                "input_dim": vocab,
                "output_dim": dim,
                "mask_zero": True,
                "embeddings": table,
            },
            {
                "type": "lstm",
                "units": units,
                "return_sequences": True,
                "kernel": kernel,
                "recurrent_kernel": recurrent,
                "bias": bias,
            },
            {
                "type": "dense",
                "units": classes,
                "activation": "softmax",
                "kernel": dense_kernel,
                "bias": dense_bias,
            },
        ],
    }
    actual = lstm_cli.forward(config)["dense"]
    assert np.abs(actual - expected).max() <= 1e-6


def test_tables_name_each_steps_token_as_the_embedding_looked_it_up(tmp_path: Any) -> None:
    config = tmp_path / "tokens.yaml"
    config.write_text(
        "vocab: [<pad>, a, b]\ninput: [[a, b]]\nlayers:\n"
        "  - {type: embedding, input_dim: 3, output_dim: 2, embeddings: [[0, 0], [1, 0], [0, 1]]}\n"
        "  - {type: lstm, units: 1, activation: null, recurrent_activation: null,\n"
        "     kernel: [[1, 0, 2, 0], [0, 1, 0, 3]], recurrent_kernel: [[0, 0, 0, 0]], bias: [0, 0, 0, 0]}\n",
        encoding="utf-8",
    )
    table = run_cli("forward", str(config)).stdout
    assert [line.split("│")[2].strip() for line in table.splitlines() if line.startswith("│ ")][:2] == [
        "a",
        "b",
    ]
    trace = run_cli("trace", str(config), "--timestep", "1").stdout
    assert "lstm · t = 1 (step 2 of 2) · x_t = [0, 1], token b" in trace
    without_vocab = (
        config.read_text(encoding="utf-8")
        .replace("vocab: [<pad>, a, b]\n", "")
        .replace("[[a, b]]", "[[1, 2]]")
    )
    config.write_text(without_vocab, encoding="utf-8")
    assert "x_t = [0, 1], token id 2" in run_cli("trace", str(config), "--timestep", "1").stdout


def test_convert_writes_an_embeddings_tokens_as_their_ids(tmp_path: Any) -> None:
    config = tmp_path / "tokens.yaml"
    config.write_text(
        "vocab: [<pad>, a, b]\ninput: [[a, b, <pad>]]\nlayers:\n"
        "  - {type: embedding, input_dim: 3, output_dim: 2, embeddings: [[0, 0], [1, 0], [0, 1]]}\n",
        encoding="utf-8",
    )
    run = run_cli("convert", str(config), "-o", str(tmp_path / "arrays.npz"))
    assert run.exit_code == 0, run.stderr
    with np.load(tmp_path / "arrays.npz") as arrays:
        assert arrays["input"].tolist() == [[1, 2, 0]]  # a string array once, which no reader took back
