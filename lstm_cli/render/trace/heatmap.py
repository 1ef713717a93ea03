"""The heatmap of one layer: i, f, g, o, c and h over time, a row per unit and a column per timestep, each
value a glyph of a ramp (readable without colour) coloured on a scale; then the scales, and the saturated
gates and quiet units named, so that they need not be spotted by eye."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.style import Style
from rich.text import Text

from lstm_cli.engine import LayerTrace
from lstm_cli.formats import step_quantities
from lstm_cli.layers.lstm import STEP_QUANTITIES
from lstm_cli.model import GATES, Array
from lstm_cli.text import DEFAULT_PRECISION, format_number, plural
from lstm_cli.tracing import (
    RECURRENT_GATES,
    SATURATED_ABOVE,
    SATURATED_BELOW,
    SIGMOID_LIKE,
    Block,
    TraceRun,
    fixed_range,
)

from .lines import choose_hint, spans

HEATMAP_UNITS = 16  # rows of one quantity's heatmap
HEATMAP_SAMPLES = 2
HEAT_QUANTITIES = STEP_QUANTITIES  # i, f, g, o, c, h
RAMP = "▁▂▃▄▅▆▇█"  # low to high: readable without colour
SEQUENTIAL = ("#440154", "#46327e", "#365c8d", "#277f8e", "#1fa187", "#4ac16d", "#a0da39", "#fde725")
DIVERGING = ("#2166ac", "#4393c3", "#92c5de", "#d1e5f0", "#fddbc7", "#f4a582", "#d6604d", "#b2182b")
GAP = "┆"  # a heatmap column standing for the left-out timesteps
MASKED_CELL = "·"


@dataclass(frozen=True, eq=False)
class HeatSeries:
    """What one layer's heatmap draws: the values of the units and samples shown at the timesteps shown,
    their scales, and what the view left out."""

    units: range  # the rows
    samples: tuple[int, ...]
    columns: tuple[Block | None, ...]  # None stands for the timesteps left out
    left_out: tuple[int, ...]  # the t of each timestep left out
    series: dict[str, Array]  # each (samples, timesteps shown, units)
    masked: Array  # (samples, timesteps shown)
    scales: dict[str, tuple[float, float]]  # low and high of each quantity
    available: int  # characters for a row's cells
    notes: tuple[str, ...]  # saturated gates, quiet units, and the units and samples left out


def _units_wide(values: Array, units: int) -> Array:
    """A projected h (batch, proj) as wide as the units, NaN past the projection's width (no such column)."""
    if values.shape[1] >= units:
        return values
    padded = np.full((values.shape[0], units), np.nan, values.dtype)
    padded[:, : values.shape[1]] = values
    return padded


def heat_series(run: TraceRun, trace: LayerTrace, width: int) -> HeatSeries | None:
    """The chosen units, samples and timesteps of one layer that fit `width`; None without timesteps."""
    layer = trace.layer
    blocks = run.blocks_of(trace)
    if not blocks:
        return None
    chosen = run.units[layer.name] if run.units else range(layer.units)
    units = chosen[:HEATMAP_UNITS]
    samples = list(run.samples[:HEATMAP_SAMPLES])
    available = max(8, width - len(str(units[-1])) - 1)
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
            [
                _units_wide(step_quantities(block.record)[name], layer.units)[np.ix_(samples, units)]
                for block in shown
            ],
            axis=1,
        )
        for name in HEAT_QUANTITIES
    }  # each (samples, timesteps shown, units)
    masked = np.array(
        [[b.record.masked is not None and bool(b.record.masked[s]) for b in shown] for s in samples]
    )  # (samples, timesteps shown)
    scales = {name: _scale(trace, name, series[name]) for name in HEAT_QUANTITIES}
    notes = _notes(trace, series, masked, units)
    if len(units) < len(chosen):
        rest = chosen[len(units) :]
        notes.append(
            f"units {spans(rest)} left out; choose them with --units {rest[0]}:{rest[0] + HEATMAP_UNITS}"
        )
    if len(run.samples) > len(samples):
        notes.append(f"samples {spans(run.samples[len(samples) :])} left out; choose them with --sample")
    return HeatSeries(
        units,
        tuple(samples),
        tuple(columns),
        tuple(left_out),
        series,
        masked,
        scales,
        available,
        tuple(notes),
    )


def _notes(trace: LayerTrace, series: dict[str, Array], masked: Array, units: range) -> list[str]:
    """Saturated gates and quiet units, named, so that they need not be spotted by eye."""
    notes = []
    layer = trace.layer
    skipped = masked[..., np.newaxis]  # (samples, timesteps, 1): a masked step's gates are not used
    if layer.recurrent_activation in SIGMOID_LIKE and not skipped.all():
        found = []
        for name in RECURRENT_GATES:
            values = series[name]  # (samples, timesteps, units)
            high = np.all((values > SATURATED_ABOVE) | skipped, axis=(0, 1))
            low = np.all((values < SATURATED_BELOW) | skipped, axis=(0, 1))
            for state, where in (("open", high), ("shut", low)):
                named = [str(units[k]) for k in range(len(units)) if where[k]]
                if named:
                    found.append(f"{name} {state} in unit{'s' if len(named) > 1 else ''} {', '.join(named)}")
        if found:
            notes.append(
                f"saturated at every step shown (above {SATURATED_ABOVE} or below {SATURATED_BELOW}): "
                + "; ".join(found)
            )
    if fixed_range(layer.activation, layer.recurrent_activation, "h") and series["h"].shape[1] > 1:
        quiet = np.all(np.abs(series["h"]) < SATURATED_BELOW, axis=(0, 1))
        names = [str(units[k]) for k in range(len(units)) if quiet[k]]
        if names:
            notes.append(
                f"h stays within ±{SATURATED_BELOW} at every step shown (a dead unit?): "
                f"unit{'s' if len(names) > 1 else ''} {', '.join(names)}"
            )
    return notes


def _scale(trace: LayerTrace, name: str, values: Array) -> tuple[float, float]:
    fixed = fixed_range(trace.layer.activation, trace.layer.recurrent_activation, name)
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


@dataclass(frozen=True, eq=False)
class Heatmap:
    """One layer's heatmap: for each sample, bands of quantities side by side (as many as `available`
    holds), a row per unit; then the legend and the notes."""

    heat: HeatSeries
    precision: int = DEFAULT_PRECISION
    batch: int = 1

    def parts(self) -> list[RenderableType]:
        heat = self.heat
        parts: list[RenderableType] = [
            self._sample(position, sample) for position, sample in enumerate(heat.samples)
        ]
        parts.append(self._legend())
        parts.extend(Text(note, style="dim") for note in heat.notes)
        return parts

    def _sample(self, position: int, sample: int) -> Text:
        heat = self.heat
        label = len(str(heat.units[-1]))
        width = len(heat.columns)
        per_band = max(1, (heat.available + 2) // (width + 2))
        lines = Text(f"sample {sample}\n" if self.batch > 1 else "")
        for start in range(0, len(HEAT_QUANTITIES), per_band):
            band = HEAT_QUANTITIES[start : start + per_band]
            lines.append(" " * (label + 1) + "  ".join(name.ljust(width) for name in band).rstrip() + "\n")
            for row, unit in enumerate(heat.units):
                lines.append(f"{unit:>{label}} ")
                for k, name in enumerate(band):
                    if k:
                        lines.append("  ")
                    self._cells(lines, name, position, row)
                lines.append("\n")
        lines.rstrip()
        return lines

    def _cells(self, lines: Text, name: str, position: int, row: int) -> None:
        """One quantity's row of glyphs for one unit of one sample, appended to `lines`."""
        heat = self.heat
        low, high = heat.scales[name]
        values = heat.series[name][position, :, row]
        levels = _levels(values, low, high)
        absent = np.isnan(values)  # h past a projection's width: no such column, so no glyph
        palette = DIVERGING if low < 0 else SEQUENTIAL
        shown_at = 0
        for column in heat.columns:
            if column is None:
                lines.append(GAP, style="dim")
                continue
            if absent[shown_at]:
                lines.append(" ")
            elif name in GATES and heat.masked[position, shown_at]:
                lines.append(MASKED_CELL, style="dim")
            else:
                level = int(levels[shown_at])
                lines.append(RAMP[level], style=Style(color=palette[level]))
            shown_at += 1

    def _legend(self) -> Text:
        heat = self.heat
        legend = Text("scale:")
        grouped: dict[tuple[float, float], list[str]] = {}
        for name, scale in heat.scales.items():
            grouped.setdefault(scale, []).append(name)
        for position, ((low, high), names) in enumerate(grouped.items()):
            palette = DIVERGING if low < 0 else SEQUENTIAL
            legend.append(f"{' ·' if position else ''} {', '.join(names)} {self._number(low)} ")
            for level, glyph in enumerate(RAMP):
                legend.append(glyph, style=Style(color=palette[level]))
            legend.append(f" {self._number(high)}")
        shown = [block for block in heat.columns if block is not None]
        first, last = shown[0].record.t, shown[-1].record.t
        span = f"t = {first}" if len(shown) == 1 else f"t = {first} → {last}"
        legend.append(f"\ncolumns: {span}, one per timestep in processing order")
        if heat.masked.any():
            legend.append(f"; {MASKED_CELL} a masked step")
        if heat.left_out:
            left_out = heat.left_out
            legend.append(f"\n{GAP} marks {plural(len(left_out), 'step')} left out (t = {spans(left_out)})")
            legend.append(choose_hint(left_out))
        return legend

    def _number(self, value: float) -> str:
        return format_number(value, self.precision)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from self.parts()

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, Group(*self.parts()))
