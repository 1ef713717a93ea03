"""backward's maths without an oracle: the fast loop against `lstm_step_backward` looped by hand, the
seed's gradients worked out by hand, and central finite differences on random small models."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lstm_cli
from lstm_cli.activations import ACTIVATIONS, get_activation
from lstm_cli.backprop import run_backward
from lstm_cli.backprop.cell import lstm_step_backward
from lstm_cli.backprop.recurrent import OutputGradients, lstm_backward
from lstm_cli.backprop.training import gradient_check
from lstm_cli.config import load_model
from lstm_cli.engine import lstm_step, run_lstm, stacked_steps, step_options
from lstm_cli.losses import loss_and_gradient
from lstm_cli.model import LstmLayer, LstmWeights

# -- the seed, by hand ----------------------------------------------------------------------------------


def test_the_seeds_gradients_worked_out_by_hand() -> None:
    """configs/seed.yaml with loss sum(lstm.h): one step, x = [1, 0], h_prev = c_prev = 0, no activations.

    Forward (SPEC §2): z = x @ kernel + bias = row 0 of kernel + bias
        z_i = [5, 2, 1]   z_f = [1, 1, 0]   z_g = [0, 2, 1]   z_o = [2, 1, 0]
        c = f·c_prev + i·g = [0, 4, 1]      h = o·c = [0, 4, 0]      L = sum(h) = 4
    Backward:
        dh = dL/dh = [1, 1, 1]
        do = dh·c = [0, 4, 1]               dc = dh·o = [2, 1, 0]   (linear: activation' = 1)
        di = dc·g = [0, 2, 0]   df = dc·c_prev = [0, 0, 0]   dg = dc·i = [10, 2, 0]
        dz = [di, df, dg, do] = [0, 2, 0, 0, 0, 0, 10, 2, 0, 0, 4, 1]
        dbias = dz;  dkernel = xᵀ dz: row 0 is dz, row 1 (x = 0) is zeros
        drecurrent_kernel = h_prevᵀ dz = 0;  dx = dz @ kernelᵀ = [2 + 2 + 4, 2 + 2] = [8, 4]
    """
    gradients = lstm_cli.backward("configs/seed-backward.yaml")
    dz = [0, 2, 0, 0, 0, 0, 10, 2, 0, 0, 4, 1]
    assert gradients["loss"] == 4
    np.testing.assert_array_equal(gradients["lstm.bias"], dz)
    np.testing.assert_array_equal(gradients["lstm.kernel"], [dz, [0] * 12])
    np.testing.assert_array_equal(gradients["lstm.recurrent_kernel"], np.zeros((3, 12)))
    np.testing.assert_array_equal(gradients["input"], [[[8, 4]]])


def test_mse_on_the_seed_by_hand() -> None:
    """h = [0, 4, 0] against target [0, 3, 1]: L = mean((h - t)²) = (0 + 1 + 1)/3 = 2/3;
    dL/dh = 2(h - t)/3 = [0, 2/3, -2/3]; the only step's dc = dh·o = [0, 2/3, 0] (o = [2, 1, 0])."""
    config = {
        "input": [[[1, 0]]],
        "layers": _seed_layers(),
        "loss": {"type": "mse", "output": "lstm.h", "target": [[0, 3, 1]]},
    }
    gradients = lstm_cli.backward(config)
    assert gradients["loss"] == pytest.approx(2 / 3)
    # dz_g = dc·i = [0, 2/3·2, 0]; dz_o = dh·c = [0, 2/3·4, -2/3·1]
    np.testing.assert_allclose(gradients["lstm.bias"][6:9], [0, 4 / 3, 0])
    np.testing.assert_allclose(gradients["lstm.bias"][9:], [0, 8 / 3, -2 / 3])


def _seed_layers() -> list[dict[str, Any]]:
    import yaml

    with open("configs/seed.yaml", encoding="utf-8") as file:
        return yaml.safe_load(file)["layers"]


# -- the fast loop against the readable step ------------------------------------------------------------


def reference_backward(
    layer: LstmLayer,
    weights: LstmWeights,
    x: np.ndarray,
    h0: np.ndarray,
    c0: np.ndarray,
    mask: np.ndarray | None,
    backwards: bool,
    zero_output: bool,
    d_sequence: np.ndarray,
    dh_final: np.ndarray,
    dc_final: np.ndarray,
) -> dict[str, Any]:
    """lstm_step forward, lstm_step_backward back, one step at a time, with Keras's masking rules."""
    activation, recurrent_activation = (
        get_activation(name) for name in (layer.activation, layer.recurrent_activation)
    )
    order = list(range(x.shape[1] - 1, -1, -1)) if backwards else list(range(x.shape[1]))
    h, c, states = h0, c0, []
    for t in order:
        step = lstm_step(x[:, t], h, c, weights, activation, recurrent_activation, **step_options(layer))
        states.append((t, h, c, step))
        if mask is None:
            h, c = step.h, step.c
        else:
            valid = mask[:, t, None]
            h, c = np.where(valid, step.h, h), np.where(valid, step.c, c)
    dh_carry, dc_carry, pending = dh_final, dc_final, np.zeros_like(dh_final)
    dz_steps, grads = [], {"kernel": 0, "recurrent_kernel": 0, "bias": 0}
    dx = np.zeros_like(x)
    for k in reversed(range(len(order))):
        t, h_prev, c_prev, step = states[k]
        d_output = pending + d_sequence[:, k]
        valid = np.ones((x.shape[0], 1), bool) if mask is None else mask[:, t, None]
        dh = np.where(valid, dh_carry + d_output, 0)
        step_grads = lstm_step_backward(
            x[:, t], h_prev, c_prev, step, weights, layer, dh, np.where(valid, dc_carry, 0)
        )
        dh_carry = np.where(valid, step_grads.dh_prev, dh_carry)
        dc_carry = np.where(valid, step_grads.dc_prev, dc_carry)
        pending = np.where(valid, 0, 0 if zero_output else d_output)
        dz_steps.append(step_grads.dz)
        dx[:, t] = step_grads.dx
        grads["kernel"] = grads["kernel"] + step_grads.dkernel
        grads["recurrent_kernel"] = grads["recurrent_kernel"] + step_grads.drecurrent_kernel
        if step_grads.dbias is not None:
            grads["bias"] = grads["bias"] + step_grads.dbias
        for gate, value in step_grads.dpeepholes.items():
            grads[f"peepholes.{gate}"] = grads.get(f"peepholes.{gate}", 0) + value
        if step_grads.dprojection is not None:
            grads["projection.kernel"] = grads.get("projection.kernel", 0) + step_grads.dprojection
    return {"dz": np.stack(dz_steps[::-1]), "dx": dx, "dh0": dh_carry, "dc0": dc_carry, **grads}


VARIANT_OPTIONS = [
    {},
    {"forget_bias": 1.0},
    {"cell_clip": 0.4},
    {"activation_clip": 0.5},
    {"input_forget": True, "recurrent_activation": "sigmoid"},
    {"output_activation": "softsign"},
]


@settings(max_examples=120, deadline=None)
@given(
    activation=st.sampled_from(sorted(ACTIVATIONS)),
    recurrent_activation=st.sampled_from(sorted(ACTIVATIONS)),
    dtype=st.sampled_from([np.float32, np.float64]),
    variant=st.sampled_from(range(len(VARIANT_OPTIONS))),
    peepholes=st.booleans(),
    projection=st.booleans(),
    backwards=st.booleans(),
    masked=st.booleans(),
    zero_output=st.booleans(),
    shape=st.tuples(st.integers(1, 3), st.integers(1, 5), st.integers(1, 3), st.integers(1, 4)),
    seed=st.integers(0, 2**32 - 1),
)
def test_fast_backward_equals_the_readable_step(
    activation: str,
    recurrent_activation: str,
    dtype: Any,
    variant: int,
    peepholes: bool,
    projection: bool,
    backwards: bool,
    masked: bool,
    zero_output: bool,
    shape: tuple[int, int, int, int],
    seed: int,
) -> None:
    batch, timesteps, features, units = shape
    rng = np.random.default_rng(seed)
    options = {
        "activation": activation,
        "recurrent_activation": recurrent_activation,
        **VARIANT_OPTIONS[variant],
    }
    proj = 2 if projection else None
    width = proj or units
    weights = LstmWeights(
        *(
            rng.uniform(-0.6, 0.6, size).astype(dtype)
            for size in ((features, 4 * units), (width, 4 * units), 4 * units)
        ),
        peepholes={gate: rng.uniform(-0.5, 0.5, units).astype(dtype) for gate in "ifo"}
        if peepholes
        else None,
        projection=rng.uniform(-0.6, 0.6, (units, proj)).astype(dtype) if proj else None,
    )
    layer = LstmLayer(
        name="lstm",
        units=units,
        input="input",
        key_path=(),
        return_sequences=True,
        go_backwards=backwards,
        weights=weights,
        **options,
    )
    if proj is None and "proj_clip" in options:
        layer = replace(layer, proj_clip=None)
    x = rng.normal(0, 1, (batch, timesteps, features)).astype(dtype)
    h0, c0 = (
        rng.normal(0, 0.5, (batch, width)).astype(dtype),
        rng.normal(0, 0.5, (batch, units)).astype(dtype),
    )
    mask = rng.random((batch, timesteps)) < 0.6 if masked else None
    d_sequence = rng.normal(0, 1, (batch, timesteps, width)).astype(dtype)
    dh_final, dc_final = (
        rng.normal(0, 1, (batch, width)).astype(dtype),
        rng.normal(0, 1, (batch, units)).astype(dtype),
    )
    with np.errstate(all="ignore"):
        forward = run_lstm(
            layer,
            weights,
            x,
            h0,
            c0,
            mask=mask,
            backwards=backwards,
            zero_output_for_mask=zero_output,
            record=True,
        )
        assert forward.steps is not None
        fast = lstm_backward(
            layer,
            weights,
            stacked_steps(forward.steps),
            OutputGradients(sequence=d_sequence, h=dh_final, c=dc_final),
            backwards=backwards,
            zero_output_for_mask=zero_output,
            record=True,
        )
        expected = reference_backward(
            layer, weights, x, h0, c0, mask, backwards, zero_output, d_sequence, dh_final, dc_final
        )
    if not all(np.isfinite(value).all() for value in expected.values() if isinstance(value, np.ndarray)):
        return  # exponential and friends overflow on some draws: nothing to compare
    tolerance = {"rtol": 2e-4, "atol": 2e-4} if dtype == np.float32 else {"rtol": 1e-10, "atol": 1e-10}
    assert fast.table is not None
    np.testing.assert_allclose(fast.table.dz, expected["dz"], **tolerance)
    np.testing.assert_allclose(fast.dx, expected["dx"], **tolerance)
    np.testing.assert_allclose(fast.dh0, expected["dh0"], **tolerance)
    np.testing.assert_allclose(fast.dc0, expected["dc0"], **tolerance)
    for name, gradient in fast.weights.items():
        assert gradient.dtype == dtype
        np.testing.assert_allclose(gradient, expected[name], **tolerance, err_msg=name)


# -- finite differences ---------------------------------------------------------------------------------


SMOOTH = (
    "tanh",
    "sigmoid",
    "softsign",
    "linear",
    "gelu",
    "softplus",
    "silu",
    "mish",
    "elu",
    "selu",
    "softmax",
)


@settings(max_examples=12, deadline=None)
@given(
    activation=st.sampled_from(SMOOTH),
    loss=st.sampled_from(["mse", "sum", "categorical_crossentropy"]),
    bidirectional=st.booleans(),
    backwards=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_finite_differences_agree_on_random_small_models(
    activation: str, loss: str, bidirectional: bool, backwards: bool, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    units, features = 2, 2

    def weights() -> dict[str, Any]:
        return {
            k: rng.uniform(-0.8, 0.8, s).tolist()
            for k, s in (
                ("kernel", (features, 4 * units)),
                ("recurrent_kernel", (units, 4 * units)),
                ("bias", (4 * units,)),
            )
        }

    recurrent: dict[str, Any] = {"units": units, "activation": activation, "return_sequences": True}
    if bidirectional:
        recurrent |= {
            "type": "bidirectional",
            "forward": weights(),
            "backward": weights(),
            "merge_mode": "sum",
        }
    else:
        recurrent |= {"type": "lstm", "go_backwards": backwards, **weights()}
    config = {
        "input": rng.normal(0, 1, (2, 3, features)).tolist(),
        "layers": [
            recurrent,
            {
                "type": "dense",
                "units": 3,
                "activation": "softmax" if loss != "mse" else "tanh",
                "kernel": rng.uniform(-1, 1, (units, 3)).tolist(),
                "bias": [0.1, -0.1, 0.2],
            },
        ],
        "loss": {"type": loss}
        | ({} if loss == "sum" else {"target": np.eye(3)[rng.integers(0, 3, (2, 3))].tolist()}),
    }
    model = load_model(config, dtype="float64")
    assert model.loss is not None
    errors = gradient_check(model, model.loss, run_backward(model).gradients)  # --check's own function
    weights = {"kernel", "recurrent_kernel", "bias"}
    halves = ("forward", "backward") if bidirectional else ("",)
    name = "bidirectional" if bidirectional else "lstm"
    expected = {"input", "dense.kernel", "dense.bias"} | {
        ".".join(part for part in (name, half, weight) if part) for half in halves for weight in weights
    }
    assert set(errors) == expected
    assert max(errors.values()) < 1e-6, errors


# -- losses ---------------------------------------------------------------------------------------------


def test_a_masked_sequence_loss_averages_over_valid_steps_only() -> None:
    output = np.array([[[1.0], [2.0], [5.0]]])
    target = np.zeros((1, 3, 1))
    mask = np.array([[True, True, False]])
    result = loss_and_gradient("mse", output, target, mask=mask)
    assert result.value == pytest.approx((1 + 4) / 2)  # Keras: sum over valid steps / valid count
    np.testing.assert_allclose(result.gradient[..., 0], [[1.0, 2.0, 0.0]])


def test_no_valid_step_makes_the_loss_zero_as_keras_divide_no_nan() -> None:
    result = loss_and_gradient("mae", np.ones((1, 2, 1)), np.zeros((1, 2, 1)), mask=np.zeros((1, 2), bool))
    assert result.value == 0 and not result.gradient.any()


def test_check_catches_a_wrong_input_gradient_at_a_masked_step() -> None:
    # The mask is held fixed, so a masked step's input changes nothing: its true gradient is 0, and a
    # wrong value there must show (it used to be copied into the numeric gradient, and so always agreed).
    from test_backward_explain import story_config

    model = load_model(story_config({}, masked=True), dtype="float64")
    assert model.loss is not None
    gradients = dict(run_backward(model).gradients)
    assert gradient_check(model, model.loss, gradients)["input"] < 1e-6
    wrong = gradients["input"].copy()
    wrong[0, 1, 0] += 5.0  # sample 0's step 1 is masked
    assert gradient_check(model, model.loss, {**gradients, "input": wrong})["input"] > 0.5
