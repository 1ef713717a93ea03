"""The `stats` view: per layer and direction, a table of its units (how often each gate is saturated,
where c and h lie, which units are dead), then its summary line."""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from lstm_cli.stats import DEAD_RANGE, LEFT_SATURATED, RIGHT_SATURATED, LayerStats, Spread
from lstm_cli.text import format_number, plural

STATS_PRECISION = 2  # decimals of c and h: a summary, and the table must fit 80 columns


def stats_view(layers: Sequence[LayerStats], precision: int = STATS_PRECISION) -> Group:
    parts: list[RenderableType] = []
    for stats in layers:
        parts.extend([layer_table(stats, precision), Text(stats.summary), Text("")])
    parts.append(
        Text(
            f"i<{LEFT_SATURATED:g}, i>{RIGHT_SATURATED:g}: the share of steps where gate i is left- or "
            f"right-saturated (f, o alike); a dead unit's h moves at most {DEAD_RANGE:g}. Masked steps are "
            "not counted.",
            style="dim",
        )
    )
    return Group(*parts)


def layer_table(stats: LayerStats, precision: int) -> Table:
    """One row per unit. Past a projection's width, a unit has no h of its own: its h cells are empty."""
    series = stats.series
    masked = f", {stats.masked} masked, not counted" if stats.masked else ""
    title = f"{series.title}: {plural(stats.counted, 'step')} counted{masked}"
    # no rules between columns, one space: eleven columns fit 80 characters
    table = Table(
        title=title, title_justify="left", title_style="bold", box=box.SIMPLE_HEAD, padding=0, show_edge=False
    )
    table.add_column("unit", justify="right")
    gates = list(stats.saturation or {})
    for gate in gates:
        table.add_column(f"{gate}<{LEFT_SATURATED:g}", justify="right")
        table.add_column(f"{gate}>{RIGHT_SATURATED:g}", justify="right")
    for quantity in ("c", "h"):
        table.add_column(f"{quantity} mean", justify="right")
        table.add_column(f"{quantity} min…max", justify="right")
    units = series.values["c"].shape[-1]
    for unit in range(units):
        cells = [f"{unit} dead" if unit in stats.dead else str(unit)]
        for gate in gates:
            sides = (stats.saturation or {})[gate]
            cells.extend(f"{100 * sides[side][unit]:.0f}%" for side in ("left", "right"))
        cells.extend(_spread_cells(stats.c, unit, precision))
        cells.extend(_spread_cells(stats.h, unit, precision))
        table.add_row(*(Text(cell) for cell in cells))
    return table


def _spread_cells(spread: Spread | None, unit: int, precision: int) -> list[str]:
    if spread is None or unit >= len(spread.mean):
        return ["", ""]

    def number(value: float) -> str:
        return format_number(float(value), precision)

    return [number(spread.mean[unit]), f"{number(spread.low[unit])}…{number(spread.high[unit])}"]
