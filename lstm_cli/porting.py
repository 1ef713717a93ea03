"""What each known porting mistake means, in words, with its fix: compare's `--explain` (SPEC §9).

Pure text. A finding says "B computes what A would compute with this change"; with B given as numbers, B is
the other runtime, and a gate order is the order it effectively reads A's weights in.
"""

from __future__ import annotations

import re

import numpy as np

from .diagnosis import KERAS_ORDER, KNOWN_ORDERS, Finding, inverse_order
from .model import BidirectionalLayer, Layer, LstmLayer

HARD_SIGMOIDS = {
    "hard_sigmoid": "Keras 3's hard_sigmoid, relu6(x + 3) / 6",
    "hard_sigmoid_tf2": "tf.keras 2's hard_sigmoid, clip(0.2·x + 0.5, 0, 1)",
}


def short(value: float) -> str:
    """2.4e-7, 0.031, 12: a difference as people write it."""
    if value == 0:
        return "0"
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    text = f"{value:.2g}" if 1e-3 <= abs(value) < 1e4 else f"{value:.1e}"
    return re.sub(r"e([+-])0*(\d)", r"e\1\2", text).replace("e+", "e")


def gates(order: str) -> str:
    """`iofg` → "i, o, f, c": Keras's letters, c for the candidate."""
    return ", ".join("c" if gate == "g" else gate for gate in order)


def _known(order: str) -> str:
    who = KNOWN_ORDERS.get(order)
    return f"{who}'s order ({gates(order)})" if who else f"the order ({gates(order)})"


def _cell(layer: Layer | None) -> LstmLayer | None:
    if isinstance(layer, BidirectionalLayer):
        return layer.forward
    return layer if isinstance(layer, LstmLayer) else None


def story(finding: Finding, a_layer: Layer | None, *, numbers: bool) -> str:
    """One finding in words: what B does, how close the change brings A and B, and the fix."""
    kind, _, value = finding.hypothesis.partition(":")
    half = f" (its {finding.part} half alone)" if finding.part in ("forward", "backward") else ""
    where = f"In layer '{finding.layer}'{half}, "
    what, fix = _mistake(kind, value, finding.part, _cell(a_layer), numbers)
    if finding.agrees:
        closeness = f"With that change, A and B agree to {short(finding.max_abs_diff)}."
    else:
        closeness = f"Even so, A and B still differ by up to {short(finding.max_abs_diff)}."
    also = ""
    if kind in ("bias", "forget_bias") and value in ("twice", "+1") and _keras_initial_bias(_cell(a_layer)):
        other = "forget_bias:+1, TF1's default" if kind == "bias" else "bias:twice, SO 48361376's mistake"
        also = (
            f" A's bias is Keras's initial one (0, but 1 for the forget gate), so this is the same change as "
            f"{other}: either may be B's mistake."
        )
    return f"{where}{what} {closeness}{also}" + (f" Fix: {fix}" if finding.agrees else "")


def _keras_initial_bias(cell: LstmLayer | None) -> bool:
    """A bias of zeros but the forget gate's ones: doubling it adds 1 to z_f, as forget_bias=1 does."""
    if cell is None or cell.weights is None or cell.weights.bias is None:
        return False
    blocks = np.split(np.asarray(cell.weights.bias, np.float64), 4)
    expected = [
        np.zeros_like(block) if gate != "f" else np.ones_like(block)
        for gate, block in zip(KERAS_ORDER, blocks, strict=True)
    ]
    return all(np.array_equal(block, want) for block, want in zip(blocks, expected, strict=True))


def _mistake(kind: str, value: str, part: str, cell: LstmLayer | None, numbers: bool) -> tuple[str, str]:
    """(what B does, the fix)."""
    if kind == "gate_order":
        return _gate_order(value, numbers)
    a_activation = getattr(cell, kind, "") if kind in ("activation", "recurrent_activation") else ""
    texts: dict[str, tuple[str, str]] = {
        "bias": (
            "B adds the bias twice: a PyTorch port that set both bias_ih and bias_hh to Keras's bias "
            "(SO 48361376) does this.",
            "keep Keras's bias in bias_ih and set bias_hh to zeros, or convert with lstm-cli.",
        )
        if value == "twice"
        else (
            "B leaves the bias out.",
            "copy the bias across (into bias_ih, with bias_hh zeros, in PyTorch) and check use_bias.",
        ),
        "forget_bias": (
            "B adds 1 to the forget gate's pre-activation, as TF1's LSTMCell and BasicLSTMCell do with their "
            "default forget_bias=1.0 (keras#10179).",
            "build B's cell with forget_bias=0.0, or subtract 1 from the f block of its bias.",
        ),
        "recurrent_activation": (
            f"B's gates i, f and o use {_activation(value)} where A's use {_activation(a_activation)} "
            "(tensorflow#47495).",
            f"set recurrent_activation='{a_activation}' in B.",
        ),
        "activation": (
            f"B's candidate and output use {_activation(value)} where A's use {_activation(a_activation)}.",
            f"set activation='{a_activation}' in B.",
        ),
        "kernel": (
            "B's kernel is PyTorch's weight_ih reshaped to Keras's shape (features, 4·units) instead of "
            "transposed.",
            "take kernel = weight_ih.T (numpy's .T, torch's .t()), never .reshape.",
        ),
        "recurrent_kernel": (
            "B's recurrent_kernel is PyTorch's weight_hh reshaped to Keras's shape (units, 4·units) instead "
            "of transposed.",
            "take recurrent_kernel = weight_hh.T, never .reshape.",
        ),
        "time": _time(value),
        "bidirectional": _bidirectional(value, part),
        "state": _state(part),
    }
    return texts[kind]


def _gate_order(order: str, numbers: bool) -> tuple[str, str]:
    keras = f"Keras's ({gates(KERAS_ORDER)})"
    fix = (
        "reorder the four blocks of kernel, recurrent_kernel and bias, or convert with lstm-cli, which "
        "reorders them."
    )
    inverse = inverse_order(order)
    if not numbers:
        what = f"B's gates are stored in {_known(order)} but read as {keras}"
        if inverse in KNOWN_ORDERS and order not in KNOWN_ORDERS:  # Keras's order written into ONNX's
            what += f": weights already in Keras's order were taken as if in {_known(inverse)}"
        return what + ".", fix
    what = f"B computes with A's four gate blocks rearranged to ({gates(order)}) and read as {keras}"
    if inverse in KNOWN_ORDERS:
        what += f": it reads A's Keras-ordered weights as if they were in {_known(inverse)}"
    return (
        what + ".",
        "give B the blocks in the order it reads, or convert with lstm-cli, which reorders them.",
    )


def _activation(name: str) -> str:
    return HARD_SIGMOIDS.get(name, name)


def _time(value: str) -> tuple[str, str]:
    if value == "reversed_output":
        return (
            "B's sequence output is A's in reversed time order: an LSTM with go_backwards returns its "
            "outputs in the order it processed them, last input first, and one side flipped them back "
            "(keras-onnx#523, onnxruntime#4187).",
            "reverse B's output along the time axis (y[:, ::-1]) before comparing or using it.",
        )
    return (
        "B runs the sequence in the other direction: go_backwards is set in one and not the other "
        "(ONNX's direction='reverse').",
        "set go_backwards (or ONNX's direction) in B as in A.",
    )


def _bidirectional(value: str, part: str) -> tuple[str, str]:
    if value == "swapped" and part == "concatenated":
        return (
            "B concatenates the halves the other way round: the backward half's units first.",
            "concatenate [forward, backward], as Keras's merge_mode='concat' does.",
        )
    if value == "swapped":
        return (
            "B's forward and backward halves hold each other's weights.",
            "exchange B's halves (in PyTorch, the *_reverse parameters are the backward half).",
        )
    return (
        "B merges its backward half's sequence without flipping it back to input order (TensorRT#2492).",
        "reverse the backward half's output along time before merging, as Keras does.",
    )


def _state(part: str) -> tuple[str, str]:
    if part == "initial":
        return (
            "B is given its initial state the other way round: h_0 as c_0 and c_0 as h_0.",
            "pass the states as [h, c], Keras's order (PyTorch's (h_0, c_0)).",
        )
    return (
        "B returns h and c the other way round.",
        "take the states in Keras's order, [output, h, c] (PyTorch returns output, (h_n, c_n)).",
    )


def no_known_mistake(
    closest: Finding | None, a_layer: Layer | None, *, numbers: bool, unchanged: float = float("inf")
) -> str:
    """The story when no hypothesis makes A and B agree; `unchanged` is how far apart they are as they
    are."""
    text = (
        "No known mistake explains it: the difference is not one a port is known to make (a weight "
        "copied wrong, a different layer, or another runtime's arithmetic)."
    )
    if closest is None:
        return text + " Every recurrent layer agrees step by step: look at the layers after them."
    kind, _, value = closest.hypothesis.partition(":")
    what, _ = _mistake(kind, value, closest.part, _cell(a_layer), numbers)
    closer = "" if closest.max_abs_diff < unchanged else ", no closer than A and B are as they are"
    return (
        f"{text} The closest is {closest.hypothesis} in layer '{closest.layer}' ({what.rstrip('.')}), "
        f"which leaves a difference of {short(closest.max_abs_diff)}{closer}."
    )
