"""The derivatives of the activations (lstm_cli/activations.py), as torch's autograd takes them: at a kink
the side torch's own backward formula picks (relu'(0) = 0, a clip passes the gradient at its bounds,
hardsigmoid's and relu6's strict inequalities). numpy in, numpy out."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from lstm_cli.activations import sigmoid, softplus
from lstm_cli.model import Array

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_erf = np.frompyfunc(math.erf, 1, 1)

# name → d activation(x) / dx, elementwise, from x (the input) and y (the output)
Derivative = Callable[[Array, Array], Array]


def _gelu(x: Array, _: Array) -> Array:
    cdf = 0.5 * (1.0 + np.asarray(_erf(x / math.sqrt(2.0)), dtype=x.dtype))
    return cdf + x * np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def _mish(x: Array, _: Array) -> Array:
    tanh_softplus = np.tanh(softplus(x))
    return tanh_softplus + x * (1.0 - tanh_softplus**2) * sigmoid(x)


def _silu(x: Array, _: Array) -> Array:
    s = sigmoid(x)
    return s * (1.0 + x * (1.0 - s))


def _hard_silu(x: Array, _: Array) -> Array:
    # torch's hardswish_backward: 0 below -3, x/3 + 1/2 up to 3 (both bounds included), 1 above
    return np.where(x < -3, 0.0, np.where(x <= 3, x / 3 + 0.5, 1.0))


def _selu(x: Array, y: Array) -> Array:
    # torch takes the left side at 0 (elu_backward's x <= 0)
    return np.where(x > 0, _SELU_SCALE, y + _SELU_SCALE * _SELU_ALPHA)


DERIVATIVES: dict[str, Derivative] = {
    "linear": lambda x, y: np.ones_like(x),
    "tanh": lambda x, y: 1.0 - y * y,
    "sigmoid": lambda x, y: y * (1.0 - y),
    "hard_sigmoid": lambda x, y: np.where((x > -3) & (x < 3), 1.0 / 6.0, 0.0),
    "hard_sigmoid_tf2": lambda x, y: np.where((x >= -2.5) & (x <= 2.5), 0.2, 0.0),  # a clip: bounds pass
    "relu": lambda x, y: (x > 0).astype(x.dtype),
    "relu6": lambda x, y: ((x > 0) & (x < 6)).astype(x.dtype),
    "leaky_relu": lambda x, y: np.where(x > 0, 1.0, 0.2),
    "elu": lambda x, y: np.where(x > 0, 1.0, y + 1.0),
    "selu": _selu,
    "gelu": _gelu,
    "softplus": lambda x, y: sigmoid(x),
    "softsign": lambda x, y: 1.0 / np.square(1.0 + np.abs(x)),
    "silu": _silu,
    "swish": _silu,
    "hard_silu": _hard_silu,
    "hard_swish": _hard_silu,
    "mish": _mish,
    "exponential": lambda x, y: y,
}
NORMALISING = ("softmax", "log_softmax")  # over the last axis: no elementwise derivative


def derivative(name: str, x: Array, y: Array) -> Array | None:
    """activation'(x) elementwise, in x's dtype; None for softmax and log_softmax, whose Jacobian is not
    diagonal (use `activation_backward`)."""
    if name in NORMALISING:
        return None
    with np.errstate(all="ignore"):
        return np.asarray(DERIVATIVES[name](x, y), dtype=x.dtype)


def activation_backward(name: str, x: Array, y: Array, dy: Array) -> Array:
    """dL/dx from dL/dy for y = activation(x) over the last axis."""
    if name == "softmax":
        return y * (dy - np.sum(dy * y, axis=-1, keepdims=True))
    if name == "log_softmax":
        return dy - np.exp(y) * np.sum(dy, axis=-1, keepdims=True)
    slope = derivative(name, x, y)
    assert slope is not None
    return dy * slope


def clip_passes(x: Array, bound: float | None) -> Array | None:
    """Where np.clip(x, -bound, bound) passes the gradient (its bounds included, as torch's clamp); None
    without a bound."""
    return None if bound is None else (np.abs(x) <= bound)
