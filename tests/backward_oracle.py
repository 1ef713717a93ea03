"""An independent backward pass for the backward tests: the model's forward written again in torch ops,
float64, from the SPEC's equations (§1, §8), with every gradient key as a leaf tensor, the loss computed by
Keras 3's own loss classes (torch backend) and the gradients by torch's autograd.

`random_config` draws the configs the tests run: seeded weights for the layers it is given, with distinct
values per gate so that swapped gates cannot pass."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from lstm_cli.config import load_model
from lstm_cli.graph import masks_carried, masks_taken
from lstm_cli.model import BidirectionalLayer, DenseLayer, EmbeddingLayer, LstmLayer, MaskingLayer, Model
from lstm_cli.names import DIRECTIONS, half_ref, state_refs

Tensor = torch.Tensor


@pytest.fixture(autouse=True)
def keras_float64(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keras 3 promotes float64 results to float32 in its ops (as JAX does by default); keep float64. A test
    module that imports this fixture has it for every test."""
    from keras.src.backend.common import dtypes

    monkeypatch.setitem(dtypes.BIT64_TO_BIT32_DTYPE, "float64", "float64")


def activation(name: str, x: Tensor) -> Tensor:
    """Keras 3's activation, by lstm-cli's name, through keras.activations (torch's autograd then takes
    each kink as torch does)."""
    import keras

    if name == "linear":
        return x
    if name == "hard_sigmoid_tf2":
        return torch.clamp(0.2 * x + 0.5, 0.0, 1.0)
    if name in ("softmax", "log_softmax"):
        return getattr(keras.activations, name)(x, axis=-1)
    return keras.activations.get(name)(x)


KERAS_LOSSES = {
    "mse": "MeanSquaredError",
    "mae": "MeanAbsoluteError",
    "binary_crossentropy": "BinaryCrossentropy",
    "categorical_crossentropy": "CategoricalCrossentropy",
    "sparse_categorical_crossentropy": "SparseCategoricalCrossentropy",
}


def oracle_gradients(config: dict[str, Any]) -> dict[str, np.ndarray]:
    """`lstm_cli.backward`'s keys (Keras's names only), each from torch's autograd, and "loss"."""
    model = load_model(config, dtype="float64")
    leaves = _leaves(model)
    values = _forward(model, leaves)
    loss = _loss(model, values)
    tensors = [leaf for leaf in leaves.values() if leaf.requires_grad]
    grads = torch.autograd.grad(loss, tensors, allow_unused=True)
    result = {"loss": loss.detach().numpy()}
    for (key, leaf), grad in zip([(k, v) for k, v in leaves.items() if v.requires_grad], grads, strict=True):
        result[key] = np.zeros(tuple(leaf.shape)) if grad is None else grad.numpy()
    return result


def _leaf(array: np.ndarray, grad: bool = True) -> Tensor:
    return torch.tensor(np.asarray(array, dtype=np.float64), requires_grad=grad)


def _leaves(model: Model) -> dict[str, Tensor]:
    leaves: dict[str, Tensor] = {}
    for name, spec in model.inputs.items():
        assert spec.data is not None
        ids = spec.data.dtype.kind in "iu"
        leaves[name] = torch.tensor(spec.data) if ids else _leaf(spec.data)
    for layer in model.layers:
        if isinstance(layer, DenseLayer):
            leaves[f"{layer.name}.kernel"] = _leaf(layer.kernel)
            if layer.bias is not None:
                leaves[f"{layer.name}.bias"] = _leaf(layer.bias)
        elif isinstance(layer, EmbeddingLayer):
            leaves[f"{layer.name}.embeddings"] = _leaf(layer.embeddings)
        elif isinstance(layer, LstmLayer):
            _cell_leaves(leaves, layer, layer.name)
            state = layer.initial_state
            for part, given in (
                ("h", None if state is None else state.h),
                ("c", None if state is None else state.c),
            ):
                if given is not None and not isinstance(given, str):
                    leaves[f"{layer.name}.initial_state.{part}"] = _leaf(given)
        elif isinstance(layer, BidirectionalLayer):
            for direction, half in zip(DIRECTIONS, (layer.forward, layer.backward), strict=True):
                _cell_leaves(leaves, half, f"{layer.name}.{direction}")
    return leaves


def _cell_leaves(leaves: dict[str, Tensor], cell: LstmLayer, prefix: str) -> None:
    weights = cell.weights
    assert weights is not None
    leaves[f"{prefix}.kernel"] = _leaf(weights.kernel)
    leaves[f"{prefix}.recurrent_kernel"] = _leaf(weights.recurrent_kernel)
    if weights.bias is not None:
        leaves[f"{prefix}.bias"] = _leaf(weights.bias)
    for gate, peephole in (weights.peepholes or {}).items():
        leaves[f"{prefix}.peepholes.{gate}"] = _leaf(peephole)
    if weights.projection is not None:
        leaves[f"{prefix}.projection.kernel"] = _leaf(weights.projection)


def _forward(model: Model, leaves: dict[str, Tensor]) -> dict[str, Tensor]:
    values = {name: leaves[name] for name in model.inputs}
    masks: dict[str, Tensor] = {}
    taken = masks_taken(model)
    for layer in model.layers:
        if isinstance(layer, DenseLayer):
            z = values[layer.input] @ leaves[f"{layer.name}.kernel"]
            if layer.bias is not None:
                z = z + leaves[f"{layer.name}.bias"]
            values[layer.name] = activation(layer.activation, z)
        elif isinstance(layer, EmbeddingLayer):
            ids = values[layer.input]
            values[layer.name] = leaves[f"{layer.name}.embeddings"][ids]
            if layer.mask_zero:
                masks[layer.name] = ids != 0
        elif isinstance(layer, MaskingLayer):
            x = values[layer.input]
            masks[layer.name] = (x != layer.mask_value).any(dim=-1)
            values[layer.name] = torch.where(masks[layer.name][..., None], x, torch.zeros_like(x))
        elif isinstance(layer, LstmLayer | BidirectionalLayer):
            source = taken.get(layer.name)
            mask = None if source is None else masks[source.name]
            _recurrent(layer, values, leaves, mask)
        else:
            values[layer.name] = values[layer.input]
    return values


def _recurrent(layer: Any, values: dict[str, Tensor], leaves: dict[str, Tensor], mask: Tensor | None) -> None:
    x = values[layer.input]
    if isinstance(layer, LstmLayer):
        h0, c0 = _initial(layer, values, leaves, x.shape[0])
        output, h, c = _lstm(layer, layer.name, leaves, x, h0, c0, mask, layer.go_backwards, False)
        values[layer.name] = output
        values[f"{layer.name}.h"], values[f"{layer.name}.c"] = h, c
        return
    results = []
    for direction, half in zip(DIRECTIONS, (layer.forward, layer.backward), strict=True):
        zeros = [
            torch.zeros(x.shape[0], width, dtype=torch.float64) for width in (half.output_units, half.units)
        ]
        prefix = f"{layer.name}.{direction}"
        results.append(
            _lstm(half, prefix, leaves, x, *zeros, mask, direction == "backward", layer.return_sequences)
        )
        h_ref, c_ref = state_refs(half_ref(layer.name, direction))
        values[h_ref], values[c_ref] = results[-1][1], results[-1][2]
    y, y_rev = results[0][0], results[1][0]
    if layer.return_sequences:
        y_rev = torch.flip(y_rev, dims=[1])
    merged = {
        "concat": lambda: torch.cat([y, y_rev], dim=-1),
        "sum": lambda: y + y_rev,
        "mul": lambda: y * y_rev,
        "ave": lambda: (y + y_rev) / 2,
    }
    if layer.merge_mode is None:
        values[half_ref(layer.name, "forward")], values[half_ref(layer.name, "backward")] = y, y_rev
    else:
        values[layer.name] = merged[layer.merge_mode]()


def _initial(
    layer: LstmLayer, values: dict[str, Tensor], leaves: dict[str, Tensor], batch: int
) -> list[Tensor]:
    state = layer.initial_state
    widths = (layer.output_units, layer.units)
    if state is None:
        return [torch.zeros(batch, width, dtype=torch.float64) for width in widths]
    parts = []
    for part, given, width in (("h", state.h, widths[0]), ("c", state.c, widths[1])):
        tensor = values[given] if isinstance(given, str) else leaves[f"{layer.name}.initial_state.{part}"]
        parts.append(tensor.expand(batch, width))
    return parts


def _lstm(
    cell: LstmLayer,
    prefix: str,
    leaves: dict[str, Tensor],
    x: Tensor,
    h: Tensor,
    c: Tensor,
    mask: Tensor | None,
    backwards: bool,
    zero_output_for_mask: bool,
) -> tuple[Tensor, Tensor, Tensor]:
    """SPEC §1 and §8, one step at a time in the order §8 lists the options."""
    kernel, recurrent_kernel = leaves[f"{prefix}.kernel"], leaves[f"{prefix}.recurrent_kernel"]
    bias = leaves.get(f"{prefix}.bias")
    peepholes = {
        gate: leaves[f"{prefix}.peepholes.{gate}"] for gate in "ifo" if f"{prefix}.peepholes.{gate}" in leaves
    }
    projection = leaves.get(f"{prefix}.projection.kernel")

    def clip(value: Tensor, bound: float | None) -> Tensor:
        return value if bound is None else torch.clamp(value, -bound, bound)

    a = cell.activation_clip
    output = torch.zeros_like(h)
    outputs = []
    steps = range(x.shape[1] - 1, -1, -1) if backwards else range(x.shape[1])
    for t in steps:
        z = x[:, t] @ kernel + h @ recurrent_kernel
        if bias is not None:
            z = z + bias
        z_i, z_f, z_g, z_o = torch.chunk(z, 4, dim=-1)
        z_f = z_f + cell.forget_bias
        if "i" in peepholes:
            z_i = z_i + peepholes["i"] * c
        if "f" in peepholes:
            z_f = z_f + peepholes["f"] * c
        i = activation(cell.recurrent_activation, clip(z_i, a))
        f = 1 - i if cell.input_forget else activation(cell.recurrent_activation, clip(z_f, a))
        g = activation(cell.activation, clip(z_g, a))
        c_t = clip(f * c + i * g, cell.cell_clip)
        if "o" in peepholes:
            z_o = z_o + peepholes["o"] * c_t
        o = activation(cell.recurrent_activation, clip(z_o, a))
        h_t = o * activation(cell.h_activation, clip(c_t, a))
        if projection is not None:
            h_t = clip(h_t @ projection, cell.proj_clip)
        if mask is None:
            output, h, c = h_t, h_t, c_t
        else:
            valid = mask[:, t, None]
            output = torch.where(valid, h_t, torch.zeros_like(h_t) if zero_output_for_mask else output)
            h, c = torch.where(valid, h_t, h), torch.where(valid, c_t, c)
        outputs.append(output)
    sequence = torch.stack(outputs, dim=1)
    return (sequence if cell.return_sequences else output), h, c


def _loss(model: Model, values: dict[str, Tensor]) -> Tensor:
    import keras

    spec = model.loss
    assert spec is not None
    output = values[spec.output]
    if spec.type == "sum":
        return output.sum()
    kwargs: dict[str, Any] = {"dtype": "float64"} | ({"from_logits": True} if spec.from_logits else {})
    loss = getattr(keras.losses, KERAS_LOSSES[spec.type])(**kwargs)
    source = masks_carried(model).get(spec.output)
    if source is not None and output.ndim == 3:
        masked = _forward_masks(model, values)[source.name]
        from keras.src.backend.common.masking import set_keras_mask

        output = output * 1  # a fresh tensor, to carry the mask as Keras's layers leave it
        set_keras_mask(output, masked)
    assert spec.target is not None
    target = torch.tensor(spec.target)
    result = loss(target, output)
    assert result.dtype == torch.float64, "Keras computed the loss in float32: patch BIT64_TO_BIT32_DTYPE"
    return result


def _forward_masks(model: Model, values: dict[str, Tensor]) -> dict[str, Tensor]:
    masks = {}
    for layer in model.layers:
        if isinstance(layer, MaskingLayer):
            masks[layer.name] = (values[layer.input] != layer.mask_value).any(dim=-1)
        elif isinstance(layer, EmbeddingLayer) and layer.mask_zero:
            masks[layer.name] = values[layer.input] != 0
    return masks


# -- configs -----------------------------------------------------------------------------------------------


def gate_distinct(rng: np.random.Generator, shape: tuple[int, ...], scale: float = 0.5) -> np.ndarray:
    """Weights whose four gate blocks (the last axis) are drawn around different centres: a swap of any two
    blocks changes every number."""
    values = rng.uniform(-scale, scale, shape)
    if shape[-1] % 4 == 0:
        values = values + np.repeat(np.array([0.3, -0.2, 0.1, -0.4]) * scale, shape[-1] // 4)
    return values


def lstm_weights(
    rng: np.random.Generator, features: int, units: int, proj: int | None = None
) -> dict[str, Any]:
    rows = units if proj is None else proj
    return {
        "kernel": gate_distinct(rng, (features, 4 * units)).tolist(),
        "recurrent_kernel": gate_distinct(rng, (rows, 4 * units)).tolist(),
        "bias": gate_distinct(rng, (4 * units,)).tolist(),
    }


def dense_entry(
    rng: np.random.Generator, inputs: int, units: int, activation: str = "linear", **more: Any
) -> dict[str, Any]:
    return {
        "type": "dense",
        "units": units,
        "activation": activation,
        "kernel": rng.uniform(-0.8, 0.8, (inputs, units)).tolist(),
        "bias": rng.uniform(-0.3, 0.3, units).tolist(),
        **more,
    }


def target_for(kind: str, shape: tuple[int, ...], rng: np.random.Generator) -> Any:
    """A target of `shape` (the output's) that suits the loss."""
    if kind == "sparse_categorical_crossentropy":
        return rng.integers(0, shape[-1], shape[:-1]).tolist()
    if kind == "categorical_crossentropy":
        return np.eye(shape[-1])[rng.integers(0, shape[-1], shape[:-1])].tolist()
    if kind == "binary_crossentropy":
        return rng.integers(0, 2, shape).astype(float).tolist()
    return rng.normal(0, 1, shape).tolist()
