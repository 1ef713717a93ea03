"""The `forward` view: a table of every gate, c and h per LSTM layer, then the outputs and `expect:` checks.

A long run shows its first and last steps and the first units, and says what it left out. No cell wraps a
vector: a layer's table whose vectors do not fit the width turns long, a row per unit, and an outputs value
breaks its lines between vectors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from lstm_cli.engine import LayerTrace, Mismatch, StepRecord
from lstm_cli.layers.lstm import STEP_QUANTITIES, variant_text
from lstm_cli.model import Array, BidirectionalLayer, DenseLayer, Model
from lstm_cli.text import DEFAULT_PRECISION, format_number, shape_text
from lstm_cli.tokens import StepTokens, likeliest_tokens, shown_token, step_tokens

MAX_ROWS = 40  # per table; Rich takes ~0.1-0.2 ms a cell, so 1000 steps x 64 units would take seconds
HEAD_ROWS = 30
MAX_VECTOR_ITEMS = 8
MAX_ARRAY_ITEMS = 48
MAX_TOKENS = 16  # per sample, in the outputs table
MAX_TOKEN_SAMPLES = 8
UNBOUNDED = 1_000_000  # columns: wider than any table, so that measuring at it gives the unwrapped width


def shown_count(total: int, limit: int) -> int:
    """How many of `total` items a bounded view shows: `limit`, or all when only one more would be left out
    ("… +1" takes as much room as the item)."""
    return total if total <= limit + 1 else limit


def format_vector(values: Array, precision: int = DEFAULT_PRECISION, limit: int = MAX_VECTOR_ITEMS) -> str:
    """The first `limit` items and how many more."""
    limit = shown_count(len(values), limit)
    shown = ", ".join(format_number(v, precision) for v in values[:limit])
    if len(values) > limit:
        shown += f", … +{len(values) - limit}"
    return f"[{shown}]"


def format_array(values: Array, precision: int = DEFAULT_PRECISION) -> str:
    """Nested brackets like Keras prints, cut to the first items of each axis when large."""
    return " ".join(piece.text(precision) for piece in _pieces(values))


class _Piece(NamedTuple):
    """Where an array's text may break a line: one innermost vector (or the "… +N" standing for rows left
    out), with the brackets and comma around it."""

    opening: str
    body: Array | str
    closing: str

    def text(self, precision: int, room: int | None = None) -> str:
        """The piece; with `room`, its vector cut to as many items as fit in that many characters."""
        if isinstance(self.body, str):
            return self.opening + self.body + self.closing
        limit = MAX_VECTOR_ITEMS
        vector = format_vector(self.body, precision, limit)
        if room is not None:  # at least 2 items: below that, "… +N" takes the room it saves
            room -= cell_len(self.opening + self.closing)
            while limit > 2 and cell_len(vector) > room:
                limit -= 1
                vector = format_vector(self.body, precision, limit)
        return self.opening + vector + self.closing


def _pieces(values: Array) -> list[_Piece]:
    """`values` as format_array writes it, cut after each innermost vector."""
    if values.ndim == 1:
        return [_Piece("", values, "")]
    limit = shown_count(len(values), max(1, MAX_ARRAY_ITEMS // max(1, int(np.prod(values.shape[1:])))))
    rows = [_pieces(row) for row in values[:limit]]
    if len(values) > limit:
        rows.append([_Piece("", f"… +{len(values) - limit}", "")])
    pieces: list[_Piece] = []
    for position, row in enumerate(rows):
        if position < len(rows) - 1:  # each row but the last ends in a comma
            row[-1] = row[-1]._replace(closing=row[-1].closing + ",")
        pieces.extend(row)
    if not pieces:
        return [_Piece("", "[]", "")]
    pieces[0] = pieces[0]._replace(opening="[" + pieces[0].opening)
    pieces[-1] = pieces[-1]._replace(closing=pieces[-1].closing + "]")
    return pieces


def wrapped_array(values: Array, precision: int, width: int) -> str:
    """format_array's text in lines of at most `width` characters, broken between vectors only: as many
    whole vectors a line as fit, and a vector wider than a line cut to the items that fit."""
    lines: list[str] = []
    for piece in _pieces(values):
        text = piece.text(precision)
        if cell_len(text) > width:
            text = piece.text(precision, width)
        if lines and cell_len(lines[-1]) + 1 + cell_len(text) <= width:
            lines[-1] += " " + text
        else:
            lines.append(text)
    return "\n".join(lines)


def table_window(batch: int) -> tuple[int, int]:
    """How many first and last steps a bounded table can show; `run_model(window=...)` keeps only those."""
    return -(-HEAD_ROWS // batch), -(-(MAX_ROWS - HEAD_ROWS) // batch)


def _bounded(records: Sequence[StepRecord], batch: int) -> tuple[list[tuple[StepRecord, int]], int | None]:
    """The (record, sample) rows to show, and where a ⋮ row stands for those left out (None: none were)."""
    rows = [(record, sample) for record in records for sample in range(batch)]
    if len(rows) > MAX_ROWS:
        return rows[:HEAD_ROWS] + rows[len(rows) - (MAX_ROWS - HEAD_ROWS) :], HEAD_ROWS
    skipped = next((i for i in range(1, len(records)) if abs(records[i].t - records[i - 1].t) > 1), None)
    return rows, None if skipped is None else skipped * batch


def _bounded_groups(
    rows: list[tuple[StepRecord, int]], gap: int | None, units: int
) -> tuple[list[tuple[StepRecord, int]], int | None]:
    """`_bounded`'s (record, sample) rows cut again for the long layout, where each stands for `units` table
    rows: whole ones, the first and the last, in at most MAX_ROWS table rows; and where the ⋮ row goes."""
    head, tail = max(1, HEAD_ROWS // units), max(1, (MAX_ROWS - HEAD_ROWS) // units)
    if len(rows) <= head + tail:
        return rows, gap
    return rows[:head] + rows[len(rows) - tail :], head  # inside _bounded's own head and tail


@dataclass(frozen=True)
class LayerTable:
    """Every gate, c and h at every timestep of one LSTM layer (rows in processing order), laid out for the
    width it is drawn at. Wide, a row per timestep and sample with a vector in each cell, when every vector
    fits on one line; otherwise long, a row per unit as well, with one number in each cell, so that the
    numbers line up in columns instead of a vector wrapping over lines. Given the vocab its input is
    written in, or fed through an embedding, an x_t column names the token of each step."""

    trace: LayerTrace
    precision: int = DEFAULT_PRECISION
    half: str = ""
    tokens: StepTokens | None = None

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.table(console, options)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.table(console, options))

    def table(self, console: Console, options: ConsoleOptions) -> RenderableType:
        """The wide table if it fits `options.max_width` unwrapped, else the long one."""
        wide = self.wide()
        # Measured within the width, a table never exceeds it (Rich wraps the cells): measure it unbounded.
        unwrapped = console.measure(wide, options=options.update_width(UNBOUNDED)).maximum
        return wide if unwrapped <= options.max_width else self.long()

    @property
    def _batch(self) -> int:
        return self.trace.steps[0].h.shape[0] if self.trace.steps else 1

    def wide(self) -> Table:
        """A row per timestep and sample; each cell a vector over the units."""
        batch = self._batch
        table = Table(title=self._title(), title_justify="left")
        self._key_columns(table)
        for quantity in STEP_QUANTITIES:
            table.add_column(quantity, no_wrap=True)
        shown, gap = _bounded(self.trace.steps, batch)
        for position, (record, sample) in enumerate(shown):
            if position == gap:
                table.add_row(*self._gap_cells(), *["⋮"] * len(STEP_QUANTITIES))
            masked = record.masked is not None and bool(record.masked[sample])
            step = record.step
            cells: list[str | Text] = [
                Text("masked", style="dim") if masked else format_vector(values[sample], self.precision)
                for values in (step.i, step.f, step.g, step.o)
            ]
            cells += [format_vector(record.c[sample], self.precision)]
            cells += [format_vector(record.h[sample], self.precision)]
            table.add_row(*self._key_cells(record, sample), *cells)
        total = (self.trace.timesteps or len(self.trace.steps)) * batch
        table.caption = self._caption(len(shown), total)
        return table

    def long(self) -> Group:
        """A row per timestep, sample and unit; each cell one number, right-aligned. The title and caption
        are lines of their own: the table is often narrower than they are, and would wrap them."""
        batch, units = self._batch, range(shown_count(self.trace.layer.units, MAX_VECTOR_ITEMS))
        table = Table()
        self._key_columns(table)
        table.add_column("unit", justify="right", no_wrap=True)
        for quantity in STEP_QUANTITIES:
            table.add_column(quantity, justify="right", no_wrap=True)
        shown, gap = _bounded_groups(*_bounded(self.trace.steps, batch), len(units))
        for position, (record, sample) in enumerate(shown):
            if position == gap:
                table.add_row(*self._gap_cells(), "⋮", *["⋮"] * len(STEP_QUANTITIES))
            masked = record.masked is not None and bool(record.masked[sample])
            step = record.step
            key = self._key_cells(record, sample)
            for unit in units:  # t, sample and x_t on the first unit's row only, as a reader groups them
                cells: list[str | Text] = [
                    Text("masked", style="dim") if masked else self._number(values[sample, unit])
                    for values in (step.i, step.f, step.g, step.o)
                ]
                cells += [self._c_cell(record.c[sample, unit]), self._h_cell(record.h[sample], unit)]
                table.add_row(*(key if unit == 0 else [""] * len(key)), str(unit), *cells)
        total = (self.trace.timesteps or len(self.trace.steps)) * batch * len(units)
        caption = self._caption(len(shown) * len(units), total)
        title = self._title()
        title.stylize("table.title")
        if caption is None:
            return Group(title, table)
        caption.stylize("table.caption")
        return Group(title, table, caption)

    def _number(self, value: float) -> str:
        return format_number(value, self.precision)

    def _c_cell(self, value: float) -> str:
        """c_t, marked where cell_clip clipped it (docs/config.md#lstm-variants)."""
        clip = self.trace.layer.cell_clip
        clipped = clip is not None and abs(float(value)) == clip
        return self._number(value) + (" clipped" if clipped else "")

    def _h_cell(self, h: Array, unit: int) -> str:
        """h_t[unit]; blank past a projection's width, where h has no such column."""
        return self._number(h[unit]) if unit < h.shape[0] else ""

    def _title(self) -> Text:
        layer = self.trace.layer
        order = ", go_backwards" if layer.go_backwards else ""
        return Text(
            f"{layer.name} (LSTM{self.half}): "
            f"{layer.units} unit{'' if layer.units == 1 else 's'}, activation {layer.activation}, "
            f"recurrent_activation {layer.recurrent_activation}{variant_text(layer)}{order}"
        )

    def _key_columns(self, table: Table) -> None:
        table.add_column("t", justify="right", no_wrap=True)
        if self._batch > 1:
            table.add_column("sample", justify="right", no_wrap=True)
        if self.tokens is not None:
            table.add_column("x_t", no_wrap=True)

    def _key_cells(self, record: StepRecord, sample: int) -> list[str | Text]:
        cells: list[str | Text] = [str(record.t)]
        if self._batch > 1:
            cells.append(str(sample))
        if self.tokens is not None:
            token = self.tokens.at(record, sample)
            cells.append(format_vector(record.x[sample], self.precision) if token is None else Text(token))
        return cells

    def _gap_cells(self) -> list[str]:
        """The key columns of the ⋮ row."""
        return ["⋮", *([""] if self._batch > 1 else []), *(["⋮"] if self.tokens is not None else [])]

    def _caption(self, shown: int, total: int) -> Text | None:
        units = self.trace.layer.units
        notes = []
        if shown < total:
            notes.append(f"{total - shown} of {total} rows left out")
        if units > shown_count(units, MAX_VECTOR_ITEMS):
            notes.append(f"units {MAX_VECTOR_ITEMS} to {units - 1} left out")
        return Text("; ".join(notes) + "; --format json or csv gives every value") if notes else None


def layer_table(
    trace: LayerTrace,
    precision: int = DEFAULT_PRECISION,
    half: str = "",
    tokens: StepTokens | None = None,
) -> LayerTable:
    """One LSTM layer's table, wide or long as the width allows (see LayerTable)."""
    return LayerTable(trace, precision, half, tokens)


@dataclass(frozen=True)
class OutputsTable:
    """Every reference's value, its lines broken between vectors to fit the width it is drawn at. Those in
    `vocab_scored` also name each position's likeliest token."""

    values: dict[str, Array]
    precision: int = DEFAULT_PRECISION
    vocab_scored: dict[str, Sequence[str]] | None = None

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.table(options.max_width)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.table(options.max_width))

    def table(self, width: int) -> Table:
        table = Table(title=Text("Outputs, as Keras returns them"), title_justify="left")
        table.add_column("reference")
        table.add_column("shape")
        table.add_column("value")
        shapes = {ref: shape_text(value.shape) for ref, value in self.values.items()}
        ref_width = max(map(cell_len, ["reference", *self.values]))
        shape_width = max(map(cell_len, ["shape", *shapes.values()]))
        room = max(1, width - ref_width - shape_width - 10)  # what 4 rules and 3 cells' padding leave
        for ref, value in self.values.items():
            cell = Text(wrapped_array(value, self.precision, room))
            if self.vocab_scored and ref in self.vocab_scored:
                samples = likeliest_tokens(self.vocab_scored[ref], value)
                kept = shown_count(len(samples), MAX_TOKEN_SAMPLES)
                shown = " | ".join(_token_run(tokens) for tokens in samples[:kept])
                if len(samples) > kept:
                    shown += f" | … +{len(samples) - kept} samples"
                cell.append(f"\nlikeliest tokens: {shown}", style="bold")
            table.add_row(Text(ref), shapes[ref], cell)
        return table


def outputs_table(
    values: dict[str, Array],
    precision: int = DEFAULT_PRECISION,
    vocab_scored: dict[str, Sequence[str]] | None = None,
) -> OutputsTable:
    return OutputsTable(values, precision, vocab_scored)


def _token_run(tokens: list[str]) -> str:
    kept = shown_count(len(tokens), MAX_TOKENS)
    shown = " ".join(shown_token(token) for token in tokens[:kept])
    return shown + (f" … +{len(tokens) - kept}" if len(tokens) > kept else "")


def vocab_scored(model: Model, values: dict[str, Array]) -> dict[str, Sequence[str]]:
    """The Dense outputs as wide as the vocab: scores over its tokens, as decode reads them."""
    if model.vocab is None:
        return {}
    dense = {layer.name for layer in model.layers if isinstance(layer, DenseLayer)}
    vocab = model.vocab
    return {ref: vocab for ref, value in values.items() if ref in dense and value.shape[-1] == len(vocab)}


def mismatch_view(
    model: Model, mismatches: list[Mismatch], precision: int = DEFAULT_PRECISION
) -> RenderableType:
    checked = sum(expectation.expected.size for expectation in model.expect)
    if not mismatches:
        return Text(f"expect: all {checked} values match")
    table = Table(title=Text(f"expect: {len(mismatches)} of {checked} values differ"), title_justify="left")
    for column in ("reference", "index", "expected", "actual"):
        table.add_column(column)
    for mismatch in mismatches:
        index = f"[{', '.join(str(i) for i in mismatch.index)}]"
        table.add_row(
            Text(mismatch.ref),
            index,
            format_number(mismatch.expected, precision),
            format_number(mismatch.actual, precision),
        )
    return table


def forward_view(
    model: Model,
    values: dict[str, Array],
    traces: list[LayerTrace],
    mismatches: list[Mismatch] | None,
    precision: int = DEFAULT_PRECISION,
) -> Group:
    parts: list[RenderableType] = []
    if model.description:
        parts.append(Text(model.description, style="italic"))
    for trace in traces:  # the halves of a bidirectional layer say which half they are
        wrapped = isinstance(model.layer(trace.layer.name), BidirectionalLayer)
        half = f", {trace.direction} half" if wrapped else ""
        parts.append(layer_table(trace, precision, half, step_tokens(model, trace.layer.input)))
    parts.append(outputs_table(values, precision, vocab_scored(model, values)))
    if mismatches is not None:
        parts.append(mismatch_view(model, mismatches, precision))
    return Group(*parts)
