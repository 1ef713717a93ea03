"""The fast engine (`run_lstm`) against the readable cell (`lstm_step`) in a plain loop, as SPEC §1 reads."""

import tracemalloc
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lstm_cli.activations import ACTIVATIONS, get_activation
from lstm_cli.engine import lstm_step, run_lstm, step_options
from lstm_cli.model import LstmLayer, LstmWeights


def reference_run(layer, weights, x, h0, c0, mask, backwards, zero_output_for_mask):
    """The loop written the obvious way: one `lstm_step` per timestep, Keras's masking rules."""
    activation = get_activation(layer.activation)
    recurrent_activation = get_activation(layer.recurrent_activation)
    h, c = h0, c0
    output = np.zeros_like(h0)
    outputs, states = [], []
    order = range(x.shape[1] - 1, -1, -1) if backwards else range(x.shape[1])
    for t in order:
        step = lstm_step(x[:, t], h, c, weights, activation, recurrent_activation, **step_options(layer))
        if mask is None:
            h, c, output = step.h, step.c, step.h
        else:
            valid = mask[:, t, None]
            output = np.where(valid, step.h, 0.0 if zero_output_for_mask else output)
            h, c = np.where(valid, step.h, h), np.where(valid, step.c, c)
        outputs.append(output)
        states.append((step, h, c))
    return np.stack(outputs, axis=1), h, c, states


def random_layer(shape, dtype, seed, activation, recurrent_activation, scale=0.5, **options):
    """A layer with uniform weights in ±scale (no bias with use_bias=False), a normal input and zero state:
    (layer, weights, x, zeros). `options` go to LstmLayer."""
    batch, timesteps, features, units = shape
    rng = np.random.default_rng(seed)
    with np.errstate(all="ignore"):  # scales near the dtype's limit overflow to inf on purpose
        kernel, recurrent_kernel, bias = (
            (rng.uniform(-1, 1, size) * scale).astype(dtype)
            for size in ((features, 4 * units), (units, 4 * units), 4 * units)
        )
    weights = LstmWeights(kernel, recurrent_kernel, bias if options.get("use_bias", True) else None)
    layer = LstmLayer(
        name="lstm",
        units=units,
        input="input",
        key_path=(),
        activation=activation,
        recurrent_activation=recurrent_activation,
        **options,
    )
    x = rng.normal(0, 1, (batch, timesteps, features)).astype(dtype)
    return layer, weights, x, np.zeros((batch, units), dtype)


@settings(max_examples=150, deadline=None)
@given(
    activation=st.sampled_from(sorted(ACTIVATIONS)),
    recurrent_activation=st.sampled_from(sorted(ACTIVATIONS)),
    dtype=st.sampled_from([np.float32, np.float64]),
    use_bias=st.booleans(),
    backwards=st.booleans(),
    return_sequences=st.booleans(),
    masked=st.booleans(),
    zero_output_for_mask=st.booleans(),
    record=st.booleans(),
    shape=st.tuples(st.integers(1, 3), st.integers(1, 6), st.integers(1, 4), st.integers(1, 5)),
    seed=st.integers(0, 2**32 - 1),
)
def test_fast_engine_equals_the_reference_cell(
    activation,
    recurrent_activation,
    dtype,
    use_bias,
    backwards,
    return_sequences,
    masked,
    zero_output_for_mask,
    record,
    shape,
    seed,
) -> None:
    layer, weights, x, _ = random_layer(
        shape,
        dtype,
        seed,
        activation,
        recurrent_activation,
        use_bias=use_bias,
        return_sequences=return_sequences,
    )
    batch, timesteps, _, units = shape
    rng = np.random.default_rng(seed + 1)
    h0 = rng.normal(0, 0.5, (batch, units)).astype(dtype)
    c0 = rng.normal(0, 0.5, (batch, units)).astype(dtype)
    mask = rng.random((batch, timesteps)) < 0.6 if masked else None
    assert_fast_equals_step(layer, weights, x, h0, c0, mask, backwards, zero_output_for_mask, record)


def assert_fast_equals_step(
    layer: Any,
    weights: Any,
    x: np.ndarray,
    h0: np.ndarray,
    c0: np.ndarray,
    mask: np.ndarray | None,
    backwards: bool,
    zero_output_for_mask: bool,
    record: bool,
) -> Any:
    """run_lstm against lstm_step looped by hand: the outputs, the final states and, with `record`, every
    step's record (h_prev, c_prev, z, the gates, c, h, and t in processing order). Returns the fast run."""
    dtype, timesteps = x.dtype, x.shape[1]
    with np.errstate(all="ignore"):
        fast = run_lstm(
            layer,
            weights,
            x,
            h0,
            c0,
            mask=mask,
            backwards=backwards,
            zero_output_for_mask=zero_output_for_mask,
            record=record,
        )
        sequence, h, c, states = reference_run(
            layer, weights, x, h0, c0, mask, backwards, zero_output_for_mask
        )
    tolerance = {"rtol": 1e-5, "atol": 1e-6} if dtype == np.float32 else {"rtol": 1e-12, "atol": 1e-12}
    expected_output = sequence if layer.return_sequences else sequence[:, -1]
    for actual, expected in ((fast.output, expected_output), (fast.h, h), (fast.c, c)):
        assert actual.dtype == dtype
        np.testing.assert_allclose(actual, expected, **tolerance)
    if record:
        assert fast.steps is not None and len(fast.steps) == timesteps
        previous = (h0, c0)
        for record_, (step, h_t, c_t) in zip(fast.steps, states, strict=True):
            np.testing.assert_allclose(record_.h_prev, previous[0], **tolerance)
            np.testing.assert_allclose(record_.c_prev, previous[1], **tolerance)
            for name in ("z", "i", "f", "g", "o", "c", "h"):
                np.testing.assert_allclose(getattr(record_.step, name), getattr(step, name), **tolerance)
            np.testing.assert_allclose(record_.h, h_t, **tolerance)
            np.testing.assert_allclose(record_.c, c_t, **tolerance)
            previous = (h_t, c_t)
        assert [record_.t for record_ in fast.steps] == (
            list(range(timesteps))[::-1] if backwards else list(range(timesteps))
        )
    return fast


@settings(max_examples=60, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 2), st.integers(1, 9), st.integers(1, 3), st.integers(1, 3)),
    window=st.tuples(st.integers(0, 4), st.integers(0, 4)),
    masked=st.booleans(),
    backwards=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_a_window_keeps_the_same_records_as_the_whole_run(shape, window, masked, backwards, seed) -> None:
    batch, timesteps, features, units = shape
    rng = np.random.default_rng(seed)
    weights = LstmWeights(rng.normal(size=(features, 4 * units)), rng.normal(size=(units, 4 * units)), None)
    layer = LstmLayer(name="lstm", units=units, input="input", key_path=(), use_bias=False)
    x = rng.normal(size=(batch, timesteps, features))
    zeros = np.zeros((batch, units))
    mask = rng.random((batch, timesteps)) < 0.7 if masked else None
    first, last = window
    keep = lambda k: k < first or k >= timesteps - last  # noqa: E731
    whole = run_lstm(layer, weights, x, zeros, zeros, mask=mask, backwards=backwards, record=True)
    part = run_lstm(
        layer, weights, x, zeros, zeros, mask=mask, backwards=backwards, record=True, keep_step=keep
    )
    assert whole.steps is not None and part.steps is not None
    expected = [record for k, record in enumerate(whole.steps) if keep(k)]
    assert [r.t for r in part.steps] == [r.t for r in expected]
    for got, want in zip(part.steps, expected, strict=True):
        for name in ("x", "h_prev", "c_prev", "h", "c"):
            np.testing.assert_array_equal(getattr(got, name), getattr(want, name))
        np.testing.assert_array_equal(got.step.z, want.step.z)
    np.testing.assert_array_equal(part.h, whole.h)


@settings(max_examples=200, deadline=None)
@given(
    activation=st.sampled_from(sorted(ACTIVATIONS)),
    recurrent_activation=st.sampled_from(sorted(ACTIVATIONS)),
    dtype=st.sampled_from([np.float32, np.float64]),
    scale=st.sampled_from([1.0, 1e5, 1e20, 1e38, 1e300]),
    masked=st.booleans(),
    shape=st.tuples(st.integers(1, 3), st.integers(1, 5), st.integers(1, 3), st.integers(1, 3)),
    seed=st.integers(0, 2**32 - 1),
)
def test_records_are_finite_exactly_when_every_shown_value_is(
    activation, recurrent_activation, dtype, scale, masked, shape, seed
) -> None:
    """`finite()` looks only at c and h (before masking); that must say the same as every gate, c and h."""
    layer, weights, x, zeros = random_layer(shape, dtype, seed, activation, recurrent_activation, scale)
    mask = np.random.default_rng(seed).random(x.shape[:2]) < 0.6 if masked else None
    with np.errstate(all="ignore"):
        run = run_lstm(layer, weights, x, zeros, zeros, mask=mask, record=True)
        assert run.steps is not None
        shown = [
            value
            for record in run.steps
            for value in (*(getattr(record.step, name) for name in "ifgoch"), record.h, record.c)
        ]
        assert run.steps.finite() == all(np.isfinite(value).all() for value in shown)


@settings(max_examples=150, deadline=None)
@given(
    activation=st.sampled_from(sorted(ACTIVATIONS)),
    recurrent_activation=st.sampled_from(sorted(ACTIVATIONS)),
    dtype=st.sampled_from([np.float32, np.float64]),
    shape=st.tuples(st.integers(1, 3), st.integers(1, 6), st.integers(1, 4), st.integers(1, 5)),
    seed=st.integers(0, 2**32 - 1),
)
def test_recorded_gates_are_the_numbers_each_step_used(
    activation, recurrent_activation, dtype, shape, seed
) -> None:
    """Records activate their z again when read; c and h must follow from them exactly, to the last bit."""
    layer, weights, x, zeros = random_layer(shape, dtype, seed, activation, recurrent_activation)
    with np.errstate(all="ignore"):
        run = run_lstm(layer, weights, x, zeros, zeros, record=True)
        assert run.steps is not None
        for record in run.steps:
            step = record.step
            np.testing.assert_array_equal(step.c, step.f * record.c_prev + step.i * step.g)
            np.testing.assert_array_equal(step.h, step.o * get_activation(activation)(step.c))


@settings(max_examples=150, deadline=None)
@given(
    activation=st.sampled_from(sorted(ACTIVATIONS)),
    recurrent_activation=st.sampled_from(["sigmoid", "sigmoid", "hard_sigmoid", "tanh"]),
    dtype=st.sampled_from([np.float32, np.float64]),
    scale=st.sampled_from([1e-40, 1e-3, 1.0, 1e3, 1e38]),
    shape=st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(1, 4), st.integers(1, 5)),
    seed=st.integers(0, 2**32 - 1),
)
def test_shown_gates_are_the_activations_of_the_shown_z(
    activation, recurrent_activation, dtype, scale, shape, seed
) -> None:
    """A record keeps z and activates its gates from it again when read: each shown gate must be SPEC §1's
    activation of the shown z to the last bit, at any scale, from subnormal weights to z beyond the
    float's range."""
    layer, weights, x, zeros = random_layer(shape, dtype, seed, activation, recurrent_activation, scale)
    with np.errstate(all="ignore"):
        run = run_lstm(layer, weights, x, zeros, zeros, record=True)
        assert run.steps is not None
        for record in run.steps:
            step = record.step
            z_i, z_f, z_g, z_o = np.split(step.z, 4, axis=-1)
            for gate, z in ((step.i, z_i), (step.f, z_f), (step.o, z_o)):
                np.testing.assert_array_equal(gate, get_activation(recurrent_activation)(z))
            np.testing.assert_array_equal(step.g, get_activation(activation)(z_g))


@pytest.mark.parametrize(
    ("activation", "recurrent_activation"),
    [("tanh", "sigmoid"), ("relu", "sigmoid"), ("tanh", "hard_sigmoid"), ("softmax", "sigmoid")],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 7, 3, 16), (4, 5, 6, 40)])
def test_each_way_of_activating_the_gates_equals_the_reference(
    activation, recurrent_activation, dtype, shape
) -> None:
    """The engine activates its gates two ways: one tanh call for all four (the default cell), or each
    activation on its own (softmax per gate). Each against `lstm_step`."""
    layer, weights, x, zeros = random_layer(shape, dtype, 7, activation, recurrent_activation)
    with np.errstate(all="ignore"):
        fast = run_lstm(layer, weights, x, zeros, zeros, record=True)
        _, h, c, states = reference_run(layer, weights, x, zeros, zeros, None, False, False)
    tolerance = {"rtol": 1e-5, "atol": 1e-6} if dtype == np.float32 else {"rtol": 1e-12, "atol": 1e-12}
    np.testing.assert_allclose(fast.h, h, **tolerance)
    np.testing.assert_allclose(fast.c, c, **tolerance)
    assert fast.steps is not None
    for record, (step, _, _) in zip(fast.steps, states, strict=True):
        for name in ("z", "i", "f", "g", "o"):
            np.testing.assert_allclose(getattr(record.step, name), getattr(step, name), **tolerance)


@pytest.mark.parametrize(
    "kernel_i",
    [
        # z_i's partial sums pass float32's limit on the way; halving the weights first would keep them
        # finite, and h would come out 0.32 where lstm_step and Keras give 0 (a review found this).
        [-3e38, -3e38, 3e38, 3.4e38, -2e38, 3.4e38, 3e38],
        [-3.4e38, 1e38, -3e38, 3e38],  # to NaN in this BLAS's order, which the run reports as an overflow
    ],
)
def test_near_the_float_limit_the_engine_overflows_where_the_reference_does(kernel_i) -> None:
    """Sums that overflow on the way overflow in the engine as in `lstm_step`: the engine must not rescale
    anything that changes where a sum overflows."""
    features = len(kernel_i)
    kernel = np.zeros((features, 4), np.float32)
    kernel[:, 0] = kernel_i  # the input gate's column
    kernel[0, 2] = 1.0  # g = tanh(1)
    weights = LstmWeights(kernel, np.zeros((1, 4), np.float32), None)
    layer = LstmLayer(name="lstm", units=1, input="input", key_path=(), use_bias=False)
    x, zeros = np.ones((1, 1, features), np.float32), np.zeros((1, 1), np.float32)
    with np.errstate(all="ignore"):
        fast = run_lstm(layer, weights, x, zeros, zeros, record=True)
        _, h, _, states = reference_run(layer, weights, x, zeros, zeros, None, False, False)
    assert fast.steps is not None
    assert not np.isfinite(states[0][0].z[0, 0])  # the case is in the regime it means to test
    np.testing.assert_array_equal(fast.steps[0].step.z, states[0][0].z)
    np.testing.assert_array_equal(fast.h, h)


def test_the_engine_computes_in_the_input_dtype_whatever_the_weights_dtype() -> None:
    layer, weights, x, zeros = random_layer((2, 3, 4, 5), np.float64, 3, "tanh", "sigmoid")
    as_float32 = run_lstm(layer, weights, x.astype(np.float32), zeros, zeros)
    assert as_float32.h.dtype == np.float32
    as_float64 = run_lstm(layer, weights, x, zeros, zeros)
    np.testing.assert_allclose(as_float32.h, as_float64.h, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("h0_value", [0.0, -0.0])
def test_a_product_that_underflows_keeps_the_sign_of_zero_that_the_reference_gives(h0_value) -> None:
    """With one unit, np.dot would return h_prev · recurrent_kernel as -0.0 where it underflows, while
    matmul (as `lstm_step` and Keras compute it) adds the product to +0.0. A review found outputs of -0.0."""
    kernel = np.full((2, 4), -5e-324)  # float64's smallest subnormals: every product underflows
    weights = LstmWeights(kernel, np.full((1, 4), -1e-310), None)
    layer = LstmLayer(name="lstm", units=1, input="input", key_path=(), use_bias=False, return_sequences=True)
    x = np.full((1, 2, 2), 0.3)
    h0, c0 = np.array([[5e-324]]), np.array([[h0_value]])
    fast = run_lstm(layer, weights, x, h0, c0, record=True)
    sequence, _, _, states = reference_run(layer, weights, x, h0, c0, None, False, False)
    assert fast.output.tobytes() == sequence.tobytes()  # bytes: assert_array_equal takes -0.0 == 0.0
    assert fast.steps is not None
    for record, (step, _, _) in zip(fast.steps, states, strict=True):
        for name in ("z", "i", "f", "g", "o", "c", "h"):
            assert getattr(record.step, name).tobytes() == getattr(step, name).tobytes(), name


@pytest.mark.slow  # measures memory over long runs
def test_records_cost_little_beyond_their_numbers() -> None:
    """A kept step holds z, c and h (6 values a unit). Its views are made as it runs, not up front: a review
    found two numpy views a step (270 bytes) made up front, ten times the records of a one-unit layer."""
    timesteps = 100_000
    layer, weights, x, zeros = random_layer((1, timesteps, 1, 1), np.float32, 0, "tanh", "sigmoid")
    tracemalloc.start()
    try:
        run = run_lstm(layer, weights, x, zeros, zeros, record=True)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert run.steps is not None and len(run.steps) == timesteps
    assert peak < 250 * timesteps  # 24 bytes of records and about 100 of bookkeeping a step


VARIANTS = (
    "forget_bias",
    "peepholes",
    "cell_clip",
    "activation_clip",
    "input_forget",
    "output_activation",
    "projection",
)


@settings(max_examples=150, deadline=None)
@given(
    chosen=st.sets(st.sampled_from(VARIANTS), min_size=1),
    peephole_gates=st.sets(st.sampled_from("ifo"), min_size=1),
    proj=st.integers(1, 4),
    proj_clip=st.booleans(),
    output_activation=st.sampled_from(sorted(ACTIVATIONS)),
    recurrent_activation=st.sampled_from(["sigmoid", "hard_sigmoid"]),
    dtype=st.sampled_from([np.float32, np.float64]),
    backwards=st.booleans(),
    masked=st.booleans(),
    zero_output_for_mask=st.booleans(),
    record=st.booleans(),
    shape=st.tuples(st.integers(1, 3), st.integers(1, 6), st.integers(1, 4), st.integers(1, 5)),
    seed=st.integers(0, 2**32 - 1),
)
def test_every_variant_option_alone_and_combined_equals_the_reference_cell(
    chosen,
    peephole_gates,
    proj,
    proj_clip,
    output_activation,
    recurrent_activation,
    dtype,
    backwards,
    masked,
    zero_output_for_mask,
    record,
    shape,
    seed,
) -> None:
    """run_lstm's variant loop against lstm_step, option by option (docs/config.md#lstm-variants); clips
    small enough (0.3 to 1) that they bite."""
    batch, timesteps, _, units = shape
    rng = np.random.default_rng(seed + 2)
    options = {
        "forget_bias": float(rng.uniform(-1, 2)) if "forget_bias" in chosen else 0.0,
        "cell_clip": float(rng.uniform(0.3, 1)) if "cell_clip" in chosen else None,
        "activation_clip": float(rng.uniform(0.3, 1)) if "activation_clip" in chosen else None,
        "input_forget": "input_forget" in chosen,
        "output_activation": output_activation if "output_activation" in chosen else None,
        "proj_clip": float(rng.uniform(0.1, 0.5)) if "projection" in chosen and proj_clip else None,
    }
    layer, weights, x, _ = random_layer(
        shape, dtype, seed, "tanh", recurrent_activation, scale=1.5, return_sequences=True, **options
    )
    width = units
    if "peepholes" in chosen:
        peepholes = {gate: rng.uniform(-1, 1, units).astype(dtype) for gate in sorted(peephole_gates)}
        weights = replace(weights, peepholes=peepholes)
    if "projection" in chosen:
        width = proj
        recurrent_kernel = rng.uniform(-1, 1, (proj, 4 * units)).astype(dtype)
        projection = rng.uniform(-1, 1, (units, proj)).astype(dtype)
        weights = replace(weights, recurrent_kernel=recurrent_kernel, projection=projection)
    layer = replace(layer, weights=weights)
    assert not layer.plain and layer.output_units == width
    h0 = rng.normal(0, 0.5, (batch, width)).astype(dtype)
    c0 = rng.normal(0, 0.5, (batch, units)).astype(dtype)
    mask = rng.random((batch, timesteps)) < 0.6 if masked else None
    fast = assert_fast_equals_step(layer, weights, x, h0, c0, mask, backwards, zero_output_for_mask, record)
    if options["cell_clip"] is not None and mask is None:  # a masked row carries c0, which is unclipped
        assert np.abs(fast.c).max() <= options["cell_clip"]
