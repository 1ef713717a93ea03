"""Keras Masking: a timestep whose features all equal mask_value is skipped by later recurrent layers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from .base import LayerType, Scope

if TYPE_CHECKING:
    from lstm_cli.checks import Node
    from lstm_cli.yamlio import KeyPath


@dataclass(frozen=True)
class MaskingLayer:
    """Keras Masking: a timestep whose features all equal mask_value is skipped by later recurrent layers."""

    name: str
    input: str
    key_path: KeyPath
    mask_value: float = 0.0
    type: Literal["masking"] = "masking"


class Masking(LayerType[MaskingLayer]):
    type = "masking"
    keras_class = "Masking"
    keys = ("type", "name", "input", "mask_value")

    def parse(self, entry: Node, scope: Scope, name: str, source: str) -> MaskingLayer:
        entry.keys(self.keys)
        scope.sequence_input(source, entry)
        mask_value = entry.get("mask_value", 0.0).number()
        return MaskingLayer(name=name, input=source, key_path=entry.path, mask_value=mask_value)

    def makes_mask(self, layer: MaskingLayer) -> bool:
        return True
