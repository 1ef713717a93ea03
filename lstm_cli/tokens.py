"""Tokens in the tables: how rows read against a config's `vocab:` (token k is one-hot position k,
docs/config.md#vocab) and how a token is shown."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .model import Array, EmbeddingLayer, MaskingLayer, Model, NoOpLayer

if TYPE_CHECKING:
    from .engine import StepRecord


def shown_token(token: str) -> str:
    """A token as typed, or quoted where it would not show or would not read as one token among others:
    '\\n', ' ', the empty string, 'a b', and a token that starts with a quote."""
    plain = token and token.isprintable() and not any(char.isspace() for char in token)
    return token if plain and token[0] not in "'\"" else repr(token)


@dataclass(frozen=True)
class StepTokens:
    """How a recurrent layer's input reads as a token at each step: a one-hot row of a model input against
    the vocab, or the id an embedding looked up (its token, given a vocab that holds it)."""

    vocab: Sequence[str] | None
    ids: Array | None = None  # (batch, timesteps): the embedding's input

    def at(self, record: StepRecord, sample: int) -> str | None:
        """The token as shown, or None where the row stands for none (a row that is not one-hot)."""
        return self.token(record.x[sample], record.t, sample)

    def token(self, x: Array, t: int, sample: int) -> str | None:
        """`at`, for the input row `x` (features,) of step `t` of `sample`."""
        if self.ids is None:
            token = one_hot_token(self.vocab, x)
            return None if token is None else shown_token(token)
        index = int(self.ids[sample, t])
        if self.vocab is not None and index < len(self.vocab):
            return shown_token(self.vocab[index])
        return f"id {index}"


def step_tokens(model: Model, ref: str) -> StepTokens | None:
    """The tokens that the sequence `ref` stands for: a model input as wide as the vocab, or an embedding's
    output (each seen through Masking and no-op layers); else None. Only inputs hold tokens: another
    layer's h can be one-hot by chance, and is not a token."""
    while ref not in model.inputs:
        layer = model.find(ref)
        if isinstance(layer, EmbeddingLayer):
            return StepTokens(model.vocab, model.inputs[layer.input].data)
        if not isinstance(layer, MaskingLayer | NoOpLayer):
            return None
        ref = layer.input
    spec = model.inputs[ref]
    if model.vocab is None or spec.shape[-1] != len(model.vocab) or len(spec.shape) != 2:
        return None
    return StepTokens(model.vocab)


def one_hot_token(vocab: Sequence[str] | None, row: Array) -> str | None:
    """The token whose one-hot vector `row` is; None without a vocab, at another width, or not one-hot."""
    if vocab is None or row.shape[-1] != len(vocab):
        return None
    hot = np.flatnonzero(row)
    return vocab[int(hot[0])] if len(hot) == 1 and row[hot[0]] == 1 else None


def likeliest_tokens(vocab: Sequence[str], scores: Array) -> list[list[str]]:
    """Each sample's token at the largest score of every position (the first on ties, as decode takes it).

    `scores` is (batch, vocab) or (batch, timesteps, vocab); the result has one list per sample.
    """
    indices = np.argmax(scores, axis=-1).reshape(scores.shape[0], -1)  # (batch, positions)
    return [[vocab[int(index)] for index in sample] for sample in indices]
