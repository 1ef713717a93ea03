"""Small checks on config values that carry their own location, as strictyaml's validators raise through
the chunk they read (`chunk.expecting_but_found`).

A `Node` is one value of the config with the key path where it was written; a check on it returns the
value it accepts, or raises `LstmCliError` at FILE:LINE:COL and that key path. Nothing passes a location
by hand: `entry["units"].integer(1, MAX_UNITS)` knows it is `layers[0].units`.
"""

from __future__ import annotations

import math
import os
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from .activations import ACTIVATIONS
from .arrayfiles import ARRAY_SUFFIXES, read_array_file
from .errors import LstmCliError
from .layers.base import Weight
from .model import Array
from .text import did_you_mean, shape_text, shorten
from .yamlio import Document, KeyPath, format_key_path

MAX_ARRAY_RANK = 8
MAX_SHOWN_DIGITS = 30  # a longer number in a message is described, not printed
INFINITY_TEXT = re.compile(r"!*[-+]?\.(inf|Inf|INF)")  # how YAML spells infinity (plain or tagged)
NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
FLOAT64 = np.dtype("float64")  # arrays read before the config's dtype is known


class Node:
    """A value of the config, where it was written, and the dtype its arrays are read in."""

    __slots__ = ("doc", "dtype", "path", "value")

    def __init__(self, value: Any, path: KeyPath, doc: Document, dtype: np.dtype[Any] = FLOAT64) -> None:
        self.value = value
        self.path = path
        self.doc = doc
        self.dtype = dtype

    def __repr__(self) -> str:
        return f"Node({self.value!r} at {format_key_path(self.path) or 'the top'})"

    def at(self, value: Any, *under: str | int) -> Node:
        """`value` as written at `under` this node (or here: the same place, another value)."""
        return Node(value, self.path + under, self.doc, self.dtype)

    def error(self, message: str, *under: str | int) -> LstmCliError:
        """`message` located at this value, or at the part of it `under` names."""
        return self.doc.error(self.path + under, message)

    def error_at(self, path: KeyPath, message: str) -> LstmCliError:
        """A problem found here whose cause was written at `path` (an id that an embedding cannot look up
        is named where the input wrote it)."""
        return self.doc.error(path, message)

    def expected(self, what: str) -> LstmCliError:
        return self.error(f"expected {what}, got {describe(self.value)}")

    # -- the parts of a mapping or a list ------------------------------------------------------------

    def __getitem__(self, key: str | int) -> Node:
        return self.at(self.value[key], key)

    def get(self, key: str, default: Any) -> Node:
        """The value under `key`, or `default` located where it would have been written."""
        return self.at(self.value.get(key, default), key)

    def __contains__(self, key: str) -> bool:
        return key in self.value

    def items(self) -> Iterator[tuple[Any, Node]]:
        return ((key, self[key]) for key in self.value)

    def key(self) -> Node:
        """This value's key as a value in its place: the NAME of `inputs: {NAME: ...}`."""
        return self.at(self.path[-1])

    def elements(self) -> Iterator[Node]:
        return (self[index] for index in range(len(self.value)))

    # -- shapes of values ----------------------------------------------------------------------------

    def mapping(self) -> Node:
        if not isinstance(self.value, Mapping):
            raise self.expected("a mapping")
        return self

    def keys(self, allowed: Sequence[str], required: Sequence[str] = ()) -> None:
        """Every key one of `allowed` (any key when it is empty), and each of `required` there."""
        if allowed:
            for key in self.value:
                if key not in allowed:
                    raise self.error(f"unknown key {key!r}{did_you_mean(key, allowed)}", key)
        for key in required:
            if key not in self.value:
                raise self.error(f"missing key {key!r}")

    def integer(self, low: int, high: int) -> int:
        value = self.value
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or not low <= value <= high:
            raise self.expected(f"a whole number from {low} to {high:,}")
        return int(value)

    def number(self, low: float = -math.inf, high: float = math.inf) -> float:
        """A finite real number from `low` to `high`."""
        value = self.value
        real = isinstance(value, int | float) and not isinstance(value, bool)
        if not real or not _finite(value) or not low <= value <= high:
            if low == -math.inf and high == math.inf:
                raise self.expected("a finite number")
            raise self.expected(
                f"a number, {low:g} or more" if high == math.inf else f"a number from {low:g} to {high:g}"
            )
        return float(value)

    def choice(self, choices: Sequence[str], also: str = "") -> str:
        """The value if it is one of `choices`; `also` names a further valid value the caller handles."""
        value = self.value
        listed = (*choices, also) if also else tuple(choices)
        valid = ", ".join(listed)
        if not isinstance(value, str):
            raise self.error(f"expected one of: {valid}; got {describe(value)}")
        if value == also:
            raise self.error(f"{value!r} in quotes is text; write {also} without quotes")
        if value not in choices:
            hint = did_you_mean(value, listed)
            raise self.error(f"unknown {self.path[-1]} {shorten(value)!r}{hint} (valid: {valid})")
        return value

    def boolean(self, key: str, default: bool | None) -> Any:
        """The flag under `key`: true or false, or `default` (which may be None) when it is not given."""
        value = self.value.get(key, default)
        if value is not default and not isinstance(value, bool):
            raise self.error(f"expected true or false, got {describe(value)}", key)
        return value

    def activation(self, key: str, default: str) -> str:
        """The activation under `key`, by lstm-cli's name; null is Keras's activation=None, linear."""
        node = self.get(key, default)
        return "linear" if node.value is None else node.choice(list(ACTIVATIONS))

    def name(self) -> str:
        """A layer or input name: what a reference can spell (no dots)."""
        if not isinstance(self.value, str) or not NAME_PATTERN.fullmatch(self.value):
            raise self.error(
                f"a name is letters, digits, _ and -, starting with a letter or _; got {describe(self.value)}"
            )
        return self.value

    # -- arrays --------------------------------------------------------------------------------------

    def array(self) -> Array:
        """Nested lists, a numpy array, or {file: PATH[, key: NAME]}: numbers only, finite, rectangular,
        in the node's dtype."""
        value = self.value
        if isinstance(value, Mapping):
            array = self._file_array()
        elif isinstance(value, np.ndarray):
            array = value
            if array.dtype.kind not in "iuf":
                raise self.error(f"expected numbers, got an array of dtype {array.dtype}")
        elif isinstance(value, list | tuple):
            _nested_shape(value, self.path, self.doc)
            array = np.array(value, dtype=np.float64)
        else:
            raise self.expected("an array (a list of numbers)")
        if array.ndim > MAX_ARRAY_RANK:
            raise self.error(f"expected at most {MAX_ARRAY_RANK} dimensions, got {array.ndim}")
        if array.size == 0:
            raise self.error(f"expected numbers, got an empty array (shape {shape_text(array.shape)})")
        with np.errstate(over="ignore"):  # no copy when the dtype already fits: big inputs stay single
            converted = array.astype(self.dtype, copy=False)
        if not np.isfinite(converted).all():
            index = tuple(int(i) for i in np.argwhere(~np.isfinite(converted))[0])
            value = array[index]
            if np.isfinite(value):  # finite in float64, too large for float32
                written = _written(self.doc, self.path + index, value)
                raise self.error(f"{written} is out of range for {self.dtype}", *index)
            what = "NaN" if np.isnan(value) else "infinity"
            raise self.error(f"{what} is not allowed; every value must be a finite number", *index)
        return converted

    def shaped(
        self, weight: Weight, reads: tuple[int, str] | None = None, pytorch: str | None = None
    ) -> Array:
        """An array of exactly the shape `weight` says (its formula in the message, if not). `reads` is
        (axis, source) for a weight whose axis is the width of what the layer reads: a mismatch there names
        the source, where that width comes from. `pytorch` is PyTorch's name for the transposed weight,
        which a transposed array likely is."""
        array = self.array()
        expected = weight.shape
        if array.shape != expected:
            message = expected_shape_message(expected, weight.formula, array.shape)
            if len(expected) == 2 and array.shape == expected[::-1]:
                message += "; it looks transposed"
                if pytorch:
                    message += f": a PyTorch {pytorch} goes under {pytorch}:, not {self.path[-1]}:"
            elif reads is not None and array.ndim == len(expected):
                axis, source = reads
                if array.shape[axis] != expected[axis]:
                    message += f"; {source!r} has {expected[axis]} features"
            raise self.error(message)
        return array

    def _file_array(self) -> Array:
        self.keys(("file", "key"), required=("file",))
        name = self.value["file"]
        if isinstance(name, os.PathLike):  # a mapping built in Python may hold a Path
            name = os.fspath(name)
        if not isinstance(name, str) or not name:
            raise self.error(f"expected a file path, got {describe(name)}", "file")
        folder = self.doc.folder
        file = folder / name
        suffix = file.suffix.lower()
        if suffix not in ARRAY_SUFFIXES:
            raise self.error(f"{name}: expected a .npy, .npz, .csv or .tsv file", "file")
        if suffix != ".npz" and "key" in self:
            raise self.error(f"`key` picks an array from a .npz file; a {suffix} holds one", "key")
        if suffix == ".npz" and "key" not in self:
            raise self.error(f"{name}: a .npz file holds several arrays; say which with `key:`")
        key = self.value.get("key")
        if suffix == ".npz" and not isinstance(key, str):
            raise self.error(f"expected the name of an array in {name}, got {describe(key)}", "key")
        return read_array_file(
            file,
            key,
            lambda part, message: self.error(message, part),
            name=name,
            missing=f"no such file (looked in {folder})",
        )


def describe(value: Any) -> str:
    """What a value is, for `expected X, got Y`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, str):
        return f"a string {shorten(value)!r}"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, int) and abs(value) >= 10**MAX_SHOWN_DIGITS:
        return f"a number of more than {MAX_SHOWN_DIGITS} digits"
    return repr(value)


def expected_shape_message(expected: tuple[int, ...], formula: str, got: tuple[int, ...]) -> str:
    return f"expected shape {shape_text(expected)} = {formula}, got {shape_text(got)}"


def _finite(value: float) -> bool:
    """Finite, and within float64 (a 400-digit whole number is not a float)."""
    return abs(value) <= sys.float_info.max if isinstance(value, int) else math.isfinite(value)


def _written(doc: Document, path: KeyPath, value: Any) -> str:
    """A number as the user wrote it, or as numpy prints it when it came from a file."""
    mark = doc.marks.get(path)
    if mark and mark.text:
        return shorten(mark.text)
    return describe(value) if isinstance(value, int) else f"{float(value):g}"


def _nested_shape(value: Any, path: KeyPath, doc: Document) -> tuple[int, ...]:
    """The shape of nested lists of numbers, each item checked: rectangular, numbers only, finite."""
    if isinstance(value, list | tuple):
        if not value:
            return (0,)
        first = _nested_shape(value[0], (*path, 0), doc)
        for index in range(1, len(value)):
            shape = _nested_shape(value[index], (*path, index), doc)
            if shape != first:
                raise doc.error(
                    (*path, index),
                    f"ragged array: this item has shape {shape_text(shape)}"
                    f" but item 0 has {shape_text(first)}"
                    if shape and first
                    else "ragged array: items mix numbers and lists",
                )
        return (len(value), *first)
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise doc.error(path, f"expected a number, got {describe(value)}")
    if isinstance(value, int) and abs(value) > sys.float_info.max:
        raise doc.error(path, f"{_written(doc, path, value)} is out of range for float64")
    if not math.isfinite(value):
        mark = doc.marks.get(path)
        overflowed = mark and mark.text and not INFINITY_TEXT.fullmatch(mark.text)
        if math.isinf(value) and overflowed:  # 1e400 reads as infinity
            raise doc.error(path, f"{_written(doc, path, value)} is out of range for float64")
        raise doc.error(
            path,
            f"{'NaN' if math.isnan(value) else 'infinity'} is not allowed; "
            "every value must be a finite number",
        )
    return ()
