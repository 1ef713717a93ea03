"""Layers that are the identity at inference (Keras Dropout, SpatialDropout1D, GaussianNoise, GaussianDropout,
AlphaDropout, ActivityRegularization): checked as Keras checks them, run as nothing, listed by `summary`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import run_cli

import lstm_cli
from lstm_cli.config import load_model
from lstm_cli.errors import LstmCliError
from lstm_cli.model import NO_OP_KINDS, NoOpLayer
from lstm_cli.summary import from_model
from lstm_cli.tokens import StepTokens, step_tokens

# One sample, three steps of two features; step 1 is all zeros, so a Masking layer masks it.
X = [[[1.0, 0.5], [0.0, 0.0], [-0.5, 1.0]]]
# A one-unit LSTM whose gates differ (i, f, g, o get their own kernel columns and biases), so a masked
# step that ran anyway would change the numbers.
LSTM = {
    "type": "lstm",
    "units": 1,
    "return_sequences": True,
    "return_state": True,
    "kernel": [[0.5, -0.3, 0.8, 0.1], [0.2, 0.7, -0.4, 0.6]],
    "recurrent_kernel": [[0.3, 0.1, -0.2, 0.4]],
    "bias": [0.1, 1.0, -0.1, 0.2],
}
OPTIONS = {  # a valid layer of each type, its options not the defaults
    "dropout": {"rate": 0.5},
    "spatial_dropout1d": {"rate": 0.25},
    "gaussian_noise": {"stddev": 0.1},
    "gaussian_dropout": {"rate": 0.2},
    "alpha_dropout": {"rate": 0.1},
    "activity_regularization": {"l1": 0.01, "l2": 0.02},
}


def masked_model(*between: dict[str, Any]) -> dict[str, Any]:
    return {"input": X, "layers": [{"type": "masking"}, *between, LSTM]}


def _error(config: dict[str, Any]) -> str:
    with pytest.raises(LstmCliError) as caught:
        load_model(config)
    return str(caught.value)


def test_the_options_of_every_type_are_covered() -> None:
    assert set(OPTIONS) == set(NO_OP_KINDS)


@pytest.mark.parametrize("kind", list(NO_OP_KINDS))
def test_each_passes_its_input_and_its_mask_on_unchanged(kind: str) -> None:
    plain = lstm_cli.forward(masked_model())
    with_no_op = lstm_cli.forward(masked_model({"type": kind, **OPTIONS[kind]}))
    np.testing.assert_array_equal(with_no_op[kind], with_no_op["masking"])
    for ref in ("lstm", "lstm.h", "lstm.c"):  # the mask reached the LSTM: step 1 repeats step 0
        np.testing.assert_array_equal(with_no_op[ref], plain[ref])
    assert with_no_op["lstm"][0, 1, 0] == with_no_op["lstm"][0, 0, 0]


def test_they_are_named_as_keras_names_them() -> None:
    layers = [{"type": kind, **OPTIONS[kind]} for kind in ("dropout", "gaussian_noise", "dropout")]
    model = load_model({"input": X, "layers": [*layers, {"type": "spatial_dropout1d", "rate": 0}]})
    assert [layer.name for layer in model.layers] == [
        "dropout",
        "gaussian_noise",
        "dropout_1",
        "spatial_dropout1d",
    ]
    assert all(isinstance(layer, NoOpLayer) for layer in model.layers)
    assert model.layers[0].options == (("rate", 0.5),)


def test_summary_lists_them_with_keras_class_and_no_parameters() -> None:
    layers = [{"type": kind, **OPTIONS[kind]} for kind in NO_OP_KINDS]
    summary = from_model(load_model({"input": {"shape": [None, 2]}, "layers": [*layers, LSTM]}))
    rows = [(layer.name, layer.kind, layer.params, layer.output_shapes) for layer in summary.layers]
    assert rows == [
        ("dropout", "Dropout", 0, ((None, None, 2),)),
        ("spatial_dropout1d", "SpatialDropout1D", 0, ((None, None, 2),)),
        ("gaussian_noise", "GaussianNoise", 0, ((None, None, 2),)),
        ("gaussian_dropout", "GaussianDropout", 0, ((None, None, 2),)),
        ("alpha_dropout", "AlphaDropout", 0, ((None, None, 2),)),
        ("activity_regularization", "ActivityRegularization", 0, ((None, None, 2),)),
        ("lstm", "LSTM", 16, ((None, None, 1), (None, 1), (None, 1))),
    ]


@pytest.mark.parametrize(
    ("layer", "message"),
    [
        ({"type": "dropout"}, "layers[1]: missing key 'rate'"),
        ({"type": "dropout", "rate": 1.5}, "layers[1].rate: expected a number from 0 to 1, got 1.5"),
        ({"type": "gaussian_noise", "stddev": -0.1}, "layers[1].stddev: expected a number from 0 to 1, got "
         "-0.1"),
        ({"type": "gaussian_dropout", "rate": True}, "layers[1].rate: expected a number from 0 to 1, got a "
         "boolean (true)"),
        ({"type": "activity_regularization", "l2": -1}, "layers[1].l2: expected a number, 0 or more, got -1"),
        ({"type": "activity_regularization", "l1": float("inf")}, "layers[1].l1: expected a number, 0 or "
         "more, got inf"),
        ({"type": "dropout", "rat": 0.5}, "layers[1].rat: unknown key 'rat'; did you mean 'rate'?"),
        ({"type": "alpha_dropout", "rate": 0.1, "noise_shape": None}, "layers[1].noise_shape: unknown key "
         "'noise_shape'"),
    ],
    ids=["missing", "rate-above-1", "negative-stddev", "boolean", "negative-l2", "infinite-l1", "typo",
         "training-only-option"],
)  # fmt: skip
def test_options_are_checked_as_keras_checks_them(layer: dict[str, Any], message: str) -> None:
    assert _error(masked_model(layer)) == f"<config>: {message}"


def test_spatial_dropout1d_reads_a_sequence_as_keras_does() -> None:
    config = masked_model()
    config["layers"][-1] = {**LSTM, "return_sequences": False}
    config["layers"].append({"type": "spatial_dropout1d", "input": "lstm.h", "rate": 0.5})
    assert _error(config) == (
        "<config>: layers[2]: this layer reads a sequence (batch, timesteps, features), but 'lstm.h' has "
        "shape (1, 1)"
    )


def test_converted_yaml_says_which_layers_are_skipped_and_which_ignore_the_mask(tmp_path: Path) -> None:
    config = tmp_path / "m.yaml"
    config.write_text(
        """\
inputs: {x: {shape: [null, 2]}, h: {shape: [null, 1]}}
layers:
  - {type: masking, input: x}
  - {type: dropout, rate: 0.5}
  - {type: lstm, name: encoder, units: 1, return_state: true}
  - {type: gaussian_noise, input: masking, stddev: 0.1}
  - {type: lstm, name: decoder, units: 1, initial_state: [encoder.h, encoder.c], use_mask: false}
""",
        encoding="utf-8",
    )
    run = run_cli("convert", str(config), "-o", "-")
    assert run.exit_code == 0, run.stderr
    assert run.stdout.startswith(
        "# Converted from m.yaml by `lstm-cli convert`.\n"
        "# Inputs x, h have a shape but no data: put data there (or convert with --input NAME=FILE.npy) to "
        "run it.\n"
        "# Skipped when run (the identity at inference, as in Keras), kept so that `summary` lists them: "
        "dropout (Dropout), gaussian_noise (GaussianNoise).\n"
        "# decoder runs without its input's mask (use_mask: false), as Keras 3 runs an LSTM given "
        "initial_state tensors.\n"
    )
    assert "  - type: dropout\n    rate: 0.5\n" in run.stdout


def test_the_tables_see_tokens_through_them() -> None:
    config = {
        "vocab": ["a", "b"],
        "input": [[[1, 0], [0, 1]]],
        "layers": [{"type": "dropout", "rate": 0.5}, {**LSTM, "input": "dropout"}],
    }
    model = load_model(config)
    assert step_tokens(model, "dropout") == StepTokens(("a", "b"))  # so forward's table shows x_t's token
    assert step_tokens(model, "lstm") is None
