"""Keras Dense (and nn.Linear): y = activation(x @ kernel + bias) on the last axis, so that on a sequence
it acts step by step, as TimeDistributed(Dense) does.

    Dense     kernel (in, n) + bias (n,)                              = n(in + 1)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from lstm_cli.text import shape_text

from .base import MAX_UNITS, Arithmetic, Array, LayerType, Scope, Shape, Weight, width_of

if TYPE_CHECKING:
    from lstm_cli.checks import Node
    from lstm_cli.yamlio import KeyPath


@dataclass(frozen=True)
class DenseLayer:
    name: str
    units: int
    input: str
    key_path: KeyPath
    activation: str = "linear"
    use_bias: bool = True
    kernel: Array | None = None  # (in, units)
    bias: Array | None = None  # (units,)
    type: Literal["dense"] = "dense"


class Dense(LayerType[DenseLayer]):
    type = "dense"
    keras_class = "Dense"
    keys = ("type", "name", "input", "units", "activation", "use_bias", "kernel", "bias")
    weight_keys = ("kernel", "bias")

    def parse(self, entry: Node, scope: Scope, name: str, source: str) -> DenseLayer:
        entry.keys(self.keys, required=("units",))
        units = entry["units"].integer(1, MAX_UNITS)
        shape = scope.shapes[source]
        width = shape[-1]
        if len(shape) < 2 or width is None:
            raise entry.error(
                f"a Dense layer reads (batch, ..., inputs), but {source!r} has shape {shape_text(shape)}"
            )
        use_bias = entry.boolean("use_bias", True)
        kernel = bias = None
        kernel_is, bias_is = dense_weights(width, units)  # what each array must be
        if "kernel" in entry:
            kernel = entry["kernel"].shaped(kernel_is, (0, source))
            if use_bias and "bias" not in entry:
                raise entry.error("missing key 'bias' (units values), or set use_bias: false")
        if "bias" in entry:
            if not use_bias:
                raise entry["bias"].error("use_bias is false, but a bias is given")
            if kernel is None:
                raise entry.error("missing key 'kernel' (a bias is given without it)")
            bias = entry["bias"].shaped(bias_is)
        return DenseLayer(
            name=name,
            units=units,
            input=source,
            key_path=entry.path,
            activation=entry.activation("activation", "linear"),
            use_bias=bool(use_bias),
            kernel=kernel,
            bias=bias,
        )

    def output_shapes(self, layer: DenseLayer, source: Shape) -> tuple[Shape, ...]:
        return ((*source[:-1], layer.units),)

    def weights(self, layer: DenseLayer, source: Shape) -> tuple[Weight, ...]:
        return dense_weights(width_of(source), layer.units, layer.use_bias)

    def has_weights(self, layer: DenseLayer) -> bool:
        return layer.kernel is not None

    def arithmetic(
        self, units: int, inputs: int, use_bias: bool, weights: tuple[Weight, ...] = ()
    ) -> Arithmetic:
        formula = "units·(inputs + 1)" if use_bias else "units·inputs"
        worked = f"{units}·({inputs} + 1)" if use_bias else f"{units}·{inputs}"
        params = sum(weight.count for weight in dense_weights(inputs, units, use_bias))
        # nn.Linear counts the same
        return Arithmetic(formula, worked, formula, worked, params, None, inputs * units, "inputs·units")


def dense_weights(inputs: int, units: int, use_bias: bool = True) -> tuple[Weight, ...]:
    kernel = Weight("kernel", (inputs, units), "(in, units)")
    return (kernel, Weight("bias", (units,), "(units,)")) if use_bias else (kernel,)
