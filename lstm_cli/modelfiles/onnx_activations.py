"""Activations between ONNX and lstm-cli, both ways: the LSTM op's `activations` attribute (eleven names,
some taking alpha and beta) and the ops that a dense layer's activation is written as.

The LSTM op lists three activations per direction, f (the gates i, f, o), g (the cell input) and h (the
activation of c in h), and consumes `activation_alpha` and `activation_beta` in order, only by the
activations that take them. onnxruntime's defaults for a missing one are LeakyRelu 0.01, HardSigmoid 0.2
and 0.5, Elu 1.0, and 0 for every other (rnn_helpers.cc). Parameters are float32 in a file, so they are
compared in float32: HardSigmoid(0.16666667, 0.5) is Keras 3's hard_sigmoid, (0.2, 0.5) tf.keras 2's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from lstm_cli.errors import LstmCliError

SELU_ALPHA = 1.6732632423543772848170429916717  # Keras's (and ONNX's default) Selu constants
SELU_SCALE = 1.0507009873554804934193349852946
LSTM_ACTIVATIONS = (
    "Relu",
    "Tanh",
    "Sigmoid",
    "Affine",
    "LeakyRelu",
    "ThresholdedRelu",
    "ScaledTanh",
    "HardSigmoid",
    "Elu",
    "Softsign",
    "Softplus",
)
PARAMETERS = {
    "Affine": ("alpha", "beta"),
    "LeakyRelu": ("alpha",),
    "ThresholdedRelu": ("alpha",),
    "ScaledTanh": ("alpha", "beta"),
    "HardSigmoid": ("alpha", "beta"),
    "Elu": ("alpha",),
}
DEFAULTS = {("LeakyRelu", "alpha"): 0.01, ("HardSigmoid", "alpha"): 0.2, ("HardSigmoid", "beta"): 0.5}
DEFAULTS[("Elu", "alpha")] = 1.0


@dataclass(frozen=True)
class OnnxActivation:
    name: str
    alpha: float | None = None
    beta: float | None = None

    def text(self) -> str:
        params = [f"{key}={_number(value)}" for key, value in (("alpha", self.alpha), ("beta", self.beta))]
        used = [p for p, value in zip(params, (self.alpha, self.beta), strict=True) if value is not None]
        return f"{self.name}({', '.join(used)})" if used else self.name

    def same(self, other: OnnxActivation) -> bool:
        return (
            self.name == other.name
            and _f32(self.alpha) == _f32(other.alpha)
            and _f32(self.beta) == _f32(other.beta)
        )


def _f32(value: float | None) -> np.float32 | None:
    return None if value is None else np.float32(value)


def _number(value: float | None) -> str:
    return f"{float(np.float32(value)):.8g}"


# lstm-cli's activation → the LSTM op's activation that computes it.
TO_LSTM = {
    "tanh": OnnxActivation("Tanh"),
    "sigmoid": OnnxActivation("Sigmoid"),
    "relu": OnnxActivation("Relu"),
    "softsign": OnnxActivation("Softsign"),
    "softplus": OnnxActivation("Softplus"),
    "linear": OnnxActivation("Affine", 1.0, 0.0),
    "hard_sigmoid": OnnxActivation("HardSigmoid", 1 / 6, 0.5),
    "hard_sigmoid_tf2": OnnxActivation("HardSigmoid", 0.2, 0.5),
    "leaky_relu": OnnxActivation("LeakyRelu", 0.2),
    "elu": OnnxActivation("Elu", 1.0),
}


def parse_lstm_activations(
    names: list[str], alphas: list[float], betas: list[float], fail: Callable[[str], LstmCliError]
) -> list[OnnxActivation]:
    """The LSTM op's activations with their parameters: alpha and beta consumed in order, each by the
    activations that take one."""
    canonical = {name.lower(): name for name in LSTM_ACTIVATIONS}
    queues = {"alpha": list(alphas), "beta": list(betas)}
    found = []
    for given in names:
        name = canonical.get(given.lower())
        if name is None:
            raise fail(
                f"attribute activations: {given!r} is none of the LSTM op's ({', '.join(LSTM_ACTIVATIONS)})"
            )
        params: dict[str, float | None] = {"alpha": None, "beta": None}
        for key in PARAMETERS.get(name, ()):
            queue = queues[key]
            params[key] = float(queue.pop(0)) if queue else DEFAULTS.get((name, key), 0.0)
        found.append(OnnxActivation(name, params["alpha"], params["beta"]))
    return found


def lstm_cli_activation(activation: OnnxActivation) -> str | None:
    """The lstm-cli activation that the LSTM op's `activation` computes, if there is one."""
    return next((name for name, onnx in TO_LSTM.items() if onnx.same(activation)), None)


# -- a dense layer's activation, as an op after its MatMul (and Add) -----------------------------------------

# lstm-cli's activation → (op, attributes). relu6 is Clip with bounds 0 and 6 as inputs; linear is no op.
DENSE_OPS: dict[str, tuple[str, dict[str, Any]]] = {
    "tanh": ("Tanh", {}),
    "sigmoid": ("Sigmoid", {}),
    "relu": ("Relu", {}),
    "relu6": ("Clip", {}),
    "softplus": ("Softplus", {}),
    "softsign": ("Softsign", {}),
    "exponential": ("Exp", {}),
    "elu": ("Elu", {"alpha": 1.0}),
    "selu": ("Selu", {"alpha": SELU_ALPHA, "gamma": SELU_SCALE}),
    "leaky_relu": ("LeakyRelu", {"alpha": 0.2}),
    "hard_sigmoid": ("HardSigmoid", {"alpha": 1 / 6, "beta": 0.5}),
    "hard_sigmoid_tf2": ("HardSigmoid", {"alpha": 0.2, "beta": 0.5}),
    "gelu": ("Gelu", {"approximate": "none"}),
    "silu": ("Swish", {"alpha": 1.0}),
    "swish": ("Swish", {"alpha": 1.0}),
    "hard_silu": ("HardSwish", {}),
    "hard_swish": ("HardSwish", {}),
    "mish": ("Mish", {}),
    "softmax": ("Softmax", {"axis": -1}),
    "log_softmax": ("LogSoftmax", {"axis": -1}),
}
OP_DEFAULTS: dict[str, dict[str, Any]] = {
    "Elu": {"alpha": 1.0},
    "LeakyRelu": {"alpha": 0.01},
    "HardSigmoid": {"alpha": 0.2, "beta": 0.5},
    "Selu": {"alpha": SELU_ALPHA, "gamma": SELU_SCALE},
    "Gelu": {"approximate": "none"},
    "Swish": {"alpha": 1.0},
}
DENSE_ACTIVATION_OPS = frozenset(op for op, _ in DENSE_OPS.values())
AXIS_OPS = ("Softmax", "LogSoftmax")
CLIP_BOUNDS = (0.0, 6.0)


def dense_activation(op: str, attrs: dict[str, Any], bounds: tuple[float | None, float | None]) -> str | None:
    """The lstm-cli activation that `op` with `attrs` computes (Softmax's axis is checked by the caller;
    `bounds` are Clip's min and max)."""
    given = {**OP_DEFAULTS.get(op, {}), **{k: v for k, v in attrs.items() if k != "axis"}}
    for name, (candidate, wanted) in DENSE_OPS.items():
        if candidate != op:
            continue
        if op == "Clip":
            if bounds == CLIP_BOUNDS:
                return name
            continue
        expected = {**OP_DEFAULTS.get(op, {}), **{k: v for k, v in wanted.items() if k != "axis"}}
        if set(given) == set(expected) and all(_equal(given[k], expected[k]) for k in given):
            return name
    return None


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, float | int) and isinstance(b, float | int):
        return bool(np.float32(a) == np.float32(b))
    return bool(a == b)


def op_text(op: str, attrs: dict[str, Any]) -> str:
    shown = [f"{k}={_number(v) if isinstance(v, float) else v}" for k, v in attrs.items()]
    return f"{op}({', '.join(shown)})" if shown else op
