"""`compare`'s diagnosis (SPEC §9): each known port mistake planted in B is found, first and agreeing."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

from lstm_cli.compare import ATOL, RTOL
from lstm_cli.config import load_model
from lstm_cli.diagnosis import KNOWN_ORDERS, Finding, diagnose, gate_blocks, hypotheses
from lstm_cli.model import Model

BATCH, TIMESTEPS, FEATURES = 2, 4, 3


def lstm(name: str, width: int, units: int, seed: int, **options: Any) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    per_gate = rng.uniform(0.1, 0.9, 4) * np.array([1, -1, 1, -1])  # non-zero, distinct per gate
    bias = np.repeat(per_gate, units) + rng.uniform(-0.05, 0.05, 4 * units)
    return {
        "type": "lstm",
        "name": name,
        "units": units,
        "return_sequences": True,
        "kernel": rng.uniform(-0.8, 0.8, (width, 4 * units)).round(3).tolist(),
        "recurrent_kernel": rng.uniform(-0.8, 0.8, (units, 4 * units)).round(3).tolist(),
        "bias": bias.round(3).tolist(),
        **options,
    }


def config(*layers: dict[str, Any]) -> dict[str, Any]:
    rng = np.random.default_rng(7)
    return {
        "input": rng.uniform(-1, 1, (BATCH, TIMESTEPS, FEATURES)).round(3).tolist(),
        "layers": list(layers),
    }


def one_layer(units: int = 4, seed: int = 1, **options: Any) -> Model:
    return load_model(config(lstm("lstm", FEATURES, units, seed, **options)))


def bidirectional(units: int = 3) -> Model:
    layer = lstm("bi", FEATURES, units, 1)
    weights = {key: layer.pop(key) for key in ("kernel", "recurrent_kernel", "bias")}
    backward = {key: value for key, value in lstm("x", FEATURES, units, 2).items() if key in weights}
    layer.update(type="bidirectional", forward=weights, backward=backward)
    return load_model(config(layer))


def two_layers() -> Model:
    return load_model(config(lstm("first", FEATURES, 3, 1), lstm("second", 3, 5, 2)))


def found_first(findings: list[Finding], name: str, layer: str) -> None:
    assert findings, "no hypothesis tried"
    best = findings[0]
    assert (best.hypothesis, best.layer, best.agrees) == (name, layer, True), findings[:3]
    assert best.max_abs_diff <= 1e-5
    assert findings == sorted(findings, key=lambda finding: (not finding.agrees, finding.max_abs_diff))


def planted(model: Model, name: str, layer: str) -> Model:
    """B: A with the hypothesis `name` applied to `layer`."""
    return next(h for h in hypotheses(model) if (h.name, h.layer) == (name, layer)).apply(model)


@pytest.mark.parametrize("units", [3, 5])
@pytest.mark.parametrize(
    "name",
    [
        "gate_order:iofg",
        "gate_order:igfo",
        "gate_order:ogfi",
        "bias:twice",
        "bias:none",
        "forget_bias:+1",
        "recurrent_activation:hard_sigmoid",
        "recurrent_activation:hard_sigmoid_tf2",
        "activation:sigmoid",
        "activation:linear",
        "kernel:reshaped",
        "recurrent_kernel:reshaped",
        "time:go_backwards",
    ],
)
def test_each_planted_mistake_in_an_lstm_is_listed_first_and_agreeing(name: str, units: int) -> None:
    a = one_layer(units)
    found_first(diagnose(a, planted(a, name, "lstm"), rtol=RTOL, atol=ATOL), name, "lstm")


def test_every_other_gate_order_is_a_hypothesis_and_the_known_ones_are_named() -> None:
    names = [h.name for h in hypotheses(one_layer())]
    orders = [name.split(":")[1] for name in names if name.startswith("gate_order:")]
    assert len(orders) == len(set(orders)) == 23
    assert "ifgo" not in orders
    assert KNOWN_ORDERS == {"iofg": "ONNX", "igfo": "TF1 LSTMCell"}


def test_gate_blocks_puts_gate_perm_k_in_block_k() -> None:
    array = np.repeat(np.array([1.0, 2.0, 3.0, 4.0]), 2)  # blocks i, f, g, o
    assert gate_blocks(array, "iofg").tolist() == [1, 1, 4, 4, 2, 2, 3, 3]


def test_weights_written_by_hand_in_onnx_order_are_found_as_onnx_gate_order() -> None:
    mapping = config(lstm("lstm", FEATURES, 4, 3))
    onnx = copy.deepcopy(mapping)
    layer = onnx["layers"][0]
    for key in ("kernel", "recurrent_kernel", "bias"):
        i, f, g, o = np.split(np.asarray(layer[key]), 4, axis=-1)
        layer[key] = np.concatenate([i, o, f, g], axis=-1).tolist()  # ONNX's blocks: i, o, f, c
    findings = diagnose(load_model(mapping), load_model(onnx), rtol=RTOL, atol=ATOL)
    found_first(findings, "gate_order:iofg", "lstm")
    assert KNOWN_ORDERS[findings[0].hypothesis.split(":")[1]] == "ONNX"


def test_a_keras_model_with_tf1_forget_bias_written_by_hand_is_found() -> None:
    mapping = config(lstm("lstm", FEATURES, 3, 4))
    tf1 = copy.deepcopy(mapping)
    tf1["layers"][0]["forget_bias"] = 1.0
    found_first(
        diagnose(load_model(mapping), load_model(tf1), rtol=RTOL, atol=ATOL), "forget_bias:+1", "lstm"
    )


@pytest.mark.parametrize("name", ["gate_order:iofg", "bias:twice", "bidirectional:swapped"])
def test_a_planted_mistake_in_a_bidirectional_layer_is_found(name: str) -> None:
    a = bidirectional()
    found_first(diagnose(a, planted(a, name, "bi"), rtol=RTOL, atol=ATOL), name, "bi")


@pytest.mark.parametrize("name", ["gate_order:igfo", "kernel:reshaped", "activation:hard_sigmoid"])
def test_a_mistake_in_the_second_of_two_layers_is_found_with_its_name(name: str) -> None:
    a = two_layers()
    found_first(diagnose(a, planted(a, name, "second"), rtol=RTOL, atol=ATOL), name, "second")


def test_a_mistake_in_the_first_of_two_layers_is_found_with_its_name() -> None:
    a = two_layers()
    found_first(diagnose(a, planted(a, "bias:none", "first"), rtol=RTOL, atol=ATOL), "bias:none", "first")


def test_models_that_already_agree_need_no_finding() -> None:
    a = one_layer()
    assert diagnose(a, a, rtol=RTOL, atol=ATOL) == []
    assert diagnose(a, one_layer(), rtol=RTOL, atol=ATOL) == []


def test_noise_on_one_weight_gives_no_agreeing_finding_and_lists_every_hypothesis_tried() -> None:
    mapping = config(lstm("lstm", FEATURES, 4, 5))
    noisy = copy.deepcopy(mapping)
    noisy["layers"][0]["recurrent_kernel"][1][6] += 0.3
    a = load_model(mapping)
    findings = diagnose(a, load_model(noisy), rtol=RTOL, atol=ATOL)
    assert findings and not any(finding.agrees for finding in findings)
    assert len(findings) == len(list(hypotheses(a)))
    assert [f.max_abs_diff for f in findings] == sorted(f.max_abs_diff for f in findings)


def test_an_initial_state_given_the_other_way_round_by_hand_is_found_as_state_swapped() -> None:
    h, c = [0.5, -0.25, 0.75], [-0.6, 0.4, 0.2]
    a = load_model(config(lstm("lstm", FEATURES, 3, 6, initial_state={"h": h, "c": c})))
    b = load_model(config(lstm("lstm", FEATURES, 3, 6, initial_state={"h": c, "c": h})))
    found_first(diagnose(a, b, rtol=RTOL, atol=ATOL), "state:swapped", "lstm")
    assert "state:swapped" not in [hypothesis.name for hypothesis in hypotheses(one_layer())]
