"""How the gates behave over a run (`lstm-cli stats`, docs/output.md#stats-json): per layer, direction and
unit, how often each gate is saturated, where c and h lie, and which units never move.

Saturation is counted as Karpathy, Johnson and Fei-Fei count it ("Visualizing and Understanding Recurrent
Networks", 2015, section 4.2): a gate is left-saturated below 0.1 and right-saturated above 0.9, and the
gates are the three under the recurrent activation, i, f and o. g is the candidate value under
`activation` (tanh), not a gate that lets anything through, and its ±1 is not counted. A recurrent
activation that does not map onto [0, 1] (linear, tanh, ...) has no saturation to count.

Masked steps are left out of every number: Keras skips them, so their gates were never used and their c
and h are the previous step's, carried. Pure: numpy in, numpy out.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .model import Array
from .series import LayerSeries
from .tracing.ranges import RECURRENT_GATES, SIGMOID_LIKE

LEFT_SATURATED = 0.1  # a gate below this is (nearly) shut
RIGHT_SATURATED = 0.9  # and above this (nearly) open
DEAD_RANGE = 1e-3  # a unit whose h moves no more than this over a sequence is dead
MOSTLY = 0.5  # a layer's summary names the gates saturated at least this fraction of the time
SIDES = ("left", "right")
CSV_HEADER = ("layer", "direction", "unit", "quantity", "statistic", "value")

# What a gate saturated most of the time says about the layer, for its summary line.
MEANINGS = {
    ("f", "right"): "this layer remembers",
    ("f", "left"): "this layer forgets",
    ("i", "right"): "this layer writes every new candidate into c",
    ("i", "left"): "this layer mostly shuts out its input",
    ("o", "right"): "this layer shows its cell state in h",
    ("o", "left"): "this layer mostly hides its cell state from h",
}


@dataclass(frozen=True, eq=False)
class Spread:
    """Where one quantity lies over the unmasked steps, per unit: each (units,)."""

    mean: Array
    low: Array
    high: Array


@dataclass(frozen=True, eq=False)
class LayerStats:
    """The statistics of one layer and direction."""

    series: LayerSeries
    counted: int  # (sample, step) pairs counted: the unmasked ones
    masked: int  # and those left out
    # gate → side → (units,) fraction of the counted steps; None where the recurrent activation is not
    # sigmoid-like, or every step is masked
    saturation: dict[str, dict[str, Array]] | None
    c: Spread | None  # None where every step is masked
    h: Spread | None  # (proj,) wide with a projection
    dead: tuple[int, ...]  # units whose h never moves more than DEAD_RANGE within a sequence
    summary: str


def saturated_fractions(gate: Array, valid: Array) -> tuple[Array, Array]:
    """Per unit, the fraction of the valid steps where `gate` (batch, timesteps, units) is below
    LEFT_SATURATED, and above RIGHT_SATURATED. `valid` is (batch, timesteps), with at least one True."""
    counted = valid[..., np.newaxis]
    total = np.count_nonzero(valid)
    left = np.count_nonzero((gate < LEFT_SATURATED) & counted, axis=(0, 1)) / total
    right = np.count_nonzero((gate > RIGHT_SATURATED) & counted, axis=(0, 1)) / total
    return left, right


def spread(values: Array, valid: Array) -> Spread:
    """Per unit, the mean, least and greatest of `values` (batch, timesteps, units) over the valid steps."""
    kept = values[valid]  # (valid steps, units)
    return Spread(kept.mean(axis=0), kept.min(axis=0), kept.max(axis=0))


def dead_units(h: Array, valid: Array) -> tuple[int, ...]:
    """The units whose h (batch, timesteps, units) stays within DEAD_RANGE over the valid steps of every
    sequence. A sequence with one valid step cannot show a unit move, so it cannot show one dead either:
    a unit is dead only if some sequence has two valid steps or more."""
    moves = np.zeros(h.shape[-1])
    seen = False
    for sample, kept in zip(h, valid, strict=True):
        if np.count_nonzero(kept) < 2:
            continue
        steps = sample[kept]  # (valid steps, units)
        moves = np.maximum(moves, steps.max(axis=0) - steps.min(axis=0))
        seen = True
    return tuple(int(unit) for unit in np.flatnonzero(moves <= DEAD_RANGE)) if seen else ()


def layer_stats(series: LayerSeries) -> LayerStats:
    valid = series.valid
    counted = int(np.count_nonzero(valid))
    masked = valid.size - counted
    if counted == 0:
        return LayerStats(series, 0, masked, None, None, None, (), "every step is masked: nothing to count")
    saturation = None
    if series.recurrent_activation in SIGMOID_LIKE:
        saturation = {}
        for gate in RECURRENT_GATES:
            left, right = saturated_fractions(series.values[gate], valid)
            saturation[gate] = {"left": left, "right": right}
    dead = dead_units(series.values["h"], valid)
    c, h = spread(series.values["c"], valid), spread(series.values["h"], valid)
    summary = summary_line(series, saturation, dead)
    return LayerStats(series, counted, masked, saturation, c, h, dead, summary)


def summary_line(
    series: LayerSeries,
    saturation: dict[str, dict[str, Array]] | None,
    dead: Sequence[int],
) -> str:
    """One line on the layer: the gates saturated most of the time (over every unit and counted step) and
    what that says, then the dead units."""
    if saturation is None:
        parts = [
            f"recurrent_activation {series.recurrent_activation} does not map onto [0, 1], "
            "so no gate is counted as saturated"
        ]
    else:
        # every unit counts the same steps, so the units' mean is the fraction over every unit and step
        pooled = {
            (gate, side): float(np.mean(saturation[gate][side])) for gate in saturation for side in SIDES
        }
        ranked = sorted(pooled.items(), key=lambda item: -item[1])
        parts = [
            f"{gate} is {side}-saturated {_percent(fraction)} of the time: {MEANINGS[(gate, side)]}"
            for (gate, side), fraction in ranked
            if fraction >= MOSTLY
        ]
        (gate, side), fraction = ranked[0]
        if fraction == 0:
            parts = ["no gate is ever saturated"]
        elif not parts:
            most = f"{gate} {side}-saturated {_percent(fraction)} of the time"
            parts = [f"no gate is saturated most of the time (the most: {most})"]
    units = series.values["h"].shape[-1]
    if dead:
        listed = ", ".join(str(unit) for unit in dead)
        parts.append(f"{len(dead)} of {units} units dead (h moves at most {DEAD_RANGE:g}): {listed}")
    return "; ".join(parts)


def _percent(fraction: float) -> str:
    return f"{100 * fraction:.0f}%"


# -- the document behind `stats --format json`, and the tidy CSV ----------------------------------------


def stats_document(dtype: str, layers: Sequence[LayerStats]) -> dict[str, Any]:
    """docs/output.md#stats-json. Arrays stay numpy, for `formats.write_json`."""
    return {
        "dtype": dtype,
        "thresholds": {"left": LEFT_SATURATED, "right": RIGHT_SATURATED, "dead": DEAD_RANGE},
        "layers": [_layer_document(stats) for stats in layers],
    }


def _layer_document(stats: LayerStats) -> dict[str, Any]:
    def spread_document(values: Spread | None) -> dict[str, Array] | None:
        return None if values is None else {"mean": values.mean, "min": values.low, "max": values.high}

    return {
        "name": stats.series.name,
        "direction": stats.series.direction,
        "counted": stats.counted,
        "masked": stats.masked,
        "saturation": stats.saturation,
        "c": spread_document(stats.c),
        "h": spread_document(stats.h),
        "dead": list(stats.dead),
        "summary": stats.summary,
    }


def stats_rows(layers: Sequence[LayerStats], precision: int | None = None) -> Iterator[tuple[Any, ...]]:
    """The header, then one row per value: `layer,direction,unit,quantity,statistic,value`."""
    yield CSV_HEADER
    for stats in layers:
        name, direction = stats.series.name, stats.series.direction
        for gate, sides in (stats.saturation or {}).items():
            for side, fractions in sides.items():
                yield from _rows(name, direction, gate, f"{side}_saturated", fractions, precision)
        for quantity, values in (("c", stats.c), ("h", stats.h)):
            if values is not None:
                for statistic, array in (("mean", values.mean), ("min", values.low), ("max", values.high)):
                    yield from _rows(name, direction, quantity, statistic, array, precision)
        if stats.h is not None:
            dead = np.isin(np.arange(len(stats.h.mean)), stats.dead).astype(float)
            yield from _rows(name, direction, "h", "dead", dead, None)


def _rows(
    layer: str, direction: str, quantity: str, statistic: str, values: Array, precision: int | None
) -> Iterator[tuple[Any, ...]]:
    for unit, value in enumerate(values):
        number = float(value) if precision is None else round(float(value), precision) + 0.0
        yield (layer, direction, unit, quantity, statistic, repr(number))
