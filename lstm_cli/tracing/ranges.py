"""Where a step's values lie: the activations that map onto a fixed range, and what counts as saturated.
Views mark a saturated gate and scale a heatmap by them."""

from __future__ import annotations

SIGMOID_LIKE = ("sigmoid", "hard_sigmoid", "hard_sigmoid_tf2")  # onto [0, 1]: gates that can saturate
TANH_LIKE = ("tanh", "softsign")  # onto [-1, 1]
SATURATED_BELOW, SATURATED_ABOVE = 0.05, 0.95
RECURRENT_GATES = ("i", "f", "o")  # under recurrent_activation (g is under activation): these saturate


def fixed_range(activation: str, recurrent_activation: str, name: str) -> tuple[float, float] | None:
    """The range a quantity lies in where its activation maps onto one: a fixed scale makes saturation
    visible."""

    def onto(act: str) -> tuple[float, float] | None:
        return (0.0, 1.0) if act in SIGMOID_LIKE else (-1.0, 1.0) if act in TANH_LIKE else None

    if name in RECURRENT_GATES:
        return onto(recurrent_activation)
    if name == "g":
        return onto(activation)
    if name == "h" and recurrent_activation in SIGMOID_LIKE:
        return onto(activation)  # o in [0, 1] times act(c)
    return None
