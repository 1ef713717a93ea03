"""The model as a graph: what each layer reads, whose mask each layer takes, and the order in which Keras
lists the layers.

Keras numbers a `.weights.h5`'s groups, and prints its summary, in the order of `model.layers`: the
config's order for a chain (what keras.Sequential builds), else the order of its functional graph.
Summary and the converters both ask here, so that neither builds the other's data to learn it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import cast

from .layers import owner_of
from .model import Layer, MaskSource, Model
from .names import layer_of


def reads(layer: Layer) -> tuple[str, ...]:
    """The references a layer reads, in Keras's call order: its input, then any it starts its state from."""
    return owner_of(layer).reads(layer)


def masks_taken(model: Model, keras_graph: bool = False) -> dict[str, MaskSource]:
    """The layer whose mask (a Masking layer's, or an Embedding's with mask_zero) each recurrent layer
    takes, by layer name. A mask passes on as Keras passes it, as each layer's type says: through Dense and
    the no-op layers, and through a recurrent layer to the sequence it returns (to each half, with
    merge_mode null); states carry none. An LSTM with `use_mask: false` takes none. `keras_graph`: as a
    Keras 3 functional graph calls its layers, where an LSTM given an initial state takes no mask either,
    though its sequence still carries it on (Keras 3.15); the engine applies it."""
    return _mask_flow(model, keras_graph)[1]


def masks_carried(model: Model) -> dict[str, MaskSource]:
    """The layer whose mask each reference carries on, by reference (Keras's `_keras_mask` on a tensor,
    which a loss reads), as masks_taken passes them."""
    return _mask_flow(model, False)[0]


def _mask_flow(model: Model, keras_graph: bool) -> tuple[dict[str, MaskSource], dict[str, MaskSource]]:
    """(carried, taken): the mask each reference carries, and the mask each recurrent layer takes."""
    carried: dict[str, MaskSource] = {}  # reference → the layer whose mask it carries
    taken: dict[str, MaskSource] = {}
    for layer in model.layers:
        owner = owner_of(layer)
        source = carried.get(layer.input)
        if owner.makes_mask(layer):
            carried[layer.name] = cast(MaskSource, layer)
            continue
        if source is None:
            continue
        if owner.takes_mask(layer, keras_graph):
            taken[layer.name] = source
        carried.update(dict.fromkeys(owner.passes_mask_to(layer), source))
    return carried, taken


def is_sequential(model: Model) -> bool:
    """What keras.Sequential can build: one input, each layer reading the one before, none given an initial
    state (a reference or an array), only the last returning its states, and it the only output."""
    if len(model.inputs) != 1:
        return False
    previous = next(iter(model.inputs))
    for layer in model.layers:
        starts = getattr(layer, "initial_state", None) is not None
        states = getattr(layer, "return_state", False) and layer is not model.layers[-1]
        if layer.input != previous or starts or states:
            return False
        previous = layer.name
    return model.outputs == (model.layers[-1].name,)


def keras_layers(model: Model) -> list[Layer]:
    """The model's layers in the order Keras lists them in `model.layers` for the same inputs and outputs:
    the config's order for a chain, else Keras's graph order. A `.weights.h5` numbers its groups by it."""
    if is_sequential(model):
        return list(model.layers)
    sources: dict[str, list[str]] = {name: [] for name in model.inputs} | {
        layer.name: [layer_of(ref) for ref in reads(layer)] for layer in model.layers
    }
    ordered, _ = keras_order(sources, [layer_of(ref) for ref in model.outputs], model.inputs)
    by_name = {layer.name: layer for layer in model.layers}
    return [by_name[name] for name in ordered if name in by_name]


def keras_order(
    sources: Mapping[str, Sequence[str]], outputs: Sequence[str], inputs: Collection[str]
) -> tuple[list[str], dict[str, int]]:
    """Keras's functional order of the nodes in `sources` (each node → the nodes it reads, in order), and
    each node's depth.

    As keras/src/ops/function.py `map_graph`: a depth-first walk from the outputs numbers each node when
    first seen; a node's depth is its longest distance from an output; nodes are listed deepest first, ties
    in walk order. A node nothing reads counts as an output here (Keras would drop it; we show it), unless
    it is one of the `inputs`.
    """
    read = {source for reading in sources.values() for source in reading}
    sinks = [name for name in sources if name not in read and name not in inputs]
    index: dict[str, int] = {}
    finished: list[str] = []  # post-order: every node after the nodes it reads
    for root in dict.fromkeys([*outputs, *sinks]):
        if root in index:
            continue
        index[root] = len(index)
        stack = [(root, iter(sources[root]))]
        while stack:
            name, reading = stack[-1]
            for source in reading:
                if source not in index:
                    index[source] = len(index)
                    stack.append((source, iter(sources[source])))
                    break
            else:
                stack.pop()
                finished.append(name)
    depth: dict[str, int] = {}
    for name in reversed(finished):
        here = depth.setdefault(name, 0)
        for source in sources[name]:
            depth[source] = max(here + 1, depth.get(source, 0))
    for name in sources:  # inputs that nothing reads: Keras puts them first at depth 0
        if name not in depth:
            depth[name], index[name] = 0, -1
    return sorted(depth, key=lambda name: (-depth[name], index[name])), depth
