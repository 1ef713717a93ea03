"""The layer types, each owning what the config, summary, the engine and the converters know of it
(`base.LayerType`): one module per type, and this registry, which everything else asks.

A new layer type is a module here, its entry in LAYER_TYPES, its computation in engine.run_model, and its
tests. The order of LAYER_TYPES is the order messages list the types in.
"""

from __future__ import annotations

from typing import Any

from .base import Arithmetic, Array, LayerType, Scope, Shape, Weight
from .bidirectional import MERGE_MODES, Bidirectional, BidirectionalLayer
from .dense import Dense, DenseLayer
from .embedding import Embedding, EmbeddingLayer
from .lstm import GATES, InitialState, Lstm, LstmLayer, LstmWeights
from .masking import Masking, MaskingLayer
from .no_op import NO_OP_KINDS, NoOp, NoOpKind, NoOpLayer

Layer = LstmLayer | DenseLayer | BidirectionalLayer | MaskingLayer | EmbeddingLayer | NoOpLayer
MaskSource = MaskingLayer | EmbeddingLayer  # the layers that make a mask

OWNERS: tuple[LayerType[Any], ...] = (
    Lstm(),
    Dense(),
    Bidirectional(),
    Masking(),
    Embedding(),
    *(NoOp(kind, spec) for kind, spec in NO_OP_KINDS.items()),
)
LAYER_TYPES: dict[str, LayerType[Any]] = {owner.type: owner for owner in OWNERS}
BY_KERAS_CLASS = {owner.keras_class: owner for owner in LAYER_TYPES.values()}
# Every config key that holds weights (a bidirectional layer's: its halves, forward and backward).
WEIGHT_KEYS = tuple(dict.fromkeys(key for owner in LAYER_TYPES.values() for key in owner.weight_keys))


def owner_of(layer: Layer) -> LayerType[Any]:
    """The type that knows `layer`'s keys, outputs, shapes and weights."""
    return LAYER_TYPES[layer.type]


__all__ = [
    "BY_KERAS_CLASS",
    "GATES",
    "LAYER_TYPES",
    "MERGE_MODES",
    "NO_OP_KINDS",
    "WEIGHT_KEYS",
    "Arithmetic",
    "Array",
    "BidirectionalLayer",
    "DenseLayer",
    "EmbeddingLayer",
    "InitialState",
    "Layer",
    "LayerType",
    "LstmLayer",
    "LstmWeights",
    "MaskSource",
    "MaskingLayer",
    "NoOpKind",
    "NoOpLayer",
    "Scope",
    "Shape",
    "Weight",
    "owner_of",
]
