"""Oracle: lstm-cli against `torch.nn.LSTM` and `torch.nn.Linear`, in float32 and in float64.

`torch.nn.LSTM` has the same gate order (i, f, g, o) and cell as Keras, with tanh and sigmoid only, and
weights `weight_ih (4*units, features)`, `weight_hh (4*units, units)` and two biases. Each case loads the
random weights of tests/oracle_cases.py into torch through `load_state_dict`, so the names and shapes are
PyTorch's own, and writes the same weights into the config in either layout. Keras's `go_backwards` is
torch run on the input flipped in time, its sequence left in processing order.

Unlike Keras (see test_oracle_keras.py), torch computes float64 in float64, so float64 is held to 1e-12.
The Dense heads run every activation of SPEC §1 through torch's own functions, in float64 as well.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from oracle_cases import (  # noqa: E402
    ACTIVATIONS,
    FLOAT32_TOLERANCE,
    FLOAT64_TOLERANCE,
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

pytestmark = pytest.mark.slow  # an oracle: torch.nn.LSTM

TOLERANCE = {"float32": FLOAT32_TOLERANCE, "float64": FLOAT64_TOLERANCE}
TORCH_DTYPE = {"float32": torch.float32, "float64": torch.float64}

# SPEC §1's activations written with torch's functions; hard_sigmoid_tf2 (tf.keras 2) has none, so it is
# its formula, clip(0.2x + 0.5, 0, 1).
TORCH_ACTIVATIONS: dict[str | None, Callable[[torch.Tensor], torch.Tensor]] = {
    None: lambda y: y,
    "linear": lambda y: y,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "hard_sigmoid": F.hardsigmoid,  # relu6(x + 3) / 6, as Keras 3
    "hard_sigmoid_tf2": lambda y: torch.clamp(0.2 * y + 0.5, 0.0, 1.0),
    "relu": F.relu,
    "relu6": F.relu6,
    "leaky_relu": lambda y: F.leaky_relu(y, negative_slope=0.2),  # torch's default slope is 0.01
    "elu": F.elu,
    "selu": F.selu,
    "gelu": F.gelu,  # approximate="none": the erf form
    "softplus": F.softplus,
    "softsign": F.softsign,
    "silu": F.silu,
    "swish": F.silu,
    "hard_silu": F.hardswish,
    "hard_swish": F.hardswish,
    "mish": F.mish,
    "exponential": torch.exp,
    "softmax": lambda y: torch.softmax(y, dim=-1),
    "log_softmax": lambda y: torch.log_softmax(y, dim=-1),
}


def _single_cases() -> list[Case]:
    """One LSTM (tanh, sigmoid) with a Dense head per activation; the flags cycle at different periods."""
    cases = []
    for k, activation in enumerate(ACTIVATIONS):
        lstm = LstmSpec(
            units=1 + k % 4,
            use_bias=k % 4 != 3,
            go_backwards=k % 2 == 1,
            return_sequences=(k // 2) % 2 == 0,
            return_state=k % 3 != 2,
            initial_state=(None, "batch", "shared")[k % 3],
            layout=("torch", "torch-ih", "torch", "keras", "torch")[k % 5],
        )
        dense = DenseSpec(units=1 + (k + 2) % 3, activation=activation, use_bias=k % 5 != 4)
        cases.append(Case(f"{k:02d}-head-{activation}", seed=300 + k, layers=(lstm, dense)))
    return cases


def _stack_cases() -> list[Case]:
    """LSTM → LSTM → Dense(softmax), the second LSTM starting from given states in some."""
    cases = []
    for k in range(4):
        first = LstmSpec(
            units=2 + k % 3,
            return_sequences=True,
            return_state=k % 2 == 1,
            go_backwards=k % 2 == 0,
            initial_state=(None, "batch")[k // 2],
            layout="torch",
        )
        second = LstmSpec(
            units=1 + k,
            use_bias=k != 1,
            return_sequences=k >= 2,
            return_state=k != 2,
            go_backwards=k == 3,
            initial_state=("shared", None, "batch", None)[k],
            layout=("torch", "torch-ih", "keras", "torch")[k],
        )
        head = DenseSpec(units=2 + k % 2, activation="softmax", use_bias=k != 0)
        cases.append(Case(f"stack-{k}", seed=400 + k, layers=(first, second, head), named=False))
    return cases


SINGLE_CASES = _single_cases()
STACK_CASES = _stack_cases()


def torch_outputs(built: Built, dtype: str) -> dict[str, np.ndarray]:
    """The same model in torch, layer by layer, keyed by lstm-cli's references."""
    x = torch.from_numpy(built.x).to(TORCH_DTYPE[dtype])
    values: dict[str, np.ndarray] = {}
    with torch.no_grad():
        for layer in built.layers:
            x = _torch_dense(layer, x) if isinstance(layer, BuiltDense) else _torch_lstm(layer, x, values)
            values[layer.name] = x.numpy()
    return values


def _tensor(array: np.ndarray, like: torch.Tensor) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array)).to(like.dtype)


def _torch_dense(layer: BuiltDense, x: torch.Tensor) -> torch.Tensor:
    linear = torch.nn.Linear(
        layer.kernel.shape[0], layer.spec.units, bias=layer.bias is not None, dtype=x.dtype
    )
    state = {"weight": _tensor(layer.kernel.T, x)}  # (units, in): torch keeps Dense's kernel transposed
    if layer.bias is not None:
        state["bias"] = _tensor(layer.bias, x)
    linear.load_state_dict(state)
    return TORCH_ACTIVATIONS[layer.spec.activation](linear(x))


def _torch_lstm(layer: BuiltLstm, x: torch.Tensor, values: dict[str, np.ndarray]) -> torch.Tensor:
    spec = layer.spec
    batch, _, features = x.shape
    module = torch.nn.LSTM(features, spec.units, bias=spec.use_bias, batch_first=True, dtype=x.dtype)
    state = {
        "weight_ih_l0": _tensor(layer.kernel.T, x),  # (4*units, features)
        "weight_hh_l0": _tensor(layer.recurrent_kernel.T, x),  # (4*units, units)
    }
    if layer.bias_ih is not None and layer.bias_hh is not None:
        state["bias_ih_l0"], state["bias_hh_l0"] = _tensor(layer.bias_ih, x), _tensor(layer.bias_hh, x)
    module.load_state_dict(state)
    inputs = torch.flip(x, dims=[1]) if spec.go_backwards else x  # (batch, timesteps, features)
    initial = layer.state(batch)
    h_c = None if initial is None else tuple(_tensor(s, x)[None] for s in initial)  # (1, batch, units) each
    sequence, (h, c) = module(inputs, h_c)  # sequence (batch, timesteps, units); h, c (1, batch, units)
    if spec.return_state:
        values[f"{layer.name}.h"], values[f"{layer.name}.c"] = h[0].numpy(), c[0].numpy()
    return sequence if spec.return_sequences else sequence[:, -1]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", SINGLE_CASES + STACK_CASES, ids=lambda case: case.id)
def test_forward_matches_torch(case: Case, dtype: str) -> None:
    built = build(case)
    ours = lstm_cli.forward(built.config, dtype=dtype)
    assert_outputs_match(ours, torch_outputs(built, dtype), dtype=dtype, tolerance=TOLERANCE[dtype])


def test_state_dict_of_a_torch_lstm_runs_as_is() -> None:
    """A user's path: nn.LSTM's own state_dict (torch's default init), renamed without the _l0 suffix."""
    torch.manual_seed(0)
    module = torch.nn.LSTM(3, 5, batch_first=True, dtype=torch.float64)
    x = torch.from_numpy(np.random.default_rng(0).normal(size=(2, 4, 3)))
    weights = {name.removesuffix("_l0"): value.numpy() for name, value in module.state_dict().items()}
    layer = {"type": "lstm", "units": 5, "return_sequences": True, "return_state": True, **weights}
    ours = lstm_cli.forward({"input": x.numpy(), "layers": [layer]})
    with torch.no_grad():
        sequence, (h, c) = module(x)
    theirs = {"lstm": sequence.numpy(), "lstm.h": h[0].numpy(), "lstm.c": c[0].numpy()}
    assert_outputs_match(ours, theirs, dtype="float64", tolerance=FLOAT64_TOLERANCE)


def test_cases_cover_every_option() -> None:
    assert set(TORCH_ACTIVATIONS) == set(ACTIVATIONS)
    specs = [spec for case in SINGLE_CASES + STACK_CASES for spec in case.layers]
    lstms = [spec for spec in specs if isinstance(spec, LstmSpec)]
    assert {spec.activation for spec in specs if isinstance(spec, DenseSpec)} == set(ACTIVATIONS)
    for flag in ("use_bias", "go_backwards", "return_sequences", "return_state"):
        assert {getattr(spec, flag) for spec in lstms} == {False, True}, flag
    assert {spec.initial_state for spec in lstms} == {None, "batch", "shared"}
    assert {spec.layout for spec in lstms} == {"keras", "torch", "torch-ih"}
