"""Weight initialisers, as Keras 3 and PyTorch define them. numpy in, numpy out, seeded by the caller's rng.

Keras (keras/src/initializers/random_initializers.py, keras/src/layers/rnn/lstm.py):
    kernel            glorot_uniform   U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out))
    recurrent_kernel  orthogonal       Q from the QR of a normal matrix, signs fixed by diag(R)
    bias              zeros, with the forget gate's slice [units, 2*units) set to 1 (unit_forget_bias)
PyTorch (torch/nn/modules/rnn.py): every LSTM weight and bias U(-k, k) with k = 1/sqrt(units); nn.Linear's
weight and bias U(-k, k) with k = 1/sqrt(in_features).
"""

from __future__ import annotations

import math

import numpy as np

Array = np.ndarray


def glorot_uniform(rng: np.random.Generator, shape: tuple[int, int]) -> Array:
    fan_in, fan_out = shape  # a 2-D kernel (inputs, outputs)
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape)


def orthogonal(rng: np.random.Generator, shape: tuple[int, int], gain: float = 1.0) -> Array:
    """Orthonormal rows when rows <= columns (an LSTM's (units, 4*units)), else orthonormal columns."""
    rows, cols = shape
    normal = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(normal)  # q: (max, min) with orthonormal columns
    q = q * np.sign(np.diag(r))  # makes the result uniform over orthogonal matrices
    if rows < cols:
        q = q.T
    return gain * q


def lstm_bias(units: int, unit_forget_bias: bool = True) -> Array:
    bias = np.zeros(4 * units)  # gates i, f, g, o side by side
    if unit_forget_bias:
        bias[units : 2 * units] = 1.0
    return bias


def torch_uniform(rng: np.random.Generator, shape: tuple[int, ...], fan: int) -> Array:
    """PyTorch's U(-1/sqrt(fan), 1/sqrt(fan)): fan is the LSTM's units, or a Linear layer's in_features."""
    bound = 1.0 / math.sqrt(fan)
    return rng.uniform(-bound, bound, size=shape)
