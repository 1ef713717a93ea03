"""The losses of `backward` (docs/config.md#the-loss), with Keras 3's definitions (keras/src/losses/losses.py
and, for the crossentropies, keras/src/backend/torch/nn.py), and their gradients with respect to the
output. numpy in, numpy out.

Each loss is first a value per sample (and per step of a sequence): the mean or sum over the last axis, as
Keras computes it. Keras's default reduction, `sum_over_batch_size`, then averages those values. An output
that carries a mask (a sequence after Masking, or after an Embedding with mask_zero) is averaged over its
valid steps only, as Keras weights a masked loss. `sum` is `output.sum()`, as in `output.sum().backward()`.

Where a loss has a kink (`|x|` at 0, a clip at its bounds), the gradient is the one torch's autograd takes:
sign(0) = 0, and a clip passes the gradient at its bounds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .activations import log_softmax, sigmoid, softmax
from .model import Array

# Keras's backend.epsilon(): the crossentropies clip probabilities to [EPSILON, 1 - EPSILON].
EPSILON = 1e-7
LOSS_TYPES = (
    "mse",
    "mae",
    "binary_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "sum",
)
CROSSENTROPIES = LOSS_TYPES[2:5]


@dataclass(frozen=True)
class LossResult:
    value: Array  # 0-d, in the output's dtype
    gradient: Array  # dL/doutput, the output's shape


def loss_and_gradient(
    kind: str,
    output: Array,
    target: Array | None,  # the output's shape; class ids (output's shape without its last axis) for sparse
    *,
    from_logits: bool = False,
    mask: Array | None = None,  # (batch, timesteps), True where a step counts: a sequence's mask
) -> LossResult:
    """The loss `kind` of `output` against `target`, reduced as Keras reduces it, and dL/doutput."""
    dtype = output.dtype
    if kind == "sum":
        return LossResult(np.asarray(output.sum(), dtype), np.ones_like(output))
    assert target is not None  # config.loss_spec requires one for every other loss
    if kind == "sparse_categorical_crossentropy":
        target = _one_hot(target, output.shape[-1], dtype)
        kind = "categorical_crossentropy"
    target = target.astype(dtype, copy=False)
    per_sample, gradient = _PER_SAMPLE[kind](output, target, from_logits)  # (batch, ...), output's shape
    weights = _reduction_weights(per_sample.shape, mask, dtype)  # dL/dper_sample
    value = np.asarray((per_sample * weights).sum(), dtype)
    return LossResult(value, (gradient * weights[..., np.newaxis]).astype(dtype, copy=False))


def _reduction_weights(shape: tuple[int, ...], mask: Array | None, dtype: np.dtype) -> Array:
    """sum_over_batch_size: each per-sample value weighs 1/count; with a mask, 1/valid where valid and 0
    elsewhere (Keras's apply_mask and divide_no_nan: no valid step makes the loss 0)."""
    if mask is None:
        return np.full(shape, 1.0 / max(1, int(np.prod(shape))), dtype)
    valid = int(mask.sum())
    return np.where(mask, 1.0 / valid if valid else 0.0, 0.0).astype(dtype)


def _one_hot(ids: Array, classes: int, dtype: np.dtype) -> Array:
    if ids.ndim >= 1 and ids.shape[-1] == 1:  # Keras squeezes a trailing axis of 1
        ids = ids[..., 0]
    return (ids.astype(np.int64)[..., np.newaxis] == np.arange(classes)).astype(dtype)


def _mse(y: Array, t: Array, _: bool) -> tuple[Array, Array]:
    n = y.shape[-1]
    return np.mean(np.square(y - t), axis=-1), 2 * (y - t) / n


def _mae(y: Array, t: Array, _: bool) -> tuple[Array, Array]:
    n = y.shape[-1]
    return np.mean(np.abs(y - t), axis=-1), np.sign(y - t) / n


def _binary_crossentropy(y: Array, t: Array, from_logits: bool) -> tuple[Array, Array]:
    n = y.shape[-1]
    if from_logits:  # torch's binary_cross_entropy_with_logits, which never overflows
        losses = np.maximum(y, 0) - y * t + np.log1p(np.exp(-np.abs(y)))
        return np.mean(losses, axis=-1), (sigmoid(y) - t) / n
    p = np.clip(y, EPSILON, 1 - EPSILON)
    losses = -(t * np.log(p) + (1 - t) * np.log1p(-p))
    inside = (y >= EPSILON) & (y <= 1 - EPSILON)  # the clip passes the gradient only there
    return np.mean(losses, axis=-1), np.where(inside, (p - t) / (p * (1 - p)), 0.0) / n


def _categorical_crossentropy(y: Array, t: Array, from_logits: bool) -> tuple[Array, Array]:
    if from_logits:
        losses = -np.sum(t * log_softmax(y), axis=-1)
        return losses, softmax(y) * np.sum(t, axis=-1, keepdims=True) - t
    total = np.sum(y, axis=-1, keepdims=True)
    q = y / total  # Keras normalises the probabilities first
    p = np.clip(q, EPSILON, 1 - EPSILON)
    losses = -np.sum(t * np.log(p), axis=-1)
    dq = np.where((q >= EPSILON) & (q <= 1 - EPSILON), -t / p, 0.0)
    # q_j = y_j / total: dL/dy_k = (dq_k - sum_j dq_j q_j) / total
    return losses, (dq - np.sum(dq * q, axis=-1, keepdims=True)) / total


_PER_SAMPLE = {
    "mse": _mse,
    "mae": _mae,
    "binary_crossentropy": _binary_crossentropy,
    "categorical_crossentropy": _categorical_crossentropy,
}
