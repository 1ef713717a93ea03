"""What a layer type owns, as a Keras layer class owns its shapes, mask and outputs: its config keys and
their checks, the references and shapes of its outputs, its weights (and so its parameter count), its
Keras class and automatic name, and how a mask passes through it.

Pure Python: `summary` from flags and `--help` import this package, and pay for neither numpy nor yaml.
The config reader hands each type its entry as a `checks.Node`, a value that knows where it was written,
and a `Scope`, what the layer may read.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Generic, Protocol, TypeAlias, TypeVar

from lstm_cli.names import STATES
from lstm_cli.text import did_you_mean, shape_text, shorten

if TYPE_CHECKING:
    import numpy as np

    from lstm_cli.checks import Node
    from lstm_cli.model import InputSpec

# Annotation only: `summary` and `--help` must not pay numpy's import time for this module.
Array: TypeAlias = "np.ndarray"
Shape = tuple[int | None, ...]  # batch first; None where the size is not known (Keras's None)
MAX_UNITS = 65_536  # of an LSTM, Dense or Embedding output; also what `--units` and `--dense` take


def width_of(source: Shape) -> int:
    """The last axis of what a layer reads: its features. The config has checked that it is known."""
    width = source[-1]
    assert width is not None  # every input's features are known, and so is each layer's width
    return width


class Named(Protocol):
    """What every layer has: its name, and the reference it reads."""

    @property
    def name(self) -> str: ...
    @property
    def input(self) -> str: ...


L = TypeVar("L", bound=Named)


@dataclass(frozen=True)
class Weight:
    name: str  # as Keras names it: kernel, recurrent_kernel, bias (forward.kernel, ... when bidirectional)
    shape: tuple[int, ...]
    formula: str  # what the shape is made of, e.g. "(features, 4*units)"

    @property
    def count(self) -> int:
        return math.prod(self.shape)

    def transposed(self, name: str) -> Weight:
        """The same matrix with its axes swapped, as PyTorch holds it: kernel (features, 4*units) is
        weight_ih (4*units, features)."""
        rows, columns = self.formula.strip("()").split(", ")
        return Weight(name, self.shape[::-1], f"({columns}, {rows})")


@dataclass(frozen=True)
class Arithmetic:
    """How a layer's parameter count is made up, PyTorch's count beside it, and its multiply-adds."""

    formula: str  # "4·units·(features + units + 1)"
    worked: str  # "4·3·(2 + 3 + 1)"
    torch_formula: str
    torch_worked: str
    torch_params: int
    torch_note: str | None  # why PyTorch's count differs, when it does
    multiply_adds: int  # per timestep of one sample (per sample when the input is not a sequence)
    multiply_adds_formula: str


@dataclass
class Scope:
    """What the layers of a config may read as they are checked, in order: every reference so far with its
    shape, the model's inputs, and the names of this layer and later ones, which are not readable yet."""

    inputs: dict[str, InputSpec]
    shapes: dict[str, Shape] = field(default_factory=dict)  # reference → shape, batch first
    pending: set[str] = field(default_factory=set)
    one_sequence: set[str] = field(default_factory=set)  # id inputs written as one sequence (timesteps,)

    def reference(self, node: Node) -> str:
        """A reference to an input or an earlier layer's output, as `node` gives it."""
        value = node.value
        if not isinstance(value, str):
            raise node.expected("a reference (an input or layer name)")
        if value in self.shapes:
            return value
        known = list(self.shapes)
        layer_name = value.split(".")[0]
        if layer_name in self.pending:
            raise node.error(
                f"{value!r} refers to layer {layer_name!r}, which comes later; a layer reads only inputs "
                "and earlier layers (layers run in the order written, so there are no cycles)"
            )
        owner, _, state = value.rpartition(".")
        if state in STATES and owner in self.shapes:
            raise node.error(f"{value!r} needs return_state: true on layer {owner!r}")
        hint = did_you_mean(value, known)
        raise node.error(f"unknown reference {shorten(value)!r}{hint} (known so far: {', '.join(known)})")

    def sequence_input(self, source: str, entry: Node) -> tuple[int | None, int | None, int]:
        """(batch, timesteps, features) of what a layer that reads sequences reads."""
        shape = self.shapes[source]
        if len(shape) != 3 or shape[2] is None:
            raise entry.error(
                f"this layer reads a sequence (batch, timesteps, features), but {source!r} "
                f"has shape {shape_text(shape)}"
            )
        return shape[0], shape[1], shape[2]

    def reads_ids(self, source: str) -> bool:
        """Whether `source` is a model input of integer ids, which only an embedding reads."""
        return source in self.inputs and len(self.inputs[source].shape) == 1


class LayerType(ABC, Generic[L]):
    """One layer type of the config. Subclasses set `type`, `keras_class` and `keys`, and override what
    differs from a layer that holds no weights and gives one output as wide as its input."""

    type: str  # as the config writes it: lstm, dense, ...
    keras_class: str  # LSTM, Dense, ...
    keys: tuple[str, ...]  # every key its config entry may hold
    weight_keys: ClassVar[tuple[str, ...]] = ()  # those that hold its weights (a .npz keys them by name)
    wraps: ClassVar[tuple[str, ...]] = ()  # Keras names the layers it wraps too: each uses up a name
    reads_ids: ClassVar[bool] = False  # reads a model input of integer ids, not features
    directions: ClassVar[int] = 1  # LSTM cells side by side over its input (2 in a bidirectional layer)

    @property
    def keras_prefix(self) -> str:
        """Keras's automatic name for it, and its group in a `.weights.h5`: lstm, lstm_1, ..."""
        return self.type

    @abstractmethod
    def parse(self, entry: Node, scope: Scope, name: str, source: str) -> L:
        """The layer that `entry` describes, reading `source`, every key checked where it was written."""

    def output_refs(self, layer: L) -> tuple[str, ...]:
        """The references of its outputs, in Keras's order of its output tensors."""
        return (layer.name,)

    def output_shapes(self, layer: L, source: Shape) -> tuple[Shape, ...]:
        """The shape of each output (as `output_refs` orders them) when it reads `source`."""
        return (source,)

    def reads(self, layer: L) -> tuple[str, ...]:
        """The references it reads, in Keras's call order: its input, then any initial state."""
        return (layer.input,)

    def weights(self, layer: L, source: Shape) -> tuple[Weight, ...]:
        """Its weights in Keras's order, their shapes worked out from what it reads: its parameter count."""
        return ()

    def has_weights(self, layer: L) -> bool:
        """Whether the config gave its weights (an architecture-only config serves `summary` only)."""
        return True

    def arithmetic(
        self, units: int, inputs: int, use_bias: bool, weights: tuple[Weight, ...] = ()
    ) -> Arithmetic | None:
        """How `--detail` works its count out; None for a layer without weights."""
        return None

    # A mask (Masking's, or an Embedding's with mask_zero) passes on as Keras passes it (graph.masks_taken).

    def makes_mask(self, layer: L) -> bool:
        return False

    def takes_mask(self, layer: L, keras_graph: bool) -> bool:
        """Whether a mask on its input skips steps in it. `keras_graph`: as Keras 3's functional graph
        calls it."""
        return False

    def passes_mask_to(self, layer: L) -> tuple[str, ...]:
        """The outputs that carry its input's mask on."""
        return (layer.name,)
