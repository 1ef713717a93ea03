"""Pieces the trace views share: text indented as a block, the span of what a view left out and the option
that chooses it, and the `Left out:` line."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.text import Text


def spans(values: Sequence[int]) -> str:
    """`3` or `6 to 997`: the span of the indexes left out, as a reader would say it."""
    return str(values[0]) if len(values) == 1 else f"{min(values)} to {max(values)}"


def choose_hint(values: Sequence[int]) -> str:
    """`, choose them with --timestep 6:998` when the left-out timesteps are one run; else nothing."""
    low, high = min(values), max(values)
    if high - low + 1 != len(values):
        return ""
    return f", choose them with --timestep {low}{'' if low == high else f':{high + 1}'}"


@dataclass(frozen=True)
class Indented:
    """Text indented by `spaces`, and so are the lines it wraps onto; no trailing blanks (unlike Padding)."""

    text: Text
    spaces: int

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = max(1, options.max_width - self.spaces)
        for line in console.render_lines(self.text, options.update_width(width), pad=False):
            while line and not line[-1].text.strip():
                line.pop()
            if line:
                last = line[-1]
                yield Segment(" " * self.spaces)
                yield from line[:-1]
                yield Segment(last.text.rstrip(), last.style, last.control)
            yield Segment.line()

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        width = max(1, options.max_width - self.spaces)
        inner = Measurement.get(console, options.update_width(width), self.text)
        return Measurement(inner.minimum + self.spaces, inner.maximum + self.spaces)


@dataclass(frozen=True)
class LeftOut:
    """What a view left out and how to see it, as one dim line; nothing when nothing was left out."""

    notes: tuple[str, ...]

    def text(self) -> Text:
        return Text(
            "Left out: " + "; ".join(self.notes) + ". --format json or csv gives every value.", style="dim"
        )

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if self.notes:
            yield self.text()

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.text()) if self.notes else Measurement(0, 0)
