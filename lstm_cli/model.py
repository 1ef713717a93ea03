"""The validated model: what a config says, with every array checked and every reference resolved.

Plain frozen dataclasses. Shapes in comments leave out nothing: `(features, 4*units)` is the whole shape.
A layer's `key_path` says where it was written, so that later errors can point back at the config. Each
layer type's dataclass lives beside what else its type knows, in `layers/`; they are named here too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from .layers import (
    GATES,
    MERGE_MODES,
    NO_OP_KINDS,
    Array,
    BidirectionalLayer,
    DenseLayer,
    EmbeddingLayer,
    InitialState,
    Layer,
    LstmLayer,
    LstmWeights,
    MaskingLayer,
    MaskSource,
    NoOpKind,
    NoOpLayer,
)

if TYPE_CHECKING:
    from .errors import LstmCliError
    from .yamlio import Document, KeyPath

DType = Literal["float32", "float64"]


@dataclass(frozen=True)
class InputSpec:
    name: str
    shape: tuple[int | None, ...]  # without the batch axis: (timesteps, features), or (timesteps,) of ids
    data: Array | None  # (batch, timesteps, features) or int64 ids (batch, timesteps); None without data
    key_path: KeyPath


@dataclass(frozen=True)
class Expectation:
    """A value worked out by hand, checked after the run."""

    ref: str
    expected: Array
    tolerance: Array  # per element: half a unit in the last decimal written, at least float rounding
    key_path: KeyPath


@dataclass(frozen=True)
class LossSpec:
    """What `backward` differentiates (docs/config.md#the-loss): a loss of one output against a target."""

    type: str  # one of losses.LOSS_TYPES
    output: str  # the reference it reads
    target: Array | None  # the output's shape (class ids for sparse_categorical_crossentropy); None for sum
    from_logits: bool
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
    loss: LossSpec | None = None
    expect_gradients: tuple[Expectation, ...] = ()  # `ref` is a gradient's key (backprop.gradient_shapes)
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


__all__ = [
    "GATES",
    "MERGE_MODES",
    "NO_OP_KINDS",
    "Array",
    "BidirectionalLayer",
    "DType",
    "DenseLayer",
    "EmbeddingLayer",
    "Expectation",
    "InitialState",
    "InputSpec",
    "Layer",
    "LossSpec",
    "LstmLayer",
    "LstmWeights",
    "MaskSource",
    "MaskingLayer",
    "Model",
    "NoOpKind",
    "NoOpLayer",
]
