"""Oracle: lstm-cli against Keras 3 itself (SPEC §1 makes Keras 3 the reference).

Each case draws random shapes and weights (tests/oracle_cases.py), runs the config through
`lstm_cli.forward` in float32 and in float64, builds the same layers in Keras with `set_weights`, and
compares every reference within float32 tolerance.

Keras runs in float32 only. A float64 Keras model is no float64 oracle: Keras's type promotion
(`keras.backend.result_type`) turns every 64-bit result type into a 32-bit one "to be aligned with JAX's
default behavior", so on the torch backend `ops.matmul` of two float64 tensors rounds to float32 and
Dense and LSTM outputs carry float32 errors. Tight float64 agreement is checked against PyTorch instead.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

from conftest import keras_activation  # noqa: E402
from oracle_cases import (  # noqa: E402
    ACTIVATIONS,
    FLOAT32_TOLERANCE,
    Built,
    BuiltDense,
    BuiltLstm,
    Case,
    DenseSpec,
    LstmSpec,
    assert_outputs_match,
    build,
)

import lstm_cli  # noqa: E402
from lstm_cli.activations import ACTIVATIONS as ENGINE_ACTIVATIONS  # noqa: E402

# Keras's torch backend hands tensors to np.array in a way numpy 2 deprecates; a softmax over one unit
# (always 1) draws a Keras warning too. Neither is about the values compared here.
pytestmark = [
    pytest.mark.slow,  # an oracle: Keras 3
    pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword"),
    pytest.mark.filterwarnings("ignore:You are using a softmax over axis -1"),
]

DTYPES = ("float32", "float64")
# An unbounded activation lets h grow with every step and feed back through recurrent_kernel: with
# exponential it overflows float32 within a few steps, and with identity, under unbounded gates, it grows
# tenfold per step, where float32 rounding is amplified beyond any fixed tolerance. Narrower weights keep
# these cases well-conditioned, so that the comparison tests lstm-cli and not float32's growth.
NARROW_WEIGHTS: dict[str | None, float] = {"exponential": 0.3, None: 0.5, "linear": 0.5}


def _single_cases() -> list[Case]:
    """One LSTM and a Dense head per activation: every activation of SPEC §1 shows up as the LSTM's
    activation, as its recurrent_activation and as the Dense activation, with the flags cycling through
    their combinations at different periods."""
    count = len(ACTIVATIONS)
    cases = []
    for k, activation in enumerate(ACTIVATIONS):
        recurrent_activation = ACTIVATIONS[(k + 7) % count]
        lstm = LstmSpec(
            units=1 + k % 4,
            activation=activation,
            recurrent_activation=recurrent_activation,
            use_bias=k % 3 != 1,
            go_backwards=k % 2 == 1,
            return_sequences=(k // 2) % 2 == 0,
            return_state=(k // 3) % 2 == 0,
            initial_state=(None, "batch", "shared")[(k // 2) % 3],
            layout=("keras", "keras", "torch", "keras", "torch-ih")[k % 5],
        )
        dense = DenseSpec(
            units=1 + (k + 1) % 3, activation=ACTIVATIONS[(k + 15) % count], use_bias=k % 4 != 3
        )
        scale = NARROW_WEIGHTS.get(activation, 0.9)
        case_id = f"{k:02d}-{activation}-{recurrent_activation}"
        cases.append(Case(case_id, seed=100 + k, layers=(lstm, dense), scale=scale))
    return cases


def _stack_cases() -> list[Case]:
    """LSTM → LSTM → Dense(softmax), names left to Keras's defaults (lstm, lstm_1, dense)."""
    cases = []
    for k in range(6):
        first = LstmSpec(
            units=2 + k % 3,
            return_sequences=True,
            return_state=k % 2 == 0,
            go_backwards=k % 3 == 1,
            initial_state=(None, "shared", "batch")[k % 3],
            layout=("keras", "torch")[k % 2],
        )
        second = LstmSpec(
            units=1 + k % 4,
            activation=("tanh", "relu", "gelu")[k % 3],
            recurrent_activation=("sigmoid", "hard_sigmoid")[k % 2],
            use_bias=k != 4,
            return_sequences=k % 2 == 1,
            return_state=k % 3 != 2,
            go_backwards=k == 5,
            initial_state=("batch", None)[k % 2],
            layout=("keras", "torch-ih")[k // 3],
        )
        head = DenseSpec(units=2 + k % 3, activation="softmax", use_bias=k != 3)
        cases.append(Case(f"stack-{k}", seed=200 + k, layers=(first, second, head), named=False))
    return cases


SINGLE_CASES = _single_cases()
STACK_CASES = _stack_cases()


def keras_outputs(built: Built) -> dict[str, np.ndarray]:
    """The same model in Keras 3 (float32), layer by layer, keyed by lstm-cli's references."""
    dtype = "float32"
    x = built.x.astype(dtype)
    batch = x.shape[0]
    values: dict[str, np.ndarray] = {}
    for layer in built.layers:
        if isinstance(layer, BuiltDense):
            dense = keras.layers.Dense(
                layer.spec.units,
                activation=keras_activation(layer.spec.activation),
                use_bias=layer.spec.use_bias,
                dtype=dtype,
            )
            dense.build(x.shape)
            dense.set_weights([layer.kernel] + ([layer.bias] if layer.bias is not None else []))
            x = keras.ops.convert_to_numpy(dense(x))
            values[layer.name] = x
            continue
        x = _keras_lstm(layer, x, batch, dtype, values)
    return values


def _keras_lstm(
    layer: BuiltLstm, x: np.ndarray, batch: int, dtype: str, values: dict[str, np.ndarray]
) -> np.ndarray:
    spec = layer.spec
    lstm = keras.layers.LSTM(
        spec.units,
        activation=keras_activation(spec.activation),
        recurrent_activation=keras_activation(spec.recurrent_activation),
        use_bias=spec.use_bias,
        return_sequences=spec.return_sequences,
        return_state=spec.return_state,
        go_backwards=spec.go_backwards,
        dtype=dtype,
    )
    lstm.build(x.shape)
    weights = [layer.kernel, layer.recurrent_kernel]
    if layer.bias is not None:
        weights.append(layer.bias)  # Keras has one bias: the PyTorch pair summed, as SPEC §1 reads it
    lstm.set_weights(weights)
    state = layer.state(batch)
    kwargs = {} if state is None else {"initial_state": [s.astype(dtype) for s in state]}
    result = lstm(x, **kwargs)
    if spec.return_state:
        output, h, c = (keras.ops.convert_to_numpy(r) for r in result)
        values[f"{layer.name}.h"], values[f"{layer.name}.c"] = h, c
    else:
        output = keras.ops.convert_to_numpy(result)
    values[layer.name] = output
    return output


@pytest.mark.parametrize("case", SINGLE_CASES + STACK_CASES, ids=lambda case: case.id)
def test_forward_matches_keras(case: Case) -> None:
    built = build(case)
    theirs = keras_outputs(built)  # one Keras model, compared with both of lstm-cli's dtypes
    for dtype in DTYPES:
        ours = lstm_cli.forward(built.config, dtype=dtype)
        assert_outputs_match(ours, theirs, dtype=dtype, tolerance=FLOAT32_TOLERANCE)


def test_dtype_in_config_matches_keras() -> None:
    # `dtype: float32` in the config, not the keyword, selects float32 arithmetic as well.
    built = build(STACK_CASES[0])
    ours = lstm_cli.forward({**built.config, "dtype": "float32"})
    assert_outputs_match(ours, keras_outputs(built), dtype="float32", tolerance=FLOAT32_TOLERANCE)


def test_cases_cover_every_activation_and_option() -> None:
    """The case lists above really exercise what issue 2 asks for, so that editing them cannot quietly
    drop an activation or a flag."""
    assert {name or "linear" for name in ACTIVATIONS} == set(ENGINE_ACTIVATIONS)
    lstms = [
        spec for case in SINGLE_CASES + STACK_CASES for spec in case.layers if isinstance(spec, LstmSpec)
    ]
    denses = [
        spec for case in SINGLE_CASES + STACK_CASES for spec in case.layers if isinstance(spec, DenseSpec)
    ]
    assert {spec.activation for spec in lstms} >= set(ACTIVATIONS)
    assert {spec.recurrent_activation for spec in lstms} >= set(ACTIVATIONS)
    assert {spec.activation for spec in denses} >= set(ACTIVATIONS)
    for flag in ("use_bias", "go_backwards", "return_sequences", "return_state"):
        assert {getattr(spec, flag) for spec in lstms} == {False, True}, flag
    assert {spec.initial_state for spec in lstms} == {None, "batch", "shared"}
    assert {spec.layout for spec in lstms} == {"keras", "torch", "torch-ih"}
