"""One timestep as a page: for each shown sample its title, a table of its values with the units across,
and with `--explain` the arithmetic of every unit. The rows are given, so that another set of per-step
quantities takes the same page."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from lstm_cli.model import Array
from lstm_cli.render.forward import format_vector
from lstm_cli.text import DEFAULT_PRECISION, format_number
from lstm_cli.tokens import StepTokens
from lstm_cli.tracing import SATURATED_ABOVE, SATURATED_BELOW, SIGMOID_LIKE, Block

from .lines import Indented, spans


@dataclass(frozen=True)
class StepRows:
    """The rows of a step table: their names in groups (a rule under each group), the rows a masked step
    still has (the state it carries), and the rows marked ↑ or ↓ where a sigmoid saturates them."""

    groups: tuple[tuple[str, ...], ...]
    carried: tuple[str, ...]
    marked: tuple[str, ...] = ()


@dataclass(frozen=True)
class StepLayout:
    """How one layer's step tables look: which units, how wide a cell, and what that leaves out."""

    units: range
    cell: int  # characters of a cell
    notes: tuple[str, ...]


def step_layout(
    steps: Iterable[Mapping[str, Array]],
    rows: StepRows,
    samples: Sequence[int],
    chosen: range,
    *,
    given: bool,
    width: int,
    precision: int,
    marked: bool,
) -> StepLayout:
    """The units a step table shows (the `chosen` ones, `given` by --units or all, as many as fit `width`)
    and notes on the rest. A cell holds the widest number of the rows of `steps`, its sign and, where gates
    are `marked`, a saturation mark."""
    cell = _widest(steps, rows, samples, chosen, precision) + 1 + marked  # the sign, and a mark
    label = max(len(name) for group in rows.groups for name in group)  # "h_prev"
    fit = max(1, (width - label - 4) // (cell + 3))  # a cell's padding and border: 3
    units = chosen[:fit]
    notes = []
    if len(units) < len(chosen):
        rest = chosen[len(units) :]
        of = f"{len(units)} of the {len(chosen)} {'chosen ' if given else ''}units fit this width"
        notes.append(f"units {spans(rest)} ({of}), choose them with --units {rest[0]}:{rest[0] + len(units)}")
    return StepLayout(units, cell, tuple(notes))


def _widest(
    steps: Iterable[Mapping[str, Array]], rows: StepRows, samples: Sequence[int], units: range, precision: int
) -> int:
    """Characters for the widest number of the rows of `steps`, without its sign."""
    peak, whole = 0.0, True
    names = [name for group in rows.groups for name in group]
    for values in steps:
        for name in names:
            columns = [unit for unit in units if unit < values[name].shape[1]]  # h may be projected
            shown = values[name][np.ix_(list(samples), columns)]
            if shown.size == 0:
                continue
            peak = max(peak, float(np.max(np.abs(shown))))
            whole = whole and bool(np.all(shown == np.round(shown)))
    return len(str(int(peak))) if whole else len(f"{peak:.{precision}f}")


def _saturation_mark(gate: float) -> str:
    """Before the number, as Rich strips what follows it in a right-justified cell."""
    return "↑" if gate > SATURATED_ABOVE else "↓" if gate < SATURATED_BELOW else ""


def _fitting_vector(values: Array, precision: int, room: int) -> str:
    """x_t in as many of its items as fit in `room` characters (at least one); each takes 3 or more."""
    limit = max(1, min(len(values), room // 3))
    while limit > 1 and len(format_vector(values, precision, limit)) > room:
        limit -= 1
    return format_vector(values, precision, limit)


@dataclass(frozen=True)
class StepTitle:
    """`lstm · t = 0 (step 1 of 3) · sample 0 · x_t = [1, 0], token the`: x_t in the room the line leaves."""

    block: Block
    sample: int
    half: str = ""  # ", backward half"
    batch: int = 1
    tokens: StepTokens | None = None
    precision: int = DEFAULT_PRECISION

    def text(self, width: int) -> Text:
        block, sample = self.block, self.sample
        record, steps = block.record, len(block.trace.steps)
        title = Text(f"{block.trace.layer.name}{self.half} · t = {record.t}", style="bold")
        title.append(f" (step {block.index + 1} of {steps})")
        if self.batch > 1:
            title.append(f" · sample {sample}")
        if record.masked is not None and record.masked[sample]:
            title.append(" · masked: h and c carry over", style="bold")
        token = None if self.tokens is None else self.tokens.at(record, sample)
        token_text = "" if token is None else f", token {token}"
        room = width - len(title) - len(" · x_t = ") - len(token_text)  # characters left for x_t
        title.append(f" · x_t = {_fitting_vector(record.x[sample], self.precision, room)}{token_text}")
        return title

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.text(options.max_width)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.text(options.max_width))


@dataclass(frozen=True)
class StepTable:
    """One sample's values at one step: a row per quantity, a column per unit, each cell `cell` wide. Under
    a sigmoid a saturated gate is marked, and a legend says so; a masked step shows only what it carries."""

    values: Mapping[str, Array]  # by row name, (batch, units)
    sample: int
    units: range
    cell: int
    rows: StepRows
    masked: bool = False
    saturating: bool = False  # whether the marked rows come out of a sigmoid
    precision: int = DEFAULT_PRECISION

    def parts(self) -> list[RenderableType]:
        table = Table()
        table.add_column("unit", no_wrap=True)
        for unit in self.units:
            table.add_column(str(unit), justify="right", no_wrap=True, min_width=self.cell)
        marked = False
        for group in self.rows.groups:
            for position, name in enumerate(group):
                row = self.values[name][self.sample]
                cells: list[Text] = []
                for unit in self.units:
                    if self.masked and name not in self.rows.carried:
                        cells.append(Text("–", style="dim"))
                        continue
                    if unit >= len(row):  # h past a projection's width (docs/config.md#lstm-variants)
                        cells.append(Text(""))
                        continue
                    mark = _saturation_mark(float(row[unit])) if self._marks(name) else ""
                    marked = marked or mark != ""
                    cells.append(
                        Text(mark + format_number(row[unit], self.precision), style="bold" if mark else "")
                    )
                table.add_row(Text(name), *cells, end_section=position == len(group) - 1)
        if not marked:
            return [table]
        legend = f"↑ above {SATURATED_ABOVE}, ↓ below {SATURATED_BELOW}: a saturated gate"
        return [table, Text(legend, style="dim")]

    def _marks(self, name: str) -> bool:
        return self.saturating and name in self.rows.marked

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from self.parts()

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, Group(*self.parts()))


@dataclass(frozen=True)
class Explanation:
    """Each unit's lines of arithmetic under a title, indented, a blank line between units."""

    units: tuple[tuple[str, ...], ...]  # the lines of each unit
    title: str = "The arithmetic, unit by unit:"

    def parts(self) -> list[RenderableType]:
        parts: list[RenderableType] = [Text(self.title)]
        for position, lines in enumerate(self.units):
            parts.append(Indented(Text(("\n" if position else "") + "\n".join(lines)), 2))
        return parts

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from self.parts()

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, Group(*self.parts()))


@dataclass(frozen=True)
class StepPage:
    """One timestep: for each of `samples`, its title and its table, then its explanation if one is given."""

    block: Block
    values: Mapping[str, Array]  # by row name, (batch, units)
    rows: StepRows
    samples: tuple[int, ...]
    units: range
    cell: int  # characters of a table cell
    half: str = ""
    batch: int = 1
    tokens: StepTokens | None = None
    explanations: Mapping[int, Explanation] | None = None  # by sample, with --explain
    precision: int = DEFAULT_PRECISION

    def parts(self) -> list[RenderableType]:
        record = self.block.record
        saturating = self.block.trace.layer.recurrent_activation in SIGMOID_LIKE
        parts: list[RenderableType] = []
        for sample in self.samples:
            masked = record.masked is not None and bool(record.masked[sample])
            parts.append(StepTitle(self.block, sample, self.half, self.batch, self.tokens, self.precision))
            parts.append(
                StepTable(
                    self.values, sample, self.units, self.cell, self.rows, masked, saturating, self.precision
                )
            )
            if self.explanations is not None:
                parts.append(self.explanations[sample])
        return parts

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from self.parts()

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, Group(*self.parts()))
