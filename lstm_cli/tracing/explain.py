"""The arithmetic of each value: one unit of one step written out with its numbers, in the order the
step computes them (z, the gates, c, h). Numbers are written by a formatter that the caller passes in, so
that views and tests choose the precision."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lstm_cli.activations import get_activation
from lstm_cli.engine import LayerTrace, StepRecord
from lstm_cli.model import GATES, Array

MAX_TERMS = 8  # a longer dot product is written as its first terms, its last term and its sum
HEAD_TERMS = 3

Number = Callable[[float], str]  # how a number is written in the arithmetic, e.g. to 4 decimals


@dataclass(frozen=True)
class Arithmetic:
    """One value written out with its numbers: `c[2] = f[2]·c_prev[2] + i[2]·g[2] = 0·0 + 1·1 = 1`."""

    name: str  # "c[2]"
    value: float  # the engine's value
    text: str


def arithmetic_line(name: str, value: float, *parts: str, number: Number, note: str = "") -> Arithmetic:
    """`name = part = part = value`, leaving out a part that only repeats the one before it."""
    written = [name]
    for part in (*parts, number(value)):
        if part and part != written[-1]:
            written.append(part)
    return Arithmetic(name, float(value), " = ".join(written) + (f" {note}" if note else ""))


def factor(value: float, number: Number) -> str:
    text = number(value)
    return f"({text})" if text.startswith("-") else text


def dot_product(left: Array, right: Array, number: Number) -> tuple[str, bool]:
    """`1·2 + 0·1`; a long one as its first and last terms and its sum. True when it was shortened."""
    count = len(left)
    if count == 0:
        return "0", False

    def term(k: int) -> str:
        return f"{factor(left[k], number)}·{factor(right[k], number)}"

    if count <= MAX_TERMS:
        return " + ".join(term(k) for k in range(count)), False
    head = " + ".join(term(k) for k in range(HEAD_TERMS))
    total = float(left.astype(np.float64) @ right.astype(np.float64))
    return f"{head} + … {count - HEAD_TERMS - 1} more … + {term(count - 1)} = {number(total)}", True


@dataclass(frozen=True)
class Term:
    """One term of a sum, as a formula and with its numbers: `h_prev·U_f[:,2]` and `(0.5·0.1 + 0·2)`."""

    formula: str
    numbers: str


def _sum(terms: list[Term]) -> tuple[str, str]:
    """The formula and the numbers of `terms` added up."""
    return " + ".join(term.formula for term in terms), " + ".join(term.numbers for term in terms)


@dataclass(frozen=True)
class _At:
    """One unit of one sample at one step: what each line of its arithmetic reads."""

    trace: LayerTrace
    record: StepRecord
    b: int  # the sample
    u: int  # the unit
    number: Number

    def value(self, gate: str) -> float:
        return float(getattr(self.record.step, gate)[self.b, self.u])


def explain_unit(
    trace: LayerTrace, record: StepRecord, sample: int, unit: int, number: Number
) -> list[Arithmetic]:
    """Every value of one unit at one step, in the order the step computes them: z, gates, c, h."""
    at = _At(trace, record, sample, unit, number)
    if record.masked is not None and record.masked[sample]:
        return _carried(at)
    projection = trace.weights.projection
    projected = [] if projection is None or unit >= projection.shape[1] else [_projection_line(at)]
    return [
        *(_z_line(at, position, gate) for position, gate in enumerate(GATES)),
        *(_gate_line(at, position, gate) for position, gate in enumerate(GATES)),
        _c_line(at),
        _h_line(at),
        *projected,
    ]


def _carried(at: _At) -> list[Arithmetic]:
    """A masked step computes nothing: c and h are the state before it."""
    record, b, u = at.record, at.b, at.u
    note = "(masked: the step is skipped and the state carries over)"
    return [
        arithmetic_line(f"c[{u}]", record.c[b, u], f"c_prev[{u}]", number=at.number, note=note),
        arithmetic_line(f"h[{u}]", record.h[b, u], f"h_prev[{u}]", number=at.number, note=note),
    ]


def _z_terms(at: _At, position: int, gate: str) -> list[Term]:
    """The terms of z for one gate: the input's, the previous output's, and the bias if there is one.
    An option that adds to z adds its term here."""
    weights, b, u, number = at.trace.weights, at.b, at.u, at.number
    column = position * at.trace.layer.units + u
    x_part, x_long = dot_product(at.record.x[b], weights.kernel[:, column], number)
    h_part, _ = dot_product(at.record.h_prev[b], weights.recurrent_kernel[:, column], number)
    terms = [
        Term(f"x·W_{gate}[:,{u}]", f"({x_part})" if x_long else x_part),
        Term(f"h_prev·U_{gate}[:,{u}]", f"({h_part})"),
    ]
    if weights.bias is not None:
        terms.append(Term(f"b_{gate}[{u}]", factor(weights.bias[column], number)))
    layer, peepholes = at.trace.layer, weights.peepholes or {}
    if gate == "f" and layer.forget_bias:
        terms.append(Term(f"forget_bias {number(layer.forget_bias)}", factor(layer.forget_bias, number)))
    if gate in peepholes:  # i and f peek at c_prev, o at c_t
        c = at.record.c_prev if gate != "o" else at.record.step.c
        c_name = "c_prev" if gate != "o" else "c"
        p = factor(float(peepholes[gate][u]), number)
        terms.append(Term(f"p_{gate}[{u}]·{c_name}[{u}]", f"{p}·{factor(float(c[b, u]), number)}"))
    return terms


def _z_line(at: _At, position: int, gate: str) -> Arithmetic:
    column = position * at.trace.layer.units + at.u
    formula, numbers = _sum(_z_terms(at, position, gate))
    return arithmetic_line(
        f"z_{gate}[{at.u}]", at.record.step.z[at.b, column], formula, numbers, number=at.number
    )


def _gate_line(at: _At, position: int, gate: str) -> Arithmetic:
    layer, step, u, number = at.trace.layer, at.record.step, at.u, at.number
    value = getattr(step, gate)[at.b, u]
    if gate == "f" and layer.input_forget:
        return arithmetic_line(
            f"f[{u}]", value, f"1 − i[{u}]", f"1 − {factor(at.value('i'), number)}", number=number
        )
    activation = layer.activation if gate == "g" else layer.recurrent_activation
    z = step.z[at.b, position * layer.units : (position + 1) * layer.units]
    parts = clipped_parts(activation, f"z_{gate}", z, u, number, layer.activation_clip)
    return arithmetic_line(f"{gate}[{u}]", value, *parts, number=number)


def clipped_parts(
    name: str, label: str, values: Array, u: int, number: Number, clip: float | None
) -> tuple[str, str, str]:
    """activation_parts, of the input clipped to ±clip (activation_clip) when there is a clip."""
    if clip is None:
        return activation_parts(name, label, values, u, number)
    clipped = np.clip(values, -clip, clip)
    formula, explained, substituted = activation_parts(name, label, clipped, u, number)
    bound = f"±{number(clip)}"
    return (
        formula.replace(f"{label}[{u}]", f"clip({label}[{u}], {bound})", 1),
        explained,
        substituted if values[u] == clipped[u] else f"{substituted} (clipped from {number(values[u])})",
    )


def _c_terms(at: _At) -> list[Term]:
    """The terms of c: what the forget gate keeps of c_prev, and what the input gate lets in."""
    u, number = at.u, at.number
    i, f, g = (factor(at.value(gate), number) for gate in "ifg")
    c_prev = factor(float(at.record.c_prev[at.b, u]), number)
    return [Term(f"f[{u}]·c_prev[{u}]", f"{f}·{c_prev}"), Term(f"i[{u}]·g[{u}]", f"{i}·{g}")]


def _c_line(at: _At) -> Arithmetic:
    formula, numbers = _sum(_c_terms(at))
    value, clip = at.record.step.c[at.b, at.u], at.trace.layer.cell_clip
    if clip is None:
        return arithmetic_line(f"c[{at.u}]", value, formula, numbers, number=at.number)
    bound = f"±{at.number(clip)}"
    unclipped = at.value("f") * float(at.record.c_prev[at.b, at.u]) + at.value("i") * at.value("g")
    return arithmetic_line(
        f"c[{at.u}]",
        value,
        f"clip({formula}, {bound})",
        f"clip({numbers}, {bound})",
        f"clip({at.number(unclipped)}, {bound})",
        number=at.number,
    )


def _h_line(at: _At) -> Arithmetic:
    """h = o·act(c), written through act's own arithmetic where it has some (softmax)."""
    trace, record, b, u, number = at.trace, at.record, at.b, at.u, at.number
    layer = trace.layer
    name = layer.h_activation
    o = factor(at.value("o"), number)
    activated = float(activated_c(trace, record)[b, u])
    clip = layer.activation_clip
    formula, explained, substituted = clipped_parts(name, "c", record.step.c[b], u, number, clip)
    parts = [f"o[{u}]·{formula}"]
    if name != "linear":
        parts.append(f"{o}·({substituted})" if explained else f"{o}·{substituted}")
    parts.append(f"{o}·{factor(activated, number)}")
    if trace.weights.projection is None:
        return arithmetic_line(f"h[{u}]", record.step.h[b, u], *parts, number=number)
    unprojected = at.value("o") * activated
    return arithmetic_line(f"m[{u}]", unprojected, *parts, number=number, note="(h before the projection)")


def _projection_line(at: _At) -> Arithmetic:
    """h[u] = (o·act(c)) @ projection[:, u], over every unit, then proj_clip."""
    trace, record, b, u, number = at.trace, at.record, at.b, at.u, at.number
    assert trace.weights.projection is not None  # the caller checks
    unprojected = np.asarray(record.step.o[b] * activated_c(trace, record)[b])
    dot, long = dot_product(unprojected, trace.weights.projection[:, u], number)
    name = trace.layer.h_activation
    formula = f"(o·{name}(c)) @ projection[:,{u}]"
    parts = [formula, f"({dot})" if long else dot]
    clip = trace.layer.proj_clip
    if clip is not None:
        total = float(unprojected.astype(np.float64) @ trace.weights.projection[:, u].astype(np.float64))
        parts = [f"clip({formula}, ±{number(clip)})", f"clip({number(total)}, ±{number(clip)})"]
    return arithmetic_line(f"h[{u}]", record.step.h[b, u], *parts, number=number)


def activation_parts(name: str, label: str, values: Array, u: int, number: Number) -> tuple[str, str, str]:
    """`act(label[u])`, how it is computed ("" when that says nothing more), and it with its numbers.
    softmax and log_softmax act on all the units at once, shifted by the largest as they compute."""
    if name not in ("softmax", "log_softmax"):
        return f"{name}({label}[{u}])", "", f"{name}({number(values[u])})"
    wide = values.astype(np.float64)
    largest = float(wide.max())
    with np.errstate(over="ignore", under="ignore"):
        total = number(float(np.exp(wide - largest).sum()))
    shifted = f"{number(values[u])} − {factor(largest, number)}"
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


def activated_c(trace: LayerTrace, record: StepRecord) -> Array:
    """act(c_t) for the whole step, (batch, units): the reference activation, which the engine is held to
    (output_activation, of c clipped to ±activation_clip, where the layer says so)."""
    layer, c = trace.layer, record.step.c
    if layer.activation_clip is not None:
        c = np.clip(c, -layer.activation_clip, layer.activation_clip)
    return get_activation(layer.h_activation)(c)
