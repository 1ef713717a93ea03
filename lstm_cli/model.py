"""The validated model: what a config says, with every array checked and every reference resolved.

Plain frozen dataclasses. Shapes in comments leave out nothing: `(features, 4*units)` is the whole shape.
A layer's `key_path` says where it was written, so that later errors can point back at the config.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, TypeAlias

if TYPE_CHECKING:
    import numpy as np

    from .errors import LstmCliError
    from .yamlio import Document, KeyPath

# Annotation only: `summary` and `--help` must not pay numpy's import time for this module.
Array: TypeAlias = "np.ndarray"
DType = Literal["float32", "float64"]
GATES = ("i", "f", "g", "o")  # Keras's order along the last axis of every LSTM weight


@dataclass(frozen=True)
class LstmWeights:
    kernel: Array  # (features, 4*units), gates i, f, g, o side by side
    recurrent_kernel: Array  # (units, 4*units)
    bias: Array | None  # (4*units,), None when use_bias is false


@dataclass(frozen=True)
class InitialState:
    """Where an LSTM's (h, c) start: each an array (batch, units) or (units,), or a reference."""

    h: Array | str
    c: Array | str


@dataclass(frozen=True)
class InputSpec:
    name: str
    shape: tuple[int | None, ...]  # without the batch axis: (timesteps, features), or (timesteps,) of ids
    data: Array | None  # (batch, timesteps, features) or int64 ids (batch, timesteps); None without data
    key_path: KeyPath


@dataclass(frozen=True)
class LstmLayer:
    name: str
    units: int
    input: str  # the reference this layer reads
    key_path: KeyPath
    activation: str = "tanh"
    recurrent_activation: str = "sigmoid"
    use_bias: bool = True
    return_sequences: bool = False
    return_state: bool = False
    go_backwards: bool = False
    weights: LstmWeights | None = None  # None in an architecture-only config
    initial_state: InitialState | None = None
    use_mask: bool = True  # False: run without the input's mask, as Keras 3 runs an LSTM given initial_state
    type: Literal["lstm"] = "lstm"


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


@dataclass(frozen=True)
class BidirectionalLayer:
    """Keras 3 Bidirectional(LSTM): the backward half reads the reversed input (SPEC §1)."""

    name: str
    input: str
    key_path: KeyPath
    forward: LstmLayer  # named like the wrapper, so that traces say (name, direction)
    backward: LstmLayer  # go_backwards=True
    merge_mode: str | None = "concat"  # concat | sum | mul | ave | None (two outputs, NAME.forward/.backward)
    type: Literal["bidirectional"] = "bidirectional"

    @property
    def units(self) -> int:
        return self.forward.units

    @property
    def return_sequences(self) -> bool:
        return self.forward.return_sequences

    @property
    def return_state(self) -> bool:
        return self.forward.return_state


@dataclass(frozen=True)
class MaskingLayer:
    """Keras Masking: a timestep whose features all equal mask_value is skipped by later recurrent layers."""

    name: str
    input: str
    key_path: KeyPath
    mask_value: float = 0.0
    type: Literal["masking"] = "masking"


@dataclass(frozen=True)
class EmbeddingLayer:
    """Keras Embedding and nn.Embedding: integer ids (batch, timesteps) → rows of a table. With
    mask_zero, id 0 masks its step for later recurrent layers, as Keras does."""

    name: str
    input_dim: int
    output_dim: int
    input: str  # a model input of integer ids
    key_path: KeyPath
    mask_zero: bool = False
    embeddings: Array | None = None  # (input_dim, output_dim)
    type: Literal["embedding"] = "embedding"

    @property
    def units(self) -> int:
        return self.output_dim


@dataclass(frozen=True)
class NoOpKind:
    """A Keras layer that is the identity at inference (training=False) and holds no weights: its class, and
    its options, which act only in training. Each option is a number from 0 to `high`, as Keras checks it."""

    keras_class: str
    options: tuple[tuple[str, float | None, float], ...]  # (key, default or None if required, high)
    sequence: bool = False  # reads (batch, timesteps, features) only, as Keras's input_spec says


# The config's type is Keras's automatic name for the class: dropout, dropout_1, spatial_dropout1d, ...
NO_OP_KINDS: dict[str, NoOpKind] = {
    "dropout": NoOpKind("Dropout", (("rate", None, 1.0),)),
    "spatial_dropout1d": NoOpKind("SpatialDropout1D", (("rate", None, 1.0),), sequence=True),
    "gaussian_noise": NoOpKind("GaussianNoise", (("stddev", None, 1.0),)),
    "gaussian_dropout": NoOpKind("GaussianDropout", (("rate", None, 1.0),)),
    "alpha_dropout": NoOpKind("AlphaDropout", (("rate", None, 1.0),)),
    "activity_regularization": NoOpKind(
        "ActivityRegularization", (("l1", 0.0, float("inf")), ("l2", 0.0, float("inf")))
    ),
}


@dataclass(frozen=True)
class NoOpLayer:
    """Dropout, GaussianNoise, ... (NO_OP_KINDS): at inference its input, and its input's mask, pass on
    unchanged. Kept in the model so that `summary` lists it as Keras does."""

    name: str
    input: str
    key_path: KeyPath
    type: str  # a key of NO_OP_KINDS
    options: tuple[tuple[str, float], ...] = ()  # as the config gives them: (rate, 0.5), ...

    @property
    def keras_class(self) -> str:
        return NO_OP_KINDS[self.type].keras_class


Layer = LstmLayer | DenseLayer | BidirectionalLayer | MaskingLayer | EmbeddingLayer | NoOpLayer
MaskSource = MaskingLayer | EmbeddingLayer  # the layers that make a mask
MERGE_MODES = ("concat", "sum", "mul", "ave", None)


@dataclass(frozen=True)
class Expectation:
    """A value worked out by hand, checked after the run."""

    ref: str
    expected: Array
    tolerance: Array  # per element: half a unit in the last decimal written, at least float rounding
    key_path: KeyPath


@dataclass(frozen=True)
class Model:
    inputs: dict[str, InputSpec]
    layers: tuple[Layer, ...]
    outputs: tuple[str, ...]
    shapes: dict[str, tuple[int | None, ...]]  # every reference, with the batch axis first
    dtype: DType
    document: Document  # the config as read, with its positions: convert rewrites it; others ask `error`
    description: str | None = None
    declared_dtype: DType | None = None  # what the config wrote, if anything (summary sizes weights by it)
    expect: tuple[Expectation, ...] = ()
    vocab: tuple[str, ...] | None = None
    builtin: str | None = field(default=None, compare=False)  # the example's name when no file was given

    def error(self, path: KeyPath, message: str) -> LstmCliError:
        """An error located where the config wrote `path` (FILE:LINE:COL: key.path: message)."""
        return self.document.error(path, message)

    def layer(self, name: str) -> Layer:
        found = self.find(name)
        if found is None:  # callers ask for names the config has validated
            raise KeyError(name)
        return found

    def find(self, name: str) -> Layer | None:
        """The layer called `name`, or None: a reference such as `encoder.h` names no layer."""
        return next((layer for layer in self.layers if layer.name == name), None)


def masks_taken(model: Model, keras_graph: bool = False) -> dict[str, MaskSource]:
    """The layer whose mask (a Masking layer's, or an Embedding's with mask_zero) each LSTM or bidirectional
    layer takes, by layer name. A mask passes on as Keras passes it: through Dense and the no-op layers, and
    through a recurrent layer to the sequence it returns (to each half, with merge_mode null); states carry
    none. An LSTM with `use_mask: false` takes none. `keras_graph`: as a Keras 3 functional graph calls its
    layers, where an LSTM given an initial state takes no mask either, though its sequence still carries it
    on (Keras 3.15); the engine applies it."""
    carried: dict[str, MaskSource] = {}  # reference → the layer whose mask it carries
    taken: dict[str, MaskSource] = {}
    for layer in model.layers:
        source = carried.get(layer.input)
        if isinstance(layer, MaskingLayer) or (isinstance(layer, EmbeddingLayer) and layer.mask_zero):
            carried[layer.name] = layer
        elif source is None or isinstance(layer, EmbeddingLayer):
            continue
        elif isinstance(layer, DenseLayer | NoOpLayer):
            carried[layer.name] = source
        else:
            ignored = isinstance(layer, LstmLayer) and (
                not layer.use_mask or (keras_graph and layer.initial_state is not None)
            )
            if not ignored:
                taken[layer.name] = source
            if layer.return_sequences:
                for ref in (layer.name, f"{layer.name}.forward", f"{layer.name}.backward"):
                    carried[ref] = source
    return taken
