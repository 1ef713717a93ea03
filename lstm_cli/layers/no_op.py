"""The layers that are the identity at inference (training=False) and hold no weights: Dropout,
GaussianNoise, ... Kept in the model so that `summary` lists them as Keras does; at inference their input,
and their input's mask, pass on unchanged."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .base import LayerType, Scope

if TYPE_CHECKING:
    from lstm_cli.checks import Node
    from lstm_cli.yamlio import KeyPath


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
        "ActivityRegularization", (("l1", 0.0, math.inf), ("l2", 0.0, math.inf))
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


class NoOp(LayerType[NoOpLayer]):
    """One of NO_OP_KINDS: its options checked as Keras checks them; its output is its input."""

    def __init__(self, type: str, kind: NoOpKind) -> None:
        self.type = type
        self.kind = kind
        self.keras_class = kind.keras_class
        self.keys = ("type", "name", "input", *(key for key, _, _ in kind.options))

    def parse(self, entry: Node, scope: Scope, name: str, source: str) -> NoOpLayer:
        entry.keys(self.keys, required=[key for key, default, _ in self.kind.options if default is None])
        if self.kind.sequence:
            scope.sequence_input(source, entry)
        options = tuple(
            (key, entry.get(key, default).number(0.0, high)) for key, default, high in self.kind.options
        )
        return NoOpLayer(name=name, input=source, key_path=entry.path, type=self.type, options=options)
