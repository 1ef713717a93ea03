"""Configs written as a person would write them: block mappings, and arrays in flow style, one row a line.

    kernel: [[ 0.5172, -0.3085,  0.0021],
             [-0.1103,  0.6427, -0.4410]]

Rows of a matrix are right-aligned so that its columns line up. The output reads back through `yamlio`
(YAML 1.2) to the same numbers, rounded to `precision` decimals when one is given.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .text import EXPONENT_FROM
from .yamlio import KeyPath, resolve_plain_scalar

PLAIN_TEXT = re.compile(r"[A-Za-z_(][A-Za-z0-9_ ().,;=*+/'<>-]*")  # safe unquoted: no `: `, ` #`, `[`, `{`


def dump_yaml(
    data: Mapping[str, Any],
    *,
    comments: Mapping[KeyPath, str] | None = None,
    precision: int | None = None,
) -> str:
    """A mapping as YAML. `comments` puts `# text` lines before the key at that path."""
    writer = _Writer(comments or {}, precision)
    writer.mapping(data, 0, ())
    return "\n".join(writer.lines) + "\n"


# Numbers this large show in exponent form (1e+300), not as whole numbers: past 2**53 every float is
# whole, but most of its digits are noise.


class Flow(dict[str, Any]):
    """A small mapping written on one line: `{file: model.npz, key: layers/lstm/kernel}`."""


class FlowList(list[Any]):
    """A short list written on one line: `initial_state: [encoder.h, encoder.c]`."""


def format_number(value: float, precision: int | None = None, *, float32: bool = False) -> str:
    """Whole numbers as whole numbers; others rounded to `precision` decimals, or as short as round-trips
    (in float32 for a float32 value: 0.1 rather than 0.10000000149011612)."""
    number = float(value) if precision is None else round(float(value), precision) + 0.0  # no -0.0
    if abs(number) >= EXPONENT_FROM:
        return str(np.float32(number)) if float32 else repr(number)
    if number.is_integer():
        return str(int(number))
    if precision is not None:
        return f"{number:.{precision}f}"
    return str(np.float32(number)) if float32 else repr(number)


def flow_array(values: Any, column: int, precision: int | None = None) -> str:
    """An array in flow style, starting at `column`; each row on its own line, aligned under the first.
    A float32 array is written in float32's shortest digits, which read back to the same float32 values."""
    float32 = isinstance(values, np.ndarray) and values.dtype == np.float32
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 0:
        return format_number(float(array), precision, float32=float32)
    texts = [format_number(v, precision, float32=float32) for v in array.ravel()]
    width = max(map(len, texts)) if array.ndim > 1 else 0
    cells = np.array([text.rjust(width) for text in texts], dtype=object).reshape(array.shape)
    return _nested(cells, column)


def _nested(cells: Any, column: int) -> str:
    if cells.ndim == 1:
        return "[" + ", ".join(cells) + "]"
    separator = ",\n" + " " * (column + 1)
    return "[" + separator.join(_nested(row, column + 1) for row in cells) + "]"


def is_array(value: Any) -> bool:
    """Whether a config value holds an array (numpy, or a non-empty list of numbers or lists)."""
    if isinstance(value, np.ndarray):
        return True
    if isinstance(value, list | tuple) and value:
        first = value[0]
        return isinstance(first, int | float | np.number | list | tuple) and not isinstance(first, bool)
    return False


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return format_number(float(value))
    text = str(value)
    if PLAIN_TEXT.fullmatch(text) and resolve_plain_scalar(text) == text and not text.endswith(" "):
        return text
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def _flow_mapping(data: Mapping[str, Any]) -> str:
    return "{" + ", ".join(f"{key}: {_flow_value(value)}" for key, value in data.items()) + "}"


def _flow_value(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_flow_value(item) for item in value) + "]"
    text = _scalar(value)
    if isinstance(value, str) and any(mark in text for mark in ",[]{}"):
        return json.dumps(value, ensure_ascii=False)  # a comma or bracket would end a plain scalar here
    return text


class _Writer:
    def __init__(self, comments: Mapping[KeyPath, str], precision: int | None) -> None:
        self.comments = comments
        self.precision = precision
        self.lines: list[str] = []

    def mapping(self, data: Mapping[str, Any], indent: int, path: KeyPath, first: str | None = None) -> None:
        for position, (key, value) in enumerate(data.items()):
            prefix = first if first is not None and position == 0 else " " * indent
            comment = self.comments.get(path + (key,))
            if comment is not None:
                self.lines.extend(f"{' ' * indent}# {line}" for line in comment.splitlines())
            head = f"{prefix}{key}:"
            if is_array(value):
                self.lines.append(f"{head} {flow_array(value, len(head) + 1, self.precision)}")
            elif isinstance(value, Flow):
                self.lines.append(f"{head} {_flow_mapping(value)}")
            elif isinstance(value, FlowList):
                self.lines.append(f"{head} {_flow_value(value)}")
            elif isinstance(value, Mapping):
                self.lines.append(head)
                self.mapping(value, indent + 2, path + (key,))
            elif isinstance(value, Sequence) and not isinstance(value, str):
                self.lines.append(head)
                self.sequence(value, indent + 2, path + (key,))
            else:
                self.lines.append(f"{head} {_scalar(value)}")

    def sequence(self, items: Sequence[Any], indent: int, path: KeyPath) -> None:
        for index, item in enumerate(items):
            if isinstance(item, Mapping) and item:
                self.mapping(item, indent + 2, path + (index,), first=" " * indent + "- ")
            else:
                self.lines.append(f"{' ' * indent}- {_scalar(item)}")
