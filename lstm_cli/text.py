"""Text that messages and views share: shapes as Python writes tuples, plurals, near misses, user text
cut short, and numbers as the tables show them. Plain functions of plain values: no numpy, no Rich."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

DEFAULT_PRECISION = 4  # decimals in tables and explanations
EXPONENT_FROM = 1e16  # from here on a number shows in exponent form: its digits beyond are noise
SHORTEN_AT = 40  # characters of user text quoted in a one-line message


def shape_text(shape: Sequence[int | None], unknown: str = "None") -> str:
    """`(2, 12)`, `(12,)`; `unknown` stands for a size not known (Keras's None, or a formula's name)."""
    items = [unknown if n is None else str(n) for n in shape]
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


def plural(count: int, noun: str) -> str:
    """`1 unit`, `3 units`."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    """`; did you mean 'lstm'?` for a near miss (`lsmt`, `LSTM`), else nothing."""
    by_lower = {choice.lower(): choice for choice in choices}
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return f"; did you mean {by_lower[close[0]]!r}?" if close else ""


def shorten(text: str, limit: int = SHORTEN_AT) -> str:
    """User text quoted in a one-line message, cut short if it would swamp the line."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def format_number(value: float, precision: int = DEFAULT_PRECISION) -> str:
    """Whole numbers show as whole numbers; others with `precision` decimals; from EXPONENT_FROM on, in
    exponent form."""
    if abs(value) >= EXPONENT_FROM:
        return f"{value:.{precision}e}"
    if float(value).is_integer():
        return str(int(value))
    text = f"{value:.{precision}f}"
    return text.removeprefix("-") if float(text) == 0 else text  # -0.0000 reads as a bug
