"""The LSTM layer: what a config says of one, and the cell options, weights and counts that a bidirectional
layer's two halves share (Keras: keras/src/layers/rnn/lstm.py; PyTorch: nn.LSTM).

An LSTM option is added here: its key in CELL_KEYS, its check in `cell_options`, its field on LstmLayer;
then its maths in engine.lstm_step and run_lstm. The counts, with f input features and u units:

    LSTM      kernel (f, 4u) + recurrent_kernel (u, 4u) + bias (4u,)  = 4u(f + u + 1)
    nn.LSTM   weight_ih (4u, f) + weight_hh (4u, u) + two biases      = 4u(f + u) + 8u
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from lstm_cli.names import state_refs
from lstm_cli.text import shape_text

from .base import MAX_UNITS, Arithmetic, Array, LayerType, Scope, Shape, Weight, width_of

if TYPE_CHECKING:
    from lstm_cli.checks import Node
    from lstm_cli.yamlio import KeyPath

GATES = ("i", "f", "g", "o")  # Keras's order along the last axis of every LSTM weight
STEP_QUANTITIES = (*GATES, "c", "h")  # what one step shows, in the order it computes them

KERAS_WEIGHTS = ("kernel", "recurrent_kernel", "bias")
TORCH_WEIGHTS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")  # the same, as nn.LSTM holds them
# The variant options (docs/config.md#lstm-variants): TF1's LSTMCell, ONNX's LSTM and PyTorch's proj_size.
VARIANT_KEYS = (
    *("forget_bias", "cell_clip", "activation_clip", "input_forget", "output_activation", "proj_clip"),
)
CELL_KEYS = ("activation", "recurrent_activation", "use_bias", *VARIANT_KEYS)  # the halves of a bidirectional
VARIANT_WEIGHTS = ("peepholes", "projection")  # beside either layout; PyTorch's projection is weight_hr
PEEPHOLES = ("i", "f", "o")  # z_i and z_f read c_prev through them, z_o reads c_t
# The keys of every recurrent layer, in the order messages list them.
RECURRENT_KEYS = ("type", "name", "input", "units", *CELL_KEYS, "return_sequences", "return_state")


@dataclass(frozen=True)
class LstmWeights:
    kernel: Array  # (features, 4*units), gates i, f, g, o side by side
    recurrent_kernel: Array  # (units, 4*units)
    bias: Array | None  # (4*units,), None when use_bias is false
    peepholes: Mapping[str, Array] | None = None  # gate (i, f, o) → (units,); a gate left out has none
    projection: Array | None = None  # (units, proj): h_t = (o * activation(c_t)) @ projection
    layout: Literal["keras", "torch"] = "keras"  # as the config gave them (backward names its gradients so)

    @property
    def proj(self) -> int | None:
        """The projection's width, which h then has; None without one."""
        return None if self.projection is None else int(self.projection.shape[1])


@dataclass(frozen=True)
class InitialState:
    """Where an LSTM's (h, c) start: each an array (batch, units) or (units,), or a reference."""

    h: Array | str
    c: Array | str


@dataclass(frozen=True)
class LstmLayer:
    name: str
    units: int
    input: str  # the reference this layer reads
    key_path: KeyPath
    activation: str = "tanh"
    recurrent_activation: str = "sigmoid"
    use_bias: bool = True
    return_sequences: bool = False
    return_state: bool = False
    go_backwards: bool = False
    weights: LstmWeights | None = None  # None in an architecture-only config
    initial_state: InitialState | None = None
    use_mask: bool = True  # False: run without the input's mask, as Keras 3 runs an LSTM given initial_state
    forget_bias: float = 0.0  # added to z_f before the recurrent activation (TF1)
    cell_clip: float | None = None  # c_t clipped to ±cell_clip, and carried clipped (TF1)
    activation_clip: float | None = None  # every activation's input clipped to ±activation_clip (ONNX clip)
    input_forget: bool = False  # f = 1 - i (ONNX input_forget, CIFG)
    output_activation: str | None = None  # h_t = o * output_activation(c_t); None: activation
    proj_clip: float | None = None  # the projected h_t clipped to ±proj_clip (TF1)
    type: Literal["lstm"] = "lstm"

    @property
    def output_units(self) -> int:
        """The width of h and of the output: the projection's, if there is one, else units."""
        proj = None if self.weights is None else self.weights.proj
        return self.units if proj is None else proj

    @property
    def h_activation(self) -> str:
        return self.activation if self.output_activation is None else self.output_activation

    @property
    def plain(self) -> bool:
        """No variant option set: Keras's LSTM, which the engine's fast loop runs."""
        weights = self.weights
        return (
            self.forget_bias == 0
            and self.cell_clip is None
            and self.activation_clip is None
            and not self.input_forget
            and self.output_activation is None
            and (weights is None or (weights.peepholes is None and weights.projection is None))
        )


class Lstm(LayerType[LstmLayer]):
    type = "lstm"
    keras_class = "LSTM"
    keys = (
        *RECURRENT_KEYS,
        "go_backwards",
        "initial_state",
        "use_mask",
        *KERAS_WEIGHTS,
        *TORCH_WEIGHTS,
        *VARIANT_WEIGHTS,
        "weight_hr",
    )
    weight_keys = (*KERAS_WEIGHTS, *TORCH_WEIGHTS, *VARIANT_WEIGHTS, "weight_hr")

    def parse(self, entry: Node, scope: Scope, name: str, source: str) -> LstmLayer:
        entry.keys(self.keys, required=("units",))
        units = entry["units"].integer(1, MAX_UNITS)
        batch, _, features = scope.sequence_input(source, entry)
        flags = {
            key: entry.boolean(key, False) for key in ("return_sequences", "return_state", "go_backwards")
        }
        weights, use_bias = cell_weights(entry, units, features, source, entry.boolean("use_bias", None))
        use_mask = entry.boolean("use_mask", True)
        proj = None if weights is None else weights.proj
        return LstmLayer(
            name=name,
            units=units,
            input=source,
            key_path=entry.path,
            use_bias=use_bias,
            weights=weights,
            use_mask=use_mask,
            **cell_options(entry, proj),
            initial_state=_initial_state(entry, scope, units, proj, batch),
            **flags,
        )

    def output_refs(self, layer: LstmLayer) -> tuple[str, ...]:
        return lstm_refs(layer.name, layer.return_state)

    def output_shapes(self, layer: LstmLayer, source: Shape) -> tuple[Shape, ...]:
        batch, timesteps, _ = source
        width = layer.output_units
        output = (batch, timesteps, width) if layer.return_sequences else (batch, width)
        return (output, (batch, width), (batch, layer.units)) if layer.return_state else (output,)

    def reads(self, layer: LstmLayer) -> tuple[str, ...]:
        state = layer.initial_state
        parts = () if state is None else (state.h, state.c)
        starts = [part for part in parts if isinstance(part, str)]
        return (layer.input, *dict.fromkeys(starts))

    def weights(self, layer: LstmLayer, source: Shape) -> tuple[Weight, ...]:
        return lstm_weights(width_of(source), layer.units, layer.use_bias, cell=layer.weights)

    def has_weights(self, layer: LstmLayer) -> bool:
        return layer.weights is not None

    def arithmetic(
        self, units: int, inputs: int, use_bias: bool, weights: tuple[Weight, ...] = ()
    ) -> Arithmetic:
        return cell_arithmetic(units, inputs, use_bias, 1, *variant_counts(weights, 1))

    def takes_mask(self, layer: LstmLayer, keras_graph: bool) -> bool:
        # Keras 3's graph calls an LSTM given an initial state without the mask (3.15); the engine applies
        # it, so such a layer is converted with use_mask: false.
        return layer.use_mask and not (keras_graph and layer.initial_state is not None)

    def passes_mask_to(self, layer: LstmLayer) -> tuple[str, ...]:
        return (layer.name,) if layer.return_sequences else ()  # its states carry none


def lstm_refs(name: str, return_state: bool) -> tuple[str, ...]:
    """An LSTM's outputs in Keras's order: [output, h, c]; `lstm.c` is Keras's `lstm[0][2]`."""
    return (name, *state_refs(name)) if return_state else (name,)


# -- what an LSTM and the halves of a bidirectional layer share ------------------------------------------


def variant_text(layer: LstmLayer) -> str:
    """The variant options a layer sets, as its table titles list them: `, forget_bias 1, peepholes i, f, o,
    cell_clip 1`; empty for Keras's own cell."""
    weights = layer.weights
    parts = [f"forget_bias {layer.forget_bias:g}"] if layer.forget_bias else []
    if weights is not None and weights.peepholes:
        parts.append(f"peepholes {', '.join(gate for gate in 'ifo' if gate in weights.peepholes)}")
    parts += [f"cell_clip {layer.cell_clip:g}"] if layer.cell_clip is not None else []
    parts += [f"activation_clip {layer.activation_clip:g}"] if layer.activation_clip is not None else []
    parts += ["input_forget"] if layer.input_forget else []
    parts += [f"output_activation {layer.output_activation}"] if layer.output_activation else []
    if weights is not None and weights.projection is not None:
        parts.append(f"projection to {weights.projection.shape[1]}")
    parts += [f"proj_clip {layer.proj_clip:g}"] if layer.proj_clip is not None else []
    return "".join(f", {part}" for part in parts)


def cell_options(entry: Node, proj: int | None) -> dict[str, Any]:
    """The cell's options beside units and the weights, as LstmLayer's fields. `proj`: the projection's
    width, None without one (proj_clip clips it)."""
    options: dict[str, Any] = {
        "activation": entry.activation("activation", "tanh"),
        "recurrent_activation": entry.activation("recurrent_activation", "sigmoid"),
        "input_forget": entry.boolean("input_forget", False),
    }
    if "forget_bias" in entry:
        options["forget_bias"] = entry["forget_bias"].number()
    for key in ("cell_clip", "activation_clip", "proj_clip"):
        if key in entry and entry[key].value is not None:
            options[key] = entry[key].number(0)
            if options[key] == 0:
                raise entry[key].error(f"expected a number above 0 (the values are clipped to ±{key}), got 0")
    if "output_activation" in entry and entry["output_activation"].value is not None:
        options["output_activation"] = entry.activation("output_activation", "tanh")
    if "proj_clip" in options and proj is None:
        raise entry["proj_clip"].error("proj_clip clips the projection, but the layer has none (projection:)")
    if options["input_forget"] and options["recurrent_activation"] not in GATE_ACTIVATIONS:
        raise entry["input_forget"].error(
            f"input_forget makes f = 1 - i, a gate only with a recurrent_activation in [0, 1] "
            f"({', '.join(GATE_ACTIVATIONS)}); got {options['recurrent_activation']}"
        )
    return options


# The recurrent activations whose values lie in [0, 1], so that 1 - i is a gate too (input_forget).
GATE_ACTIVATIONS = ("sigmoid", "hard_sigmoid")


def _peepholes(entry: Node, units: int) -> dict[str, Array] | None:
    """peepholes: {i: (units,), f: (units,), o: (units,)}, any of the three."""
    if "peepholes" not in entry:
        return None
    given = entry["peepholes"].mapping()
    given.keys(PEEPHOLES)
    if not given.value:
        raise given.error("expected at least one of i, f, o, each (units,) values")
    shape = Weight("peephole", (units,), "(units,)")
    return {gate: given[gate].shaped(shape) for gate in PEEPHOLES if gate in given}


def _projection(entry: Node, units: int, torch: bool) -> Array | None:
    """projection: {kernel: (units, proj)}, or PyTorch's weight_hr (proj, units), its transpose."""
    if torch:
        if "projection" in entry:
            raise entry["projection"].error(
                "PyTorch's layout gives the projection as weight_hr: (proj, units)"
            )
        if "weight_hr" not in entry:
            return None
        node, formula = entry["weight_hr"], "(proj, units)"
    else:
        if "weight_hr" in entry:
            raise entry["weight_hr"].error(
                "weight_hr is PyTorch's; beside kernel, give projection: {kernel: …}"
            )
        if "projection" not in entry:
            return None
        given = entry["projection"].mapping()
        given.keys(("kernel",), required=("kernel",))
        node, formula = given["kernel"], "(units, proj)"
    array = node.array()
    axis = 1 if torch else 0
    if array.ndim != 2 or array.shape[axis] != units:
        expected = f"(proj, {units})" if torch else f"({units}, proj)"
        raise node.error(f"expected shape {expected} = {formula}, got {shape_text(array.shape)}")
    return array.T.copy() if torch else array


def cell_weights(
    entry: Node, units: int, features: int, source: str, use_bias: bool | None
) -> tuple[LstmWeights | None, bool]:
    """The weights in `entry` in either layout (Keras's kernel, ... or PyTorch's weight_ih, ...), each
    checked against its shape; None when none are given. Also whether the cell has a bias: `use_bias` as
    the config gives it (None if it does not), checked against the biases given."""
    keras_keys = [key for key in KERAS_WEIGHTS if key in entry]
    torch_keys = [key for key in TORCH_WEIGHTS if key in entry]
    variant_keys = [key for key in (*VARIANT_WEIGHTS, "weight_hr") if key in entry]
    if variant_keys and not (keras_keys or torch_keys):
        raise entry[variant_keys[0]].error(f"{variant_keys[0]} is given without the kernels; give them too")
    if keras_keys and torch_keys:
        raise entry[torch_keys[0]].error(
            "both Keras weights (kernel, recurrent_kernel, bias) and "
            "PyTorch weights (weight_ih, weight_hh, bias_ih, bias_hh) given; use one layout"
        )
    if not (keras_keys or torch_keys):
        return None, use_bias is not False
    peepholes = _peepholes(entry, units)
    projection = _projection(entry, units, bool(torch_keys))
    proj = None if projection is None else projection.shape[1]
    if torch_keys:
        weights, used = _torch_weights(entry, units, features, source, use_bias, proj)
    else:
        weights, used = _keras_weights(entry, units, features, source, use_bias, proj)
    layout: Literal["keras", "torch"] = "torch" if torch_keys else "keras"
    return replace(weights, peepholes=peepholes, projection=projection, layout=layout), used


def _keras_weights(
    entry: Node, units: int, features: int, source: str, use_bias: bool | None, proj: int | None
) -> tuple[LstmWeights, bool]:
    entry.keys((), required=("kernel", "recurrent_kernel"))
    kernel_is, recurrent_is, bias_is = lstm_weights(features, units, proj=proj)[:3]  # what each array must be
    kernel = entry["kernel"].shaped(kernel_is, (0, source), "weight_ih")
    recurrent_kernel = entry["recurrent_kernel"].shaped(recurrent_is, None, "weight_hh")
    if use_bias is False:
        if "bias" in entry:
            raise entry["bias"].error("use_bias is false, but a bias is given")
        return LstmWeights(kernel, recurrent_kernel, None), False
    if "bias" not in entry:
        raise entry.error("missing key 'bias' (4*units values), or set use_bias: false")
    bias = entry["bias"].shaped(bias_is)
    return LstmWeights(kernel, recurrent_kernel, bias), True


def _torch_weights(
    entry: Node, units: int, features: int, source: str, use_bias: bool | None, proj: int | None
) -> tuple[LstmWeights, bool]:
    """nn.LSTM's layout: kernel = weight_ih.T, recurrent_kernel = weight_hh.T, bias = bias_ih + bias_hh."""
    entry.keys((), required=("weight_ih", "weight_hh"))
    # transposed, but for the biases
    kernel_is, recurrent_is, bias_is = lstm_weights(features, units, proj=proj)[:3]
    weight_ih = entry["weight_ih"].shaped(kernel_is.transposed("weight_ih"), (1, source))
    weight_hh = entry["weight_hh"].shaped(recurrent_is.transposed("weight_hh"))
    given = [key for key in ("bias_ih", "bias_hh") if key in entry]
    biases = [entry[key].shaped(bias_is) for key in given]
    if use_bias is False and biases:
        raise entry[given[0]].error("use_bias is false, but a bias is given")
    if len(biases) == 1:  # torch's load_state_dict refuses the missing key; 0 would be a guess
        missing = "bias_hh" if given == ["bias_ih"] else "bias_ih"
        raise entry[given[0]].error(
            f"{given[0]} is given without {missing}; PyTorch has both biases or neither "
            f"(bias=False): give {missing} too, or leave both out and set use_bias: false"
        )
    if use_bias and not biases:
        raise entry.error("missing key 'bias_ih' or 'bias_hh' (4*units values), or set use_bias: false")
    bias = _summed_bias(entry, biases) if biases else None
    return LstmWeights(weight_ih.T.copy(), weight_hh.T.copy(), bias), bool(biases)


def _summed_bias(entry: Node, biases: list[Array]) -> Array:
    """PyTorch's bias_ih and bias_hh as Keras's one bias: their sum, which must fit the dtype too."""
    import numpy as np  # here, not above: summary and --help import this module without numpy

    with np.errstate(over="ignore"):
        bias = np.asarray(np.sum(biases, axis=0, dtype=entry.dtype))
    if not np.isfinite(bias).all():
        index = int(np.argwhere(~np.isfinite(bias))[0][0])
        raise entry["bias_hh"].error(
            f"bias_ih[{index}] + bias_hh[{index}] is out of range for {entry.dtype}; "
            "the LSTM adds them into one bias, as Keras holds it",
            index,
        )
    return bias


def _initial_state(
    entry: Node, scope: Scope, units: int, proj: int | None, batch: int | None
) -> InitialState | None:
    if "initial_state" not in entry:
        return None
    given = entry["initial_state"]
    if isinstance(given.value, Mapping):
        given.keys(("h", "c"), required=("h", "c"))
        parts = [given["h"], given["c"]]
    elif isinstance(given.value, list) and len(given.value) == 2:
        parts = [given[0], given[1]]
    else:
        raise given.error("expected [h, c] or {h: ..., c: ...}, each an array or a reference")
    h = _state(parts[0], scope, units if proj is None else proj, batch, "units" if proj is None else "proj")
    return InitialState(h, _state(parts[1], scope, units, batch))


def _state(node: Node, scope: Scope, units: int, batch: int | None, width: str = "units") -> Array | str:
    """h or c: a reference to a (batch, units) state, or an array (batch, units), or (units,) for every
    sample alike. With a projection h is (batch, proj): `width` names the last axis."""
    expected = f"{shape_text((batch, units))} = (batch, {width})"
    if isinstance(node.value, str):
        ref = scope.reference(node)
        shape = scope.shapes[ref]
        if len(shape) != 2 or shape[1] != units or (batch is not None and shape[0] not in (None, batch)):
            raise node.error(f"{ref!r} has shape {shape_text(shape)}, but this layer's state is {expected}")
        return ref
    array = node.array()
    if array.shape == (units,):
        return array
    if array.ndim != 2 or array.shape[1] != units or (batch is not None and array.shape[0] != batch):
        raise node.error(
            f"expected shape {expected} or ({units},) = ({width},), got {shape_text(array.shape)}"
        )
    return array


def lstm_weights(
    features: int,
    units: int,
    use_bias: bool = True,
    prefix: str = "",
    *,
    proj: int | None = None,
    cell: LstmWeights | None = None,
) -> tuple[Weight, ...]:
    """An LSTM's weights as Keras creates them, for `features` inputs; then the peepholes and the
    projection that `cell` has (a projection of width `proj` makes recurrent_kernel (proj, 4*units))."""
    if cell is not None and cell.proj is not None:
        proj = cell.proj
    rows, formula = (units, "(units, 4*units)") if proj is None else (proj, "(proj, 4*units)")
    weights = [
        Weight(f"{prefix}kernel", (features, 4 * units), "(features, 4*units)"),
        Weight(f"{prefix}recurrent_kernel", (rows, 4 * units), formula),
    ]
    if use_bias:
        weights.append(Weight(f"{prefix}bias", (4 * units,), "(4*units,)"))
    peepholes = {} if cell is None or cell.peepholes is None else cell.peepholes
    weights += [Weight(f"{prefix}peepholes.{gate}", (units,), "(units,)") for gate in peepholes]
    if proj is not None:
        weights.append(Weight(f"{prefix}projection.kernel", (units, proj), "(units, proj)"))
    return tuple(weights)


def lstm_params(features: int, units: int, use_bias: bool = True) -> int:
    """Keras's count: 4u(f + u + 1), one bias."""
    return 4 * units * (features + units + (1 if use_bias else 0))


def torch_lstm_params(features: int, units: int, use_bias: bool = True) -> int:
    """PyTorch nn.LSTM's count: 4u(f + u) + 8u, two biases (bias_ih and bias_hh)."""
    return 4 * units * (features + units) + (8 * units if use_bias else 0)


def cell_arithmetic(
    units: int, features: int, use_bias: bool, directions: int, peepholes: int = 0, proj: int | None = None
) -> Arithmetic:
    """`--detail`'s sums for `directions` LSTM cells side by side (2 in a bidirectional layer); with
    `peepholes` peephole vectors (units each) and a projection to `proj`, which makes recurrent_kernel
    (proj, 4*units)."""
    u, f = units, features
    two = "2·" if directions == 2 else ""
    plus_one = " + 1" if use_bias else ""
    rows, r = ("units", u) if proj is None else ("proj", proj)
    extra = (f" + {peepholes}·units" if peepholes else "") + (" + units·proj" if proj else "")
    extra_worked = (f" + {peepholes}·{u}" if peepholes else "") + (f" + {u}·{proj}" if proj else "")
    extra_params = peepholes * u + (u * proj if proj else 0)

    def sums(body: str) -> str:
        return _times(directions, body) if extra else f"{two}{body}"

    formula = sums(f"4·units·(features + {rows}{plus_one}){extra}")
    worked = sums(f"4·{u}·({f} + {r}{plus_one}){extra_worked}")
    torch_params = directions * (4 * u * (f + r) + (8 * u if use_bias else 0) + extra_params)
    torch_formula, torch_worked, note = formula, worked, None
    if use_bias:
        torch_formula = _times(directions, f"4·units·(features + {rows}) + 8·units{extra}")
        torch_worked = _times(directions, f"4·{u}·({f} + {r}) + 8·{u}{extra_worked}")
        note = (
            "nn.LSTM keeps two bias vectors, bias_ih and bias_hh, of 4·units each; Keras keeps one, "
            f"their sum: {directions * 4 * u:,} parameters fewer"
        )
    macs = directions * (4 * u * (f + r) + (u * proj if proj else 0))
    macs_formula = sums(f"4·units·(features + {rows})" + (" + units·proj" if proj else ""))
    return Arithmetic(formula, worked, torch_formula, torch_worked, torch_params, note, macs, macs_formula)


def variant_counts(weights: tuple[Weight, ...], directions: int) -> tuple[int, int | None]:
    """How many peephole vectors one cell has, and its projection's width (None without one), from the
    weights that summary lists."""
    peepholes = sum(".peepholes." in f".{weight.name}" for weight in weights) // directions
    proj = next((weight.shape[1] for weight in weights if weight.name.endswith("projection.kernel")), None)
    return peepholes, proj


def _times(directions: int, sum_text: str) -> str:
    return f"2·({sum_text})" if directions == 2 else sum_text


def reorder_gates(array: Array, order: Sequence[int], axis: int = -1) -> Array:
    """The four gate blocks of `array` along `axis`, block k taken from block order[k] (ONNX's i, o, f, c
    and a port's mistaken orders are such rearrangements of Keras's i, f, g, o)."""
    import numpy as np  # here, not at the top: `summary` from flags imports this module without numpy

    blocks = np.split(array, 4, axis=axis)
    return np.concatenate([blocks[k] for k in order], axis=axis)
