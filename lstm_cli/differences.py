"""How far apart two arrays are, as compare and its diagnosis measure it."""

from __future__ import annotations

import numpy as np

from .model import Array

RTOL = 1e-5  # float32 rounding
ATOL = 1e-6


def abs_diff(a: Array, b: Array) -> Array:
    """|A - B| in float64; 0 where both are NaN, inf where only one is."""
    a64, b64 = np.asarray(a, np.float64), np.asarray(b, np.float64)
    with np.errstate(invalid="ignore"):
        diff = np.abs(a64 - b64)
    same = (a64 == b64) | (np.isnan(a64) & np.isnan(b64))
    return np.where(same, 0.0, np.where(np.isnan(diff), np.inf, diff))


def beyond(a: Array, b: Array, rtol: float, atol: float) -> Array:
    """Where B is further from A than atol + rtol·|A| (numpy.isclose's rule, with A the reference)."""
    return abs_diff(a, b) > atol + rtol * np.abs(np.asarray(a, np.float64))
