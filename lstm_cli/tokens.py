"""Tokens in the tables: how rows read against a config's `vocab:` (token k is one-hot position k, SPEC §2)
and how a token is shown."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .model import Array, MaskingLayer, Model, NoOpLayer


def shown_token(token: str) -> str:
    """A token as typed, or quoted where it would not show or would not read as one token among others:
    '\\n', ' ', the empty string, 'a b', and a token that starts with a quote."""
    plain = token and token.isprintable() and not any(char.isspace() for char in token)
    return token if plain and token[0] not in "'\"" else repr(token)


def reads_tokens(model: Model, ref: str) -> Sequence[str] | None:
    """The vocab, if `ref` is a model input (seen through Masking and no-op layers) as wide as it; else None.

    Only inputs hold tokens: another layer's h can be one-hot by chance, and is not a token."""
    if model.vocab is None:
        return None
    while ref not in model.inputs:
        layer = model.find(ref)
        if not isinstance(layer, MaskingLayer | NoOpLayer):
            return None
        ref = layer.input
    spec = model.inputs[ref]
    return model.vocab if spec.shape[-1] == len(model.vocab) else None


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
