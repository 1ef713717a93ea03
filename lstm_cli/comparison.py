"""Two models side by side: the same input through both, and where their numbers part (SPEC §9).

Pure: models in, data out. `match_layers` pairs the layers of A and B in Keras's order by type and shape;
`compare_models` runs both with records kept and finds, per matched recurrent layer, direction and timestep,
the largest difference of each of i, f, g, o, c, h, and the first difference beyond tolerance in the order
the engine computes them; `compare_numbers` holds A's outputs against numbers another runtime produced.
Both then ask the diagnosis which known porting mistake explains a difference.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .diagnosis import Finding, diagnose
from .differences import ATOL, RTOL, abs_diff, beyond
from .engine import LayerTrace, StepArrays, run_model, stacked_steps
from .errors import LstmCliError
from .graph import keras_layers
from .layers import owner_of
from .layers.lstm import GATES, STEP_QUANTITIES
from .model import (
    Array,
    BidirectionalLayer,
    DenseLayer,
    EmbeddingLayer,
    InputSpec,
    Layer,
    LstmLayer,
    MaskingLayer,
    Model,
    NoOpLayer,
)
from .names import DIRECTIONS, layer_of, ref_parts

QUANTITIES = STEP_QUANTITIES  # z is not compared


@dataclass(frozen=True)
class Match:
    """A layer of A and its counterpart in B."""

    a: Layer
    b: Layer


@dataclass(frozen=True)
class StepDiff:
    """The largest |A - B| of each quantity at one timestep, over the batch and the units."""

    t: int  # index into the input sequence; counts down under go_backwards
    diffs: dict[str, float]  # quantity → largest |A - B|


@dataclass(frozen=True)
class LayerDiff:
    a: str
    b: str
    direction: str
    steps: tuple[StepDiff, ...]


@dataclass(frozen=True)
class Difference:
    """The first value beyond tolerance, in processing order."""

    a_layer: str
    b_layer: str
    direction: str
    t: int | None  # None for a value without a time axis (B as numbers: a final state, a Dense output)
    quantity: str
    sample: int
    unit: int
    a: float
    b: float


@dataclass(frozen=True)
class Comparison:
    agree: bool
    max_abs_diff: float
    rtol: float
    atol: float
    layers: tuple[LayerDiff, ...]
    first_difference: Difference | None
    outputs: dict[str, float]  # A's output reference → largest |A - B|
    matches: tuple[Match, ...] = ()  # empty when B is numbers
    diagnosis: tuple[Finding, ...] = ()  # best first; empty when they agree
    numbers: bool = False  # B is numbers another runtime produced, not a model
    uncompared: tuple[str, ...] = ()  # A's outputs that B gives in another shape (a bidirectional's last)

    def document(self) -> dict[str, Any]:
        """The comparison as JSON data (SPEC §9); a difference that is no number (B gave NaN or inf, or a
        hypothesis overflowed) is null, as JSON has no inf."""
        return _finite(self._document())

    def _document(self) -> dict[str, Any]:
        first = self.first_difference
        return {
            "agree": self.agree,
            "max_abs_diff": self.max_abs_diff,
            "rtol": self.rtol,
            "atol": self.atol,
            "layers": [
                {
                    "a": layer.a,
                    "b": layer.b,
                    "direction": layer.direction,
                    "steps": [{"t": step.t, **step.diffs} for step in layer.steps],
                }
                for layer in self.layers
            ],
            "first_difference": None if first is None else dict(vars(first)),
            "outputs": dict(self.outputs),
            "diagnosis": [finding.document() for finding in self.diagnosis],
        }


def _finite(value: Any) -> Any:
    """`value` with every float that is inf or NaN made None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


def _skipped(layer: Layer) -> bool:
    """A layer without weights that does not change values: matched on neither side."""
    return isinstance(layer, MaskingLayer | NoOpLayer)


def _signature(model: Model, layer: Layer) -> tuple[object, ...]:
    """Type, units, directions, and the width of its (first) output. Whether it returns sequences or its
    states is left out: a PyTorch state_dict does not say, and nn.LSTM returns both."""
    owner = owner_of(layer)
    width = model.shapes[owner.output_refs(layer)[0]][-1]
    return owner.keras_class, getattr(layer, "units", None), owner.directions, width


def _describe(layer: Layer) -> str:
    kind = owner_of(layer).keras_class
    units = getattr(layer, "units", None)
    return f"'{layer.name}' ({kind}, {units} units)" if units is not None else f"'{layer.name}' ({kind})"


def match_layers(a: Model, b: Model) -> list[Match]:
    """A's layers and B's paired in Keras's order, by type and shape; masking and no-op layers are skipped
    on both sides. Raises naming the first layer without a counterpart."""
    left = [layer for layer in keras_layers(a) if not _skipped(layer)]
    right = [layer for layer in keras_layers(b) if not _skipped(layer)]
    matches: list[Match] = []
    for position in range(max(len(left), len(right))):
        here, there = left[position : position + 1], right[position : position + 1]
        if here and there and _signature(a, here[0]) == _signature(b, there[0]):
            matches.append(Match(here[0], there[0]))
            continue
        so_far = ", ".join(f"'{m.a.name}' = '{m.b.name}'" for m in matches) or "none"
        if here:
            message = f"B has no counterpart for A's layer {_describe(here[0])}"
        else:
            message = f"A has no counterpart for B's layer {_describe(there[0])}"
        raise LstmCliError(f"{message}; the layers matched so far: {so_far}")
    return matches


def with_input(model_b: Model, inputs_of_a: Mapping[str, InputSpec]) -> Model:
    """B with A's input data, input for input in order."""
    if len(inputs_of_a) != len(model_b.inputs):
        raise LstmCliError(f"A has {len(inputs_of_a)} inputs and B has {len(model_b.inputs)}")
    inputs = {
        name: replace(spec, data=given.data)
        for (name, spec), given in zip(model_b.inputs.items(), inputs_of_a.values(), strict=True)
    }
    return replace(model_b, inputs=inputs)


def _quantities(steps: StepArrays) -> dict[str, Array]:
    """The gates as each step computed them, and the c and h it carried on."""
    return {
        "i": steps.i,
        "f": steps.f,
        "g": steps.g,
        "o": steps.o,
        "c": steps.carried_c,
        "h": steps.carried_h,
    }


def _counted(a: StepArrays, b: StepArrays) -> Array | bool:
    """(steps, batch, 1): True where A's step or B's counted (was not masked); True without masks."""
    if a.valid is None and b.valid is None:
        return True
    valid = np.zeros(a.t.shape + (a.c.shape[1],), bool)
    for steps in (a, b):
        valid |= True if steps.valid is None else steps.valid
    return valid[..., np.newaxis]


def _compare_trace(
    match: Match, direction: str, a: LayerTrace, b: LayerTrace, rtol: float, atol: float
) -> tuple[LayerDiff, Difference | None]:
    """Every step's largest |A - B| per quantity, and the first value beyond tolerance: the earliest step,
    then the quantities in the order the step computes them, then sample and unit."""
    steps_a, steps_b = stacked_steps(a.steps), stacked_steps(b.steps)
    ts = [int(t) for t in steps_a.t]
    values_a, values_b = _quantities(steps_a), _quantities(steps_b)
    # A masked row's gates are computed and thrown away: they count only where A or B used them. Its
    # carried c and h count everywhere.
    counted = _counted(steps_a, steps_b)
    diffs, wrong = {}, {}
    for q in QUANTITIES:
        used = counted if q in GATES else True
        diffs[q] = np.where(used, abs_diff(values_a[q], values_b[q]), 0.0)
        wrong[q] = beyond(values_a[q], values_b[q], rtol, atol) & used
    largest = {q: diffs[q].reshape(len(ts), -1).max(axis=1, initial=0.0) for q in QUANTITIES}
    steps = tuple(StepDiff(t, {q: float(largest[q][k]) for q in QUANTITIES}) for k, t in enumerate(ts))
    found = [
        (k, n)
        for n, q in enumerate(QUANTITIES)
        for k in np.flatnonzero(wrong[q].reshape(len(ts), -1).any(axis=1))
    ]
    first = None
    if found:
        k, n = min(found)
        quantity = QUANTITIES[n]
        sample, unit = (int(index) for index in np.argwhere(wrong[quantity][k])[0])
        value_a, value_b = values_a[quantity][k, sample, unit], values_b[quantity][k, sample, unit]
        first = Difference(
            match.a.name,
            match.b.name,
            direction,
            ts[k],
            quantity,
            sample,
            unit,
            float(value_a),
            float(value_b),
        )
    return LayerDiff(match.a.name, match.b.name, direction, steps), first


def _directions(layer: Layer) -> Sequence[str]:
    return DIRECTIONS if isinstance(layer, BidirectionalLayer) else ("forward",)


def comparable(value_a: Array, value_b: Array) -> Array | None:
    """B's value shaped as A's, or None: where A returns only the last step (return_sequences false) and B,
    read from a state_dict, every step, A's is B's last."""
    if value_b.shape == value_a.shape:
        return value_b
    if value_b.ndim == value_a.ndim + 1 == 3 and value_b[:, -1].shape == value_a.shape:
        return value_b[:, -1]
    return None


def output_diffs(
    matches: Iterable[Match],
    a: Model,
    values_a: Mapping[str, Array],
    values_b: Mapping[str, Array],
    tolerance: tuple[float, float],
) -> dict[str, tuple[float, bool]]:
    """A's output references that B produces too (under its matched layer's name) → largest |A - B|, and
    whether any value is beyond tolerance (rtol, atol)."""
    renamed = {match.a.name: match.b.name for match in matches}
    halves = any(isinstance(match.a, BidirectionalLayer) for match in matches)
    diffs: dict[str, tuple[float, bool]] = {}
    for ref in a.outputs:
        layer, dot, rest = ref.partition(".")
        ref_b = renamed.get(layer, layer) + dot + rest
        if ref not in values_a or ref_b not in values_b:
            continue
        value_a, value_b = values_a[ref], values_b[ref_b]
        # a bidirectional layer's last output is not its sequence's last step: its halves end apart
        shaped = None if halves and value_b.shape != value_a.shape else comparable(value_a, value_b)
        if shaped is not None:
            outside = bool(beyond(value_a, shaped, *tolerance).any())
            diffs[ref] = float(abs_diff(value_a, shaped).max(initial=0.0)), outside
    return diffs


def renamed(values: Mapping[str, Array], matches: Iterable[Match]) -> dict[str, Array]:
    """B's values under A's references: `lstm_1.h` → `lstm.h` where A's `lstm` matched B's `lstm_1`."""
    names = {match.b.name: match.a.name for match in matches}
    return {
        names[layer] + dot + rest: value
        for ref, value in values.items()
        for layer, dot, rest in [ref.partition(".")]
        if layer in names
    }


def compare_models(
    a: Model, b: Model, *, rtol: float = RTOL, atol: float = ATOL, diagnosis: bool = True
) -> Comparison:
    """Run A, and B on A's input, compare every matched recurrent layer step by step, and, where they
    differ, try the known porting mistakes."""
    matches = match_layers(a, b)
    run_a, run_b = run_model(a, record=True), run_model(with_input(b, a.inputs), record=True)
    traces_a = {(trace.layer.name, trace.direction): trace for trace in run_a.traces}
    traces_b = {(trace.layer.name, trace.direction): trace for trace in run_b.traces}
    layers: list[LayerDiff] = []
    first: Difference | None = None
    for match in matches:
        if not isinstance(match.a, LstmLayer | BidirectionalLayer):
            continue
        for direction in _directions(match.a):
            trace_a, trace_b = traces_a[match.a.name, direction], traces_b[match.b.name, direction]
            layer, found = _compare_trace(match, direction, trace_a, trace_b, rtol, atol)
            layers.append(layer)
            first = first or found
    checked = output_diffs(matches, a, run_a.values, run_b.values, (rtol, atol))
    outputs = {ref: diff for ref, (diff, _) in checked.items()}
    largest = max(
        [diff for layer in layers for step in layer.steps for diff in step.diffs.values()]
        + list(outputs.values()),
        default=0.0,
    )
    if not layers and not checked:  # nothing compared must not read as agreeing
        raise LstmCliError(
            f"A and B share no recurrent layer and no output of the same shape: A's outputs are "
            f"{', '.join(a.outputs)}"
        )
    uncompared = tuple(ref for ref in a.outputs if ref in run_a.values and ref not in checked)
    values_b = renamed(run_b.values, matches)
    _refuse_unchecked(a, uncompared, run_a.values, values_b)
    agree = first is None and not any(beyond for _, beyond in checked.values())
    findings: tuple[Finding, ...] = ()
    if not agree and diagnosis:
        names = {match.b.name: match.a.name for match in matches}
        states_b = {
            (names[trace.layer.name], trace.direction): stacked_steps(trace.steps) for trace in run_b.traces
        }
        findings = tuple(diagnose(a, run_a.values, values_b, states_b=states_b, rtol=rtol, atol=atol))
    return Comparison(
        agree,
        largest,
        rtol,
        atol,
        tuple(layers),
        first,
        outputs,
        tuple(matches),
        findings,
        uncompared=uncompared,
    )


def _refuse_unchecked(
    a: Model, uncompared: Sequence[str], values_a: Mapping[str, Array], values_b: Mapping[str, Array]
) -> None:
    """An output that B does not give in A's shape, and whose steps are not compared either (a Dense's,
    say, after a bidirectional layer that returns its last output): nothing would say that it agrees."""
    recurrent = {layer.name for layer in a.layers if isinstance(layer, LstmLayer | BidirectionalLayer)}
    for ref in uncompared:
        if layer_of(ref) in recurrent:  # its steps are compared one by one
            continue
        given = values_b.get(ref)
        theirs = "gives none" if given is None else f"gives {_shape(given.shape)}"
        raise LstmCliError(
            f"A's output {ref!r} {_shape(values_a[ref].shape)} cannot be compared: B {theirs}, and no step "
            f"of it is compared; compare it with B's numbers for {ref!r} instead (a .npy or .npz)"
        )


def check_numbers(a: Model, numbers: Mapping[str, Array], values_a: Mapping[str, Array], where: str) -> None:
    """That B's numbers name A's references and have their shapes."""
    for ref, value in numbers.items():
        if ref not in values_a:
            known = ", ".join(values_a)
            raise LstmCliError(f"{where}: {ref!r} is not a reference of A; A gives {known}")
        if value.shape != values_a[ref].shape:
            shapes = f"{_shape(value.shape)} where A's has {_shape(values_a[ref].shape)}"
            raise LstmCliError(f"{where}: {ref!r} has shape {shapes}")


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(map(str, shape)) + ")"


def reversed_in_time(model: Model, ref: str) -> bool:
    """Whether a sequence reference runs against the input's time order: each LSTM with go_backwards on
    the way from the input returns its sequence in the order it processed it, last input first."""
    backwards = False
    layer = model.find(layer_of(ref))
    while layer is not None:
        if isinstance(layer, LstmLayer):
            backwards ^= layer.go_backwards
        layer = model.find(layer_of(layer.input))
    return backwards


def _first_in_time(
    ref: str, a: Array, b: Array, tolerance: tuple[float, float], backwards: bool
) -> Difference | None:
    """The first value of one output beyond tolerance: the earliest step processed first, for a sequence,
    named by its index into the input (`backwards`: the sequence runs last input first)."""
    wrong = beyond(a, b, *tolerance)
    if not wrong.any():
        return None
    layer, direction, quantity = ref_parts(ref)
    t: int | None
    if a.ndim == 3:
        position, sample, unit = (int(k) for k in np.argwhere(wrong.transpose(1, 0, 2))[0])
        index: tuple[int, ...] = (sample, position, unit)
        t = a.shape[1] - 1 - position if backwards else position
    else:
        t = None
        sample, unit = (int(k) for k in np.argwhere(wrong.reshape(len(a), -1))[0])
        index = (sample, unit)
    return Difference(
        layer, layer, direction or "forward", t, quantity, sample, unit, float(a[index]), float(b[index])
    )


def compare_numbers(
    a: Model,
    numbers: Mapping[str, Array],
    *,
    rtol: float = RTOL,
    atol: float = ATOL,
    diagnosis: bool = True,
    where: str = "B",
) -> Comparison:
    """A's values against numbers another runtime computed from the same input, keyed by A's references;
    `where` names them in errors (their file)."""
    values_a = run_model(a).values
    check_numbers(a, numbers, values_a, where)
    outputs: dict[str, float] = {}
    first: Difference | None = None
    for ref, value in numbers.items():
        outputs[ref] = float(abs_diff(values_a[ref], value).max(initial=0.0))
        backwards = reversed_in_time(a, ref)
        first = first or _first_in_time(ref, values_a[ref], value, (rtol, atol), backwards)
    agree = first is None
    findings = () if agree or not diagnosis else tuple(diagnose(a, values_a, numbers, rtol=rtol, atol=atol))
    largest = max(outputs.values(), default=0.0)
    return Comparison(agree, largest, rtol, atol, (), first, outputs, (), findings, numbers=True)


def seeded_input(model: Model, seed: int = 0, *, batch: int = 2, timesteps: int = 10) -> tuple[Model, str]:
    """The model with a random input where it has none, and what was chosen, for stderr. Features are
    normal, scaled so that the first layer's input part of each pre-activation has about unit size: a
    saturated gate reads the same whatever the mistake, and hides it. Ids are uniform over the table."""
    rng = np.random.default_rng(seed)
    inputs = dict(model.inputs)
    said: list[str] = []
    for name, spec in model.inputs.items():
        if spec.data is not None:
            continue
        steps = spec.shape[0] or timesteps
        reader = _reader(model, name)
        if isinstance(reader, EmbeddingLayer):
            data = rng.integers(1, reader.input_dim, size=(batch, steps)).astype(np.int64)
            said.append(f"{name}: {batch} sequences of {steps} ids, uniform over 1 to {reader.input_dim - 1}")
        else:
            features = spec.shape[-1]
            assert features is not None  # every config and model file gives the feature width
            scale = _unit_scale(reader)
            data = (scale * rng.standard_normal((batch, steps, features))).astype(model.dtype)
            said.append(
                f"{name}: {batch} sequences of {steps} steps, normal with standard deviation {scale:.3g}"
            )
        inputs[name] = replace(spec, data=data)
    return replace(model, inputs=inputs), f"a random input (seed {seed}): " + "; ".join(said)


def _reader(model: Model, ref: str) -> Layer | None:
    """The first layer that computes with `ref`, through masking and no-op layers."""
    reader = next((layer for layer in model.layers if layer.input == ref), None)
    while reader is not None and _skipped(reader):
        reader = next((layer for layer in model.layers if layer.input == reader.name), None)
    return reader


def _unit_scale(reader: Layer | None) -> float:
    """1 / the root-mean-square column norm of the reader's kernel: x·W then has about unit spread."""
    cell = reader.forward if isinstance(reader, BidirectionalLayer) else reader
    if isinstance(cell, LstmLayer):
        kernel = None if cell.weights is None else cell.weights.kernel
    else:
        kernel = cell.kernel if isinstance(cell, DenseLayer) else None
    if kernel is None:
        return 1.0
    norm = float(np.sqrt(np.mean(np.sum(np.square(kernel.astype(np.float64)), axis=0))))
    return float(np.clip(1.0 / norm, 1e-3, 1e3)) if norm > 0 else 1.0


def run_comparison(
    a: Model,
    b: Model | Mapping[str, Array],
    *,
    rtol: float = RTOL,
    atol: float = ATOL,
    seed: int = 0,
    where: str = "B",
) -> tuple[Comparison, str | None]:
    """A against B, a model or numbers keyed by A's references (`where` names them in errors); and, when A
    had no input data, the seeded random input both ran on, in words."""
    chosen = None
    if any(spec.data is None for spec in a.inputs.values()):
        if not isinstance(b, Model):
            raise LstmCliError(
                "A has no input data, and B is numbers: give the input they were computed from"
            )
        a, chosen = seeded_input(a, seed)
    if isinstance(b, Model):
        return compare_models(a, b, rtol=rtol, atol=atol), chosen
    return compare_numbers(a, b, rtol=rtol, atol=atol, where=where), chosen
