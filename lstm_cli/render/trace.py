"""The `trace` views: each timestep as a table of units (with `--explain`, every value's arithmetic), the
`expect:` mismatches explained first, and a heatmap of the gates and states over time.

Views are bounded: a long or wide trace shows its first and last steps and the units that fit the width,
says what it left out, and names the option that chooses it. `--format json` or `csv` gives every value.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.segment import Segment
from rich.style import Style
from rich.table import Table
from rich.text import Text

from lstm_cli.engine import LayerTrace
from lstm_cli.formats import step_quantities
from lstm_cli.model import Array
from lstm_cli.render.forward import format_vector
from lstm_cli.text import DEFAULT_PRECISION, format_number, plural
from lstm_cli.tokens import step_tokens
from lstm_cli.tracing import (
    SATURATED_ABOVE,
    SATURATED_BELOW,
    SIGMOID_LIKE,
    TANH_LIKE,
    Block,
    TraceRun,
    explain_mismatches,
    explain_unit,
)

# Rich takes about 0.1-0.2 ms a table cell: a step is ~13 rows x (units + 1) cells, so bound the steps.
MAX_STEPS = 8  # timesteps per layer in the table view: the first HEAD_STEPS and the last ones
HEAD_STEPS = 6
MAX_EXPLAINED_STEPS = 3  # with --explain, whose text is ~10 lines per unit and step
HEAD_EXPLAINED_STEPS = 2
MAX_SAMPLES = 4
HEATMAP_UNITS = 16  # rows of one quantity's heatmap
HEATMAP_SAMPLES = 2
LABEL_WIDTH = 6  # "h_prev"
ROW_GROUPS = (("h_prev", "c_prev"), ("z_i", "z_f", "z_g", "z_o"), ("i", "f", "g", "o"), ("c", "h"))
STATE_ROWS = ("h_prev", "c_prev", "c", "h")  # what a masked step still has: the state it carries
GATE_ROWS = ("i", "f", "o")  # the gates that saturate under a sigmoid
HEAT_QUANTITIES = ("i", "f", "g", "o", "c", "h")
RAMP = "▁▂▃▄▅▆▇█"  # low to high: readable without colour
SEQUENTIAL = ("#440154", "#46327e", "#365c8d", "#277f8e", "#1fa187", "#4ac16d", "#a0da39", "#fde725")
DIVERGING = ("#2166ac", "#4393c3", "#92c5de", "#d1e5f0", "#fddbc7", "#f4a582", "#d6604d", "#b2182b")
GAP = "┆"  # a heatmap column standing for the left-out timesteps
MASKED_CELL = "·"


def _runs(values: Sequence[int]) -> str:
    """`3` or `6 to 997`: the span of the indexes left out, as a reader would say it."""
    return str(values[0]) if len(values) == 1 else f"{min(values)} to {max(values)}"


def _choose_hint(values: Sequence[int]) -> str:
    """`, choose them with --timestep 6:998` when the left-out timesteps are one run; else nothing."""
    low, high = min(values), max(values)
    if high - low + 1 != len(values):
        return ""
    return f", choose them with --timestep {low}{'' if low == high else f':{high + 1}'}"


def _saturation_mark(gate: float) -> str:
    """Before the number, as Rich strips what follows it in a right-justified cell."""
    return "↑" if gate > SATURATED_ABOVE else "↓" if gate < SATURATED_BELOW else ""


@dataclass(frozen=True)
class _Layout:
    """How one layer's step tables look: which units, how wide a cell, and what that leaves out."""

    units: range
    cell: int
    notes: list[str]


class Page(NamedTuple):
    """One timestep as `--step` shows it, and what its prompt says."""

    view: RenderableType
    label: str  # "lstm, t = 0 (step 1 of 3)"
    block: Block


@dataclass
class TraceView:
    """Everything `trace` shows in a terminal, built from one `TraceRun`; nothing here computes a step."""

    run: TraceRun
    precision: int = DEFAULT_PRECISION
    explain: bool = False
    width: int = 100
    _layouts: dict[int, _Layout] = field(default_factory=dict, init=False, repr=False)

    def number(self, value: float) -> str:
        return format_number(value, self.precision)

    # -- the whole trace, bounded ----------------------------------------------------------------------

    def view(self) -> Group:
        return Group(*self.intro(), *self._blocks(self.run.blocks))

    def pages(self) -> Iterator[Page]:
        """For `--step`: each timestep's view and a label for its prompt (a layer's heading comes first)."""
        blocks = self.run.blocks
        for position, block in enumerate(blocks):
            parts: list[RenderableType] = []
            first = position == 0 or blocks[position - 1].trace is not block.trace
            last = position == len(blocks) - 1 or blocks[position + 1].trace is not block.trace
            if first:
                parts.append(self.heading(block.trace))
            parts.extend(self.step(block))
            if last:
                parts.extend(self._notes(block.trace, []))
            record = block.record
            label = (
                f"{block.trace.layer.name}{self.run.half(block.trace)}, t = {record.t} "
                f"(step {block.index + 1} of {len(block.trace.steps)})"
            )
            yield Page(Group(*parts), label, block)

    def rest(self, after: int) -> Group:
        """What follows page `after`, bounded as the whole view is: `--step` at the end of its input."""
        blocks = self.run.blocks
        continuing = blocks[after].trace if after < len(blocks) else None
        return Group(*self._blocks(blocks[after + 1 :], continuing))

    def _blocks(self, blocks: Sequence[Block], continuing: LayerTrace | None = None) -> list[RenderableType]:
        limit, head = (MAX_EXPLAINED_STEPS, HEAD_EXPLAINED_STEPS) if self.explain else (MAX_STEPS, HEAD_STEPS)
        parts: list[RenderableType] = []
        for _, grouped in itertools.groupby(blocks, key=lambda block: id(block.trace)):
            group = list(grouped)
            trace = group[0].trace
            parts.append(self.heading(trace, continued=trace is continuing))
            left_out: list[int] = []
            if len(group) > limit:
                tail = limit - head
                left_out = [block.record.t for block in group[head : len(group) - tail]]
                group = [*group[:head], *group[len(group) - tail :]]
            for position, block in enumerate(group):
                if left_out and position == head:
                    gap = f"⋮ {plural(len(left_out), 'step')} left out (t = {_runs(left_out)})"
                    parts.append(Text(gap, style="dim"))
                parts.extend(self.step(block))
            parts.extend(self._notes(trace, left_out))
        return parts

    # -- the parts -------------------------------------------------------------------------------------

    def intro(self) -> list[RenderableType]:
        """The description, then every mismatch with `expect:` explained: the first thing to read."""
        model = self.run.model
        parts: list[RenderableType] = []
        if model.description:
            parts.append(Text(model.description, style="italic"))
        if self.run.mismatches is not None:
            parts.append(self.mismatches())
        if not self.run.shown:
            parts.append(Text("The model has no LSTM layer, so there are no timesteps to trace."))
        return parts

    def mismatches(self) -> RenderableType:
        stories, total = explain_mismatches(self.run, self.number)
        checked = sum(expectation.expected.size for expectation in self.run.model.expect)
        if not total:
            return Text(f"expect: all {checked} values match")
        lines: list[RenderableType] = [
            Text(f"expect: {total} of {checked} values differ. Where the hand value and the run part:")
        ]
        for story in stories:
            mismatch = story.mismatch
            index = ", ".join(str(i) for i in mismatch.index)
            head = Text(f"{mismatch.ref}[{index}]", style="bold")
            head.append(
                f": by hand {self.number(mismatch.expected)}, the run gives {self.number(mismatch.actual)}"
            )
            lines.append(head)
            lines.append(_indented(Text(f"where: {story.where}"), 2))
            lines.append(_indented(Text(f"why: {story.verdict}"), 2))
            lines.extend(_indented(Text(line.text), 4) for line in story.lines)
            lines.extend(_indented(Text(f"hint: {hint}", style="italic"), 2) for hint in story.hints)
        if total > len(stories):
            lines.append(Text(f"… and {total - len(stories)} more; --format json lists every mismatch"))
        return Group(*lines)

    def heading(self, trace: LayerTrace, continued: bool = False) -> Text:
        """The layer, once: its sizes, activations and the equations every step below follows."""
        layer = trace.layer
        if continued:
            return Text(f"{layer.name} (LSTM{self.run.half(trace)}), continued", style="bold")
        act, ract = layer.activation, layer.recurrent_activation
        steps = len(trace.steps)
        text = Text(
            f"{layer.name} (LSTM{self.run.half(trace)}): {plural(layer.units, 'unit')}, activation {act}, "
            f"recurrent_activation {ract}; {plural(steps, 'timestep')}",
            style="bold",
        )
        if layer.go_backwards or trace.direction == "backward":
            first, last = (trace.steps[0].t, trace.steps[-1].t) if trace.steps else (0, 0)
            why = (
                "the backward half reads the input reversed"
                if trace.direction == "backward"
                else "go_backwards"
            )
            text.append(f"\n  t counts down ({why}): from t = {first} to t = {last}", style="not bold")
        bias = trace.weights.bias is not None
        text.append(
            f"\n  z = x_t·W + h_prev·U{' + b' if bias else ''}, gates i, f, g, o side by side "
            f"(W kernel, U recurrent_kernel{', b bias' if bias else ''})"
            f"\n  i = {ract}(z_i), f = {ract}(z_f), g = {act}(z_g), o = {ract}(z_o)"
            f"\n  c = f·c_prev + i·g, h = o·{act}(c)",
            style="not bold",
        )
        return text

    def step(self, block: Block) -> list[RenderableType]:
        """One timestep: a table per shown sample, each followed by its arithmetic with `--explain`."""
        layout = self._layout(block.trace)
        parts: list[RenderableType] = []
        for sample in self.run.samples[:MAX_SAMPLES]:
            parts.append(self._step_title(block, sample))
            table, marked = self._table(block, sample, layout)
            parts.append(table)
            if marked:
                legend = f"↑ above {SATURATED_ABOVE}, ↓ below {SATURATED_BELOW}: a saturated gate"
                parts.append(Text(legend, style="dim"))
            if self.explain:
                parts.append(self._arithmetic(block, sample, layout.units))
        return parts

    def _step_title(self, block: Block, sample: int) -> Text:
        record, steps = block.record, len(block.trace.steps)
        title = Text(f"{block.trace.layer.name}{self.run.half(block.trace)} · t = {record.t}", style="bold")
        title.append(f" (step {block.index + 1} of {steps})")
        if self.run.batch > 1:
            title.append(f" · sample {sample}")
        if record.masked is not None and record.masked[sample]:
            title.append(" · masked: h and c carry over", style="bold")
        tokens = step_tokens(self.run.model, block.trace.layer.input)
        token = None if tokens is None else tokens.at(record, sample)
        token_text = "" if token is None else f", token {token}"
        room = self.width - len(title) - len(" · x_t = ") - len(token_text)  # characters left for x_t
        title.append(f" · x_t = {_fitting_vector(record.x[sample], self.precision, room)}{token_text}")
        return title

    def _table(self, block: Block, sample: int, layout: _Layout) -> tuple[Table, bool]:
        """The step's values, units across; and whether a saturated gate was marked."""
        record, layer = block.record, block.trace.layer
        masked = record.masked is not None and bool(record.masked[sample])
        table = Table()
        table.add_column("unit", no_wrap=True)
        for unit in layout.units:
            table.add_column(str(unit), justify="right", no_wrap=True, min_width=layout.cell)
        saturating = layer.recurrent_activation in SIGMOID_LIKE
        values = step_quantities(record)
        marked = False
        for group in ROW_GROUPS:
            for position, name in enumerate(group):
                row = values[name][sample]
                cells: list[Text] = []
                for unit in layout.units:
                    if masked and name not in STATE_ROWS:
                        cells.append(Text("–", style="dim"))
                        continue
                    mark = _saturation_mark(float(row[unit])) if saturating and name in GATE_ROWS else ""
                    marked = marked or mark != ""
                    cells.append(Text(mark + self.number(row[unit]), style="bold" if mark else ""))
                table.add_row(Text(name), *cells, end_section=position == len(group) - 1)
        return table, marked

    def explanation(self, block: Block) -> Group:
        """The arithmetic of one timestep, for every shown sample: `e` at a `--step` prompt."""
        units = self._layout(block.trace).units
        parts: list[RenderableType] = []
        for sample in self.run.samples[:MAX_SAMPLES]:
            if self.run.batch > 1:
                parts.append(Text(f"sample {sample}", style="bold"))
            parts.append(self._arithmetic(block, sample, units))
        return Group(*parts)

    def _arithmetic(self, block: Block, sample: int, units: range) -> Group:
        parts: list[RenderableType] = [Text("The arithmetic, unit by unit:")]
        for position, unit in enumerate(units):
            lines = explain_unit(block.trace, block.record, sample, unit, self.number)
            parts.append(
                _indented(Text(("\n" if position else "") + "\n".join(line.text for line in lines)), 2)
            )
        return Group(*parts)

    def _layout(self, trace: LayerTrace) -> _Layout:
        """The units a step table shows (those chosen, as many as fit the width) and notes on the rest."""
        key = id(trace)
        if key not in self._layouts:
            layer = trace.layer
            chosen = self.run.units[layer.name] if self.run.units else range(layer.units)
            cell = self._cell_width(trace, chosen)
            fit = max(1, (self.width - LABEL_WIDTH - 4) // (cell + 3))  # a cell's padding and border: 3
            units = chosen[:fit]
            notes = []
            if len(units) < len(chosen):
                rest = chosen[len(units) :]
                chosen_ = "chosen " if self.run.units else ""
                of = f"{len(units)} of the {len(chosen)} {chosen_}units fit this width"
                notes.append(
                    f"units {_runs(rest)} ({of}), choose them with --units {rest[0]}:{rest[0] + len(units)}"
                )
            self._layouts[key] = _Layout(units, cell, notes)
        return self._layouts[key]

    def _cell_width(self, trace: LayerTrace, units: range) -> int:
        """Characters for the widest number of the chosen steps, with its sign and saturation mark."""
        peak, whole = 0.0, True
        samples = list(self.run.samples[:MAX_SAMPLES])
        for block in self.run.blocks_of(trace):
            for name, value in step_quantities(block.record).items():
                if name != "x":
                    shown = value[np.ix_(samples, units)]
                    peak = max(peak, float(np.max(np.abs(shown))))
                    whole = whole and bool(np.all(shown == np.round(shown)))
        digits = len(str(int(peak))) if whole else len(f"{peak:.{self.precision}f}")
        return digits + 1 + (trace.layer.recurrent_activation in SIGMOID_LIKE)  # the sign, and a mark

    def _notes(self, trace: LayerTrace, left_out: list[int]) -> list[RenderableType]:
        """What this layer's view left out, and how to see it."""
        notes = list(self._layout(trace).notes)
        if left_out:
            notes.insert(
                0, f"{plural(len(left_out), 'step')} (t = {_runs(left_out)}){_choose_hint(left_out)}"
            )
        samples = self.run.samples
        if len(samples) > MAX_SAMPLES:
            notes.append(f"samples {_runs(samples[MAX_SAMPLES:])}, choose them with --sample")
        if not notes:
            return []
        return [
            Text("Left out: " + "; ".join(notes) + ". --format json or csv gives every value.", style="dim")
        ]

    # -- the heatmap -----------------------------------------------------------------------------------

    def heatmap(self) -> Group:
        parts = self.intro()
        for trace in self.run.shown:
            parts.append(self.heading(trace))
            parts.extend(self._heatmap(trace))
        return Group(*parts)

    def _heatmap(self, trace: LayerTrace) -> list[RenderableType]:
        layer = trace.layer
        blocks = self.run.blocks_of(trace)
        if not blocks:
            return [Text("No timesteps to show.")]
        chosen = self.run.units[layer.name] if self.run.units else range(layer.units)
        units = chosen[:HEATMAP_UNITS]
        samples = list(self.run.samples[:HEATMAP_SAMPLES])
        label = len(str(units[-1]))
        available = max(8, self.width - label - 1)
        columns: list[Block | None] = list(blocks)
        left_out: list[int] = []
        if len(blocks) > available:
            tail = available // 4
            head = available - tail - 1
            left_out = [block.record.t for block in blocks[head : len(blocks) - tail]]
            columns = [*blocks[:head], None, *blocks[len(blocks) - tail :]]
        shown = [block for block in columns if block is not None]
        series = {
            name: np.stack(
                [step_quantities(block.record)[name][np.ix_(samples, units)] for block in shown], axis=1
            )
            for name in HEAT_QUANTITIES
        }  # each (samples, timesteps shown, units)
        masked = np.array(
            [[b.record.masked is not None and bool(b.record.masked[s]) for b in shown] for s in samples]
        )  # (samples, timesteps shown)
        scales = {name: _scale(trace, name, series[name]) for name in HEAT_QUANTITIES}
        width = len(columns)
        per_band = max(1, (available + 2) // (width + 2))
        parts: list[RenderableType] = []
        for position, sample in enumerate(samples):
            lines = Text(f"sample {sample}\n" if self.run.batch > 1 else "")
            for start in range(0, len(HEAT_QUANTITIES), per_band):
                band = HEAT_QUANTITIES[start : start + per_band]
                lines.append(
                    " " * (label + 1) + "  ".join(name.ljust(width) for name in band).rstrip() + "\n"
                )
                for row, unit in enumerate(units):
                    lines.append(f"{unit:>{label}} ")
                    for k, name in enumerate(band):
                        if k:
                            lines.append("  ")
                        low, high = scales[name]
                        levels = _levels(series[name][position, :, row], low, high)
                        palette = DIVERGING if low < 0 else SEQUENTIAL
                        shown_at = 0
                        for column in columns:
                            if column is None:
                                lines.append(GAP, style="dim")
                                continue
                            if name in ("i", "f", "g", "o") and masked[position, shown_at]:
                                lines.append(MASKED_CELL, style="dim")
                            else:
                                level = int(levels[shown_at])
                                lines.append(RAMP[level], style=Style(color=palette[level]))
                            shown_at += 1
                    lines.append("\n")
            lines.rstrip()
            parts.append(lines)
        parts.append(self._heat_legend(scales, shown, left_out, bool(masked.any())))
        notes = self._heat_notes(trace, series, masked, units)
        if len(units) < len(chosen):
            rest = chosen[len(units) :]
            notes.append(
                f"units {_runs(rest)} left out; choose them with --units {rest[0]}:{rest[0] + HEATMAP_UNITS}"
            )
        if len(self.run.samples) > len(samples):
            notes.append(
                f"samples {_runs(self.run.samples[len(samples) :])} left out; choose them with --sample"
            )
        parts.extend(Text(note, style="dim") for note in notes)
        return parts

    def _heat_legend(
        self,
        scales: dict[str, tuple[float, float]],
        shown: list[Block],
        left_out: list[int],
        any_masked: bool,
    ) -> Text:
        legend = Text("scale:")
        grouped: dict[tuple[float, float], list[str]] = {}
        for name, scale in scales.items():
            grouped.setdefault(scale, []).append(name)
        for position, ((low, high), names) in enumerate(grouped.items()):
            palette = DIVERGING if low < 0 else SEQUENTIAL
            legend.append(f"{' ·' if position else ''} {', '.join(names)} {self.number(low)} ")
            for level, glyph in enumerate(RAMP):
                legend.append(glyph, style=Style(color=palette[level]))
            legend.append(f" {self.number(high)}")
        first, last = shown[0].record.t, shown[-1].record.t
        span = f"t = {first}" if len(shown) == 1 else f"t = {first} → {last}"
        legend.append(f"\ncolumns: {span}, one per timestep in processing order")
        if any_masked:
            legend.append(f"; {MASKED_CELL} a masked step")
        if left_out:
            legend.append(f"\n{GAP} marks {plural(len(left_out), 'step')} left out (t = {_runs(left_out)})")
            legend.append(_choose_hint(left_out))
        return legend

    def _heat_notes(
        self, trace: LayerTrace, series: dict[str, Array], masked: Array, units: range
    ) -> list[str]:
        """Saturated gates and quiet units, named, so that they need not be spotted by eye."""
        notes = []
        layer = trace.layer
        skipped = masked[..., np.newaxis]  # (samples, timesteps, 1): a masked step's gates are not used
        if layer.recurrent_activation in SIGMOID_LIKE and not skipped.all():
            found = []
            for name in GATE_ROWS:
                values = series[name]  # (samples, timesteps, units)
                high = np.all((values > SATURATED_ABOVE) | skipped, axis=(0, 1))
                low = np.all((values < SATURATED_BELOW) | skipped, axis=(0, 1))
                for state, where in (("open", high), ("shut", low)):
                    named = [str(units[k]) for k in range(len(units)) if where[k]]
                    if named:
                        found.append(
                            f"{name} {state} in unit{'s' if len(named) > 1 else ''} {', '.join(named)}"
                        )
            if found:
                notes.append(
                    f"saturated at every step shown (above {SATURATED_ABOVE} or below {SATURATED_BELOW}): "
                    + "; ".join(found)
                )
        if _fixed_range(layer.activation, layer.recurrent_activation, "h") and series["h"].shape[1] > 1:
            quiet = np.all(np.abs(series["h"]) < SATURATED_BELOW, axis=(0, 1))
            names = [str(units[k]) for k in range(len(units)) if quiet[k]]
            if names:
                notes.append(
                    f"h stays within ±{SATURATED_BELOW} at every step shown (a dead unit?): "
                    f"unit{'s' if len(names) > 1 else ''} {', '.join(names)}"
                )
        return notes


@dataclass(frozen=True)
class _Indented:
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


def _indented(text: Text, spaces: int) -> _Indented:
    return _Indented(text, spaces)


def _fixed_range(activation: str, recurrent_activation: str, name: str) -> tuple[float, float] | None:
    """The range an activation maps onto, where it has one: a fixed scale makes saturation visible."""

    def onto(act: str) -> tuple[float, float] | None:
        return (0.0, 1.0) if act in SIGMOID_LIKE else (-1.0, 1.0) if act in TANH_LIKE else None

    if name in GATE_ROWS:
        return onto(recurrent_activation)
    if name == "g":
        return onto(activation)
    if name == "h" and recurrent_activation in SIGMOID_LIKE:
        return onto(activation)  # o in [0, 1] times act(c)
    return None


def _scale(trace: LayerTrace, name: str, values: Array) -> tuple[float, float]:
    fixed = _fixed_range(trace.layer.activation, trace.layer.recurrent_activation, name)
    if fixed is not None:
        return fixed
    peak = float(np.max(np.abs(values))) if values.size else 0.0
    peak = peak or 1.0
    return (0.0, peak) if values.size == 0 or float(np.min(values)) >= 0 else (-peak, peak)


def _levels(values: Array, low: float, high: float) -> Array:
    """Which of the len(RAMP) glyphs each value gets: equal steps from low to high."""
    # Halved first, which is exact: values near the dtype's maximum would overflow `value - low`.
    with np.errstate(all="ignore"):
        scaled = (values.astype(np.float64) / 2 - low / 2) / (high / 2 - low / 2) * len(RAMP)
    return np.clip(np.floor(np.nan_to_num(scaled)), 0, len(RAMP) - 1).astype(int)


def _fitting_vector(values: Array, precision: int, room: int) -> str:
    """x_t in as many of its items as fit in `room` characters (at least one); each takes 3 or more."""
    limit = max(1, min(len(values), room // 3))
    while limit > 1 and len(format_vector(values, precision, limit)) > room:
        limit -= 1
    return format_vector(values, precision, limit)
