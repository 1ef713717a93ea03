"""Model summaries: layers, output shapes and parameter counts, as Keras's `model.summary()` reports them.

Pure data, no printing. A `ModelSummary` is a list of `LayerInfo`: name, Keras class, output shapes, weights
with their shapes, and the tensors the layer reads. It is built from a validated config (`from_model`) or
from command-line flags (`from_architecture`). `render/summary.py` lays it out as Keras 3 or tf.keras 2 do.

The counts, with f input features and u units (Keras: keras/src/layers/rnn/lstm.py, PyTorch: nn.LSTM):

    LSTM      kernel (f, 4u) + recurrent_kernel (u, 4u) + bias (4u,)  = 4u(f + u + 1)
    nn.LSTM   weight_ih (4u, f) + weight_hh (4u, u) + two biases      = 4u(f + u) + 8u
    Dense     kernel (in, n) + bias (n,)                              = n(in + 1)
    Embedding embeddings (input_dim, output_dim)                      = input_dim * output_dim
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .architecture import Architecture
from .errors import LstmCliError
from .graph import is_sequential, keras_order, reads
from .model import (
    NO_OP_KINDS,
    EmbeddingLayer,
    Layer,
    MaskingLayer,
    MaskSource,
    Model,
    NoOpLayer,
    masks_taken,
)
from .names import KerasNames

Shape = tuple[int | None, ...]  # batch first; None where Keras shows None
Tensor = tuple[str, int]  # (layer name, index among its outputs): Keras's `name[0][index]`

# A layer's outputs in Keras's order, by reference suffix: an LSTM returns [output, h, c]; a
# bidirectional layer [output, forward h, forward c, backward h, backward c], or with merge_mode None
# [forward output, backward output, forward h, ...]. `encoder.c` is therefore Keras's `encoder[0][2]`.
OUTPUT_ORDER = ("", "forward", "backward", "h", "c", "forward.h", "forward.c", "backward.h", "backward.c")
KERAS_CLASS = {
    "lstm": "LSTM",
    "dense": "Dense",
    "bidirectional": "Bidirectional",
    "masking": "Masking",
    "embedding": "Embedding",
    **{kind: spec.keras_class for kind, spec in NO_OP_KINDS.items()},
}
FLOAT32_BYTES = 4  # Keras stores weights as float32 unless told otherwise


@dataclass(frozen=True)
class Weight:
    name: str  # as Keras names it: kernel, recurrent_kernel, bias (forward.kernel, ... when bidirectional)
    shape: tuple[int, ...]
    formula: str  # what the shape is made of, e.g. "(features, 4*units)"

    @property
    def count(self) -> int:
        return math.prod(self.shape)


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


def lstm_weights(features: int, units: int, use_bias: bool = True, prefix: str = "") -> tuple[Weight, ...]:
    weights = [
        Weight(f"{prefix}kernel", (features, 4 * units), "(features, 4*units)"),
        Weight(f"{prefix}recurrent_kernel", (units, 4 * units), "(units, 4*units)"),
    ]
    if use_bias:
        weights.append(Weight(f"{prefix}bias", (4 * units,), "(4*units,)"))
    return tuple(weights)


def dense_weights(inputs: int, units: int, use_bias: bool = True) -> tuple[Weight, ...]:
    kernel = Weight("kernel", (inputs, units), "(in, units)")
    return (kernel, Weight("bias", (units,), "(units,)")) if use_bias else (kernel,)


def lstm_params(features: int, units: int, use_bias: bool = True) -> int:
    """Keras's count: 4u(f + u + 1), one bias."""
    return 4 * units * (features + units + (1 if use_bias else 0))


def torch_lstm_params(features: int, units: int, use_bias: bool = True) -> int:
    """PyTorch nn.LSTM's count: 4u(f + u) + 8u, two biases (bias_ih and bias_hh)."""
    return 4 * units * (features + units) + (8 * units if use_bias else 0)


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
    shape: Shape = (arch.batch, arch.timesteps, arch.features)
    previous = "input"
    layers: list[LayerInfo] = []
    for index, units in enumerate(arch.units):
        width = 2 * units if arch.bidirectional else units
        output: Shape = (
            (arch.batch, arch.timesteps, width) if arch.returns_sequences(index) else (arch.batch, width)
        )
        kind = "bidirectional" if arch.bidirectional else "lstm"
        name = names.next(kind)
        layers.append(_info(name, kind, shape, (output,), ((previous, 0),), units))
        shape, previous = output, name
    for units in arch.dense:
        name = names.next("dense")
        output = (*shape[:-1], units)
        layers.append(_info(name, "dense", shape, (output,), ((previous, 0),), units))
        shape, previous = output, name
    return ModelSummary("sequential", tuple(layers))


# -- from a config ----------------------------------------------------------------------------------------


def from_model(model: Model, batch: int | None = None, mask_ops: bool = True) -> ModelSummary:
    """Summarise a validated config (architecture-only ones too). `batch` replaces the batch axis (None).
    `mask_ops`: list a functional model's mask ops as Keras 3 does (tf.keras 2 had none)."""
    shapes = {ref: (batch, *shape[1:]) for ref, shape in model.shapes.items()}
    outputs_of = _outputs_by_layer(shapes)
    tensors: dict[str, Tensor] = {name: (name, 0) for name in model.inputs}
    for layer in model.layers:
        tensors.update({ref: (layer.name, index) for index, ref in enumerate(outputs_of[layer.name])})
    layers = [_layer_info(layer, shapes, outputs_of[layer.name], tensors) for layer in model.layers]
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


def _outputs_by_layer(shapes: Mapping[str, Shape]) -> dict[str, list[str]]:
    """Each layer's output references in Keras's order (OUTPUT_ORDER), in one pass over all of them (a
    scan of every reference per layer made a 1,000-layer summary quadratic). Names hold no dots, so a
    reference's owner is the text before its first one."""
    rank = {suffix: position for position, suffix in enumerate(OUTPUT_ORDER)}
    by_owner: dict[str, list[str]] = {}
    for ref in shapes:
        by_owner.setdefault(ref.partition(".")[0], []).append(ref)
    return {
        owner: sorted(refs, key=lambda ref: rank.get(ref.partition(".")[2], len(rank)))
        for owner, refs in by_owner.items()
    }


def _layer_info(
    layer: Layer, shapes: Mapping[str, Shape], output_refs: Sequence[str], tensors: Mapping[str, Tensor]
) -> LayerInfo:
    kind = str(layer.type)
    source = shapes[layer.input]
    if isinstance(layer, EmbeddingLayer):  # reads ids (batch, timesteps): no feature axis
        table = Weight("embeddings", (layer.input_dim, layer.output_dim), "(input_dim, output_dim)")
        return LayerInfo(
            name=layer.name,
            kind=KERAS_CLASS[kind],
            output_shapes=(shapes[layer.name],),
            weights=(table,),
            inbound=(tensors[layer.input],),
            units=layer.output_dim,
            inputs=layer.input_dim,
            timesteps=source[1],
        )
    if isinstance(layer, NoOpLayer):  # no weights; its output is its input
        return LayerInfo(
            layer.name, layer.keras_class, (shapes[layer.name],), inbound=(tensors[layer.input],)
        )
    width = source[-1]
    if width is None:
        raise LstmCliError(f"layer {layer.name!r}: the width of its input {layer.input!r} is unknown")
    outputs = tuple(shapes[ref] for ref in output_refs)
    inbound = tuple(tensors[ref] for ref in reads(layer))
    units: int | None = getattr(layer, "units", None)
    cell = getattr(layer, "forward", layer)  # a bidirectional layer's options live on its halves
    use_bias = bool(getattr(cell, "use_bias", True))
    if kind not in KERAS_CLASS or (units is None and kind != "masking"):
        raise LstmCliError(f"summary does not know layer type {kind!r} (layer {layer.name!r})")
    return _info(layer.name, kind, source, outputs, inbound, units, use_bias)


def _info(
    name: str,
    kind: str,  # the config's layer type
    source: Shape,
    outputs: tuple[Shape, ...],
    inbound: tuple[Tensor, ...],
    units: int | None,
    use_bias: bool = True,
) -> LayerInfo:
    """One layer's row: its Keras class, weights and what the counts are worked out from."""
    width = source[-1]
    assert width is not None  # the callers have refused an input of unknown width
    directions = 2 if kind == "bidirectional" else 1
    weights: tuple[Weight, ...] = ()
    if kind == "dense" and units is not None:
        weights = dense_weights(width, units, use_bias)
    elif units is not None:  # lstm, or the two halves of a bidirectional layer
        prefixes = ("forward.", "backward.") if directions == 2 else ("",)
        weights = tuple(
            weight for prefix in prefixes for weight in lstm_weights(width, units, use_bias, prefix)
        )
    return LayerInfo(
        name=name,
        kind=KERAS_CLASS[kind],
        output_shapes=outputs,
        weights=weights,
        inbound=inbound,
        units=units,
        inputs=width,
        timesteps=source[1] if len(source) == 3 else None,
        sequence_input=len(source) == 3,
        use_bias=use_bias,
        directions=directions,
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
    """How a layer's count is made up, PyTorch's count beside it, and its multiply-adds."""

    formula: str  # "4·units·(features + units + 1)"
    worked: str  # "4·3·(2 + 3 + 1) = 72"
    torch_formula: str
    torch_worked: str
    torch_params: int
    torch_note: str | None  # why PyTorch's count differs, when it does
    multiply_adds: int  # per timestep of one sample (per sample when the input is not a sequence)
    per: str  # "timestep" or "sample"
    multiply_adds_sequence: int | None  # per sequence of one sample, when the length is known
    multiply_adds_formula: str


def layer_detail(layer: LayerInfo) -> LayerDetail | None:
    """The arithmetic behind one layer's count; None for layers without weights."""
    u, f, bias = layer.units, layer.inputs, layer.use_bias
    if u is None or f is None or layer.kind not in ("LSTM", "Bidirectional", "Dense"):
        return None
    if layer.kind == "Dense":  # nn.Linear counts the same
        formula = "units·(inputs + 1)" if bias else "units·inputs"
        worked = f"{u}·({f} + 1)" if bias else f"{u}·{f}"
        torch_params, torch_formula, torch_worked, note = layer.params, formula, worked, None
        macs, macs_formula = f * u, "inputs·units"
    else:
        two = "2·" if layer.directions == 2 else ""
        plus_one = " + 1" if bias else ""
        formula = f"{two}4·units·(features + units{plus_one})"
        worked = f"{two}4·{u}·({f} + {u}{plus_one})"
        torch_params = layer.directions * torch_lstm_params(f, u, bias)
        torch_formula, torch_worked, note = formula, worked, None
        if bias:
            torch_formula = _times(layer.directions, "4·units·(features + units) + 8·units")
            torch_worked = _times(layer.directions, f"4·{u}·({f} + {u}) + 8·{u}")
            note = (
                "nn.LSTM keeps two bias vectors, bias_ih and bias_hh, of 4·units each; Keras keeps one, "
                f"their sum: {torch_params - layer.params:,} parameters fewer"
            )
        macs, macs_formula = layer.directions * 4 * u * (f + u), f"{two}4·units·(features + units)"
    if layer.sequence_input:
        per, sequence = "timestep", None if layer.timesteps is None else macs * layer.timesteps
    else:
        per, sequence = "sample", macs
    return LayerDetail(
        formula=formula,
        worked=f"{worked} = {layer.params:,}",
        torch_formula=torch_formula,
        torch_worked=f"{torch_worked} = {torch_params:,}",
        torch_params=torch_params,
        torch_note=note,
        multiply_adds=macs,
        per=per,
        multiply_adds_sequence=sequence,
        multiply_adds_formula=macs_formula,
    )


def _times(directions: int, sum_text: str) -> str:
    return f"2·({sum_text})" if directions == 2 else sum_text


# -- machine-readable --------------------------------------------------------------------------------------


def summary_document(summary: ModelSummary, detail: bool = False) -> dict[str, Any]:
    """SPEC §4: {"layers": [{"name", "type", "output_shape", "params", "weights"}], totals}."""
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
                "formula": f"{extra.formula} = {extra.worked}",
                "torch_params": extra.torch_params,
                "torch_formula": f"{extra.torch_formula} = {extra.torch_worked}",
                "multiply_adds": {
                    "per": extra.per,
                    "count": extra.multiply_adds,
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
