"""`trace` as data: the forward pass one timestep at a time, and the arithmetic of each value (SPEC §3, §4).

Everything here reads the engine's per-step records (`run_model(record=...)`) and never recomputes a step,
so trace and forward cannot disagree. Pure: no printing and no Rich. Numbers in the arithmetic are written
by a formatter that the caller passes in, so that views and tests choose the precision.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .activations import get_activation
from .engine import LayerTrace, Mismatch, StepRecord, check_expectations, run_model
from .errors import LstmCliError
from .formats import CSV_HEADER, forward_document, output_rows, step_quantities, step_rows
from .model import GATES, Array, BidirectionalLayer, LstmLayer, Model
from .text import did_you_mean

SIGMOID_LIKE = ("sigmoid", "hard_sigmoid", "hard_sigmoid_tf2")  # onto [0, 1]: gates that can saturate
TANH_LIKE = ("tanh", "softsign")  # onto [-1, 1]
SATURATED_BELOW, SATURATED_ABOVE = 0.05, 0.95
MAX_TERMS = 8  # a longer dot product is written as its first terms, its last term and its sum
HEAD_TERMS = 3
MAX_STORIES = 5  # mismatches explained in full; the rest are listed by `--format json`
# Every per-step quantity, in the order a step computes them (and the CSV's `quantity` column).
QUANTITIES = ("x", "h_prev", "c_prev", "z_i", "z_f", "z_g", "z_o", "i", "f", "g", "o", "c", "h")

Number = Callable[[float], str]  # how a number is written in the arithmetic, e.g. to 4 decimals


# -- what to show ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """What the user asked to see, as typed; empty means everything."""

    layers: tuple[str, ...] = ()
    timesteps: tuple[str, ...] = ()  # "3", "-1", or a range "2:5" (the end left out, as in Python)
    samples: tuple[int, ...] = ()
    units: str | None = None  # "0:8" or "5"


_SPAN = re.compile(r"(?P<index>-?\d+)|(?P<start>-?\d*):(?P<stop>-?\d*)")


def parse_span(text: str, option: str) -> int | slice:
    """`3` and `-1` are one index; `2:5`, `:3` and `5:` are ranges as in Python (`2:5` is 2, 3 and 4)."""
    match = _SPAN.fullmatch(text.strip())
    if match is None:
        raise LstmCliError(f"{option} {text!r}: expected an index such as 3 or -1, or a range such as 2:5")
    if match["index"] is not None:
        return int(match["index"])
    return slice(
        int(match["start"]) if match["start"] else None, int(match["stop"]) if match["stop"] else None
    )


def _indexes(text: str, option: str, count: int, owner: str, noun: str) -> list[int]:
    """The indexes that `text` picks out of `count`, or an error that says what there is to pick."""
    span = parse_span(text, option)
    indexes = "index 0" if count == 1 else f"0 to {count - 1}"
    there = f"{owner} {count} {noun}{'' if count == 1 else 's'} ({indexes})"
    if isinstance(span, int):
        if not -count <= span < count:
            raise LstmCliError(f"{option} {text}: out of range; {there}")
        return [span % count]
    picked = list(range(count)[span])
    if not picked:
        raise LstmCliError(f"{option} {text}: selects nothing; {there}")
    return picked


@dataclass(frozen=True)
class Block:
    """One timestep of one layer and direction: what `trace` shows at a time, and where `--step` pauses."""

    trace: LayerTrace
    index: int  # position in processing order; the record's `t` counts down under go_backwards

    @property
    def record(self) -> StepRecord:
        return self.trace.steps[self.index]


@dataclass
class TraceRun:
    """A run with per-step records, and the chosen part of it."""

    model: Model
    values: dict[str, Array]  # every reference, as `forward` gives them
    mismatches: list[Mismatch] | None  # None without `expect:`
    traces: list[LayerTrace]  # every recorded layer and direction, every step
    shown: list[LayerTrace]  # the chosen layers and directions
    blocks: list[Block]  # the chosen timesteps of `shown`, in processing order
    samples: tuple[int, ...]  # the chosen samples (all of the batch when none were chosen)
    units: dict[str, range] | None = None  # per layer, when `--units` was given
    batch: int = 1

    def blocks_of(self, trace: LayerTrace) -> list[Block]:
        return [block for block in self.blocks if block.trace is trace]

    def half(self, trace: LayerTrace) -> str:
        """`, forward half` or `, backward half` for a half of a bidirectional layer; else nothing."""
        wrapped = any(
            isinstance(layer, BidirectionalLayer) and layer.name == trace.layer.name
            for layer in self.model.layers
        )
        return f", {trace.direction} half" if wrapped or trace.direction != "forward" else ""


@dataclass(frozen=True)
class _Chosen:
    layers: tuple[str, ...]
    timesteps: dict[str, set[int]] | None
    samples: tuple[int, ...]
    units: dict[str, range] | None
    batch: int


def _choose(model: Model, selection: Selection) -> _Chosen:
    """Check the selection against the model before anything runs, so a typo costs nothing."""
    recurrent = [layer for layer in model.layers if isinstance(layer, LstmLayer | BidirectionalLayer)]
    names = [layer.name for layer in recurrent]
    for name in selection.layers:
        if name in names:
            continue
        other = model.find(name)
        if other is not None:
            raise LstmCliError(
                f"--layer {name!r} is a {other.type} layer; trace shows the recurrent layers: "
                f"{', '.join(names) or 'none'}"
            )
        raise LstmCliError(
            f"--layer {name!r}: no such layer{did_you_mean(name, names)} (layers: {', '.join(names)})"
        )
    chosen = [layer for layer in recurrent if not selection.layers or layer.name in selection.layers]
    first = next(iter(model.inputs.values()))
    batch = first.data.shape[0] if first.data is not None else 1
    samples = sorted(
        {
            index
            for b in selection.samples
            for index in _indexes(str(b), "--sample", batch, "the batch has", "sample")
        }
    )
    timesteps = None
    if selection.timesteps:
        timesteps = {}
        for layer in chosen:
            count = model.shapes[layer.input][1] or 0
            owner = f"layer {layer.name!r} reads"
            timesteps[layer.name] = {
                t
                for text in selection.timesteps
                for t in _indexes(text, "--timestep", count, owner, "timestep")
            }
    units = None
    if selection.units is not None:
        units = {}
        for layer in chosen:
            picked = _indexes(selection.units, "--units", layer.units, f"layer {layer.name!r} has", "unit")
            units[layer.name] = range(picked[0], picked[-1] + 1)
    return _Chosen(
        tuple(layer.name for layer in chosen), timesteps, tuple(samples or range(batch)), units, batch
    )


def run_trace(model: Model, selection: Selection | None = None) -> TraceRun:
    """Run the model once, keeping per-step records of the chosen layers and of those under `expect:`."""
    chosen = _choose(model, selection or Selection())
    keep = set(chosen.layers) | {expectation.ref.partition(".")[0] for expectation in model.expect}
    result = run_model(model, record=lambda name: name in keep)
    mismatches = check_expectations(model, result.values) if model.expect else None
    shown = [trace for trace in result.traces if trace.layer.name in chosen.layers]
    for trace in shown:
        _check_z(model, trace)
    blocks = [
        Block(trace, index)
        for trace in shown
        for index, record in enumerate(trace.steps)
        if chosen.timesteps is None or record.t in chosen.timesteps[trace.layer.name]
    ]
    return TraceRun(
        model,
        result.values,
        mismatches,
        result.traces,
        shown,
        blocks,
        chosen.samples,
        chosen.units,
        chosen.batch,
    )


def _check_z(model: Model, trace: LayerTrace) -> None:
    """A pre-activation z can overflow to ±inf while saturating gates keep every output finite: `forward` may
    show the outputs, but a trace cannot show z as if it were a number."""
    for record in trace.steps:
        if not np.isfinite(record.step.z).all():
            raise model.error(
                trace.layer.key_path,
                f"layer {trace.layer.name!r}: the pre-activation z overflowed to inf at timestep {record.t}; "
                "the gates saturate, so `forward` can show the outputs, but `trace` cannot show z",
            )


# -- the document behind `trace --format json`, and the tidy CSV -----------------------------------------


def _step_document(record: StepRecord) -> dict[str, Any]:
    values = step_quantities(record)
    document: dict[str, Any] = {
        "t": record.t,
        "masked": bool(record.masked is not None and record.masked.any()),
        "x": values["x"],
        "h_prev": values["h_prev"],
        "c_prev": values["c_prev"],
        "z": {gate: values[f"z_{gate}"] for gate in GATES},
        "gates": {gate: values[gate] for gate in GATES},
        "c": values["c"],
        "h": values["h"],
    }
    if document["masked"] and record.masked is not None and len(record.masked) > 1:
        document["masked_samples"] = [bool(m) for m in record.masked]
    return document


def trace_document(run: TraceRun) -> dict[str, Any]:
    """SPEC §4: `forward`'s document plus the chosen steps of every recurrent layer and direction.

    Values stay numpy arrays: the Python API returns them as they are, `formats.write_json` streams them.
    """
    document = forward_document(run.model.dtype, run.values, run.mismatches, lists=False)
    document["layers"] = [
        {
            "name": trace.layer.name,
            "direction": trace.direction,
            "steps": [_step_document(block.record) for block in run.blocks_of(trace)],
        }
        for trace in run.shown
    ]
    return document


def trace_rows(run: TraceRun, precision: int | None = None) -> Iterator[tuple[Any, ...]]:
    """The header, then one row per value: every quantity of every chosen step, then the outputs."""
    yield CSV_HEADER
    chosen = [
        LayerTrace(trace.layer, trace.direction, trace.weights, [b.record for b in run.blocks_of(trace)])
        for trace in run.shown
    ]
    yield from step_rows(chosen, QUANTITIES, precision)
    yield from output_rows(run.values, precision)


# -- the arithmetic of each value ------------------------------------------------------------------------


@dataclass(frozen=True)
class Arithmetic:
    """One value written out with its numbers: `c[2] = f[2]·c_prev[2] + i[2]·g[2] = 0·0 + 1·1 = 1`."""

    name: str  # "c[2]"
    value: float  # the engine's value
    text: str


def _line(name: str, value: float, *parts: str, number: Number, note: str = "") -> Arithmetic:
    """`name = part = part = value`, leaving out a part that only repeats the one before it."""
    written = [name]
    for part in (*parts, number(value)):
        if part and part != written[-1]:
            written.append(part)
    return Arithmetic(name, float(value), " = ".join(written) + (f" {note}" if note else ""))


def _factor(value: float, number: Number) -> str:
    text = number(value)
    return f"({text})" if text.startswith("-") else text


def _dot(left: Array, right: Array, number: Number) -> tuple[str, bool]:
    """`1·2 + 0·1`; a long one as its first and last terms and its sum. True when it was shortened."""
    count = len(left)
    if count == 0:
        return "0", False

    def term(k: int) -> str:
        return f"{_factor(left[k], number)}·{_factor(right[k], number)}"

    if count <= MAX_TERMS:
        return " + ".join(term(k) for k in range(count)), False
    head = " + ".join(term(k) for k in range(HEAD_TERMS))
    total = float(left.astype(np.float64) @ right.astype(np.float64))
    return f"{head} + … {count - HEAD_TERMS - 1} more … + {term(count - 1)} = {number(total)}", True


def explain_unit(
    trace: LayerTrace, record: StepRecord, sample: int, unit: int, number: Number
) -> list[Arithmetic]:
    """Every value of one unit at one step, in the order the step computes them: z, gates, c, h."""
    layer, weights = trace.layer, trace.weights
    b, u = sample, unit
    if record.masked is not None and record.masked[b]:
        note = "(masked: the step is skipped and the state carries over)"
        return [
            _line(f"c[{u}]", record.c[b, u], f"c_prev[{u}]", number=number, note=note),
            _line(f"h[{u}]", record.h[b, u], f"h_prev[{u}]", number=number, note=note),
        ]
    lines = []
    step = record.step
    for position, gate in enumerate(GATES):
        column = position * layer.units + u
        x_part, x_long = _dot(record.x[b], weights.kernel[:, column], number)
        h_part, _ = _dot(record.h_prev[b], weights.recurrent_kernel[:, column], number)
        formula = f"x·W_{gate}[:,{u}] + h_prev·U_{gate}[:,{u}]"
        substituted = f"{f'({x_part})' if x_long else x_part} + ({h_part})"
        if weights.bias is not None:
            formula += f" + b_{gate}[{u}]"
            substituted += f" + {_factor(weights.bias[column], number)}"
        lines.append(_line(f"z_{gate}[{u}]", step.z[b, column], formula, substituted, number=number))
    for position, gate in enumerate(GATES):
        activation = layer.activation if gate == "g" else layer.recurrent_activation
        z = step.z[b, position * layer.units : (position + 1) * layer.units]
        parts = _activation_parts(activation, f"z_{gate}", z, u, number)
        lines.append(_line(f"{gate}[{u}]", getattr(step, gate)[b, u], *parts, number=number))
    i, f, g = (float(getattr(step, gate)[b, u]) for gate in "ifg")
    c_prev = float(record.c_prev[b, u])
    lines.append(
        _line(
            f"c[{u}]",
            step.c[b, u],
            f"f[{u}]·c_prev[{u}] + i[{u}]·g[{u}]",
            f"{_factor(f, number)}·{_factor(c_prev, number)} + {_factor(i, number)}·{_factor(g, number)}",
            number=number,
        )
    )
    lines.append(_h_line(trace, record, b, u, number))
    return lines


def _h_line(trace: LayerTrace, record: StepRecord, b: int, u: int, number: Number) -> Arithmetic:
    name = trace.layer.activation
    o = _factor(float(record.step.o[b, u]), number)
    activated = float(_activated_c(trace, record)[b, u])
    formula, explained, substituted = _activation_parts(name, "c", record.step.c[b], u, number)
    parts = [f"o[{u}]·{formula}"]
    if name != "linear":
        parts.append(f"{o}·({substituted})" if explained else f"{o}·{substituted}")
    parts.append(f"{o}·{_factor(activated, number)}")
    return _line(f"h[{u}]", record.step.h[b, u], *parts, number=number)


def _activation_parts(name: str, label: str, values: Array, u: int, number: Number) -> tuple[str, str, str]:
    """`act(label[u])`, how it is computed ("" when that says nothing more), and it with its numbers.
    softmax and log_softmax act on all the units at once, shifted by the largest as they compute."""
    if name not in ("softmax", "log_softmax"):
        return f"{name}({label}[{u}])", "", f"{name}({number(values[u])})"
    wide = values.astype(np.float64)
    largest = float(wide.max())
    with np.errstate(over="ignore", under="ignore"):
        total = number(float(np.exp(wide - largest).sum()))
    shifted = f"{number(values[u])} − {_factor(largest, number)}"
    if name == "softmax":
        return (
            f"softmax({label})[{u}]",
            f"exp({label}[{u}] − max {label}) / Σ exp({label} − max {label})",
            f"exp({shifted}) / {total}",
        )
    return (
        f"log_softmax({label})[{u}]",
        f"{label}[{u}] − max {label} − log Σ exp({label} − max {label})",
        f"{shifted} − log {total}",
    )


def _activated_c(trace: LayerTrace, record: StepRecord) -> Array:
    """act(c_t) for the whole step, (batch, units): the reference activation, which the engine is held to."""
    return get_activation(trace.layer.activation)(record.step.c)


# -- why a value under `expect:` differs -------------------------------------------------------------------


@dataclass(frozen=True)
class Site:
    """Where a referenced value comes from: one unit of one step of one layer and direction."""

    trace: LayerTrace
    index: int  # position in processing order
    sample: int
    unit: int
    quantity: str  # "h", "c", or "output" (a layer's output at a step: h, unless the step is masked)


def locate(model: Model, traces: list[LayerTrace], ref: str, index: tuple[int, ...]) -> Site | None:
    """The step behind `ref[index]`, or None where no single LSTM step makes it (a Dense layer, a merge
    of two halves by sum, mul or ave). A concatenated bidirectional output is one half's unit."""
    name, _, rest = ref.partition(".")
    parts = rest.split(".") if rest else []
    candidates = [trace for trace in traces if trace.layer.name == name]
    if parts and parts[0] in ("forward", "backward"):
        direction = parts.pop(0)
        candidates = [trace for trace in candidates if trace.direction == direction]
    elif (
        not parts
        and len(candidates) == 2
        and getattr(_bidirectional(model, name), "merge_mode", "") == "concat"
    ):
        units = candidates[0].layer.units  # [forward's units, backward's units] along the last axis
        half, unit = divmod(index[-1], units)
        candidates, index = candidates[half : half + 1], (*index[:-1], unit)
    if len(candidates) != 1 or not candidates[0].steps:
        return None
    trace = candidates[0]
    last = len(trace.steps) - 1
    if parts in (["h"], ["c"]) and len(index) == 2:
        return Site(trace, last, index[0], index[1], parts[0])
    if parts or index[-1] >= trace.layer.units:
        return None
    if len(index) == 3:  # a sequence output (batch, timesteps, units)
        # in processing order, except a bidirectional layer's backward half, flipped back to input order
        position = last - index[1] if trace.direction == "backward" else index[1]
        return Site(trace, position, index[0], index[2], "output")
    return Site(trace, last, index[0], index[1], "output") if len(index) == 2 else None


def _bidirectional(model: Model, name: str) -> BidirectionalLayer | None:
    """The bidirectional layer `name`, whose halves' traces carry its name; None if it is not one."""
    layer = model.find(name)
    return layer if isinstance(layer, BidirectionalLayer) else None


@dataclass(frozen=True)
class Story:
    """Why one value under `expect:` differs: the step it comes from, and where the hand value parts."""

    mismatch: Mismatch
    where: str  # "h[2] of layer lstm at t = 0 (its last step), sample 0"
    verdict: str
    lines: tuple[Arithmetic, ...]
    hints: tuple[str, ...] = ()


def _expected(model: Model, ref: str, index: tuple[int, ...]) -> tuple[float, float] | None:
    """The hand value and its tolerance at `ref[index]`, if `expect:` gives one."""
    for expectation in model.expect:
        if expectation.ref == ref:
            return float(expectation.expected[index]), float(expectation.tolerance[index])
    return None


@dataclass
class _Unit:
    """One unit of one step, with its arithmetic by quantity, for telling a story."""

    site: Site
    number: Number
    record: StepRecord = field(init=False)
    lines: dict[str, Arithmetic] = field(init=False)

    def __post_init__(self) -> None:
        site = self.site
        self.record = site.trace.steps[site.index]
        explained = explain_unit(site.trace, self.record, site.sample, site.unit, self.number)
        self.lines = {line.name.partition("[")[0]: line for line in explained}

    def value(self, quantity: str) -> float:
        return self.lines[quantity].value

    def pick(self, *names: str) -> tuple[Arithmetic, ...]:
        return tuple(self.lines[name] for name in names if name in self.lines)


def explain_mismatches(run: TraceRun, number: Number) -> tuple[list[Story], int]:
    """A story for each mismatch, the earliest step first (where a hand calculation first goes wrong).

    Returns at most MAX_STORIES stories, and how many mismatches there were in all.
    """
    if not run.mismatches:
        return [], 0
    order = {id(trace): position for position, trace in enumerate(run.traces)}
    located = [
        (mismatch, locate(run.model, run.traces, mismatch.ref, mismatch.index)) for mismatch in run.mismatches
    ]

    def earliest(item: tuple[Mismatch, Site | None]) -> tuple[int, ...]:
        site = item[1]
        if site is None:
            return (len(order), 0, 0, 0, 0)
        return (order[id(site.trace)], site.index, site.sample, site.unit, site.quantity == "h")

    located.sort(key=earliest)
    stories = [_story(run, mismatch, site, number) for mismatch, site in located[:MAX_STORIES]]
    return stories, len(located)


def _story(run: TraceRun, mismatch: Mismatch, site: Site | None, number: Number) -> Story:
    if site is None:
        name = mismatch.ref.partition(".")[0]
        kind = getattr(run.model.find(name), "type", "")
        where = f"the output of the {kind} layer {name}" if kind else mismatch.ref
        verdict = "no single LSTM step makes this value (a Dense layer, or two halves merged)"
        return Story(mismatch, where, verdict, ())
    unit = _Unit(site, number)
    trace, u, b = site.trace, site.unit, site.sample
    record = unit.record
    steps = len(trace.steps)
    position = "its last step" if site.index == steps - 1 else f"step {site.index + 1} of {steps}"
    half = f" ({run.half(trace).removeprefix(', ')})" if run.half(trace) else ""
    quantity = "h" if site.quantity == "output" else site.quantity
    where = f"{quantity}[{u}] of layer {trace.layer.name}{half} at t = {record.t} ({position}), sample {b}"
    masked = record.masked is not None and bool(record.masked[b])
    if masked:
        zeroed = site.quantity == "output" and trace.layer.return_sequences  # and inside a bidirectional
        output = (
            "and inside a bidirectional layer that returns sequences the output is 0, as Keras 3 makes it"
            if zeroed and _bidirectional(run.model, trace.layer.name)
            else "and the output repeats the previous output (zeros before the first valid step)"
        )
        verdict = (
            "the step is masked for this sample, so it computes nothing: h and c carry over from the step "
            f"before, {output}"
        )
        return Story(mismatch, where, verdict, unit.pick("c", "h"))
    if quantity == "c":
        return _c_story(run, mismatch, where, unit)
    return _h_story(run, mismatch, where, unit)


def _needed(hand: float, factor: float, number: Number) -> str:
    """hand / factor, the value the other factor would need; a tiny factor can put it beyond any float."""
    quotient = float(hand) / float(factor)
    return number(quotient) if math.isfinite(quotient) else "a value beyond the largest float"


def _h_story(run: TraceRun, mismatch: Mismatch, where: str, unit: _Unit) -> Story:
    """h = o·act(c): if the hand c agrees, the difference is in o; if not, it is in c or before."""
    site, number = unit.site, unit.number
    u, act = site.unit, site.trace.layer.activation
    hand, o, c = mismatch.expected, unit.value("o"), unit.value("c")
    activated = float(_activated_c(site.trace, unit.record)[site.sample, u])
    act_c = _activation_parts(act, "c", unit.record.step.c[site.sample], u, number)[0]  # tanh(c[0]), ...
    tolerance = _tolerance(run.model, mismatch)
    hints = []
    if abs(hand - activated) <= tolerance and abs(o - 1) > tolerance:
        hints.append(
            f"{number(hand)} is {act_c}: as if the output gate o[{u}] = {number(o)} had been left out "
            "(h = o·act(c))"
        )
    if act != "linear" and abs(hand - o * c) <= tolerance:
        hints.append(f"{number(hand)} is o[{u}]·c[{u}]: as if {act} had not been applied to c[{u}]")
    hand_c = _hand_c(run, mismatch, site) if site.index == len(site.trace.steps) - 1 else None
    if hand_c is not None and abs(hand_c[1] - c) <= hand_c[2]:
        ref_c = hand_c[0]
        agreed = f"c[{u}] = {number(c)} agrees with your {ref_c}"
        if activated == 0:
            verdict = (
                f"{agreed}, and {act_c} = 0, so h[{u}] is 0 whatever o[{u}] is: "
                f"{number(hand)} cannot come from this c"
            )
            return Story(mismatch, where, verdict, unit.pick("h"), tuple(hints))
        verdict = (
            f"{agreed}, so hand and run part at o[{u}]: h[{u}] = {number(hand)} needs "
            f"o[{u}] = {_needed(hand, activated, number)}, and the run has o[{u}] = {number(o)}"
        )
        return Story(mismatch, where, verdict, unit.pick("h", "o", "z_o"), tuple(hints))
    if hand_c is not None:
        verdict = (
            f"c[{u}] differs too (your {hand_c[0]} is {number(hand_c[1])}, the run has {number(c)}), so hand "
            f"and run part at c[{u}] or before it"
        )
        lines = unit.pick("h", "c", "i", "f", "g", "z_i", "z_f", "z_g")
        return Story(mismatch, where, verdict, lines, tuple(hints))
    needs = []  # what one factor alone would have to be for the hand value
    if activated != 0:
        needs.append(f"o[{u}] = {_needed(hand, activated, number)} (the run has {number(o)})")
    if o != 0:
        needs.append(f"{act_c} = {_needed(hand, o, number)} (the run has {number(activated)})")
    verdict = f"h[{u}] = o[{u}]·{act_c}; {number(hand)} would need " + (
        " or ".join(needs) + f": check o[{u}] and c[{u}]" if needs else "a nonzero o and c: both are 0"
    )
    lines = unit.pick("h", "o", "c", "i", "f", "g", "z_o", "z_i", "z_f", "z_g")
    return Story(mismatch, where, verdict, lines, tuple(hints))


def _c_story(run: TraceRun, mismatch: Mismatch, where: str, unit: _Unit) -> Story:
    """c = f·c_prev + i·g: name the two terms, and the usual slips that give the hand value."""
    site, number = unit.site, unit.number
    u, b, act = site.unit, site.sample, site.trace.layer.activation
    i, f, g = unit.value("i"), unit.value("f"), unit.value("g")
    c_prev = float(unit.record.c_prev[b, u])
    z_g = unit.value("z_g")
    hand, tolerance = mismatch.expected, _tolerance(run.model, mismatch)
    kept, added = f * c_prev, i * g
    difference = hand - mismatch.actual
    verdict = (
        f"c[{u}] = f[{u}]·c_prev[{u}] + i[{u}]·g[{u}] = {number(kept)} + {_factor(added, number)}; "
        f"by hand it is {number(abs(difference))} {'more' if difference > 0 else 'less'}"
    )
    hints = []
    if kept != 0 and abs(hand - added) <= tolerance:
        hints.append(f"{number(hand)} is i[{u}]·g[{u}]: as if f[{u}]·c_prev[{u}] had been left out")
    if i != 1 and abs(hand - (kept + g)) <= tolerance:
        hints.append(
            f"{number(hand)} is f[{u}]·c_prev[{u}] + g[{u}]: as if the input gate i[{u}] had been left out"
        )
    if act != "linear" and abs(hand - (kept + i * z_g)) <= tolerance:
        hints.append(f"{number(hand)} uses z_g[{u}] for g[{u}]: as if {act} had not been applied to z_g[{u}]")
    lines = unit.pick("c", "i", "f", "g", "z_i", "z_f", "z_g")
    return Story(mismatch, where, verdict, lines, tuple(hints))


def _tolerance(model: Model, mismatch: Mismatch) -> float:
    found = _expected(model, mismatch.ref, mismatch.index)
    return found[1] if found else 0.0


def _hand_c(run: TraceRun, mismatch: Mismatch, site: Site) -> tuple[str, float, float] | None:
    """The hand value of the same unit's final c, when `expect:` gives one: (reference, value, tolerance)."""
    ref = f"{mismatch.ref.removesuffix('.h')}.c"  # lstm.h or lstm (the last output) → lstm.c
    found = _expected(run.model, ref, (site.sample, site.unit))
    if found is None:
        return None
    return f"{ref}[{site.sample}, {site.unit}]", found[0], found[1]
