"""The keys of `backward`'s gradients, named as a config names what they differentiate:
`NAME.kernel`, `NAME.forward.recurrent_kernel`, `NAME.embeddings`, `NAME.peepholes.i`,
`NAME.projection.kernel`, an input by its name, an initial state given as an array as
`NAME.initial_state.h`; and for a layer given in PyTorch's layout, its PyTorch names beside Keras's."""

from __future__ import annotations

from lstm_cli.layers import BidirectionalLayer, LstmLayer, owner_of
from lstm_cli.model import Model
from lstm_cli.names import DIRECTIONS

# Keras's name → PyTorch's, with whether PyTorch holds it transposed (bias_ih and bias_hh both get the
# bias's gradient: z adds each of them once).
TORCH_NAMES = {
    "kernel": (("weight_ih", True),),
    "recurrent_kernel": (("weight_hh", True),),
    "bias": (("bias_ih", False), ("bias_hh", False)),
    "projection.kernel": (("weight_hr", True),),
}


def gradient_shapes(model: Model) -> dict[str, tuple[int, ...]]:
    """Every gradient `backward` gives, in the order it lists them: the layers' weights in config order,
    then the inputs, then the initial states given as arrays."""
    shapes: dict[str, tuple[int, ...]] = {}
    for layer in model.layers:
        halves = {
            weight.name: weight.shape for weight in owner_of(layer).weights(layer, model.shapes[layer.input])
        }
        for name, shape in halves.items():
            shapes[f"{layer.name}.{name}"] = shape
        for prefix in torch_prefixes(layer):
            for keras_name, torch_names in TORCH_NAMES.items():
                if f"{prefix}{keras_name}" in halves:
                    shape = halves[f"{prefix}{keras_name}"]
                    for torch_name, transposed in torch_names:
                        shapes[f"{layer.name}.{prefix}{torch_name}"] = shape[::-1] if transposed else shape
    for name, spec in model.inputs.items():
        if spec.data is not None and spec.data.dtype.kind == "f":  # ids have no gradient
            shapes[name] = spec.data.shape
    for layer in model.layers:
        state = getattr(layer, "initial_state", None)
        if state is not None:
            for part, value in (("h", state.h), ("c", state.c)):
                if not isinstance(value, str):
                    shapes[f"{layer.name}.initial_state.{part}"] = value.shape
    return shapes


def torch_prefixes(layer: object) -> list[str]:
    """The key prefixes ("" or "forward.", "backward.") of `layer`'s LSTM cells given in PyTorch's
    layout."""
    if isinstance(layer, LstmLayer):
        cells = [("", layer)]
    elif isinstance(layer, BidirectionalLayer):
        halves = (layer.forward, layer.backward)
        cells = [(f"{direction}.", half) for direction, half in zip(DIRECTIONS, halves, strict=True)]
    else:
        return []
    return [prefix for prefix, cell in cells if cell.weights is not None and cell.weights.layout == "torch"]
