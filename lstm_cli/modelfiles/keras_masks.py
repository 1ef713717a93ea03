"""The masks of a Keras model config: left out, as lstm-cli computes them, and checked.

Keras 3 writes a Masking layer's mask into a Functional graph as two ops, `NotEqual(x, mask_value)` and
`Any(axis=-1)`, and an Embedding's (mask_zero) as one, `NotEqual(ids, 0)`; it passes the result to each
LSTM as `mask=`. lstm-cli's Masking and Embedding compute the same masks and carry them as Keras does, so
the ops are left out; each `mask=` is checked against the mask lstm-cli would give that layer. Keras 3
calls an LSTM that is given `initial_state` tensors without its input's mask: such an LSTM gets
`use_mask: false`, so that it computes what Keras computes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lstm_cli.config import load_model
from lstm_cli.errors import LstmCliError
from lstm_cli.graph import masks_taken
from lstm_cli.layers import MaskingLayer, MaskSource
from lstm_cli.modelfiles.common import file_error
from lstm_cli.modelfiles.keras_layers import SUPPORTED, LayerReader, is_number

MASK_OPS = ("NotEqual", "Any")  # a mask, as Keras 3 writes it into a Functional graph
# What a mask depends on: the reference it is computed from, the value compared with, and whether an Any
# over the features follows (a Masking layer's mask) or not (an Embedding's, of its ids).
Mask = tuple[str, float, bool]
Reference = Callable[[Any, str], str]  # a Keras tensor, and who reads it → its lstm-cli reference


@dataclass
class Masks:
    source: Path
    ops: dict[str, Mask] = field(default_factory=dict)  # NotEqual and Any op → the mask it computes
    given: dict[str, Mask | None] = field(
        default_factory=dict
    )  # recurrent layer → the mask Keras calls it with

    def fail(self, message: str) -> LstmCliError:
        return file_error(self.source, message)

    def op(
        self,
        cls: str,
        name: str,
        config: Mapping[str, Any],
        args: list[Any],
        tensors: list[Any],
        reference: Reference,
    ) -> None:
        """Record a NotEqual(x, value) or an Any(axis=-1) over one, called with `args` that hold the Keras
        `tensors`; refuse any other use of them."""
        if cls == "NotEqual" and len(args) == 2 and len(tensors) == 1 and is_number(args[1]):
            self.ops[name] = (reference(tensors[0], name), float(args[1]), False)
            return
        computes = tensors[0][0] if len(args) == 1 and len(tensors) == 1 and tensors[0] else None
        if cls == "Any" and config.get("axis") == -1 and not config.get("keepdims") and computes in self.ops:
            self.ops[name] = (*self.ops[computes][:2], True)
            return
        raise self.fail(
            f"layer {name!r} is a {cls} op that is not the mask of a Masking or Embedding layer; "
            f"lstm-cli converts {SUPPORTED}"
        )

    def given_mask(self, tensor: Any, name: str) -> Mask:
        source = tensor[0] if isinstance(tensor, list) and tensor else None
        if source not in self.ops:
            raise self.fail(
                f"layer {name!r} is called with mask= from {source!r}, which is not the mask of a Masking "
                "or Embedding layer"
            )
        return self.ops[source]

    def check(self, mapping: dict[str, Any]) -> None:
        """Each recurrent layer must take the mask lstm-cli's engine gives it: the one Keras 3 calls it
        with (`mask=`). An LSTM that Keras 3 calls without it (one given initial_state tensors) gets
        `use_mask: false`, and so runs without it as in Keras."""
        taken = masks_taken(load_model(mapping, source=str(self.source)))
        entries = {entry["name"]: entry for entry in mapping["layers"]}
        for name, given in self.given.items():
            source = taken.get(name)
            if given == _mask_of(source):
                continue
            if given is None and entries[name]["type"] == "lstm":
                entries[name]["use_mask"] = False
                continue
            if source is None:
                raise self.fail(
                    f"layer {name!r} is called with a mask that lstm-cli would not give it "
                    "(it masks as a Masking layer or an Embedding with mask_zero before it does)"
                )
            raise self.fail(
                f"layer {name!r} is called with {'no mask' if given is None else 'another mask'} in this "
                f"model; lstm-cli would apply the mask of {source.name!r} and compute other numbers, so it "
                "does not convert the model"
            )

    def check_zero_output(self, layers: LayerReader) -> None:
        """An LSTM's zero_output_for_mask matters only under a mask, which lstm-cli computes inside
        Bidirectional alone."""
        if layers.masks and layers.zero_output:
            raise self.fail(
                f"layer {layers.zero_output[0]!r} has zero_output_for_mask: true, which lstm-cli does not "
                "compute for an LSTM outside Bidirectional"
            )


def _mask_of(source: MaskSource | None) -> Mask | None:
    """The mask ops Keras 3 writes for the mask of a Masking layer or an Embedding (mask_zero)."""
    if source is None:
        return None
    if isinstance(source, MaskingLayer):
        return (source.input, source.mask_value, True)
    return (source.input, 0.0, False)
