"""`compare`'s diagnosis (SPEC §9): each known port mistake planted in B is found, first and agreeing."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from lstm_cli.comparison import compare_models, compare_numbers
from lstm_cli.config import load_model
from lstm_cli.diagnosis import (
    KNOWN_ORDERS,
    Finding,
    Hypothesis,
    gate_blocks,
    hypotheses,
    inverse_order,
    planted_values,
)
from lstm_cli.engine import run_model
from lstm_cli.fixing import undo
from lstm_cli.model import Model
from lstm_cli.porting import story

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


def config(
    *layers: dict[str, Any], batch: int = BATCH, timesteps: int = TIMESTEPS, **top: Any
) -> dict[str, Any]:
    rng = np.random.default_rng(7)
    return {
        "input": rng.uniform(-1, 1, (batch, timesteps, FEATURES)).round(3).tolist(),
        "layers": list(layers),
        **top,
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


def diagnose(a: Model, b: Model) -> list[Finding]:
    """The diagnosis of B, a model, against A."""
    return list(compare_models(a, b).diagnosis)


def diagnose_numbers(a: Model, b: dict[str, np.ndarray]) -> list[Finding]:
    return list(compare_numbers(a, b).diagnosis)


def found_first(findings: list[Finding], name: str, layer: str) -> None:
    assert findings, "no hypothesis tried"
    best = findings[0]
    assert (best.hypothesis, best.layer, best.agrees) == (name, layer, True), findings[:3]
    assert best.max_abs_diff <= 1e-5
    assert findings == sorted(findings, key=lambda finding: (not finding.agrees, finding.max_abs_diff))


def the(model: Model, name: str, layer: str, part: str = "") -> Hypothesis:
    return next(h for h in hypotheses(model) if (h.name, h.layer) == (name, layer) and part in h.part)


def planted(model: Model, name: str, layer: str) -> Model:
    """B: A with the hypothesis `name` applied to `layer`."""
    return the(model, name, layer).apply(model)


def random_lstm(seed: int) -> Model:
    """An LSTM that every LSTM hypothesis applies to: sequences and states returned, an initial state
    given; units 3-8, batch 2-3, non-zero biases distinct per gate. Odd seeds run 12 steps, more than the
    diagnosis screens a hypothesis on (its first 8), so that the screens are held to finding it too."""
    rng = np.random.default_rng(100 + seed)
    units, batch = 3 + seed % 6, 2 + seed % 2
    h, c = (rng.uniform(-0.8, 0.8, units).round(3).tolist() for _ in range(2))
    layer = lstm("lstm", FEATURES, units, seed, return_state=True, initial_state={"h": h, "c": c})
    timesteps = 12 if seed % 2 else TIMESTEPS
    return load_model(config(layer, batch=batch, timesteps=timesteps, outputs=["lstm", "lstm.h", "lstm.c"]))


def random_bidirectional(seed: int, merge_mode: str | None = "concat") -> Model:
    units = 3 + seed % 6
    layer = lstm("bi", FEATURES, units, seed, return_state=True)
    weights = {key: layer.pop(key) for key in ("kernel", "recurrent_kernel", "bias")}
    backward = {key: value for key, value in lstm("x", FEATURES, units, seed + 50).items() if key in weights}
    layer.update(type="bidirectional", forward=weights, backward=backward, merge_mode=merge_mode)
    halves = ["bi"] if merge_mode is not None else ["bi.forward", "bi.backward"]
    states = ["bi.forward.h", "bi.forward.c", "bi.backward.h", "bi.backward.c"]
    timesteps = 12 if seed % 2 else TIMESTEPS
    return load_model(config(layer, batch=2 + seed % 2, timesteps=timesteps, outputs=halves + states))


def every_hypothesis(model: Model) -> list[str]:
    return [f"{h.name}|{h.part}" for h in hypotheses(model)]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("which", every_hypothesis(random_lstm(0)))
def test_every_planted_lstm_mistake_is_found_first_as_numbers_and_as_a_model(which: str, seed: int) -> None:
    a = random_lstm(seed)
    name, part = which.split("|")
    hypothesis = the(a, name, "lstm", part)
    found_first(diagnose_numbers(a, planted_values(a, hypothesis)), name, "lstm")
    if not hypothesis.changes_outputs:  # B a model: lstm-cli runs no model whose outputs are moved about
        found_first(diagnose(a, hypothesis.apply(a)), name, "lstm")


@pytest.mark.parametrize("seed", [pytest.param(1, marks=pytest.mark.slow), 2])
@pytest.mark.parametrize("merge_mode", ["concat", "sum", None])
def test_every_planted_bidirectional_mistake_is_found_first_as_numbers_and_as_a_model(
    merge_mode: str | None, seed: int
) -> None:
    a = random_bidirectional(seed, merge_mode)
    for hypothesis in hypotheses(a):
        found_first(diagnose_numbers(a, planted_values(a, hypothesis)), hypothesis.name, "bi")
        if not hypothesis.changes_outputs:
            found_first(diagnose(a, hypothesis.apply(a)), hypothesis.name, "bi")


def test_the_hypotheses_are_those_of_spec_section_9() -> None:
    lstm_names = {h.name.split(":")[0] + ":" for h in hypotheses(random_lstm(0))}
    bidirectional_names = {h.name for h in hypotheses(random_bidirectional(0))}
    assert lstm_names == {
        "gate_order:", "bias:", "forget_bias:", "recurrent_activation:", "activation:", "kernel:",
        "recurrent_kernel:", "time:", "state:",
    }  # fmt: skip
    assert {"bidirectional:swapped", "bidirectional:unflipped", "state:swapped"} <= bidirectional_names
    activations = {h.name for h in hypotheses(random_lstm(0)) if "activation:" in h.name}
    assert {"recurrent_activation:hard_sigmoid", "recurrent_activation:hard_sigmoid_tf2"} <= activations


def test_every_other_gate_order_is_a_hypothesis_and_the_known_ones_are_named() -> None:
    names = [h.name for h in hypotheses(one_layer())]
    orders = [name.split(":")[1] for name in names if name.startswith("gate_order:")]
    assert len(orders) == len(set(orders)) == 23
    assert "ifgo" not in orders
    assert KNOWN_ORDERS == {"iofg": "ONNX", "igfo": "TF1 LSTMCell"}


def test_gate_blocks_puts_gate_perm_k_in_block_k_and_the_inverse_order_puts_it_back() -> None:
    array = np.repeat(np.array([1.0, 2.0, 3.0, 4.0]), 2)  # blocks i, f, g, o
    assert gate_blocks(array, "iofg").tolist() == [1, 1, 4, 4, 2, 2, 3, 3]
    # Reading Keras's blocks as ONNX's (i, o, f, c): ONNX's o is Keras's f, its f Keras's g, its c Keras's o.
    assert inverse_order("iofg") == "igof"
    for order in ("iofg", "igfo", "ogfi", "fogi"):
        assert gate_blocks(gate_blocks(array, order), inverse_order(order)).tolist() == array.tolist()


def test_weights_written_by_hand_in_onnx_order_are_found_as_onnx_gate_order() -> None:
    mapping = config(lstm("lstm", FEATURES, 4, 3))
    onnx = copy.deepcopy(mapping)
    layer = onnx["layers"][0]
    for key in ("kernel", "recurrent_kernel", "bias"):
        i, f, g, o = np.split(np.asarray(layer[key]), 4, axis=-1)
        layer[key] = np.concatenate([i, o, f, g], axis=-1).tolist()  # ONNX's blocks: i, o, f, c
    findings = diagnose(load_model(mapping), load_model(onnx))
    found_first(findings, "gate_order:iofg", "lstm")
    assert KNOWN_ORDERS[findings[0].hypothesis.split(":")[1]] == "ONNX"


def test_a_keras_model_with_tf1_forget_bias_written_by_hand_is_found() -> None:
    mapping = config(lstm("lstm", FEATURES, 3, 4))
    tf1 = copy.deepcopy(mapping)
    tf1["layers"][0]["forget_bias"] = 1.0
    found_first(diagnose(load_model(mapping), load_model(tf1)), "forget_bias:+1", "lstm")


@pytest.mark.parametrize("name", ["gate_order:iofg", "bias:twice", "bidirectional:swapped"])
def test_a_planted_mistake_in_a_bidirectional_layer_is_found(name: str) -> None:
    a = bidirectional()
    found_first(diagnose(a, planted(a, name, "bi")), name, "bi")


@pytest.mark.parametrize("name", ["gate_order:igfo", "kernel:reshaped", "activation:hard_sigmoid"])
def test_a_mistake_in_the_second_of_two_layers_is_found_with_its_name(name: str) -> None:
    a = two_layers()
    found_first(diagnose(a, planted(a, name, "second")), name, "second")


def test_a_mistake_in_the_first_of_two_layers_is_found_with_its_name() -> None:
    a = two_layers()
    found_first(diagnose(a, planted(a, "bias:none", "first")), "bias:none", "first")


def test_models_that_already_agree_need_no_finding() -> None:
    a = one_layer()
    assert diagnose(a, a) == []
    assert diagnose(a, one_layer()) == []
    assert diagnose_numbers(a, {ref: run_model(a).values[ref] for ref in a.outputs}) == []


def test_noise_on_one_weight_gives_no_agreeing_finding_and_lists_every_hypothesis_tried() -> None:
    mapping = config(lstm("lstm", FEATURES, 4, 5))
    noisy = copy.deepcopy(mapping)
    noisy["layers"][0]["recurrent_kernel"][1][6] += 0.3
    a = load_model(mapping)
    findings = diagnose(a, load_model(noisy))
    assert findings and not any(finding.agrees for finding in findings)
    assert len(findings) == len([h for h in hypotheses(a) if not h.changes_outputs])
    assert [f.max_abs_diff for f in findings] == sorted(f.max_abs_diff for f in findings)


def test_an_initial_state_given_the_other_way_round_by_hand_is_found_as_state_swapped() -> None:
    h, c = [0.5, -0.25, 0.75], [-0.6, 0.4, 0.2]
    a = load_model(config(lstm("lstm", FEATURES, 3, 6, initial_state={"h": h, "c": c})))
    b = load_model(config(lstm("lstm", FEATURES, 3, 6, initial_state={"h": c, "c": h})))
    found_first(diagnose(a, b), "state:swapped", "lstm")
    assert "state:swapped" not in [hypothesis.name for hypothesis in hypotheses(one_layer())]


def test_noise_in_a_long_sequence_names_the_closest_with_its_difference_over_the_whole_run() -> None:
    # The screens reject every hypothesis on the first 8 steps; the closest few are then run in full, so
    # that the closest is named with the difference it leaves over all 20 steps.
    mapping = config(lstm("lstm", FEATURES, 4, 5), timesteps=20)
    noisy = copy.deepcopy(mapping)
    noisy["layers"][0]["kernel"][1][6] += 0.3
    a, b = load_model(mapping), load_model(noisy)
    output_b = run_model(b).values["lstm"]
    as_numbers, as_model = diagnose_numbers(a, {"lstm": output_b}), diagnose(a, b)
    for findings in (as_numbers, as_model):
        assert findings and not any(finding.agrees for finding in findings)
    closest = as_numbers[0]
    whole = np.abs(
        planted_values(a, the(a, closest.hypothesis, "lstm", closest.part))["lstm"] - output_b
    ).max()
    assert closest.max_abs_diff == pytest.approx(whole, rel=1e-12)
    # A model B is held to h and c at every step; its closest is measured over the whole run too.
    closest = as_model[0]
    whole = np.abs(
        planted_values(a, the(a, closest.hypothesis, "lstm", closest.part))["lstm"] - output_b
    ).max()
    assert closest.max_abs_diff >= whole


@pytest.mark.parametrize("seed", [1, 2])
def test_undoing_each_agreeing_finding_gives_back_a_model_that_agrees(seed: int) -> None:
    # What --fix writes: B's layer with the finding's mistake undone, from B's own numbers.
    for a in (random_lstm(seed), random_bidirectional(seed)):
        (layer,) = (layer for layer in a.layers if layer.name in ("lstm", "bi"))
        for hypothesis in hypotheses(a):
            if hypothesis.changes_outputs:
                continue
            b = hypothesis.apply(a)
            finding = diagnose(a, b)[0]
            assert finding.agrees, hypothesis.name
            fixed = undo(finding, b.layer(finding.layer), layer)  # type: ignore[arg-type]
            repaired = replace(b, layers=tuple(fixed if x.name == fixed.name else x for x in b.layers))
            assert compare_models(a, repaired).agree, hypothesis.name


def test_a_mistake_in_one_half_alone_is_named_with_its_half_and_undone_there() -> None:
    # TensorRT#2492's kind of port: the backward half written by hand, its bias doubled; the forward right.
    a = random_bidirectional(3)
    b = the(a, "bias:twice", "bi", "backward").apply(a)
    finding = diagnose(a, b)[0]
    assert (finding.hypothesis, finding.part, finding.agrees) == ("bias:twice", "backward", True)
    assert finding.document()["part"] == "backward"
    assert story(finding, a.layer("bi"), numbers=False).startswith(
        "In layer 'bi' (its backward half alone), B adds"
    )
    fixed = undo(finding, b.layer("bi"), a.layer("bi"))  # type: ignore[arg-type]
    assert compare_models(a, replace(b, layers=(fixed,))).agree


def test_halves_concatenated_backward_first_are_found_as_numbers() -> None:
    a = random_bidirectional(2, "concat")
    values = run_model(a).values
    forward, backward = np.split(values["bi"], 2, axis=-1)
    numbers = {"bi": np.concatenate([backward, forward], axis=-1)}
    finding = diagnose_numbers(a, numbers)[0]
    assert (finding.hypothesis, finding.part, finding.agrees) == (
        "bidirectional:swapped",
        "concatenated",
        True,
    )
    assert "backward half's units first" in story(finding, a.layer("bi"), numbers=True)


def test_with_keras_initial_bias_bias_twice_says_it_is_also_forget_bias_plus_one() -> None:
    # Keras's initial bias is 0 but 1 for the forget gate: doubling it adds 1 to z_f, as TF1's
    # forget_bias=1 does. The two are one change, and the story says so rather than pick one silently.
    units = 3
    layer = lstm("lstm", FEATURES, units, 4)
    layer["bias"] = [0.0] * units + [1.0] * units + [0.0] * (2 * units)
    a = load_model(config(layer))
    finding = diagnose(a, planted(a, "bias:twice", "lstm"))[0]
    assert finding.agrees and finding.hypothesis == "bias:twice"
    assert "same change as forget_bias:+1" in story(finding, a.layer("lstm"), numbers=False)


@pytest.mark.parametrize(
    ("name", "layer"),
    [("bias:twice", "second"), ("gate_order:iofg", "first"), ("time:reversed_output", "first")],
)
def test_numbers_of_every_layer_are_diagnosed_layer_by_layer(name: str, layer: str) -> None:
    # A runtime dumping every tensor (as polygraphy does) gives each layer's output: each layer is tried on
    # B's own input to it, so a mistake is found in its layer without running the model from there.
    a = two_layers()
    hypothesis = the(a, name, layer)
    values = _run_from_for_test(a, hypothesis)
    numbers = {ref: values[ref] for ref in ("first", "second")}
    finding = diagnose_numbers(a, numbers)[0]
    assert (finding.hypothesis, finding.layer, finding.agrees) == (name, layer, True)


def _run_from_for_test(a: Model, hypothesis: Hypothesis) -> dict[str, np.ndarray]:
    """Every value B computes if it made `hypothesis`'s mistake."""
    outputs = replace(a, outputs=tuple(layer.name for layer in a.layers))
    return planted_values(outputs, hypothesis)
