"""Where a step's values lie: the activations that map onto a fixed range, and what counts as saturated.
Views mark a saturated gate and scale a heatmap by them."""

from __future__ import annotations

SIGMOID_LIKE = ("sigmoid", "hard_sigmoid", "hard_sigmoid_tf2")  # onto [0, 1]: gates that can saturate
TANH_LIKE = ("tanh", "softsign")  # onto [-1, 1]
SATURATED_BELOW, SATURATED_ABOVE = 0.05, 0.95
RECURRENT_GATES = (
    "i",
    "f",
    "o",
)  # under recurrent_activation (g is under activation): the gates that saturate
