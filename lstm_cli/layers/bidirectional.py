"""Keras 3's Bidirectional(LSTM): two LSTM cells over one sequence, the backward one reading it reversed
(docs/config.md#bidirectional). Its halves share units, the cell options and the flags; each has its own
weights."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

from lstm_cli.names import DIRECTIONS, half_ref, state_refs

from .base import MAX_UNITS, Arithmetic, LayerType, Scope, Shape, Weight, width_of
from .lstm import (
    KERAS_WEIGHTS,
    RECURRENT_KEYS,
    TORCH_WEIGHTS,
    VARIANT_WEIGHTS,
    LstmLayer,
    LstmWeights,
    cell_arithmetic,
    cell_options,
    cell_weights,
    lstm_weights,
    variant_counts,
)

if TYPE_CHECKING:
    from lstm_cli.checks import Node
    from lstm_cli.yamlio import KeyPath

MERGE_MODES = ("concat", "sum", "mul", "ave", None)  # None: two outputs, NAME.forward and NAME.backward
MERGE_MODE_NAMES = tuple(mode for mode in MERGE_MODES if mode is not None)


@dataclass(frozen=True)
class BidirectionalLayer:
    """Keras 3 Bidirectional(LSTM): the backward half reads the reversed input
    (docs/config.md#bidirectional)."""

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


class Bidirectional(LayerType[BidirectionalLayer]):
    type = "bidirectional"
    keras_class = "Bidirectional"
    keys = (*RECURRENT_KEYS, "merge_mode", *DIRECTIONS)
    weight_keys = DIRECTIONS  # each a mapping of an LSTM's weights
    wraps = ("lstm",)  # Keras names the LSTM it wraps as it is made: the next plain one is lstm_1
    directions = len(DIRECTIONS)

    def parse(self, entry: Node, scope: Scope, name: str, source: str) -> BidirectionalLayer:
        entry.keys(self.keys, required=("units",))
        units = entry["units"].integer(1, MAX_UNITS)
        _, _, features = scope.sequence_input(source, entry)
        merge_mode = entry.get("merge_mode", "concat")
        if merge_mode.value is not None:
            merge_mode.choice(MERGE_MODE_NAMES, also="null")
        given = [direction for direction in DIRECTIONS if direction in entry]
        if len(given) == 1:
            missing = "backward" if given == ["forward"] else "forward"
            raise entry.error(f"missing key {missing!r}: give the weights of both directions")
        use_bias = entry.boolean("use_bias", None)
        halves: dict[str, LstmWeights | None] = dict.fromkeys(DIRECTIONS)
        used: set[bool] = set()
        for direction in given:
            half = entry[direction].mapping()
            half.keys((*KERAS_WEIGHTS, *TORCH_WEIGHTS, *VARIANT_WEIGHTS, "weight_hr"))
            halves[direction], bias_used = cell_weights(half, units, features, source, use_bias)
            used.add(bias_used)
        if len(used) > 1:
            raise entry.error("one direction has a bias and the other has none", "backward")
        projs = {None if weights is None else weights.proj for weights in halves.values()}
        if len(projs) > 1:
            raise entry.error("the two directions' projections differ in width", "backward")
        cell = LstmLayer(
            name=name,
            units=units,
            input=source,
            key_path=entry.path,
            **cell_options(entry, projs.pop()),
            use_bias=used.pop() if used else use_bias is not False,
            return_sequences=entry.boolean("return_sequences", False),
            return_state=entry.boolean("return_state", False),
        )
        return BidirectionalLayer(
            name=name,
            input=source,
            key_path=entry.path,
            forward=_with(cell, halves["forward"], go_backwards=False),
            backward=_with(cell, halves["backward"], go_backwards=True),
            merge_mode=merge_mode.value,
        )

    def output_refs(self, layer: BidirectionalLayer) -> tuple[str, ...]:
        return bidirectional_refs(layer.name, layer.merge_mode, layer.return_state)

    def output_shapes(self, layer: BidirectionalLayer, source: Shape) -> tuple[Shape, ...]:
        batch, timesteps, _ = source
        units = layer.forward.output_units
        half: Shape = (batch, timesteps, units) if layer.return_sequences else (batch, units)
        if layer.merge_mode is None:  # Keras returns the two halves as two outputs
            outputs: tuple[Shape, ...] = (half, half)
        else:
            outputs = ((*half[:-1], 2 * units if layer.merge_mode == "concat" else units),)
        state: tuple[Shape, ...] = ((batch, units), (batch, layer.units))
        states: tuple[Shape, ...] = state * 2 if layer.return_state else ()
        return outputs + states

    def weights(self, layer: BidirectionalLayer, source: Shape) -> tuple[Weight, ...]:
        cell = layer.forward
        return tuple(
            weight
            for direction, half in zip(DIRECTIONS, (layer.forward, layer.backward), strict=True)
            for weight in lstm_weights(
                width_of(source), cell.units, cell.use_bias, f"{direction}.", cell=half.weights
            )
        )

    def has_weights(self, layer: BidirectionalLayer) -> bool:
        return layer.forward.weights is not None and layer.backward.weights is not None

    def arithmetic(
        self, units: int, inputs: int, use_bias: bool, weights: tuple[Weight, ...] = ()
    ) -> Arithmetic:
        return cell_arithmetic(units, inputs, use_bias, self.directions, *variant_counts(weights, 2))

    def takes_mask(self, layer: BidirectionalLayer, keras_graph: bool) -> bool:
        return True

    def passes_mask_to(self, layer: BidirectionalLayer) -> tuple[str, ...]:
        if not layer.return_sequences:
            return ()  # its states carry none
        return (layer.name, *(half_ref(layer.name, direction) for direction in DIRECTIONS))


def bidirectional_refs(name: str, merge_mode: str | None, return_state: bool) -> tuple[str, ...]:
    """A bidirectional layer's outputs in Keras's order: [output, forward h, forward c, backward h,
    backward c], or with merge_mode None [forward output, backward output, forward h, ...]."""
    halves = tuple(half_ref(name, direction) for direction in DIRECTIONS)
    outputs = halves if merge_mode is None else (name,)
    states = tuple(ref for half in halves for ref in state_refs(half)) if return_state else ()
    return outputs + states


def _with(cell: LstmLayer, weights: LstmWeights | None, go_backwards: bool) -> LstmLayer:
    return replace(cell, weights=weights, go_backwards=go_backwards)
