"""The chain rule of every gradient of one LSTM step, written out with its numbers:
`dc[1] = dh[1]·o[1]·(1 − tanh(c[1])²) + dc_next[1]·f_next[1] = 0.5·0.62·0.79 + 0.1·0.71 = 0.316`.

The lines follow backprop/cell.py's `lstm_step_backward`, in its names and in the order it computes them:
dh (and dm, h before a projection), do, dz_o, dc (and dc_in, past cell_clip), di, df, dg, dz_i, dz_f,
dz_g, dc_prev for each unit; then dx and dh_prev, which read every unit's dz. An activation's derivative
is one factor, written as a formula (`(1 − g[0]²)`) and substituted by its value. Each number is a
recorded one (the forward records, the backward table), so each line's arithmetic gives the value it
ends with, to the printed precision. The variant options add their terms where they enter.

Names: `dout` is what reaches h_t from the output at t; `dh_prev_next`, `dc_prev_next`, `dc_next` and
`f_next` are step t+1's dh_prev, dc_prev, dc and f; `dh_state` and `dc_state` what reaches the returned
states (the last step's only source after it)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lstm_cli.activations import get_activation
from lstm_cli.engine import StepArrays, stacked_steps
from lstm_cli.layers.lstm import GATES
from lstm_cli.model import Array, LstmLayer, LstmWeights
from lstm_cli.tracing.explain import Arithmetic, Number, arithmetic_line, dot_product, factor

from .activations import activation_backward, clip_passes, derivative
from .layers import CellTrace
from .recurrent import GATE_INDEX, StepTable

LEGEND = (
    "dout: what reaches h from the output at t; dh_state, dc_state: what reaches the returned states\n"
    "dh_prev_next, dc_prev_next, dc_next, f_next: the next step's dh_prev, dc_prev, dc and f (next as the\n"
    "layer runs: t + 1, or t - 1 under go_backwards and in a backward half)"
)


@dataclass(frozen=True)
class ChainStep:
    """One step of one sample, backwards: what each line of its chain rule reads."""

    layer: LstmLayer
    weights: LstmWeights
    steps: StepArrays  # the forward records, processing order
    table: StepTable  # the backward's
    k: int  # the step, in processing order
    b: int  # the sample
    number: Number

    @property
    def last(self) -> bool:
        return self.k == len(self.steps.z) - 1

    def valid(self, k: int) -> bool:
        return self.steps.valid is None or bool(self.steps.valid[k, self.b])

    def gate(self, name: str) -> Array:
        """(units,): a gate after activation at this step."""
        return np.asarray(getattr(self.steps, name)[self.k, self.b])

    def z(self, name: str) -> Array:
        u = self.layer.units
        index = GATE_INDEX[name]
        return np.asarray(self.steps.z[self.k, self.b, index * u : (index + 1) * u])

    def dgate(self, name: str) -> Array:
        u = self.layer.units
        index = GATE_INDEX[name]
        return np.asarray(self.table.dgates[self.k, self.b, index * u : (index + 1) * u])

    def dz(self, name: str) -> Array:
        u = self.layer.units
        index = GATE_INDEX[name]
        return np.asarray(self.table.dz[self.k, self.b, index * u : (index + 1) * u])

    def f(self, value: float) -> str:
        return factor(float(value), self.number)


def _slope_formula(name: str, x: str, y: str) -> str:
    """activation'(x) as a formula, in the output y where that is how it is known."""
    if name == "tanh":
        return f"(1 − {y}²)"
    if name == "sigmoid":
        return f"({y}·(1 − {y}))"
    return f"{name}'({x})"


@dataclass(frozen=True)
class _Through:
    """dL/dx = dL/dy·activation'(x) at one unit: the activation, its input and output by name and value."""

    name: str
    x_label: str  # "z_g[0]", "c[1]"
    y_label: str  # "g[0]", "tanh(c[1])"
    dy_name: str  # the vector dL/dy, for softmax's sum: "dg", "dh·o"
    y_name: str  # the vector y: "g", "softmax(c)"
    x: Array  # the whole vector, as the activation read it (after activation_clip)
    y: Array
    bound: float | None  # activation_clip
    unclipped: Array  # x before activation_clip


def _through(
    step: ChainStep, act: _Through, u: int, factors: list[tuple[str, float]], dy: Array
) -> tuple[str, str, float]:
    """The formula and numbers of dL/dx[u] from dL/dy = the product of `factors` (dy, the whole vector,
    for softmax's sum), and its value."""
    labels = "·".join(label for label, _ in factors)
    numbers = "·".join(step.f(value) for _, value in factors)
    if act.name in ("softmax", "log_softmax"):
        y_u = float(act.y[u])
        if act.name == "softmax":
            total = float(np.sum(dy * act.y))
            formula = f"{act.y_label}·({labels} − Σ {act.dy_name}·{act.y_name})"
            substituted = f"{step.f(y_u)}·({numbers} − {step.f(total)})"
        else:
            total = float(np.sum(dy))
            formula = f"{labels} − exp({act.y_label})·Σ {act.dy_name}"
            substituted = f"{numbers} − {step.f(float(np.exp(y_u)))}·{step.f(total)}"
        value = float(activation_backward(act.name, act.x, act.y, dy)[u])
    else:
        slope = derivative(act.name, act.x, act.y)
        assert slope is not None
        formula = f"{labels}·{_slope_formula(act.name, act.x_label, act.y_label)}"
        substituted = f"{numbers}·{step.f(float(slope[u]))}"
        value = float(np.prod([v for _, v in factors]) * slope[u])
    passes = clip_passes(act.unclipped, act.bound)
    if passes is not None and act.bound is not None:
        formula = f"({formula})·[|{act.x_label}| ≤ {step.number(act.bound)}]"
        substituted = f"({substituted})·{int(passes[u])}"
        value *= float(passes[u])
    return formula, substituted, value


def _gate_activation(step: ChainStep, gate: str, u: int) -> _Through:
    layer = step.layer
    name = layer.activation if gate == "g" else layer.recurrent_activation
    z = step.z(gate)
    bound = layer.activation_clip
    clipped = z if bound is None else np.clip(z, -bound, bound)
    return _Through(
        name, f"z_{gate}[{u}]", f"{gate}[{u}]", f"d{gate}", gate, clipped, step.gate(gate), bound, z
    )


def _c_activation(step: ChainStep, u: int, dy_name: str) -> _Through:
    """h's activation of c ("tanh(c)"), as h read it."""
    layer = step.layer
    name, bound = layer.h_activation, layer.activation_clip
    c = np.asarray(step.steps.c[step.k, step.b])
    clipped = c if bound is None else np.clip(c, -bound, bound)
    y = get_activation(name)(clipped)
    x_label = f"c[{u}]" if bound is None else f"clip(c[{u}], ±{step.number(bound)})"
    return _Through(name, f"c[{u}]", f"{name}({x_label})", dy_name, f"{name}(c)", clipped, y, bound, c)


def _dm(step: ChainStep) -> tuple[Array, Array] | None:
    """With a projection, (dh where proj_clip let h through, dm = that @ projectionᵀ): dL/d(o·tanh(c))."""
    projection = step.weights.projection
    if projection is None:
        return None
    dh = np.asarray(step.table.dh[step.k, step.b])
    m = step.gate("o") * _c_activation(step, 0, "").y
    passes = clip_passes(m @ projection, step.layer.proj_clip)
    passed = dh if passes is None else dh * passes
    return passed, passed @ projection.T


def _carried(step: ChainStep, part: str, u: int) -> tuple[str, float]:
    """What step t+1 handed back to h or c (its dh_prev, dc_prev), or at the last step the returned
    state's gradient: its name and value."""
    table, k, b = step.table, step.k, step.b
    if step.last:
        state = table.dh_state if part == "h" else table.dc_state
        return f"d{part}_state[{u}]", float(state[b, u])
    previous = table.dh_prev if part == "h" else table.dc_prev
    return f"d{part}_prev_next[{u}]", float(previous[k + 1, b, u])


def explain_unit_backward(step: ChainStep, u: int) -> list[Arithmetic]:
    """Every gradient of unit u at one step, in the order lstm_step_backward computes them."""
    if not step.valid(step.k):
        return _masked_unit(step, u)
    table, k, b, number = step.table, step.k, step.b, step.number
    lines: list[Arithmetic] = []
    if u < table.dh.shape[-1]:
        carried, carried_value = _carried(step, "h", u)
        dout = float(table.dh_out[k, b, u])
        numbers = f"{step.f(dout)} + {step.f(carried_value)}"
        lines.append(
            arithmetic_line(f"dh[{u}]", table.dh[k, b, u], f"dout[{u}] + {carried}", numbers, number=number)
        )
    dm_label, dm = "dh", np.asarray(table.dh[k, b])
    projected = _dm(step)
    if projected is not None:
        lines.append(_dm_line(step, u, *projected))
        dm_label, dm = "dm", projected[1]
    act = _c_activation(step, u, f"{dm_label}·o")
    do = float(step.dgate("o")[u])
    do_numbers = f"{step.f(float(dm[u]))}·{step.f(float(act.y[u]))}"
    lines.append(arithmetic_line(f"do[{u}]", do, f"{dm_label}[{u}]·{act.y_label}", do_numbers, number=number))
    lines.append(_dz_line(step, "o", u))
    lines.append(_dc_line(step, u, act, dm_label, dm))
    dc_label = "dc"
    if step.layer.cell_clip is not None:
        lines.append(_dc_in_line(step, u))
        dc_label = "dc_in"
    lines.extend(_gate_lines(step, u, dc_label))
    lines.extend(_dz_line(step, gate, u) for gate in "ifg")
    lines.append(_dc_prev_line(step, u, dc_label))
    return lines


def _dm_line(step: ChainStep, u: int, passed: Array, dm: Array) -> Arithmetic:
    """dm[u] = dh·projection[u,:], where h = proj_clip((o·tanh(c)) @ projection)."""
    assert step.weights.projection is not None  # the caller checks
    dot, long = dot_product(passed, step.weights.projection[u], step.number)
    clip = step.layer.proj_clip
    act = step.layer.h_activation
    dh = "dh" if clip is None else f"(dh where |(o·{act}(c)) @ projection| ≤ {step.number(clip)})"
    return arithmetic_line(
        f"dm[{u}]",
        dm[u],
        f"{dh}·projection[{u},:]",
        f"({dot})" if long else dot,
        number=step.number,
        note=f"(m is o·{act}(c), h before the projection)",
    )


def _dz_line(step: ChainStep, gate: str, u: int) -> Arithmetic:
    """dz[u] = d(gate)[u]·activation'(z[u]): the gradient before the gate's activation."""
    value = float(step.dz(gate)[u])
    if gate == "f" and step.layer.input_forget:
        note = "(input_forget: f is 1 − i, with no z_f of its own; df reached z_i through di)"
        return arithmetic_line(f"dz_f[{u}]", value, number=step.number, note=note)
    dgate = step.dgate(gate)
    formula, numbers, _ = _through(
        step, _gate_activation(step, gate, u), u, [(f"d{gate}[{u}]", float(dgate[u]))], dgate
    )
    forget_bias = step.layer.forget_bias
    note = f"(z_f includes forget_bias {step.number(forget_bias)})" if gate == "f" and forget_bias else ""
    return arithmetic_line(f"dz_{gate}[{u}]", value, formula, numbers, number=step.number, note=note)


def _dc_line(step: ChainStep, u: int, act: _Through, dm_label: str, dm: Array) -> Arithmetic:
    """dc = dh·o·tanh'(c) + what step t+1 hands back (+ dz_o·p_o with an output peephole)."""
    k, b = step.k, step.b
    o = step.gate("o")
    formula, numbers, _ = _through(
        step, act, u, [(f"{dm_label}[{u}]", float(dm[u])), (f"o[{u}]", float(o[u]))], dm * o
    )
    terms = [(formula, numbers)]
    peepholes = step.weights.peepholes or {}
    if "o" in peepholes:  # z_o read c_t
        terms.append(
            (f"dz_o[{u}]·p_o[{u}]", f"{step.f(float(step.dz('o')[u]))}·{step.f(float(peepholes['o'][u]))}")
        )
    plain_next = "i" not in peepholes and "f" not in peepholes and step.layer.cell_clip is None
    if not step.last and plain_next and step.valid(k + 1):  # step t+1's dc_prev is its dc·f
        dc_next, f_next = float(step.table.dc[k + 1, b, u]), float(step.steps.f[k + 1, b, u])
        terms.append((f"dc_next[{u}]·f_next[{u}]", f"{step.f(dc_next)}·{step.f(f_next)}"))
    else:
        carried, carried_value = _carried(step, "c", u)
        terms.append((carried, step.f(carried_value)))
    return _sum_line(f"dc[{u}]", step.table.dc[k, b, u], terms, step)


def _dc_in_line(step: ChainStep, u: int) -> Arithmetic:
    """cell_clip passes dc to f·c_prev + i·g only where it did not clip."""
    bound = step.layer.cell_clip
    assert bound is not None  # the caller checks
    k, b = step.k, step.b
    steps = step.steps
    unclipped = steps.f[k, b, u] * steps.c_prev[k, b, u] + steps.i[k, b, u] * steps.g[k, b, u]
    passes = int(abs(unclipped) <= bound)
    dc = float(step.table.dc[k, b, u])
    return arithmetic_line(
        f"dc_in[{u}]",
        dc * passes,
        f"dc[{u}]·[|f[{u}]·c_prev[{u}] + i[{u}]·g[{u}]| ≤ {step.number(bound)}]",
        f"{step.f(dc)}·{passes}",
        number=step.number,
        note="(cell_clip: the gates see dc only where c was not clipped)",
    )


def _gate_lines(step: ChainStep, u: int, dc_label: str) -> list[Arithmetic]:
    """di = dc·g, df = dc·c_prev, dg = dc·i (dc past cell_clip); with input_forget i takes −df too."""
    k, b, number, f = step.k, step.b, step.number, step.f
    dc = float(step.table.dc[k, b, u])
    if step.layer.cell_clip is not None:
        unclipped = step.steps.f[k, b, u] * step.steps.c_prev[k, b, u] + step.gate("i")[u] * step.gate("g")[u]
        dc *= float(abs(unclipped) <= step.layer.cell_clip)
    i, g, c_prev = float(step.gate("i")[u]), float(step.gate("g")[u]), float(step.steps.c_prev[k, b, u])
    d = f"{dc_label}[{u}]"
    if step.layer.input_forget:
        di = arithmetic_line(
            f"di[{u}]",
            step.dgate("i")[u],
            f"{d}·g[{u}] − {d}·c_prev[{u}]",
            f"{f(dc)}·{f(g)} − {f(dc)}·{f(c_prev)}",
            number=number,
            note="(input_forget: f is 1 − i, so i takes −df as well)",
        )
    else:
        di = arithmetic_line(f"di[{u}]", step.dgate("i")[u], f"{d}·g[{u}]", f"{f(dc)}·{f(g)}", number=number)
    return [
        di,
        arithmetic_line(
            f"df[{u}]", step.dgate("f")[u], f"{d}·c_prev[{u}]", f"{f(dc)}·{f(c_prev)}", number=number
        ),
        arithmetic_line(f"dg[{u}]", step.dgate("g")[u], f"{d}·i[{u}]", f"{f(dc)}·{f(i)}", number=number),
    ]


def _dc_prev_line(step: ChainStep, u: int, dc_label: str) -> Arithmetic:
    """dc_prev = dc·f, plus what the input and forget peepholes read of c_prev."""
    k, b, f = step.k, step.b, step.f
    dc = float(step.table.dc[k, b, u])
    if step.layer.cell_clip is not None:
        steps = step.steps
        unclipped = steps.f[k, b, u] * steps.c_prev[k, b, u] + steps.i[k, b, u] * steps.g[k, b, u]
        dc *= float(abs(unclipped) <= step.layer.cell_clip)
    terms = [(f"{dc_label}[{u}]·f[{u}]", f"{f(dc)}·{f(float(step.gate('f')[u]))}")]
    for gate, peephole in (step.weights.peepholes or {}).items():
        if gate != "o":  # z_i and z_f read c_prev
            dz = float(step.dz(gate)[u])
            terms.append((f"dz_{gate}[{u}]·p_{gate}[{u}]", f"{f(dz)}·{f(float(peephole[u]))}"))
    return _sum_line(f"dc_prev[{u}]", step.table.dc_prev[k, b, u], terms, step)


def _masked_unit(step: ChainStep, u: int) -> list[Arithmetic]:
    """A masked step computes nothing for this sample: its gradients pass back unchanged."""
    number = step.number
    note = "(masked: the step is skipped for this sample, and what reaches it passes back unchanged)"
    lines: list[Arithmetic] = []
    if u < step.table.dh.shape[-1]:
        lines.append(arithmetic_line(f"dh[{u}]", 0.0, number=number, note="(masked: its h is not used)"))
    lines.append(arithmetic_line(f"dc[{u}]", 0.0, number=number, note="(masked: its c is not used)"))
    carried, value = _carried(step, "c", u)
    lines.append(
        arithmetic_line(
            f"dc_prev[{u}]",
            step.table.dc_prev[step.k, step.b, u],
            carried,
            number(value),
            number=number,
            note=note,
        )
    )
    return lines


def explain_inputs_backward(step: ChainStep, rows: range) -> list[Arithmetic]:
    """dx[j] for every feature and dh_prev[j] for `rows` of h: each reads every unit's dz, gate by gate,
    through a row of the kernel (W) or the recurrent kernel (U)."""
    table, k, b, number = step.table, step.k, step.b, step.number
    lines: list[Arithmetic] = []
    features = table.dx.shape[-1]
    if not step.valid(k):
        note = "(masked: the step reads nothing of x)"
        lines.extend(
            arithmetic_line(f"dx[{j}]", table.dx[k, b, j], number=number, note=note) for j in range(features)
        )
        for j in rows:
            carried, value = _carried(step, "h", j)
            note = "(masked: passed back unchanged)"
            lines.append(
                arithmetic_line(
                    f"dh_prev[{j}]", table.dh_prev[k, b, j], carried, number(value), number=number, note=note
                )
            )
        return lines
    for name, weights, symbol, count, values in (
        ("dx", step.weights.kernel, "W", range(features), table.dx),
        ("dh_prev", step.weights.recurrent_kernel, "U", rows, table.dh_prev),
    ):
        for j in count:
            formulas, numbers = [], []
            for gate in GATE_INDEX:
                index, u = GATE_INDEX[gate], step.layer.units
                dot, _ = dot_product(step.dz(gate), weights[j, index * u : (index + 1) * u], number)
                formulas.append(f"dz_{gate}·{symbol}_{gate}[{j},:]")
                numbers.append(f"({dot})")
            lines.append(
                arithmetic_line(
                    f"{name}[{j}]", values[k, b, j], " + ".join(formulas), " + ".join(numbers), number=number
                )
            )
    return lines


WEIGHT_READS = {"kernel": "x", "recurrent_kernel": "h_prev", "bias": None}  # dw = Σ read·dz
MAX_TERMS_SHOWN = 6


def weight_story(
    cells: list[CellTrace], ref: str, index: tuple[int, ...], number: Number, hand: float | None = None
) -> list[str]:
    """Why an LSTM weight's gradient is what it is: the sum over steps and samples of what the weight read
    times dz, term by term, and the chain rule of the largest term's dz, with the lines whose value is the
    `hand` one. Empty for any other array."""
    prefix, _, weight = ref.rpartition(".")
    found = [cell for cell in cells if prefix in _cell_prefixes(cell)]
    if weight not in WEIGHT_READS or not found or found[0].gradients.table is None:
        return []
    cell, table = found[0], found[0].gradients.table
    steps = stacked_steps(cell.forward.steps)
    units, column = cell.forward.layer.units, index[-1]
    gate, u = GATES[column // units], column % units
    read = WEIGHT_READS[weight]
    values = np.ones(table.dz.shape[:2]) if read is None else getattr(steps, read)[:, :, index[0]]
    terms = values * table.dz[:, :, column]  # (steps, batch)
    factor_name = "" if read is None else f"{read}[{index[0]}]·"
    where = "".join(f"[{i}]" for i in index)
    lines = [
        f"{ref}{where} is Σ over steps and samples of {factor_name}dz_{gate}[{u}] (gate {gate}, unit {u}):"
    ]
    shown = [(k, b) for k, b in np.ndindex(terms.shape) if terms[k, b] != 0][:MAX_TERMS_SHOWN]
    for k, b in shown:
        product = f"{factor(float(values[k, b]), number)}·" if read is not None else ""
        term = f"{product}{factor(float(table.dz[k, b, column]), number)}"
        product_value = f" = {number(float(terms[k, b]))}" if read is not None else ""
        lines.append(f"  t = {int(steps.t[k])}, sample {b}: {term}{product_value}")
    more = int(np.count_nonzero(terms)) - len(shown)
    lines.append(f"  {'… ' + str(more) + ' more, ' if more > 0 else ''}in all {number(float(terms.sum()))}")
    if shown:
        k, b = np.unravel_index(int(np.argmax(np.abs(terms))), terms.shape)
        step = ChainStep(cell.forward.layer, cell.forward.weights, steps, table, int(k), int(b), number)
        wanted = {f"dz_{gate}", f"d{gate}", "dh", "dm"} | (set() if gate == "o" else {"dc", "dc_in"})
        chain = [line for line in explain_unit_backward(step, u) if line.name.partition("[")[0] in wanted]
        lines.append(f"  the largest term's dz_{gate}[{u}], at t = {int(steps.t[k])}, sample {int(b)}:")
        lines.extend(f"    {line.text}" for line in chain)
        lines.extend(
            f"  hint: {number(hand)} is {line.name} above: the hand chain may stop there"
            for line in chain
            if hand is not None and line.name != f"dz_{gate}[{u}]" and np.isclose(line.value, hand)
        )
    return lines


def _cell_prefixes(cell: CellTrace) -> tuple[str, ...]:
    """The key prefixes of a cell's weights: `NAME` for an lstm, `NAME.forward`, `NAME.backward` for the
    halves of a bidirectional one."""
    name, direction = cell.forward.layer.name, cell.forward.direction
    return (f"{name}.{direction}", name) if direction == "forward" else (f"{name}.{direction}",)


def _sum_line(name: str, value: float, terms: list[tuple[str, str]], step: ChainStep) -> Arithmetic:
    """`name = a + b = 1·2 + 3 = value`: each term's formula, then its numbers."""
    formula, numbers = (" + ".join(term[part] for term in terms) for part in (0, 1))
    return arithmetic_line(name, value, formula, numbers, number=step.number)
