"""Random models for the oracle tests: seeded shapes and weights, written as lstm-cli configs.

A `Case` describes a sequential model (LSTM and Dense layers) and its flags; `build` draws its input and
weights from a seeded numpy RNG and returns the config mapping that `lstm_cli.forward` reads, next to the
same weights in Keras layout for the oracles (Keras 3 and `torch.nn.LSTM`) to load.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

# Every activation of SPEC §1, plus None (YAML null), which means identity as Keras's activation=None.
ACTIVATIONS: tuple[str | None, ...] = (
    None,
    "linear",
    "tanh",
    "sigmoid",
    "hard_sigmoid",
    "hard_sigmoid_tf2",
    "relu",
    "relu6",
    "leaky_relu",
    "elu",
    "selu",
    "gelu",
    "softplus",
    "softsign",
    "silu",
    "swish",
    "hard_silu",
    "hard_swish",
    "mish",
    "exponential",
    "softmax",
    "log_softmax",
)

# "keras": kernel, recurrent_kernel, bias. "torch": weight_ih, weight_hh, bias_ih, bias_hh, with the bias
# split at random between the two. "torch-ih": the PyTorch names with the whole bias in bias_ih and bias_hh
# zeros, as convert writes a Keras bias (PyTorch has both biases or neither).
Layout = Literal["keras", "torch", "torch-ih"]
# None: zero state. "batch": arrays (batch, units). "shared": arrays (units,), broadcast over the batch.
StateKind = Literal["batch", "shared"] | None

# Tolerances, relative to the largest magnitude in the oracle's array (at least 1), so that a value near
# zero gets the same absolute slack as its neighbours. float32 has an ulp of 1.2e-7; a few timesteps of
# matmuls summed in a different order, and transcendental functions with their own roundings, stay within
# tens of ulps, so 2e-5 (~170 ulps) fails on any real disagreement (a wrong constant, gate or state moves
# values by 1e-3 and more) without flaking. The same bound holds between a float64 run and a float32
# oracle: the float32 side's rounding is all the difference. Between two float64 computations the same
# argument, with an ulp of 2.2e-16, gives 1e-12.
FLOAT32_TOLERANCE = 2e-5
FLOAT64_TOLERANCE = 1e-12


@dataclass(frozen=True)
class LstmSpec:
    units: int
    activation: str | None = "tanh"
    recurrent_activation: str | None = "sigmoid"
    use_bias: bool = True
    go_backwards: bool = False
    return_sequences: bool = False
    return_state: bool = False
    initial_state: StateKind = None
    layout: Layout = "keras"


@dataclass(frozen=True)
class DenseSpec:
    units: int
    activation: str | None = "linear"
    use_bias: bool = True


@dataclass(frozen=True)
class Case:
    id: str
    seed: int
    layers: tuple[LstmSpec | DenseSpec, ...]
    named: bool = True  # False leaves names out, so that the config gets Keras's: lstm, lstm_1, dense
    scale: float = 0.9  # weights are uniform in (-scale, scale)

    def names(self) -> list[str]:
        counts = {"lstm": 0, "dense": 0}
        names = []
        for spec in self.layers:
            kind = "lstm" if isinstance(spec, LstmSpec) else "dense"
            names.append(kind if counts[kind] == 0 else f"{kind}_{counts[kind]}")
            counts[kind] += 1
        return names


@dataclass(frozen=True)
class BuiltLstm:
    """One LSTM's weights in Keras layout, with the PyTorch bias split and the initial state as given."""

    name: str
    spec: LstmSpec
    kernel: np.ndarray  # (features, 4*units)
    recurrent_kernel: np.ndarray  # (units, 4*units)
    bias_ih: np.ndarray | None  # (4*units,); bias = bias_ih + bias_hh; None without use_bias
    bias_hh: np.ndarray | None  # (4*units,); zeros in the "keras" and "torch-ih" layouts
    h0: np.ndarray | None  # (batch, units) or (units,)
    c0: np.ndarray | None

    @property
    def bias(self) -> np.ndarray | None:
        return None if self.bias_ih is None or self.bias_hh is None else self.bias_ih + self.bias_hh

    def state(self, batch: int) -> tuple[np.ndarray, np.ndarray] | None:
        """The initial (h, c) as (batch, units) arrays, or None for zeros."""
        if self.h0 is None or self.c0 is None:
            return None
        shape = (batch, self.spec.units)
        return np.broadcast_to(self.h0, shape).copy(), np.broadcast_to(self.c0, shape).copy()


@dataclass(frozen=True)
class BuiltDense:
    name: str
    spec: DenseSpec
    kernel: np.ndarray  # (in, units)
    bias: np.ndarray | None  # (units,)


@dataclass(frozen=True)
class Built:
    x: np.ndarray  # (batch, timesteps, features)
    layers: list[BuiltLstm | BuiltDense]
    config: dict[str, Any]


def build(case: Case) -> Built:
    rng = np.random.default_rng(case.seed)
    batch, timesteps, features = (int(n) for n in rng.integers(1, [4, 6, 5], endpoint=True))
    x = rng.normal(0.0, 1.0, (batch, timesteps, features))
    layers: list[BuiltLstm | BuiltDense] = []
    entries: list[dict[str, Any]] = []
    width = features
    for name, spec in zip(case.names(), case.layers, strict=True):
        if isinstance(spec, LstmSpec):
            layer: BuiltLstm | BuiltDense = _lstm(rng, case.scale, name, spec, width, batch)
        else:
            layer = _dense(rng, case.scale, name, spec, width)
        entry = _entry(layer, rng)
        if case.named:
            entry["name"] = name
        layers.append(layer)
        entries.append(entry)
        width = spec.units
    return Built(x, layers, {"input": x, "layers": entries})


def _lstm(
    rng: np.random.Generator, scale: float, name: str, spec: LstmSpec, features: int, batch: int
) -> BuiltLstm:
    gates = 4 * spec.units
    kernel = rng.uniform(-scale, scale, (features, gates))
    recurrent_kernel = rng.uniform(-scale, scale, (spec.units, gates))
    bias_ih = bias_hh = None
    if spec.use_bias:
        bias_ih = rng.uniform(-scale, scale, gates)
        bias_hh = rng.uniform(-scale, scale, gates) if spec.layout == "torch" else np.zeros(gates)
    h0 = c0 = None
    if spec.initial_state is not None:
        shape = (batch, spec.units) if spec.initial_state == "batch" else (spec.units,)
        h0, c0 = rng.uniform(-1.0, 1.0, shape), rng.uniform(-1.0, 1.0, shape)
    return BuiltLstm(name, spec, kernel, recurrent_kernel, bias_ih, bias_hh, h0, c0)


def _dense(rng: np.random.Generator, scale: float, name: str, spec: DenseSpec, width: int) -> BuiltDense:
    kernel = rng.uniform(-scale, scale, (width, spec.units))
    return BuiltDense(name, spec, kernel, rng.uniform(-scale, scale, spec.units) if spec.use_bias else None)


def _entry(layer: BuiltLstm | BuiltDense, rng: np.random.Generator) -> dict[str, Any]:
    """The config entry for one layer. As a user would, it leaves out options at their defaults, so that
    the defaults of SPEC §1 are under test too."""
    spec = layer.spec
    entry: dict[str, Any] = {"units": spec.units}
    if not spec.use_bias:
        entry["use_bias"] = False
    if isinstance(layer, BuiltDense):
        entry["type"] = "dense"
        if spec.activation != "linear":
            entry["activation"] = spec.activation
        entry["kernel"] = layer.kernel
        if layer.bias is not None:
            entry["bias"] = layer.bias
        return entry
    assert isinstance(spec, LstmSpec)
    entry["type"] = "lstm"
    if spec.activation != "tanh":
        entry["activation"] = spec.activation
    if spec.recurrent_activation != "sigmoid":
        entry["recurrent_activation"] = spec.recurrent_activation
    for flag in ("go_backwards", "return_sequences", "return_state"):
        if getattr(spec, flag):
            entry[flag] = True
    if spec.layout == "keras":
        entry["kernel"], entry["recurrent_kernel"] = layer.kernel, layer.recurrent_kernel
        if layer.bias is not None:
            entry["bias"] = layer.bias
    else:
        entry["weight_ih"], entry["weight_hh"] = layer.kernel.T.copy(), layer.recurrent_kernel.T.copy()
        if layer.bias_ih is not None:
            entry["bias_ih"] = layer.bias_ih
        if layer.bias_hh is not None:
            entry["bias_hh"] = layer.bias_hh
    if layer.h0 is not None:
        # Both forms of SPEC §2, chosen at random: [h, c] or {h: ..., c: ...}.
        use_list = rng.random() < 0.5
        entry["initial_state"] = [layer.h0, layer.c0] if use_list else {"h": layer.h0, "c": layer.c0}
    return entry


def assert_outputs_match(
    ours: dict[str, np.ndarray], theirs: dict[str, np.ndarray], *, dtype: str, tolerance: float
) -> None:
    """Every reference lstm-cli produced, in the dtype it was asked for, equals the oracle's."""
    assert sorted(ours) == sorted(theirs)
    for ref, expected in theirs.items():
        actual = ours[ref]
        assert actual.dtype == np.dtype(dtype), ref
        assert actual.shape == expected.shape, ref
        assert np.isfinite(expected).all(), f"{ref}: the oracle overflowed; the case needs smaller weights"
        scale = max(1.0, float(np.abs(expected).max()))
        np.testing.assert_allclose(actual, expected, rtol=tolerance, atol=tolerance * scale, err_msg=ref)
