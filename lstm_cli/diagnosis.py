"""The mistakes ports are known to make, tried one at a time (SPEC §9).

Pure: models and values in, data out. Each `Hypothesis` is "B computes what A would compute with this
change": it changes one recurrent layer of A, or what that layer returns. `diagnose` runs A changed each way
and compares what it gives with B's values, listing the hypotheses best first and stopping at the first that
agrees within tolerance.

Three ways, by what B gives:
- B a model, run beside A (its steps' x, h_prev, c_prev, c and h known): each layer is tried alone on B's
  own input to it, so a port with one mistake in its second layer is found there. A change to the cell is
  first screened on B's first steps at once, each from B's own state (`lstm_step` on all of them); only one
  that agrees there runs the layer's sequence.
- Numbers of every recurrent layer's output: each layer alone on B's input to it, against B's outputs of it.
- Numbers of the final outputs alone: A is run from the changed layer on, reusing A's values before it;
  where every layer runs forwards in time, a hypothesis is first screened on the input's first steps.
When nothing agrees, the closest few are measured in full, so that the closest is named with its true
difference.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from itertools import permutations

import numpy as np

from .activations import get_activation
from .differences import ATOL, RTOL, abs_diff, beyond
from .engine import LayerTrace, StepArrays, lstm_step, merge_halves, run_model, stacked_steps, step_options
from .errors import LstmCliError
from .layers import owner_of
from .layers.lstm import LstmWeights, reorder_gates
from .model import Array, BidirectionalLayer, LstmLayer, Model
from .names import DIRECTIONS, half_ref, state_refs

KERAS_ORDER = "ifgo"
KNOWN_ORDERS = {"iofg": "ONNX", "igfo": "TF1 LSTMCell"}  # order → who writes the gate blocks so
ACTIVATION_NAMES = ("sigmoid", "hard_sigmoid", "hard_sigmoid_tf2", "tanh", "linear")

Recurrent = LstmLayer | BidirectionalLayer
CellChange = Callable[[LstmLayer], LstmLayer]
LayerChange = Callable[[Recurrent], Recurrent]
Values = Mapping[str, Array]
OutputChange = Callable[[Values], dict[str, Array]]


def _same(values: Values) -> dict[str, Array]:
    return dict(values)


@dataclass(frozen=True)
class Hypothesis:
    """One known mistake in one layer: A's layer as B computes it, and B's outputs from its own."""

    name: str
    layer: str
    change: LayerChange
    outputs: OutputChange = _same
    part: str = ""  # where one name covers two mistakes: state:swapped's "initial" or "returned"
    per_step: bool = False  # it changes only each step's arithmetic, so B's own steps can test it

    @property
    def changes_outputs(self) -> bool:
        """B returns what A returns, moved about (reversed, unflipped, swapped), rather than computing it
        differently: no model lstm-cli runs can make this mistake, only another runtime."""
        return self.outputs is not _same

    def apply(self, model: Model) -> Model:
        layers = tuple(
            self.change(layer) if layer.name == self.layer and isinstance(layer, Recurrent) else layer
            for layer in model.layers
        )
        return replace(model, layers=layers)


@dataclass(frozen=True)
class Finding:
    hypothesis: str
    layer: str
    max_abs_diff: float  # the largest |A changed - B| over the values compared
    agrees: bool
    part: str = ""

    def document(self) -> dict[str, object]:
        document: dict[str, object] = {"hypothesis": self.hypothesis, "layer": self.layer}
        if self.part:  # which half, or which of state:swapped's two mistakes
            document["part"] = self.part
        return document | {"max_abs_diff": self.max_abs_diff, "agrees": self.agrees}


# -- the changes ---------------------------------------------------------------------------------------


def _each_cell(change: CellChange) -> LayerChange:
    """The change to an LSTM, or to both halves of a bidirectional layer."""

    def changed(layer: Recurrent) -> Recurrent:
        if isinstance(layer, BidirectionalLayer):
            return replace(layer, forward=change(layer.forward), backward=change(layer.backward))
        return change(layer)

    return changed


def _weights(change: Callable[[LstmWeights], LstmWeights]) -> CellChange:
    def changed(layer: LstmLayer) -> LstmLayer:
        return layer if layer.weights is None else replace(layer, weights=change(layer.weights))

    return changed


def gate_blocks(array: Array, order: str) -> Array:
    """Gate blocks along the last axis rearranged so that block k holds gate order[k] of `array`."""
    return reorder_gates(array, [KERAS_ORDER.index(gate) for gate in order])


def inverse_order(order: str) -> str:
    """The order that puts blocks rearranged by `order` back: gate_blocks(gate_blocks(w, o), inverse) == w."""
    return "".join(KERAS_ORDER[order.index(gate)] for gate in KERAS_ORDER)


def _gate_order(order: str) -> CellChange:
    def change(w: LstmWeights) -> LstmWeights:
        bias = None if w.bias is None else gate_blocks(w.bias, order)
        kernel, recurrent = gate_blocks(w.kernel, order), gate_blocks(w.recurrent_kernel, order)
        return replace(w, kernel=kernel, recurrent_kernel=recurrent, bias=bias)

    return _weights(change)


def reshaped(array: Array) -> Array:
    """What reshaping PyTorch's (4u, n) weight, the transpose of `array`, to Keras's (n, 4u) gives."""
    return np.ascontiguousarray(array.T).reshape(array.shape)


def unreshaped(array: Array) -> Array:
    """The Keras weight that `reshaped` turned into `array`."""
    return np.ascontiguousarray(array.reshape(array.shape[::-1]).T)


def _scaled_bias(factor: float) -> CellChange:
    return _weights(lambda w: replace(w, bias=None if w.bias is None else factor * w.bias))


def _set(field: str, value: str) -> CellChange:
    def change(cell: LstmLayer) -> LstmLayer:
        if field == "activation":
            return replace(cell, activation=value)
        return replace(cell, recurrent_activation=value)

    return change


def _cell_changes(layer: LstmLayer) -> Iterator[tuple[str, CellChange]]:
    """The cell's hypotheses, simplest first."""
    for perm in permutations(KERAS_ORDER):
        order = "".join(perm)
        if order != KERAS_ORDER:
            yield f"gate_order:{order}", _gate_order(order)
    if layer.use_bias and layer.weights is not None and layer.weights.bias is not None:
        yield "bias:twice", _scaled_bias(2.0)
        yield "bias:none", _scaled_bias(0.0)
    yield "forget_bias:+1", lambda cell: replace(cell, forget_bias=cell.forget_bias + 1.0)
    for field in ("recurrent_activation", "activation"):
        for name in ACTIVATION_NAMES:
            if name != getattr(layer, field):
                yield f"{field}:{name}", _set(field, name)
    yield "kernel:reshaped", _weights(lambda w: replace(w, kernel=reshaped(w.kernel)))
    yield (
        "recurrent_kernel:reshaped",
        _weights(lambda w: replace(w, recurrent_kernel=reshaped(w.recurrent_kernel))),
    )


def swap_halves(layer: Recurrent) -> Recurrent:
    """A bidirectional layer with its halves' weights exchanged."""
    if not isinstance(layer, BidirectionalLayer):
        return layer
    forward = replace(layer.forward, weights=layer.backward.weights)
    backward = replace(layer.backward, weights=layer.forward.weights)
    return replace(layer, forward=forward, backward=backward)


def flip_backwards(layer: Recurrent) -> Recurrent:
    """An LSTM with go_backwards the other way."""
    if isinstance(layer, BidirectionalLayer):
        return layer
    return replace(layer, go_backwards=not layer.go_backwards)


def swap_initial_state(layer: Recurrent) -> Recurrent:
    """An LSTM whose h_0 and c_0 are given each other's value."""
    if isinstance(layer, BidirectionalLayer) or layer.initial_state is None:
        return layer
    state = layer.initial_state
    return replace(layer, initial_state=replace(state, h=state.c, c=state.h))


def _halves(layer: Recurrent) -> LayerChange:
    """The layer with its halves returned apart, for an output change that merges them itself."""
    return lambda it: replace(it, merge_mode=None) if isinstance(it, BidirectionalLayer) else it


def _reversed_output(name: str) -> OutputChange:
    def change(values: Values) -> dict[str, Array]:
        return {**values, name: values[name][:, ::-1]}

    return change


def _unflipped(layer: BidirectionalLayer) -> OutputChange:
    """The backward half's sequence left in processing order when the halves merge."""
    forward_ref, backward_ref = (half_ref(layer.name, direction) for direction in DIRECTIONS)

    def change(values: Values) -> dict[str, Array]:
        y, y_rev = values[forward_ref], values[backward_ref][:, ::-1]
        if layer.merge_mode is None:
            return {**values, backward_ref: y_rev}
        return {**values, layer.name: merge_halves(layer.merge_mode, y, y_rev)}

    return change


def _one_half(direction: str, change: CellChange) -> LayerChange:
    """The change to one half of a bidirectional layer alone."""

    def changed(layer: Recurrent) -> Recurrent:
        if not isinstance(layer, BidirectionalLayer):
            return layer
        if direction == "forward":
            return replace(layer, forward=change(layer.forward))
        return replace(layer, backward=change(layer.backward))

    return changed


def _concatenated_backward_first(layer: BidirectionalLayer) -> OutputChange:
    """The halves concatenated the other way round: the backward half's units first."""
    forward_ref, backward_ref = (half_ref(layer.name, direction) for direction in DIRECTIONS)

    def change(values: Values) -> dict[str, Array]:
        return {**values, layer.name: merge_halves("concat", values[backward_ref], values[forward_ref])}

    return change


def _returned_states_swapped(layer: Recurrent) -> OutputChange:
    owners = (
        [half_ref(layer.name, d) for d in DIRECTIONS]
        if isinstance(layer, BidirectionalLayer)
        else [layer.name]
    )

    def change(values: Values) -> dict[str, Array]:
        swapped = dict(values)
        for owner in owners:
            h_ref, c_ref = state_refs(owner)
            swapped[h_ref], swapped[c_ref] = values[c_ref], values[h_ref]
        return swapped

    return change


def _identity(layer: Recurrent) -> Recurrent:
    return layer


def _layer_hypotheses(layer: Recurrent) -> Iterator[Hypothesis]:
    """Every hypothesis for one layer, in SPEC §9's order."""
    cell = layer.forward if isinstance(layer, BidirectionalLayer) else layer
    name = layer.name
    for hypothesis, change in _cell_changes(cell):
        yield Hypothesis(hypothesis, name, _each_cell(change), per_step=True)
    if isinstance(layer, BidirectionalLayer):
        yield Hypothesis("bidirectional:swapped", name, swap_halves, per_step=True)
        if layer.merge_mode == "concat":
            yield Hypothesis(
                "bidirectional:swapped",
                name,
                _halves(layer),
                _concatenated_backward_first(layer),
                part="concatenated",
            )
        if layer.return_sequences:
            yield Hypothesis("bidirectional:unflipped", name, _halves(layer), _unflipped(layer))
        for direction in DIRECTIONS:  # a mistake made in one half alone, as a port written half by half can
            for hypothesis, change in _cell_changes(cell):
                yield Hypothesis(
                    hypothesis, name, _one_half(direction, change), part=direction, per_step=True
                )
    else:
        if layer.return_sequences:
            yield Hypothesis("time:reversed_output", name, _identity, _reversed_output(name))
        yield Hypothesis("time:go_backwards", name, flip_backwards)
        if layer.initial_state is not None:
            yield Hypothesis("state:swapped", name, swap_initial_state, part="initial")
    if layer.return_state and cell.output_units == cell.units:
        yield Hypothesis("state:swapped", name, _identity, _returned_states_swapped(layer), part="returned")


def _recurrent(model: Model) -> list[Recurrent]:
    """The recurrent layers with weights, in the order they run."""
    found: list[Recurrent] = []
    for layer in model.layers:
        if isinstance(layer, LstmLayer | BidirectionalLayer):
            cell = layer.forward if isinstance(layer, BidirectionalLayer) else layer
            if cell.weights is not None:
                found.append(layer)
    return found


def hypotheses(model: Model) -> Iterator[Hypothesis]:
    """Every hypothesis for every recurrent layer with weights, layer by layer in the model's order."""
    for layer in _recurrent(model):
        yield from _layer_hypotheses(layer)


# -- trying them ---------------------------------------------------------------------------------------


def _alone(model: Model, name: str) -> tuple[Model, set[str]]:
    """The model up to layer `name`, and the recurrent layers before it, whose values are given rather than
    run (the layers without weights of their own in between run again, which is cheap, and gives the
    masks)."""
    position = next(k for k, layer in enumerate(model.layers) if layer.name == name)
    upto = model.layers[: position + 1]
    skip = {layer.name for layer in upto[:-1] if isinstance(layer, LstmLayer | BidirectionalLayer)}
    return replace(model, layers=upto), skip


def _layer_run(model: Model, name: str, known: Values) -> dict[str, Array]:
    """Every value after running layer `name` alone, on `known` values for the recurrent layers before it."""
    truncated, skip = _alone(model, name)
    return run_model(truncated, known=known, skip=skip).values


def _layer_traces(model: Model, name: str, known: Values) -> list[LayerTrace]:
    """The traces of layer `name` run alone on `known` values."""
    truncated, skip = _alone(model, name)
    return run_model(truncated, known=known, skip=skip, record=lambda recorded: recorded == name).traces


def _run_from(model: Model, hypothesis: Hypothesis, values_a: Values) -> dict[str, Array]:
    """A's values with `hypothesis` made in its layer: that layer run on A's values, and the rest after it."""
    changed = hypothesis.outputs(_layer_run(hypothesis.apply(model), hypothesis.layer, values_a))
    position = next(k for k, layer in enumerate(model.layers) if layer.name == hypothesis.layer)
    done = {
        layer.name
        for layer in model.layers[: position + 1]
        if isinstance(layer, LstmLayer | BidirectionalLayer)
    }
    return run_model(model, known=changed, skip=done).values


def planted_values(model: Model, hypothesis: Hypothesis) -> dict[str, Array]:
    """The model's outputs as B computes them if it made `hypothesis`'s mistake."""
    values = _run_from(model, hypothesis, run_model(model).values)
    return {ref: values[ref] for ref in model.outputs}


def _distance(
    values: Values, b_values: Values, refs: list[str], tolerance: tuple[float, float]
) -> tuple[float, bool]:
    """The largest |A - B| over `refs`, and whether every value is within tolerance."""
    largest, within = 0.0, True
    for ref in refs:
        value_a, value_b = values.get(ref), b_values[ref]
        if value_a is None or value_a.shape != value_b.shape:
            return float("inf"), False
        largest = max(largest, float(abs_diff(value_a, value_b).max(initial=0.0)))
        within = within and not bool(beyond(value_a, value_b, *tolerance).any())
    return largest, within


def _tried(
    run: Callable[[], Values], b_values: Values, refs: list[str], tolerance: tuple[float, float]
) -> tuple[float, bool]:
    try:
        return _distance(run(), b_values, refs, tolerance)
    except LstmCliError:  # the change overflowed: it is not what B computes
        return float("inf"), False


Attempt = Callable[[Hypothesis], tuple[float, bool]]  # → the largest |A changed - B|, and whether they agree
Screen = Callable[[Hypothesis], tuple[float, bool] | None]  # a cheaper test, None where it does not apply
CLOSEST = 3  # hypotheses measured in full when none agrees, so that the closest is named with its difference


def _try_layer(candidates: Iterator[Hypothesis], screen: Screen, attempt: Attempt) -> list[Finding]:
    """The findings of one layer's hypotheses, in order, up to the first that agrees. A hypothesis that the
    screen rules out is not run in full; when none agrees, the closest few are, for their true difference."""
    tried: list[tuple[Hypothesis, Finding]] = []
    screened: list[int] = []
    for hypothesis in candidates:
        result = screen(hypothesis)
        if result is not None and not result[1]:
            screened.append(len(tried))
        else:
            result = attempt(hypothesis)
        tried.append((hypothesis, _finding(hypothesis, *result)))
        if result[1]:
            return [finding for _, finding in tried]
    for index in sorted(screened, key=lambda k: tried[k][1].max_abs_diff)[:CLOSEST]:
        hypothesis = tried[index][0]
        tried[index] = (hypothesis, _finding(hypothesis, *attempt(hypothesis)))
    return [finding for _, finding in tried]


def _finding(hypothesis: Hypothesis, diff: float, agrees: bool) -> Finding:
    return Finding(hypothesis.name, hypothesis.layer, diff, agrees, hypothesis.part)


States = Mapping[tuple[str, str], StepArrays]  # (layer, direction) → its steps as B ran them


def diagnose(
    a: Model,
    values_a: Values,
    values_b: Values,
    *,
    states_b: States | None = None,
    rtol: float = RTOL,
    atol: float = ATOL,
) -> list[Finding]:
    """The hypotheses tried, best first: those that agree, then the closest. `values_a` is A's run;
    `values_b` holds B's values under A's references, and `states_b`, when B is a model, its recurrent
    layers' states at each step, under A's names. [] when they agree, or when B is a model and every
    recurrent layer agrees step by step (then no known mistake explains the difference)."""
    tolerance = (rtol, atol)
    layers = _recurrent(a)
    outputs_of = {layer.name: list(owner_of(layer).output_refs(layer)) for layer in layers}
    if states_b is not None:
        findings = _layer_by_layer(a, layers, {**values_a, **values_b}, states_b, tolerance)
    elif all(ref in values_b for refs in outputs_of.values() for ref in refs):
        findings = _layer_outputs(a, layers, outputs_of, {**values_a, **values_b}, tolerance)
    else:
        findings = _from_outputs(a, layers, values_a, values_b, tolerance)
    return sorted(findings, key=lambda finding: (not finding.agrees, finding.max_abs_diff))


def _state_distance(
    run: Callable[[], list[LayerTrace]], states_b: States, tolerance: tuple[float, float]
) -> tuple[float, bool]:
    """The largest |A - B| of h and c over every step, and whether all are within tolerance."""
    try:
        traces = run()
    except LstmCliError:  # the change overflowed: it is not what B computes
        return float("inf"), False
    largest, within = 0.0, True
    for trace in traces:
        steps_a, steps_b = stacked_steps(trace.steps), states_b[trace.layer.name, trace.direction]
        pairs = zip(
            (steps_a.carried_h, steps_a.carried_c), (steps_b.carried_h, steps_b.carried_c), strict=True
        )
        for value_a, value_b in pairs:
            if value_a.shape != value_b.shape:
                return float("inf"), False
            largest = max(largest, float(abs_diff(value_a, value_b).max(initial=0.0)))
            within = within and not bool(beyond(value_a, value_b, *tolerance).any())
    return largest, within


def _cast(weights: LstmWeights, dtype: np.dtype) -> LstmWeights:
    bias = None if weights.bias is None else weights.bias.astype(dtype, copy=False)
    kernel, recurrent = (w.astype(dtype, copy=False) for w in (weights.kernel, weights.recurrent_kernel))
    return replace(weights, kernel=kernel, recurrent_kernel=recurrent, bias=bias)


SCREENED_STEPS = 8  # of B's steps, each from its own state: one beyond tolerance rules a change out


def _step_distance(layer: Recurrent, states_b: States, tolerance: tuple[float, float]) -> tuple[float, bool]:
    """`lstm_step` on B's first steps at once, each from B's own x, h_prev and c_prev: the largest |A - B|
    of the h and c they compute, and whether all are within tolerance. Where B makes the change, each step
    agrees; one that does not rules the change out without running the sequence."""
    halves = (
        zip(DIRECTIONS, (layer.forward, layer.backward), strict=True)
        if isinstance(layer, BidirectionalLayer)
        else [("forward", layer)]
    )
    largest, within = 0.0, True
    for direction, cell in halves:
        steps = states_b[layer.name, direction]
        assert cell.weights is not None  # a layer with weights: it ran
        x, h_prev, c_prev = (
            value[:SCREENED_STEPS].reshape(-1, value.shape[-1])
            for value in (steps.x, steps.h_prev, steps.c_prev)
        )
        activation, recurrent = get_activation(cell.activation), get_activation(cell.recurrent_activation)
        weights = _cast(cell.weights, x.dtype)  # computed in B's dtype, as B computed them
        with np.errstate(all="ignore"):
            step = lstm_step(x, h_prev, c_prev, weights, activation, recurrent, **step_options(cell))
        # a masked row's step is thrown away: B may have computed it from anything (a zeroed padding row)
        counted = True if steps.valid is None else steps.valid[:SCREENED_STEPS].reshape(-1, 1)
        for value_a, value_b in ((step.h, steps.h[:SCREENED_STEPS]), (step.c, steps.c[:SCREENED_STEPS])):
            value_b = value_b.reshape(value_a.shape)
            diff = np.where(counted, abs_diff(value_a, value_b), 0.0)
            largest = max(largest, float(diff.max(initial=0.0)))
            within = within and not bool((beyond(value_a, value_b, *tolerance) & counted).any())
    return largest, within


def _layer_by_layer(
    a: Model, layers: list[Recurrent], known: Values, states_b: States, tolerance: tuple[float, float]
) -> list[Finding]:
    """Each recurrent layer of A run alone on B's input to it (`known` holds B's values), its states held
    against B's step by step: the hypotheses of each layer that differs. A model B computes every value
    it returns, so the hypotheses that move outputs about are not tried. A hypothesis that changes only
    the cell is screened on all of B's steps at once, each from B's own state before it."""
    findings: list[Finding] = []

    def screen(hypothesis: Hypothesis) -> tuple[float, bool] | None:
        if not hypothesis.per_step:
            return None
        layer = a.layer(hypothesis.layer)
        assert isinstance(layer, LstmLayer | BidirectionalLayer)  # hypotheses change recurrent layers
        return _step_distance(hypothesis.change(layer), states_b, tolerance)

    def attempt(hypothesis: Hypothesis) -> tuple[float, bool]:
        def run() -> list[LayerTrace]:
            return _layer_traces(hypothesis.apply(a), hypothesis.layer, known)

        return _state_distance(run, states_b, tolerance)

    for layer in layers:
        if attempt(Hypothesis("", layer.name, _identity))[1]:
            continue
        candidates = (h for h in _layer_hypotheses(layer) if not h.changes_outputs)
        findings += _try_layer(candidates, screen, attempt)
    return findings


def _layer_outputs(
    a: Model,
    layers: list[Recurrent],
    outputs_of: dict[str, list[str]],
    known: Values,
    tolerance: tuple[float, float],
) -> list[Finding]:
    """Numbers that give every recurrent layer's outputs (`known` holds them over A's): each layer run
    alone on B's input to it and held against B's outputs of it, and the hypotheses of each that differs."""
    findings: list[Finding] = []
    for layer in layers:
        refs = outputs_of[layer.name]

        def attempt(hypothesis: Hypothesis, refs: list[str] = refs) -> tuple[float, bool]:
            def run() -> Values:
                return hypothesis.outputs(_layer_run(hypothesis.apply(a), hypothesis.layer, known))

            return _tried(run, known, refs, tolerance)

        if not attempt(Hypothesis("", layer.name, _identity))[1]:
            findings += _try_layer(_layer_hypotheses(layer), lambda hypothesis: None, attempt)
    return findings


PREFIX_STEPS = 8  # the steps a causal model's hypotheses are screened on, with B as numbers


def _from_outputs(
    a: Model, layers: list[Recurrent], values_a: Values, values_b: Values, tolerance: tuple[float, float]
) -> list[Finding]:
    """A changed one hypothesis at a time and run on from that layer, against B's outputs alone. Where
    every recurrent layer runs forwards in time, an output at step t depends on the input up to t: each
    hypothesis is screened on the input's first steps, and only one that agrees there is run in full."""
    refs = [ref for ref in values_b if ref in values_a]
    if _distance(values_a, values_b, refs, tolerance)[1]:
        return []

    def attempt(hypothesis: Hypothesis) -> tuple[float, bool]:
        return _tried(lambda: _run_from(a, hypothesis, values_a), values_b, refs, tolerance)

    screen = _prefix_screen(a, layers, values_a, values_b, tolerance)
    findings: list[Finding] = []
    for layer in layers:
        findings += _try_layer(_layer_hypotheses(layer), screen, attempt)
        if findings[-1].agrees:
            break
    return findings


def _prefix_screen(
    a: Model, layers: list[Recurrent], values_a: Values, values_b: Values, tolerance: tuple[float, float]
) -> Screen:
    """The screen on the first PREFIX_STEPS steps, for a model whose outputs at t read the input up to t."""
    timesteps = {spec.data.shape[1] for spec in a.inputs.values() if spec.data is not None}
    causal = len(a.inputs) == 1 and all(
        isinstance(layer, LstmLayer)
        and not layer.go_backwards
        and (layer.initial_state is None or not isinstance(layer.initial_state.h, str))  # not an encoder's
        for layer in layers
    )
    if not causal or len(timesteps) != 1 or (steps := timesteps.pop()) <= PREFIX_STEPS:
        return lambda hypothesis: None
    sequences = [
        ref
        for ref in values_b
        if ref in values_a and values_a[ref].ndim == 3 and values_a[ref].shape[1] == steps
    ]
    if not sequences:
        return lambda hypothesis: None
    inputs = {
        name: replace(spec, data=spec.data[:, :PREFIX_STEPS])
        for name, spec in a.inputs.items()
        if spec.data is not None
    }
    prefix = replace(a, inputs=inputs)
    prefix_a = run_model(prefix).values
    prefix_b = {ref: values_b[ref][:, :PREFIX_STEPS] for ref in sequences}

    def screen(hypothesis: Hypothesis) -> tuple[float, bool] | None:
        if hypothesis.name.startswith("time:"):  # reversing time reads the input's end
            return None
        return _tried(lambda: _run_from(prefix, hypothesis, prefix_a), prefix_b, sequences, tolerance)

    return screen
