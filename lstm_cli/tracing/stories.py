"""Why a value under `expect:` differs: the step it comes from, and where a hand calculation and the run
part, told with the arithmetic of that step and the usual slips that give the hand value."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from lstm_cli.engine import LayerTrace, Mismatch, StepRecord
from lstm_cli.model import BidirectionalLayer, Model

from .explain import Arithmetic, Number, activated_c, activation_parts, explain_unit, factor
from .run import TraceRun

MAX_STORIES = 5  # mismatches explained in full; the rest are listed by `--format json`


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
    activated = float(activated_c(site.trace, unit.record)[site.sample, u])
    act_c = activation_parts(act, "c", unit.record.step.c[site.sample], u, number)[0]  # tanh(c[0]), ...
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
        f"c[{u}] = f[{u}]·c_prev[{u}] + i[{u}]·g[{u}] = {number(kept)} + {factor(added, number)}; "
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
