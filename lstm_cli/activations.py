"""Activations with Keras 3 definitions (keras/src/activations/activations.py). Pure numpy, no warnings.

Each one is written so that it cannot overflow for any finite input: sigmoid goes through tanh, softplus
through logaddexp, and exp-based ones only ever exponentiate non-positive numbers where they can.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

Array = np.ndarray
Activation = Callable[[Array], Array]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_erf = np.frompyfunc(math.erf, 1, 1)


def linear(x: Array) -> Array:
    return x


def sigmoid(x: Array) -> Array:
    # 1/(1+exp(-x)) rewritten so that no exp can overflow; equal to it within an ulp.
    return 0.5 * np.tanh(0.5 * x) + 0.5


def hard_sigmoid(x: Array) -> Array:
    # Keras 3: relu6(x + 3) / 6.
    return np.clip(x / 6.0 + 0.5, 0.0, 1.0)


def hard_sigmoid_tf2(x: Array) -> Array:
    # tf.keras 2 and Keras 2: clip(0.2x + 0.5).
    return np.clip(0.2 * x + 0.5, 0.0, 1.0)


def relu(x: Array) -> Array:
    return np.maximum(x, 0.0)


def relu6(x: Array) -> Array:
    return np.clip(x, 0.0, 6.0)


def leaky_relu(x: Array) -> Array:
    return np.where(x >= 0, x, 0.2 * x)


def elu(x: Array) -> Array:
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0.0)))


def selu(x: Array) -> Array:
    with np.errstate(over="ignore"):  # x above max/1.0507 overflows, as in Keras; the engine reports it
        return _SELU_SCALE * np.where(x > 0, x, _SELU_ALPHA * np.expm1(np.minimum(x, 0.0)))


def gelu(x: Array) -> Array:
    # The exact erf form (Keras's approximate=False); numpy has no vectorised erf, so math.erf per value.
    erf = np.asarray(_erf(x / math.sqrt(2.0)), dtype=x.dtype)
    return 0.5 * x * (1.0 + erf)


def softplus(x: Array) -> Array:
    return np.logaddexp(0.0, x).astype(x.dtype, copy=False)


def softsign(x: Array) -> Array:
    return x / (1.0 + np.abs(x))


def silu(x: Array) -> Array:
    return x * sigmoid(x)


def hard_silu(x: Array) -> Array:
    return x * hard_sigmoid(x)


def mish(x: Array) -> Array:
    return x * np.tanh(softplus(x))


def exponential(x: Array) -> Array:
    # Overflows to inf for large x, as in Keras; the engine reports non-finite results.
    with np.errstate(over="ignore"):
        return np.exp(x)


def softmax(x: Array) -> Array:
    with np.errstate(over="ignore"):  # -max - max is -inf, and exp(-inf) is the 0 it stands for
        shifted = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return shifted / np.sum(shifted, axis=-1, keepdims=True)


def log_softmax(x: Array) -> Array:
    with np.errstate(over="ignore"):  # a log-probability below -max is -inf; the engine reports it
        shifted = x - np.max(x, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


ACTIVATIONS: dict[str, Activation] = {
    "linear": linear,
    "tanh": np.tanh,
    "sigmoid": sigmoid,
    "hard_sigmoid": hard_sigmoid,
    "hard_sigmoid_tf2": hard_sigmoid_tf2,
    "relu": relu,
    "relu6": relu6,
    "leaky_relu": leaky_relu,
    "elu": elu,
    "selu": selu,
    "gelu": gelu,
    "softplus": softplus,
    "softsign": softsign,
    "silu": silu,
    "swish": silu,
    "hard_silu": hard_silu,
    "hard_swish": hard_silu,
    "mish": mish,
    "exponential": exponential,
    "softmax": softmax,
    "log_softmax": log_softmax,
}


def get_activation(name: str) -> Activation:
    return ACTIVATIONS[name]
