"""Keras Embedding and nn.Embedding: integer ids (batch, timesteps) → rows of a table.

Embedding embeddings (input_dim, output_dim)                      = input_dim * output_dim
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from .base import MAX_UNITS, Array, LayerType, Scope, Shape, Weight

if TYPE_CHECKING:
    from lstm_cli.checks import Node
    from lstm_cli.yamlio import KeyPath

MAX_INPUT_DIM = 10**9  # ids in the table


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


class Embedding(LayerType[EmbeddingLayer]):
    type = "embedding"
    keras_class = "Embedding"
    keys = ("type", "name", "input", "input_dim", "output_dim", "mask_zero", "embeddings")
    weight_keys = ("embeddings",)
    reads_ids = True

    def parse(self, entry: Node, scope: Scope, name: str, source: str) -> EmbeddingLayer:
        entry.keys(self.keys, required=("input_dim", "output_dim"))
        if not scope.reads_ids(source):
            raise entry.error(
                f"an embedding reads integer ids (batch, timesteps) from a model input, but {source!r} is "
                f"{'a layer' if source not in scope.inputs else 'not read as ids'}; "
                "make it the first layer, or name an input with `input:`"
            )
        input_dim = entry["input_dim"].integer(1, MAX_INPUT_DIM)
        output_dim = entry["output_dim"].integer(1, MAX_UNITS)
        embeddings = None
        if "embeddings" in entry:
            embeddings = entry["embeddings"].shaped(embedding_weight(input_dim, output_dim))
        _check_ids(entry, scope, source, name, input_dim)
        return EmbeddingLayer(
            name=name,
            input_dim=input_dim,
            output_dim=output_dim,
            input=source,
            key_path=entry.path,
            mask_zero=bool(entry.boolean("mask_zero", False)),
            embeddings=embeddings,
        )

    def output_shapes(self, layer: EmbeddingLayer, source: Shape) -> tuple[Shape, ...]:
        batch, timesteps = source
        return ((batch, timesteps, layer.output_dim),)

    def weights(self, layer: EmbeddingLayer, source: Shape) -> tuple[Weight, ...]:
        return (embedding_weight(layer.input_dim, layer.output_dim),)

    def has_weights(self, layer: EmbeddingLayer) -> bool:
        return layer.embeddings is not None

    def makes_mask(self, layer: EmbeddingLayer) -> bool:
        return layer.mask_zero

    def passes_mask_to(self, layer: EmbeddingLayer) -> tuple[str, ...]:
        return ()  # it reads ids, which carry none


def embedding_weight(input_dim: int, output_dim: int) -> Weight:
    """Its one weight: the table, a row per id."""
    return Weight("embeddings", (input_dim, output_dim), "(input_dim, output_dim)")


def _check_ids(entry: Node, scope: Scope, source: str, name: str, input_dim: int) -> None:
    """Every id the input holds indexes a row of the table; else the first that does not is named where
    the input wrote it."""
    spec = scope.inputs[source]
    ids = spec.data
    if ids is None or (ids.min() >= 0 and ids.max() < input_dim):
        return
    outside = ((ids < 0) | (ids >= input_dim)).nonzero()
    index = tuple(int(axis[0]) for axis in outside)  # the first, in row-major order
    written = index[1:] if source in scope.one_sequence else index  # as the config wrote it
    raise entry.error_at(
        spec.key_path + written,
        f"id {ids[index]} is outside [0, {input_dim}): embedding {name!r} has input_dim {input_dim}",
    )
