"""`compare`'s library: layers matched by type and shape, differences step by step, the first beyond
tolerance."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from lstm_cli.comparison import ATOL, RTOL, Comparison, compare_models, match_layers
from lstm_cli.config import load_model
from lstm_cli.engine import run_model
from lstm_cli.errors import LstmCliError

BATCH, TIMESTEPS, FEATURES, UNITS = 2, 4, 2, 3
# Distinct, non-zero biases per gate: i, f, g, o.
BIAS = [0.1, 0.2, 0.3, -0.4, -0.5, 0.6, 0.7, -0.8, 0.9, 0.15, -0.25, 0.35]


def lstm(name: str, width: int, seed: int, **options: Any) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    return {
        "type": "lstm",
        "name": name,
        "units": UNITS,
        "return_sequences": True,
        "kernel": rng.uniform(-0.8, 0.8, (width, 4 * UNITS)).round(3).tolist(),
        "recurrent_kernel": rng.uniform(-0.8, 0.8, (UNITS, 4 * UNITS)).round(3).tolist(),
        "bias": list(BIAS),
        **options,
    }


def config(*layers: dict[str, Any]) -> dict[str, Any]:
    rng = np.random.default_rng(7)
    return {
        "input": rng.uniform(-1, 1, (BATCH, TIMESTEPS, FEATURES)).round(3).tolist(),
        "layers": list(layers),
    }


def one_layer() -> dict[str, Any]:
    return config(lstm("lstm", FEATURES, 1))


def planted(mapping: dict[str, Any], layer: int = 0) -> dict[str, Any]:
    """`mapping` with gate f's bias of unit 2 changed in its `layer`."""
    changed = copy.deepcopy(mapping)
    changed["layers"][layer]["bias"][UNITS + 2] += 0.5
    return changed


def all_steps_zero(comparison: Comparison, layer: int = 0) -> bool:
    return all(value == 0.0 for step in comparison.layers[layer].steps for value in step.diffs.values())


def test_a_model_against_itself_agrees_with_every_difference_zero() -> None:
    model = load_model(one_layer())
    comparison = compare_models(model, model, rtol=RTOL, atol=ATOL)
    document = comparison.document()
    assert document["agree"] is True
    assert document["first_difference"] is None
    assert document["max_abs_diff"] == 0.0
    assert document["outputs"] == {"lstm": 0.0}
    assert [step["t"] for step in document["layers"][0]["steps"]] == [0, 1, 2, 3]
    assert document["layers"][0]["steps"][0] == {
        "t": 0,
        "i": 0.0,
        "f": 0.0,
        "g": 0.0,
        "o": 0.0,
        "c": 0.0,
        "h": 0.0,
    }
    assert (document["rtol"], document["atol"]) == (1e-5, 1e-6)


def test_a_model_against_its_yaml_round_trip_in_float32_agrees(tmp_path: Path) -> None:
    mapping = one_layer()
    path = tmp_path / "model.yaml"
    path.write_text(yaml.safe_dump(mapping))
    a = load_model(mapping, dtype="float32")
    b = load_model(str(path), dtype="float32")
    comparison = compare_models(a, b, rtol=RTOL, atol=ATOL)
    assert comparison.agree
    assert comparison.first_difference is None
    assert comparison.max_abs_diff == 0.0


def test_a_planted_forget_bias_difference_is_found_first_at_t0_in_gate_f_of_unit_2() -> None:
    a, b = load_model(one_layer()), load_model(planted(one_layer()))
    comparison = compare_models(a, b, rtol=RTOL, atol=ATOL)
    assert not comparison.agree
    first = comparison.first_difference
    assert first is not None
    expected_a = run_model(a, record=True).traces[0].steps[0].step.f[0, 2]
    expected_b = run_model(b, record=True).traces[0].steps[0].step.f[0, 2]
    assert expected_a != expected_b
    assert comparison.document()["first_difference"] == {
        "a_layer": "lstm",
        "b_layer": "lstm",
        "direction": "forward",
        "t": 0,
        "quantity": "f",
        "sample": 0,
        "unit": 2,
        "a": float(expected_a),
        "b": float(expected_b),
    }
    steps = comparison.layers[0].steps
    assert steps[0].diffs["i"] == steps[0].diffs["g"] == steps[0].diffs["o"] == 0.0
    # With a zero initial state, f multiplies c_prev = 0 at t=0: c and h part from t=1 on.
    assert steps[0].diffs["c"] == steps[0].diffs["h"] == 0.0
    assert all(step.diffs["c"] > ATOL and step.diffs["h"] > ATOL for step in steps[1:])
    assert comparison.outputs["lstm"] > ATOL
    assert comparison.max_abs_diff == max(max(step.diffs.values()) for step in steps)


def test_a_bidirectional_layer_compares_both_directions_the_backward_one_counting_down() -> None:
    layer = lstm("bi", FEATURES, 1)
    weights = {key: layer.pop(key) for key in ("kernel", "recurrent_kernel", "bias")}
    backward = {key: value for key, value in lstm("x", FEATURES, 2).items() if key in weights}
    layer.update(type="bidirectional", forward=weights, backward=backward)
    mapping = config(layer)
    changed = copy.deepcopy(mapping)
    changed["layers"][0]["backward"]["bias"][UNITS + 2] += 0.5
    comparison = compare_models(load_model(mapping), load_model(changed), rtol=RTOL, atol=ATOL)
    forward, backward_diff = comparison.layers
    assert (forward.direction, backward_diff.direction) == ("forward", "backward")
    assert [step.t for step in forward.steps] == [0, 1, 2, 3]
    assert [step.t for step in backward_diff.steps] == [3, 2, 1, 0]
    assert all_steps_zero(comparison, 0)
    first = comparison.first_difference
    assert first is not None
    assert (first.a_layer, first.direction, first.t, first.quantity, first.sample, first.unit) == (
        "bi",
        "backward",
        3,
        "f",
        0,
        2,
    )


def test_a_go_backwards_layer_reports_t_as_the_input_index_counting_down() -> None:
    mapping = config(lstm("lstm", FEATURES, 1, go_backwards=True))
    comparison = compare_models(load_model(mapping), load_model(planted(mapping)), rtol=RTOL, atol=ATOL)
    assert [step.t for step in comparison.layers[0].steps] == [3, 2, 1, 0]
    first = comparison.first_difference
    assert first is not None
    assert (first.t, first.quantity, first.sample, first.unit) == (3, "f", 0, 2)


def test_different_structures_raise_naming_the_first_layer_without_a_counterpart() -> None:
    wide = lstm("lstm_1", UNITS, 2)
    rng = np.random.default_rng(3)
    wide.update(
        units=8,
        kernel=rng.uniform(-1, 1, (UNITS, 32)).tolist(),
        recurrent_kernel=rng.uniform(-1, 1, (8, 32)).tolist(),
        bias=rng.uniform(-1, 1, 32).tolist(),
    )
    a = load_model(config(lstm("lstm", FEATURES, 1), wide))
    b = load_model(config(lstm("lstm", FEATURES, 1), lstm("second", UNITS, 2)))
    with pytest.raises(LstmCliError) as raised:
        match_layers(a, b)
    assert str(raised.value) == (
        "B has no counterpart for A's layer 'lstm_1' (LSTM, 8 units); "
        "the layers matched so far: 'lstm' = 'lstm'"
    )


def test_masking_and_no_op_layers_are_skipped_on_both_sides() -> None:
    a = load_model(config({"type": "masking", "name": "mask"}, lstm("lstm", FEATURES, 1)))
    b = load_model(config({"type": "dropout", "rate": 0.5, "name": "drop"}, lstm("encoder", FEATURES, 1)))
    assert [(match.a.name, match.b.name) for match in match_layers(a, b)] == [("lstm", "encoder")]


def test_a_difference_only_in_the_second_layer_leaves_every_step_of_the_first_agreeing() -> None:
    mapping = config(lstm("first", FEATURES, 1), lstm("second", UNITS, 2))
    comparison = compare_models(load_model(mapping), load_model(planted(mapping, 1)), rtol=RTOL, atol=ATOL)
    assert [(layer.a, layer.direction) for layer in comparison.layers] == [
        ("first", "forward"),
        ("second", "forward"),
    ]
    assert all_steps_zero(comparison, 0)
    first = comparison.first_difference
    assert first is not None
    assert (first.a_layer, first.b_layer, first.t, first.quantity, first.sample, first.unit) == (
        "second",
        "second",
        0,
        "f",
        0,
        2,
    )


def test_a_difference_only_in_a_dense_layer_shows_in_the_outputs_and_disagrees() -> None:
    dense = {"type": "dense", "name": "out", "units": 1, "kernel": [[0.5], [-0.5], [0.25]], "bias": [0.1]}
    mapping = config(lstm("lstm", FEATURES, 1), dense)
    changed = copy.deepcopy(mapping)
    changed["layers"][1]["bias"] = [0.2]
    comparison = compare_models(load_model(mapping), load_model(changed), rtol=RTOL, atol=ATOL)
    assert comparison.first_difference is None
    assert all_steps_zero(comparison, 0)
    assert comparison.outputs == {"out": pytest.approx(0.1)}
    assert not comparison.agree
    assert comparison.max_abs_diff == pytest.approx(0.1)


def test_a_layer_of_b_without_a_counterpart_in_a_is_named() -> None:
    a = load_model(config(lstm("lstm", FEATURES, 1)))
    b = load_model(config(lstm("lstm", FEATURES, 1), lstm("extra", UNITS, 2)))
    with pytest.raises(LstmCliError) as raised:
        match_layers(a, b)
    assert str(raised.value) == (
        "A has no counterpart for B's layer 'extra' (LSTM, 3 units); "
        "the layers matched so far: 'lstm' = 'lstm'"
    )


def test_an_lstm_returning_its_states_matches_one_that_does_not() -> None:
    # A .pt's nn.LSTM always returns (h, c) beside its sequence; a Keras LSTM ported to it seldom does.
    # Matched on every output, a .keras against its own .pt had "no counterpart for A's layer 'lstm'".
    a = load_model(one_layer())
    b = load_model(config(lstm("lstm", FEATURES, 1, return_state=True)))
    assert [(match.a.name, match.b.name) for match in match_layers(a, b)] == [("lstm", "lstm")]
    assert compare_models(a, b, rtol=RTOL, atol=ATOL).agree
