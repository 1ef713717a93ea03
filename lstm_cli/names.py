"""Names: the references by which a config reads what a layer gives, and Keras's automatic layer names.

A reference is a layer's name, then the direction of a bidirectional layer's half, then the state:
`lstm`, `lstm.h`, `bi.forward`, `bi.backward.c`. Layer names hold no dots, so a reference's layer is the
text before its first dot. Which references a layer gives, in Keras's order of its outputs, is its type's
to say (`layers.LayerType.output_refs`); this module only spells them.

Keras names a layer that is not named after its class, counted per class: lstm, lstm_1, lstm_2, ...
"""

from __future__ import annotations

from collections.abc import Iterable

STATES = ("h", "c")  # Keras's and PyTorch's order of an LSTM's state
DIRECTIONS = ("forward", "backward")  # the halves of a bidirectional layer, in Keras's order
OUTPUT = "output"  # the quantity of a reference that names no state (tidy rows, `forward --format csv`)


def state_refs(owner: str) -> tuple[str, str]:
    """`(NAME.h, NAME.c)`; `owner` may be a half, `bi.forward`."""
    return f"{owner}.h", f"{owner}.c"


def half_ref(layer: str, direction: str) -> str:
    """`bi.forward`: one direction of a bidirectional layer."""
    return f"{layer}.{direction}"


def layer_of(ref: str) -> str:
    """The layer (or input) a reference belongs to: `encoder.h` → `encoder`."""
    return ref.partition(".")[0]


def ref_parts(ref: str) -> tuple[str, str, str]:
    """(layer, direction, quantity): `lstm.h` → (lstm, "", h); `bi.backward.c` → (bi, backward, c);
    `bi.forward` → (bi, forward, output); `lstm` → (lstm, "", output)."""
    layer, *rest = ref.split(".")
    direction = rest.pop(0) if rest and rest[0] in DIRECTIONS else ""
    return layer, direction, rest[0] if rest else OUTPUT


def cell_ref(ref: str) -> str:
    """The cell state beside a hidden state or an LSTM's output: `lstm.h` or `lstm` → `lstm.c`."""
    return state_refs(ref.removesuffix(".h"))[1]


def keras_name(prefix: str, count: int) -> str:
    """Keras's automatic name for the layer (or weight group) of a type it has named `count` times before:
    lstm, lstm_1, lstm_2, ..."""
    return prefix if count == 0 else f"{prefix}_{count}"


class KerasNames:
    """Keras's automatic names, counted per prefix: lstm, lstm_1, ... A name in `taken` (given explicitly
    in a config) is skipped, so that an automatic name never clashes with it."""

    def __init__(self, taken: Iterable[str] = ()) -> None:
        self.counts: dict[str, int] = {}
        self.taken = set(taken)

    def next(self, prefix: str) -> str:
        while True:
            count = self.count(prefix)
            name = keras_name(prefix, count)
            if name not in self.taken:
                return name

    def layer(self, prefix: str, wraps: Iterable[str] = (), given: str | None = None) -> str:
        """A layer's name: `given`, else the next automatic one of `prefix`. Keras names the layers a
        wrapper wraps as they are made, so each of `wraps` uses up a name too, whatever names were given:
        after a Bidirectional(LSTM), the next plain LSTM is lstm_1."""
        name = self.next(prefix) if given is None else given
        for inner in wraps:
            self.count(inner)
        return name

    def count(self, prefix: str) -> int:
        """Use up one name of `prefix`, whatever it is: how many were used before."""
        count = self.counts.get(prefix, 0)
        self.counts[prefix] = count + 1
        return count
