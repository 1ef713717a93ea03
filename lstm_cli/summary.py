"""Model summaries: layers, output shapes and parameter counts, as Keras's `model.summary()` reports them.

Pure data, no printing. A `ModelSummary` is a list of `LayerInfo`: name, Keras class, output shapes, weights
with their shapes, and the tensors the layer reads. It is built from a validated config (`from_model`) or
from command-line flags (`from_architecture`). `render/summary.py` lays it out as Keras 3 or tf.keras 2 do.
What each layer gives, weighs and counts is its type's to say (`layers/`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .architecture import Architecture
from .errors import LstmCliError
from .graph import is_sequential, keras_order, masks_taken
from .layers import BY_KERAS_CLASS, LAYER_TYPES, owner_of
from .layers.base import Arithmetic
from .layers.base import Shape as Shape
from .layers.base import Weight as Weight
from .layers.dense import dense_weights as dense_weights
from .layers.lstm import lstm_params as lstm_params
from .layers.lstm import lstm_weights as lstm_weights
from .layers.lstm import torch_lstm_params as torch_lstm_params
from .model import (
    BidirectionalLayer,
    DenseLayer,
    EmbeddingLayer,
    Layer,
    LstmLayer,
    MaskingLayer,
    MaskSource,
    Model,
    NoOpLayer,
)
from .names import KerasNames

Tensor = tuple[str, int]  # (layer name, index among its outputs): Keras's `name[0][index]`
FLOAT32_BYTES = 4  # Keras stores weights as float32 unless told otherwise


@dataclass(frozen=True)
class LayerInfo:
    name: str
    kind: str  # the Keras class: InputLayer, LSTM, Bidirectional, Dense, Masking
    output_shapes: tuple[Shape, ...]  # one per output tensor, in Keras's order
    weights: tuple[Weight, ...] = ()
    inbound: tuple[Tensor, ...] = ()  # the tensors it reads, in Keras's call order (input, then h, c)
    units: int | None = None
    inputs: int | None = None  # the width of the last input axis (features, for an LSTM)
    timesteps: int | None = None  # of its input sequence, when known; None for a 2-D input or unknown
    sequence_input: bool = False  # whether it reads (batch, timesteps, width) rather than (batch, width)
    use_bias: bool = True
    directions: int = 1  # 2 for Bidirectional

    @property
    def params(self) -> int:
        return sum(weight.count for weight in self.weights)


@dataclass(frozen=True)
class ModelSummary:
    name: str  # "sequential", or "functional" for several inputs or named references
    layers: tuple[LayerInfo, ...]  # in Keras's display order; a functional model lists its inputs too
    connected: bool = False  # whether Keras would add the `Connected to` column
    bytes_per_param: int = FLOAT32_BYTES

    @property
    def total_params(self) -> int:
        return sum(layer.params for layer in self.layers)

    @property
    def trainable_params(self) -> int:
        return self.total_params  # every weight an LSTM or Dense has is trainable

    @property
    def non_trainable_params(self) -> int:
        return 0


# -- counting ----------------------------------------------------------------------------------------------


def readable_size(size: float, decimals: int = 2) -> str:
    """Bytes as Keras 3 writes them: `304.00 B`, `2.74 MB` (powers of 1024, two decimals by default)."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size / 1024 < 1:
            return f"{size:.{decimals}f} {unit}"
        size /= 1024
    return f"{size:.{decimals}f} PB"


# -- from the command-line flags ---------------------------------------------------------------------------


def from_architecture(arch: Architecture) -> ModelSummary:
    """LSTM layers stacked on one input, then Dense layers: a Keras Sequential model."""
    names = KerasNames()
    shapes: dict[str, Shape] = {"input": (arch.batch, arch.timesteps, arch.features)}
    tensors: dict[str, Tensor] = {"input": ("input", 0)}
    layers: list[Layer] = []
    previous = "input"
    kinds = ["bidirectional" if arch.bidirectional else "lstm"] * len(arch.units) + ["dense"] * len(
        arch.dense
    )
    for index, (kind, units) in enumerate(zip(kinds, (*arch.units, *arch.dense), strict=True)):
        owner = LAYER_TYPES[kind]
        name = names.layer(owner.keras_prefix, owner.wraps)
        layer: Layer
        if kind == "dense":
            layer = DenseLayer(name, units, previous, ())
        else:
            layer = LstmLayer(name, units, previous, (), return_sequences=arch.returns_sequences(index))
            if arch.bidirectional:
                backward = replace(layer, go_backwards=True)
                layer = BidirectionalLayer(name, previous, (), forward=layer, backward=backward)
        _add_outputs(layer, shapes, tensors)
        layers.append(layer)
        previous = name
    return ModelSummary("sequential", tuple(_layer_info(layer, shapes, tensors) for layer in layers))


def _add_outputs(layer: Layer, shapes: dict[str, Shape], tensors: dict[str, Tensor]) -> None:
    """A layer's outputs: each reference's shape, and the tensor Keras would call it."""
    owner = owner_of(layer)
    refs = owner.output_refs(layer)
    shapes.update(zip(refs, owner.output_shapes(layer, shapes[layer.input]), strict=True))
    tensors.update({ref: (layer.name, index) for index, ref in enumerate(refs)})


# -- from a config ----------------------------------------------------------------------------------------


def from_model(model: Model, batch: int | None = None, mask_ops: bool = True) -> ModelSummary:
    """Summarise a validated config (architecture-only ones too). `batch` replaces the batch axis (None).
    `mask_ops`: list a functional model's mask ops as Keras 3 does (tf.keras 2 had none)."""
    shapes = {ref: (batch, *shape[1:]) for ref, shape in model.shapes.items()}
    tensors: dict[str, Tensor] = {name: (name, 0) for name in model.inputs}
    for layer in model.layers:
        refs = owner_of(layer).output_refs(layer)
        tensors.update({ref: (layer.name, index) for index, ref in enumerate(refs)})
    layers = [_layer_info(layer, shapes, tensors) for layer in model.layers]
    bytes_per_param = 8 if _says_float64(model) else FLOAT32_BYTES
    if is_sequential(model):
        return ModelSummary("sequential", tuple(layers), bytes_per_param=bytes_per_param)
    inputs = [LayerInfo(name, "InputLayer", (shapes[name],)) for name in model.inputs]
    if mask_ops:
        layers = _with_mask_ops(model, shapes, tensors, layers)
    ordered, sequential_like = _functional_order(inputs + layers, [tensors[ref] for ref in model.outputs])
    return ModelSummary("functional", tuple(ordered), not sequential_like, bytes_per_param)


def _with_mask_ops(
    model: Model, shapes: Mapping[str, Shape], tensors: Mapping[str, Tensor], infos: list[LayerInfo]
) -> list[LayerInfo]:
    """The rows Keras 3 adds for masks in a functional model: each Masking layer's mask is a NotEqual op
    (of the Masking layer's input and mask_value) and an Any op over the features; an Embedding's with
    mask_zero is one NotEqual op of its ids and 0. They are named when their layer is called, and every
    LSTM that takes the mask reads the last op as a second tensor. Keras lists the ops of the masks some
    layer takes."""
    names = KerasNames()
    op_names: dict[str, tuple[str, ...]] = {
        layer.name: (names.next("not_equal"), names.next("any"))
        if isinstance(layer, MaskingLayer)
        else (names.next("not_equal"),)
        for layer in model.layers
        if isinstance(layer, MaskingLayer) or (isinstance(layer, EmbeddingLayer) and layer.mask_zero)
    }
    taken = masks_taken(model, keras_graph=True)
    ops: list[LayerInfo] = []
    first_taken: dict[str, MaskSource] = {}  # each mask once, in the order layers first take them
    for mask_source in taken.values():
        first_taken.setdefault(mask_source.name, mask_source)
    for source_layer in first_taken.values():
        not_equal = op_names[source_layer.name][0]
        source = shapes[source_layer.input]
        ops.append(LayerInfo(not_equal, "NotEqual", (source,), inbound=(tensors[source_layer.input],)))
        if isinstance(source_layer, MaskingLayer):
            any_op = op_names[source_layer.name][1]
            ops.append(LayerInfo(any_op, "Any", (source[:-1],), inbound=((not_equal, 0),)))
    rows = []
    for info in infos:
        if info.name in taken:
            mask_op = op_names[taken[info.name].name][-1]
            info = replace(info, inbound=(info.inbound[0], (mask_op, 0), *info.inbound[1:]))
        rows.append(info)
    return rows + ops


def _says_float64(model: Model) -> bool:
    """Keras sizes weights by their dtype; ours are float32 as in Keras unless the config asks for float64."""
    return model.declared_dtype == "float64"


def _layer_info(layer: Layer, shapes: Mapping[str, Shape], tensors: Mapping[str, Tensor]) -> LayerInfo:
    """One layer's row: its Keras class, outputs, weights, the tensors it reads, and the sizes that
    `--detail` works its count out from."""
    owner = owner_of(layer)
    source = shapes[layer.input]
    outputs = tuple(shapes[ref] for ref in owner.output_refs(layer))
    inbound = tuple(tensors[ref] for ref in owner.reads(layer))
    if isinstance(layer, NoOpLayer):  # no weights; its output is its input
        return LayerInfo(layer.name, owner.keras_class, outputs, inbound=inbound)
    weights = owner.weights(layer, source)
    if isinstance(layer, EmbeddingLayer):  # reads ids (batch, timesteps): no feature axis
        return LayerInfo(
            layer.name,
            owner.keras_class,
            outputs,
            weights,
            inbound,
            units=layer.output_dim,
            inputs=layer.input_dim,
            timesteps=source[1],
        )
    width = source[-1]
    if width is None:
        raise LstmCliError(f"layer {layer.name!r}: the width of its input {layer.input!r} is unknown")
    cell = getattr(layer, "forward", layer)  # a bidirectional layer's options live on its halves
    return LayerInfo(
        name=layer.name,
        kind=owner.keras_class,
        output_shapes=outputs,
        weights=weights,
        inbound=inbound,
        units=getattr(layer, "units", None),
        inputs=width,
        timesteps=source[1] if len(source) == 3 else None,
        sequence_input=len(source) == 3,
        use_bias=bool(getattr(cell, "use_bias", True)),
        directions=owner.directions,
    )


def _functional_order(layers: Sequence[LayerInfo], outputs: Sequence[Tensor]) -> tuple[list[LayerInfo], bool]:
    """Keras's functional layer order (graph.keras_order), and whether its summary would call the graph
    sequential-like (no `Connected to` column): no two layers at one depth, none reading two tensors."""
    by_name = {layer.name: layer for layer in layers}
    sources = {layer.name: [source for source, _ in layer.inbound] for layer in layers}
    inputs = {layer.name for layer in layers if layer.kind == "InputLayer"}
    ordered, depth = keras_order(sources, [name for name, _ in outputs], inputs)
    at_depth: dict[int, list[LayerInfo]] = {}
    for name in ordered:
        at_depth.setdefault(depth[name], []).append(by_name[name])
    sequential_like = all(len(group) == 1 and len(group[0].inbound) <= 1 for group in at_depth.values())
    return [by_name[name] for name in ordered], sequential_like


# -- beyond Keras: --detail --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerDetail:
    """A layer type's arithmetic (its count's formula, PyTorch's beside it, its multiply-adds) with the
    totals worked out, and what the multiply-adds are counted per."""

    sums: Arithmetic
    params: int  # the Keras count the formula works out to
    per: str  # "timestep" or "sample"
    multiply_adds_sequence: int | None  # per sequence of one sample, when the length is known

    @property
    def keras_line(self) -> str:
        """`4·units·(features + units + 1) = 4·3·(2 + 3 + 1) = 72`"""
        return f"{self.sums.formula} = {self.sums.worked} = {self.params:,}"

    @property
    def torch_line(self) -> str:
        return f"{self.sums.torch_formula} = {self.sums.torch_worked} = {self.sums.torch_params:,}"


def layer_detail(layer: LayerInfo) -> LayerDetail | None:
    """The arithmetic behind one layer's count, as its type works it out; None for layers without weights."""
    owner = BY_KERAS_CLASS.get(layer.kind)  # None for an input or a mask op
    if owner is None or layer.units is None or layer.inputs is None:
        return None
    sums = owner.arithmetic(layer.units, layer.inputs, layer.use_bias, layer.weights)
    if sums is None:
        return None
    macs = sums.multiply_adds
    if layer.sequence_input:
        per, sequence = "timestep", None if layer.timesteps is None else macs * layer.timesteps
    else:
        per, sequence = "sample", macs
    return LayerDetail(sums, layer.params, per, sequence)


# -- machine-readable --------------------------------------------------------------------------------------


def summary_document(summary: ModelSummary, detail: bool = False) -> dict[str, Any]:
    """docs/output.md#summary-json: {"layers": [{"name", "type", "output_shape", "params", "weights"}],
    totals}."""
    layers = []
    for layer in summary.layers:
        shapes = [list(shape) for shape in layer.output_shapes]
        entry: dict[str, Any] = {
            "name": layer.name,
            "type": layer.kind,
            "output_shape": shapes[0] if len(shapes) == 1 else shapes,
            "params": layer.params,
            "weights": {weight.name: list(weight.shape) for weight in layer.weights},
        }
        extra = layer_detail(layer) if detail else None
        if extra is not None:
            entry["detail"] = {
                "formula": extra.keras_line,
                "torch_params": extra.sums.torch_params,
                "torch_formula": extra.torch_line,
                "multiply_adds": {
                    "per": extra.per,
                    "count": extra.sums.multiply_adds,
                    "per_sequence": extra.multiply_adds_sequence,
                },
            }
        layers.append(entry)
    return {
        "layers": layers,
        "total_params": summary.total_params,
        "trainable_params": summary.trainable_params,
        "non_trainable_params": summary.non_trainable_params,
    }


def csv_rows(summary: ModelSummary) -> Iterable[tuple[Any, ...]]:
    """Tidy rows, one a value: each layer's `params`, each weight's count (a bidirectional layer's under
    its direction), then the model's totals under an empty layer name."""
    for layer in summary.layers:
        yield (layer.name, "", "", "", "", "params", layer.params)
        for weight in layer.weights:
            direction, _, name = weight.name.rpartition(".")
            yield (layer.name, direction, "", "", "", name, weight.count)
    for quantity in ("total_params", "trainable_params", "non_trainable_params"):
        yield ("", "", "", "", "", quantity, getattr(summary, quantity))


def keras_shape_text(shapes: Sequence[Shape]) -> str:
    """Keras 3's Output Shape cell: `(None, 3, 3)`, or a list of them for several outputs."""
    texts = [f"({', '.join(str(n) for n in shape)})" for shape in shapes]
    return texts[0] if len(texts) == 1 else f"[{', '.join(texts)}]"
