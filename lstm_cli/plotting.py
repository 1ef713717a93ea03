"""Pictures of the gates over time (`lstm-cli plot`): a matplotlib figure with one panel per quantity and
layer, the halves of a bidirectional layer side by side, and the file it is saved to.

Only `plot` imports this module, and matplotlib with it: start-up stays as it was, and matplotlib is the
optional extra `[plot]`. No pyplot: a Figure drawn on the Agg canvas, with no global state and no window.

Time runs along the input sequence (t, as in the tables), so a backward half reads right to left in the
order it ran, and the two halves of a step line up. Gates under a sigmoid-like activation lie on a fixed
0 to 1 scale, so saturation is seen at a glance; g, c and h on a scale symmetric about 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import LstmCliError
from .model import Array
from .series import LayerSeries
from .stats import LEFT_SATURATED, RIGHT_SATURATED
from .tracing.ranges import RECURRENT_GATES, fixed_range

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

SUFFIXES = (".png", ".svg", ".pdf")
EXTRA = "pip install 'lstm-cli[plot]'"
NAMES = {
    "i": "input gate i",
    "f": "forget gate f",
    "g": "candidate g",
    "o": "output gate o",
    "c": "cell state c",
    "h": "hidden state h",
}
# grey and hatched: seen over lines and over a heatmap's colours alike
MASKED_SHADE = {"facecolor": "0.6", "edgecolor": "0.25", "hatch": "//", "alpha": 0.35, "linewidth": 0}
PANEL_SIZE = (7.0, 2.2)  # inches, one panel
TOKEN_TICKS = 48  # beyond this many steps, tokens are shown at every k-th step only
LEGEND_UNITS = 8  # lines: a legend of units up to this many


@dataclass(frozen=True)
class Panel:
    """One layer and direction of one sample, and the token of each step (input order) if it reads any."""

    series: LayerSeries  # one row: the sample shown
    tokens: Sequence[str | None] | None


def check_destination(path: Path) -> None:
    """Before anything runs: a picture's format is its suffix, and its folder must exist."""
    if path.suffix.lower() not in SUFFIXES:
        raise LstmCliError(f"-o {path}: the picture's format is its suffix: .png, .svg or .pdf")
    if not path.parent.is_dir():
        raise LstmCliError(f"-o {path}: the folder {path.parent} does not exist")


def require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise LstmCliError(f"plot needs matplotlib: {EXTRA}") from None


def gate_figure(panels: Sequence[Panel], quantities: Sequence[str], kind: str, title: str) -> Figure:
    """A row of panels per quantity for each layer, its halves side by side; `title` above them all."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    layers: dict[str, list[Panel]] = {}
    for panel in panels:
        layers.setdefault(panel.series.name, []).append(panel)
    columns = max(len(halves) for halves in layers.values())
    rows = len(layers) * len(quantities)
    width, height = PANEL_SIZE
    figure = Figure(figsize=(width * columns, height * rows + 0.8), layout="constrained")
    FigureCanvasAgg(figure)
    grid = figure.subplots(rows, columns, squeeze=False)
    for block, halves in enumerate(layers.values()):
        for row, quantity in enumerate(quantities):
            for column in range(columns):
                axes = grid[block * len(quantities) + row, column]
                if column < len(halves):
                    draw_panel(axes, halves[column], quantity, kind)
                else:
                    axes.set_axis_off()  # a one-way layer beside a bidirectional one
    figure.suptitle(title)
    return figure


def draw_panel(axes: Axes, panel: Panel, quantity: str, kind: str) -> None:
    series = panel.series
    order = np.argsort(series.t, kind="stable")  # input order: a backward half's steps ran reversed
    t = series.t[order]
    values = series.values[quantity][0][order]  # (timesteps, units)
    low, high = scale(series, quantity, values)
    if kind == "heatmap":
        cmap = "viridis" if low >= 0 else "RdBu_r"
        extent = (t[0] - 0.5, t[-1] + 0.5, values.shape[1] - 0.5, -0.5)
        image = axes.imshow(
            values.T, aspect="auto", cmap=cmap, vmin=low, vmax=high, interpolation="nearest", extent=extent
        )
        axes.figure.colorbar(image, ax=axes, label=quantity)
        axes.set_ylabel("unit")
        axes.set_yticks(range(values.shape[1]))
    else:
        marker = "o" if len(t) <= 30 else None
        for unit in range(values.shape[1]):
            axes.plot(t, values[:, unit], marker=marker, markersize=3, linewidth=1.2, label=f"unit {unit}")
        axes.set_ylim(low - 0.05 * (high - low), high + 0.05 * (high - low))
        if quantity in RECURRENT_GATES and (low, high) == (0.0, 1.0):
            for level in (LEFT_SATURATED, RIGHT_SATURATED):  # where `stats` counts a gate as saturated
                axes.axhline(level, color="0.6", linestyle=":", linewidth=0.8)
        axes.set_ylabel(quantity)
        axes.set_xlim(t[0] - 0.5, t[-1] + 0.5)
    shade_masked(axes, t, ~series.valid[0][order])
    label_time(axes, t, panel.tokens, order)
    axes.set_title(f"{series.title}: {NAMES[quantity]}", loc="left", fontsize="medium")
    if kind == "lines" and values.shape[1] <= LEGEND_UNITS:
        axes.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize="small", frameon=False)


def scale(series: LayerSeries, quantity: str, values: Array) -> tuple[float, float]:
    """The activation's own range where it has one (0 to 1 for a sigmoid-like gate); else symmetric about
    0, as far as the largest value goes."""
    fixed = fixed_range(series.activation, series.recurrent_activation, quantity)
    if fixed is not None:
        return fixed
    peak = float(np.max(np.abs(values))) if values.size else 0.0
    peak = peak or 1.0
    return -peak, peak


def masked_spans(t: Array, masked: Array) -> list[tuple[float, float]]:
    """The runs of masked steps as (start, end) on the time axis, each step 1 wide around its t."""
    spans: list[tuple[float, float]] = []
    for position in np.flatnonzero(masked):
        start, end = float(t[position]) - 0.5, float(t[position]) + 0.5
        if spans and spans[-1][1] == start:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return spans


def shade_masked(axes: Axes, t: Array, masked: Array) -> None:
    for index, (start, end) in enumerate(masked_spans(t, masked)):
        axes.axvspan(start, end, label="masked" if index == 0 else None, **MASKED_SHADE)  # type: ignore[arg-type]


def label_time(axes: Axes, t: Array, tokens: Sequence[str | None] | None, order: Array) -> None:
    """t on the time axis; with tokens, each step's token (at every k-th step, on a long sequence)."""
    if tokens is None:
        from matplotlib.ticker import MaxNLocator

        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlabel("t")
        return
    every = max(1, -(-len(t) // TOKEN_TICKS))
    shown = [tokens[int(k)] for k in order]  # tokens in input order
    axes.set_xticks(t[::every], [token if token is not None else "" for token in shown[::every]])
    axes.set_xlabel("t (token)")


def save_figure(figure: Figure, path: Path) -> None:
    """In the format the suffix names. No date and fixed ids in the file, so the same run writes the same
    SVG and PDF."""
    import matplotlib

    fmt = path.suffix.lower()[1:]
    metadata = {"svg": {"Date": None}, "pdf": {"CreationDate": None}}.get(fmt, {})
    with matplotlib.rc_context({"svg.hashsalt": "lstm-cli"}):
        try:
            figure.savefig(path, format=fmt, metadata=metadata, dpi=100)
        except OSError as exc:
            raise LstmCliError(f"cannot save {path}: {exc.strerror or exc}") from None
