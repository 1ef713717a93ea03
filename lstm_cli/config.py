"""Config → `Model`: every key, number, shape and reference checked, each problem located (SPEC §2).

This is the only module that knows the config schema. It reads YAML through `yamlio` and array files
through `arrayfiles` (`.npy`, `.npz`, `.csv`, `.tsv`; never pickles), and raises `LstmCliError` pointing at
FILE:LINE:COL and the key path.
"""

from __future__ import annotations

import math
import os
import re
import sys
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .activations import ACTIVATIONS
from .arrayfiles import ARRAY_SUFFIXES, read_array_file
from .errors import LstmCliError
from .model import (
    MERGE_MODES,
    NO_OP_KINDS,
    Array,
    BidirectionalLayer,
    DenseLayer,
    DType,
    EmbeddingLayer,
    Expectation,
    InitialState,
    InputSpec,
    Layer,
    LstmLayer,
    LstmWeights,
    MaskingLayer,
    Model,
    NoOpLayer,
)
from .names import STATES, KerasNames
from .text import did_you_mean, shape_text, shorten
from .yamlio import Document, KeyPath, document_from_mapping, format_key_path, parse_yaml, read_config_file

DTYPES: tuple[DType, ...] = ("float32", "float64")
LAYER_TYPES = ("lstm", "dense", "bidirectional", "masking", "embedding", *NO_OP_KINDS)
MAX_UNITS = 65_536
MAX_LAYERS = 1_000  # a calculator's model has a handful; 20,000 (400 KB of YAML) took minutes to summarise
MAX_ARRAY_RANK = 8
MAX_SHOWN_DIGITS = 30  # a longer number in a message is described, not printed
TOP_KEYS = ("description", "dtype", "input", "inputs", "layers", "outputs", "expect", "vocab")
RECURRENT_OPTIONS = (
    "type",
    "name",
    "input",
    "units",
    "activation",
    "recurrent_activation",
    "use_bias",
    "return_sequences",
    "return_state",
)
LSTM_OPTIONS = (*RECURRENT_OPTIONS, "go_backwards", "initial_state", "use_mask")
BIDIRECTIONAL_OPTIONS = (*RECURRENT_OPTIONS, "merge_mode", "forward", "backward")
KERAS_LSTM_WEIGHTS = ("kernel", "recurrent_kernel", "bias")
TORCH_LSTM_WEIGHTS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
DENSE_KEYS = ("type", "name", "input", "units", "activation", "use_bias", "kernel", "bias")
MASKING_KEYS = ("type", "name", "input", "mask_value")
EMBEDDING_KEYS = ("type", "name", "input", "input_dim", "output_dim", "mask_zero", "embeddings")
MAX_INPUT_DIM = 10**9
MERGE_MODE_NAMES = tuple(mode for mode in MERGE_MODES if mode is not None)
INFINITY_TEXT = re.compile(r"!*[-+]?\.(inf|Inf|INF)")  # how YAML spells infinity (plain or tagged)
CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # all but tab and line breaks
NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
# Relative slack for comparing `expect:` values written as whole numbers or in exponent form.
EXPECT_RTOL: dict[str, float] = {"float64": 1e-6, "float32": 1e-5}

ConfigSource = str | os.PathLike[str] | Mapping[str, Any]


def load_model(config: ConfigSource, *, dtype: str | None = None, source: str | None = None) -> Model:
    """Read and validate a config: a path to YAML, or a mapping with the same schema. `source` names a
    mapping in messages (the model file it was converted from) instead of `<config>`."""
    if isinstance(config, Mapping):
        document = document_from_mapping(config)
        if source is not None:
            document.source = source
    elif isinstance(config, str | os.PathLike):
        document = read_config_file(Path(config), os.fspath(config))
    else:
        raise TypeError(f"config must be a path or a mapping, not {type(config).__name__}")
    return _Validator(document, dtype).model()


def example_names() -> list[str]:
    return sorted(
        p.name.removesuffix(".yaml")
        for p in resources.files(__package__).joinpath("examples").iterdir()
        if p.name.endswith(".yaml")
    )


def example_text(name: str) -> str:
    if name not in example_names():
        raise LstmCliError(f"unknown example {name!r}; choose one of: {', '.join(example_names())}")
    return resources.files(__package__).joinpath("examples", f"{name}.yaml").read_text(encoding="utf-8")


def load_example(name: str, *, dtype: str | None = None) -> Model:
    """A built-in example, by name (`seed` is the blog's hand check)."""
    document = parse_yaml(example_text(name), f"{name} (built-in example)", Path.cwd())
    return _Validator(document, dtype, builtin=name).model()


def require_data(model: Model) -> None:
    """Refuse to run an architecture-only config, naming what is missing."""
    error = model.error
    for spec in model.inputs.values():
        if spec.data is None:
            option = "--input FILE" if spec.name == "input" else f"--input {spec.name}=FILE"
            raise error(
                spec.key_path,
                f"input {spec.name!r} has a shape but no data; give an array to run it, or {option}",
            )
    for layer in model.layers:
        if not has_weights(layer):
            raise error(
                layer.key_path, f"layer {layer.name!r} has no weights; without them it serves `summary` only"
            )


def has_weights(layer: Layer) -> bool:
    if isinstance(layer, LstmLayer):
        return layer.weights is not None
    if isinstance(layer, BidirectionalLayer):
        return layer.forward.weights is not None and layer.backward.weights is not None
    if isinstance(layer, DenseLayer):
        return layer.kernel is not None
    if isinstance(layer, EmbeddingLayer):
        return layer.embeddings is not None
    return True  # masking and the no-op layers have none to give


def embedded_inputs(data: Mapping[str, Any]) -> set[str]:
    """The model inputs that embeddings read (integer ids): named by `input:`, or the only input when an
    embedding is the first layer. Known before the inputs are read, since ids are read as ids."""
    names = ["input"] if "input" in data else list(data.get("inputs") or {})
    entries = data.get("layers")
    found = set()
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        if not isinstance(entry, Mapping) or entry.get("type") != "embedding":
            continue
        source = entry.get("input", names[0] if index == 0 and len(names) == 1 else None)
        if isinstance(source, str) and source in names:
            found.add(source)
    return found


def expected_shape_message(expected: tuple[int, ...], formula: str, got: tuple[int, ...]) -> str:
    return f"expected shape {shape_text(expected)} = {formula}, got {shape_text(got)}"


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, str):
        return f"a string {shorten(value)!r}"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, int) and abs(value) >= 10**MAX_SHOWN_DIGITS:
        return f"a number of more than {MAX_SHOWN_DIGITS} digits"
    return repr(value)


class _Validator:
    def __init__(self, document: Document, dtype: str | None, builtin: str | None = None) -> None:
        self.doc = document
        self.dtype_override = dtype
        self.builtin = builtin
        self.np_dtype: np.dtype[Any] = np.dtype("float64")
        self.shapes: dict[str, tuple[int | None, ...]] = {}  # reference → shape, batch first
        self.batch: int | None = None
        self.pending: set[str] = set()
        self.id_inputs: set[str] = set()  # model inputs that an embedding reads: integer ids, not features
        self.vocab_tokens: tuple[str, ...] | None = None
        self.input_paths: dict[str, KeyPath] = {}
        self.input_data: dict[str, Array] = {}
        self.one_sequence: set[str] = set()  # id inputs written as one sequence (timesteps,)

    def error(self, path: KeyPath, message: str) -> LstmCliError:
        return self.doc.error(path, message)

    # -- the whole config ------------------------------------------------------------------------------

    def model(self) -> Model:
        data = self.doc.data
        if not isinstance(data, Mapping):
            raise self.error((), "a config must be a mapping of keys (input, layers, ...)")
        self.keys(data, (), TOP_KEYS)
        if "layers" not in data:
            raise self.error((), "missing key 'layers' (a list of layers, each a mapping with a `type`)")
        dtype = self.dtype(data)
        self.np_dtype = np.dtype(dtype)
        self.vocab_tokens = self.vocab(data)  # before the inputs: ids may be written as tokens
        self.id_inputs = embedded_inputs(data)
        inputs = self.inputs(data)
        layers = self.layers(data, inputs)
        outputs = self.outputs(data, layers)
        description = data.get("description")
        if description is not None and not isinstance(description, str):
            raise self.error(("description",), f"expected text, got {_describe(description)}")
        control = CONTROL_CHARACTER.search(description or "")
        if control:  # the tables print the description: an escape sequence would drive the terminal
            code = f"U+{ord(control.group()):04X}"
            raise self.error(("description",), f"a control character ({code}) is not allowed in text")
        return Model(
            inputs=inputs,
            layers=layers,
            outputs=outputs,
            shapes=dict(self.shapes),
            dtype=dtype,
            document=self.doc,
            description=description,
            declared_dtype=data.get("dtype") if isinstance(data.get("dtype"), str) else None,
            expect=self.expect(data, dtype),
            vocab=self.vocab_tokens,
            builtin=self.builtin,
        )

    def dtype(self, data: Mapping[str, Any]) -> DType:
        # The config's dtype is checked even where the override wins: a bad config computes nothing.
        written = self.choice(data.get("dtype", "float64"), ("dtype",), DTYPES)
        if self.dtype_override is None:
            return written  # type: ignore[return-value]
        if self.dtype_override not in DTYPES:
            raise LstmCliError(f"dtype must be one of {', '.join(DTYPES)}, not {self.dtype_override!r}")
        return self.dtype_override

    def inputs(self, data: Mapping[str, Any]) -> dict[str, InputSpec]:
        if "input" in data and "inputs" in data:
            raise self.error(("inputs",), "give either `input` or `inputs`, not both")
        if "input" in data:
            specs = {"input": self.input_spec("input", data["input"], ("input",))}
        elif "inputs" in data:
            named = self.mapping(data["inputs"], ("inputs",))
            if not named:
                raise self.error(("inputs",), "name at least one input")
            specs = {}
            for name, value in named.items():
                self.check_name(name, ("inputs", name))
                specs[name] = self.input_spec(name, value, ("inputs", name))
        else:
            raise self.error((), "missing key 'input' (the input sequence, (batch, timesteps, features))")
        for name, spec in specs.items():
            self.shapes[name] = (self.batch, *spec.shape)
        return specs

    def input_spec(self, name: str, value: Any, path: KeyPath) -> InputSpec:
        if isinstance(value, Mapping):  # {shape: ...} or {file: ...}: a slip in either gets its suggestion
            self.keys(value, path, ("shape", "file", "key"))
        self.input_paths[name] = path
        if name in self.id_inputs:
            return self.ids_spec(name, value, path)
        if isinstance(value, Mapping) and "shape" in value:
            self.keys(value, path, ("shape",), required=("shape",))
            dims = value["shape"]
            if not isinstance(dims, list) or len(dims) != 2:
                raise self.error(path + ("shape",), "expected [timesteps or null, features]")
            timesteps = None if dims[0] is None else self.integer(dims[0], path + ("shape", 0), 1, 10**9)
            features = self.integer(dims[1], path + ("shape", 1), 1, 10**9)
            return InputSpec(name, (timesteps, features), None, path)
        array = self.array(value, path)
        if array.ndim == 2:
            array = array[np.newaxis]  # one sequence: (timesteps, features) → (1, timesteps, features)
        if array.ndim != 3:
            raise self.error(
                path,
                f"expected (batch, timesteps, features) or (timesteps, features), "
                f"got shape {shape_text(array.shape)}",
            )
        if self.batch is not None and array.shape[0] != self.batch:
            raise self.error(
                path, f"batch {array.shape[0]} differs from the other inputs' batch {self.batch}"
            )
        self.batch = array.shape[0]
        return InputSpec(name, (array.shape[1], array.shape[2]), array, path)

    def ids_spec(self, name: str, value: Any, path: KeyPath) -> InputSpec:
        """An input that an embedding reads: integer ids (batch, timesteps), or (timesteps,) for one
        sequence; tokens of the vocab stand for their ids."""
        if isinstance(value, Mapping) and "shape" in value:
            self.keys(value, path, ("shape",), required=("shape",))
            dims = value["shape"]
            if not isinstance(dims, list) or len(dims) != 1:
                raise self.error(
                    path + ("shape",), "an embedding's input is ids: expected [timesteps or null]"
                )
            timesteps = None if dims[0] is None else self.integer(dims[0], path + ("shape", 0), 1, 10**9)
            return InputSpec(name, (timesteps,), None, path)
        ids = self.ids(value, path)
        if ids.ndim == 1:
            ids = ids[np.newaxis]  # one sequence: (timesteps,) → (1, timesteps)
            self.one_sequence.add(name)
        if ids.ndim != 2:
            raise self.error(
                path,
                f"an embedding reads integer ids (batch, timesteps) or (timesteps,), "
                f"got shape {shape_text(ids.shape)}",
            )
        if self.batch is not None and ids.shape[0] != self.batch:
            raise self.error(path, f"batch {ids.shape[0]} differs from the other inputs' batch {self.batch}")
        self.batch = ids.shape[0]
        self.input_data[name] = ids
        return InputSpec(name, (ids.shape[1],), ids, path)

    def ids(self, value: Any, path: KeyPath) -> Array:
        """Whole numbers as int64, with tokens of the vocab read as their positions."""
        if isinstance(value, list) and self.vocab_tokens is not None:
            value = self.token_ids(value, path)
        array = self.array(value, path) if not isinstance(value, np.ndarray) else value
        if array.dtype.kind not in "iu":
            if array.dtype.kind != "f":
                raise self.error(path, f"expected integer ids, got an array of dtype {array.dtype}")
            fractional = np.argwhere(array != np.round(array))
            if len(fractional):
                index = tuple(int(i) for i in fractional[0])
                raise self.error(path + index, f"expected an integer id, got {array[index]}")
        if array.size == 0:
            raise self.error(path, "expected ids, got an empty array")
        return np.asarray(array, dtype=np.int64)

    def token_ids(self, value: Any, path: KeyPath) -> Any:
        """Nested lists with the vocab's tokens replaced by their ids; numbers stay as they are."""
        vocab = self.vocab_tokens
        assert vocab is not None
        if isinstance(value, list):
            return [self.token_ids(item, path + (index,)) for index, item in enumerate(value)]
        if isinstance(value, str):
            if value not in vocab:
                hint = did_you_mean(value, vocab)
                raise self.error(path, f"token {shorten(value)!r} is not in the vocab{hint}")
            return vocab.index(value)
        return value

    # -- layers ----------------------------------------------------------------------------------------

    def layers(self, data: Mapping[str, Any], inputs: dict[str, InputSpec]) -> tuple[Layer, ...]:
        entries = data["layers"]
        if not isinstance(entries, list):
            raise self.error(
                ("layers",),
                f"expected a list of layers, each a mapping with a `type`; got {_describe(entries)}",
            )
        if not entries:
            raise self.error(("layers",), "expected at least one layer, got an empty list")
        if len(entries) > MAX_LAYERS:
            raise self.error(("layers",), f"expected at most {MAX_LAYERS:,} layers, got {len(entries):,}")
        given = (entry.get("name") for entry in entries if isinstance(entry, Mapping))
        taken = {name for name in given if isinstance(name, str)} | set(inputs)
        self.pending = taken - set(inputs)  # names of this layer and later ones: not readable yet
        names = KerasNames(taken)  # automatic names skip those given
        layers: list[Layer] = []
        previous: str | None = next(iter(inputs)) if len(inputs) == 1 else None
        for index, entry in enumerate(entries):
            path: KeyPath = ("layers", index)
            entry = self.mapping(entry, path)
            if "type" not in entry:
                raise self.error(path, f"missing key 'type' (one of: {', '.join(LAYER_TYPES)})")
            kind = self.choice(entry["type"], path + ("type",), LAYER_TYPES)
            name = self.layer_name(entry, path, kind, names)
            if kind == "bidirectional":  # Keras names the LSTM it wraps too, counting on whatever names
                names.count("lstm")  # were given: the next plain one is lstm_1
            source = self.reference_option(entry, path, previous, inputs)
            layer: Layer
            if kind == "lstm":
                layer = self.lstm(entry, path, name, source)
            elif kind == "dense":
                layer = self.dense(entry, path, name, source)
            elif kind == "bidirectional":
                layer = self.bidirectional(entry, path, name, source)
            elif kind == "embedding":
                layer = self.embedding(entry, path, name, source)
            elif kind in NO_OP_KINDS:
                layer = self.no_op(entry, path, name, source, kind)
            else:
                layer = self.masking(entry, path, name, source)
            layers.append(layer)
            self.pending.discard(name)
            previous = name
        return tuple(layers)

    def layer_name(self, entry: Mapping[str, Any], path: KeyPath, kind: str, names: KerasNames) -> str:
        if "name" in entry:
            name = entry["name"]
            self.check_name(name, path + ("name",))
            if name in self.shapes:
                raise self.error(path + ("name",), f"the name {name!r} is already taken")
            return str(name)
        return names.next(kind)

    def check_name(self, name: Any, path: KeyPath) -> None:
        if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
            raise self.error(
                path,
                f"a name is letters, digits, _ and -, starting with a letter or _; got {_describe(name)}",
            )

    def reference_option(
        self, entry: Mapping[str, Any], path: KeyPath, previous: str | None, inputs: dict[str, InputSpec]
    ) -> str:
        if "input" in entry:
            return self.reference(entry["input"], path + ("input",))
        if previous is None:
            raise self.error(path, f"there are several inputs ({', '.join(inputs)}); say which with `input:`")
        return previous

    def reference(self, value: Any, path: KeyPath) -> str:
        if not isinstance(value, str):
            raise self.error(path, f"expected a reference (an input or layer name), got {_describe(value)}")
        if value not in self.shapes:
            known = list(self.shapes)
            hint = did_you_mean(value, known)
            layer_name = value.split(".")[0]
            if layer_name in self.pending:
                raise self.error(
                    path,
                    f"{value!r} refers to layer {layer_name!r}, which comes later; a layer reads only inputs "
                    "and earlier layers (layers run in the order written, so there are no cycles)",
                )
            owner, _, state = value.rpartition(".")
            if state in STATES and owner in self.shapes:
                raise self.error(path, f"{value!r} needs return_state: true on layer {owner!r}")
            raise self.error(
                path, f"unknown reference {shorten(value)!r}{hint} (known so far: {', '.join(known)})"
            )
        return value

    def sequence_input(self, source: str, path: KeyPath) -> tuple[int | None, int | None, int]:
        shape = self.shapes[source]
        if len(shape) != 3 or shape[2] is None:
            raise self.error(
                path,
                f"this layer reads a sequence (batch, timesteps, features), but {source!r} "
                f"has shape {shape_text(shape)}",
            )
        return shape[0], shape[1], shape[2]

    def lstm(self, entry: Mapping[str, Any], path: KeyPath, name: str, source: str) -> LstmLayer:
        self.keys(entry, path, LSTM_OPTIONS + KERAS_LSTM_WEIGHTS + TORCH_LSTM_WEIGHTS, required=("units",))
        units = self.units(entry, path)
        batch, timesteps, features = self.sequence_input(source, path)
        flags = {
            key: self.boolean(entry, path, key, default)
            for key, default in (
                ("return_sequences", False),
                ("return_state", False),
                ("go_backwards", False),
            )
        }
        use_bias = self.boolean(entry, path, "use_bias", None)
        weights, use_bias = self.lstm_weights(entry, path, units, features, source, use_bias)
        flags["use_mask"] = self.boolean(entry, path, "use_mask", True)
        layer = LstmLayer(
            name=name,
            units=units,
            input=source,
            key_path=path,
            activation=self.activation(entry, path, "activation", "tanh"),
            recurrent_activation=self.activation(entry, path, "recurrent_activation", "sigmoid"),
            use_bias=use_bias,
            weights=weights,
            initial_state=self.initial_state(entry, path, units, batch),
            **flags,
        )
        self.shapes[name] = (batch, timesteps, units) if layer.return_sequences else (batch, units)
        if layer.return_state:
            self.shapes[f"{name}.h"] = self.shapes[f"{name}.c"] = (batch, units)
        return layer

    def lstm_weights(
        self,
        entry: Mapping[str, Any],
        path: KeyPath,
        units: int,
        features: int,
        source: str,
        use_bias: bool | None,
    ) -> tuple[LstmWeights | None, bool]:
        keras_keys = [key for key in KERAS_LSTM_WEIGHTS if key in entry]
        torch_keys = [key for key in TORCH_LSTM_WEIGHTS if key in entry]
        if keras_keys and torch_keys:
            raise self.error(
                path + (torch_keys[0],),
                "both Keras weights (kernel, recurrent_kernel, bias) and "
                "PyTorch weights (weight_ih, weight_hh, bias_ih, bias_hh) given; use one layout",
            )
        gates = 4 * units
        if torch_keys:
            self.keys(entry, path, (), required=("weight_ih", "weight_hh"))
            weight_ih = self.shaped(
                entry, path, "weight_ih", (gates, features), "(4*units, features)", (1, source)
            )
            weight_hh = self.shaped(entry, path, "weight_hh", (gates, units), "(4*units, units)")
            biases = [
                self.shaped(entry, path, key, (gates,), "(4*units,)")
                for key in ("bias_ih", "bias_hh")
                if key in entry
            ]
            if use_bias is False and biases:
                given = next(key for key in ("bias_ih", "bias_hh") if key in entry)
                raise self.error(path + (given,), "use_bias is false, but a bias is given")
            if len(biases) == 1:  # torch's load_state_dict refuses the missing key; 0 would be a guess
                given, missing = ("bias_ih", "bias_hh") if "bias_ih" in entry else ("bias_hh", "bias_ih")
                raise self.error(
                    path + (given,),
                    f"{given} is given without {missing}; PyTorch has both biases or neither "
                    f"(bias=False): give {missing} too, or leave both out and set use_bias: false",
                )
            if use_bias and not biases:
                raise self.error(
                    path, "missing key 'bias_ih' or 'bias_hh' (4*units values), or set use_bias: false"
                )
            bias = self.summed_bias(biases, path) if biases else None
            return LstmWeights(weight_ih.T.copy(), weight_hh.T.copy(), bias), bool(biases)
        if not keras_keys:
            return None, use_bias is not False
        self.keys(entry, path, (), required=("kernel", "recurrent_kernel"))
        kernel = self.shaped(
            entry, path, "kernel", (features, gates), "(features, 4*units)", (0, source), "weight_ih"
        )
        recurrent_kernel = self.shaped(
            entry, path, "recurrent_kernel", (units, gates), "(units, 4*units)", pytorch="weight_hh"
        )
        if use_bias is False:
            if "bias" in entry:
                raise self.error(path + ("bias",), "use_bias is false, but a bias is given")
            return LstmWeights(kernel, recurrent_kernel, None), False
        if "bias" not in entry:
            raise self.error(path, "missing key 'bias' (4*units values), or set use_bias: false")
        bias = self.shaped(entry, path, "bias", (gates,), "(4*units,)")
        return LstmWeights(kernel, recurrent_kernel, bias), True

    def bidirectional(
        self, entry: Mapping[str, Any], path: KeyPath, name: str, source: str
    ) -> BidirectionalLayer:
        self.keys(entry, path, BIDIRECTIONAL_OPTIONS, required=("units",))
        units = self.units(entry, path)
        batch, timesteps, features = self.sequence_input(source, path)
        merge_mode = entry.get("merge_mode", "concat")
        if merge_mode is not None:
            merge_mode = self.choice(merge_mode, path + ("merge_mode",), MERGE_MODE_NAMES, also="null")
        given = [direction for direction in ("forward", "backward") if direction in entry]
        if len(given) == 1:
            missing = "backward" if given == ["forward"] else "forward"
            raise self.error(path, f"missing key {missing!r}: give the weights of both directions")
        use_bias = self.boolean(entry, path, "use_bias", None)
        halves: dict[str, LstmWeights | None] = {"forward": None, "backward": None}
        used: set[bool] = set()
        for direction in given:
            half_path = path + (direction,)
            half = self.mapping(entry[direction], half_path)
            self.keys(half, half_path, KERAS_LSTM_WEIGHTS + TORCH_LSTM_WEIGHTS)
            halves[direction], bias_used = self.lstm_weights(
                half, half_path, units, features, source, use_bias
            )
            used.add(bias_used)
        if len(used) > 1:
            raise self.error(path + ("backward",), "one direction has a bias and the other has none")
        common = {
            "name": name,
            "units": units,
            "input": source,
            "key_path": path,
            "activation": self.activation(entry, path, "activation", "tanh"),
            "recurrent_activation": self.activation(entry, path, "recurrent_activation", "sigmoid"),
            "use_bias": used.pop() if used else use_bias is not False,
            "return_sequences": self.boolean(entry, path, "return_sequences", False),
            "return_state": self.boolean(entry, path, "return_state", False),
        }
        layer = BidirectionalLayer(
            name=name,
            input=source,
            key_path=path,
            forward=LstmLayer(weights=halves["forward"], **common),
            backward=LstmLayer(weights=halves["backward"], go_backwards=True, **common),
            merge_mode=merge_mode,
        )
        half_shape = (batch, timesteps, units) if layer.return_sequences else (batch, units)
        if merge_mode is None:  # Keras returns the two halves as two outputs
            self.shapes[f"{name}.forward"] = self.shapes[f"{name}.backward"] = half_shape
        else:
            width = 2 * units if merge_mode == "concat" else units
            self.shapes[name] = (*half_shape[:-1], width)
        if layer.return_state:
            for ref in ("forward.h", "forward.c", "backward.h", "backward.c"):
                self.shapes[f"{name}.{ref}"] = (batch, units)
        return layer

    def masking(self, entry: Mapping[str, Any], path: KeyPath, name: str, source: str) -> MaskingLayer:
        self.keys(entry, path, MASKING_KEYS)
        self.sequence_input(source, path)
        value = entry.get("mask_value", 0.0)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self.error(path + ("mask_value",), f"expected a finite number, got {_describe(value)}")
        self.shapes[name] = self.shapes[source]
        return MaskingLayer(name=name, input=source, key_path=path, mask_value=float(value))

    def no_op(self, entry: Mapping[str, Any], path: KeyPath, name: str, source: str, kind: str) -> NoOpLayer:
        """A layer that is the identity at inference (NO_OP_KINDS); its options checked as Keras does."""
        spec = NO_OP_KINDS[kind]
        keys = [key for key, _, _ in spec.options]
        required = [key for key, default, _ in spec.options if default is None]
        self.keys(entry, path, ("type", "name", "input", *keys), required=required)
        if spec.sequence:
            self.sequence_input(source, path)
        options = []
        for key, default, high in spec.options:
            value = entry.get(key, default)
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if not number or not math.isfinite(value) or not 0 <= value <= high:
                wanted = "a number from 0 to 1" if high == 1 else "a number, 0 or more"
                raise self.error(path + (key,), f"expected {wanted}, got {_describe(value)}")
            options.append((key, float(value)))
        self.shapes[name] = self.shapes[source]
        return NoOpLayer(name=name, input=source, key_path=path, type=kind, options=tuple(options))

    def embedding(self, entry: Mapping[str, Any], path: KeyPath, name: str, source: str) -> EmbeddingLayer:
        self.keys(entry, path, EMBEDDING_KEYS, required=("input_dim", "output_dim"))
        if source not in self.id_inputs:
            raise self.error(
                path,
                f"an embedding reads integer ids (batch, timesteps) from a model input, but {source!r} is "
                f"{'a layer' if source not in self.input_paths else 'not read as ids'}; "
                "make it the first layer, or name an input with `input:`",
            )
        input_dim = self.integer(entry["input_dim"], path + ("input_dim",), 1, MAX_INPUT_DIM)
        output_dim = self.integer(entry["output_dim"], path + ("output_dim",), 1, MAX_UNITS)
        embeddings = None
        if "embeddings" in entry:
            embeddings = self.shaped(
                entry, path, "embeddings", (input_dim, output_dim), "(input_dim, output_dim)"
            )
        ids = self.input_data.get(source)
        if ids is not None and (ids.min() < 0 or ids.max() >= input_dim):
            index = tuple(int(i) for i in np.argwhere((ids < 0) | (ids >= input_dim))[0])
            written = index[1:] if source in self.one_sequence else index  # as the config wrote it
            where = self.input_paths[source] + written
            raise self.error(
                where,
                f"id {ids[index]} is outside [0, {input_dim}): embedding {name!r} has input_dim {input_dim}",
            )
        batch, timesteps = self.shapes[source]
        self.shapes[name] = (batch, timesteps, output_dim)
        return EmbeddingLayer(
            name=name,
            input_dim=input_dim,
            output_dim=output_dim,
            input=source,
            key_path=path,
            mask_zero=bool(self.boolean(entry, path, "mask_zero", False)),
            embeddings=embeddings,
        )

    def initial_state(
        self, entry: Mapping[str, Any], path: KeyPath, units: int, batch: int | None
    ) -> InitialState | None:
        if "initial_state" not in entry:
            return None
        path = path + ("initial_state",)
        value = entry["initial_state"]
        if isinstance(value, Mapping):
            self.keys(value, path, ("h", "c"), required=("h", "c"))
            parts = [(value["h"], path + ("h",)), (value["c"], path + ("c",))]
        elif isinstance(value, list) and len(value) == 2:
            parts = [(value[0], path + (0,)), (value[1], path + (1,))]
        else:
            raise self.error(path, "expected [h, c] or {h: ..., c: ...}, each an array or a reference")
        h, c = (self.state(part, part_path, units, batch) for part, part_path in parts)
        return InitialState(h, c)

    def state(self, value: Any, path: KeyPath, units: int, batch: int | None) -> Array | str:
        if isinstance(value, str):
            ref = self.reference(value, path)
            shape = self.shapes[ref]
            if len(shape) != 2 or shape[1] != units or (batch is not None and shape[0] not in (None, batch)):
                raise self.error(
                    path,
                    f"{ref!r} has shape {shape_text(shape)}, but this layer's state is "
                    f"{shape_text((batch, units))} = (batch, units)",
                )
            return ref
        array = self.array(value, path)
        if array.shape == (units,):
            return array
        if array.ndim != 2 or array.shape[1] != units or (batch is not None and array.shape[0] != batch):
            raise self.error(
                path,
                f"expected shape {shape_text((batch, units))} = (batch, units) or "
                f"({units},) = (units,), got {shape_text(array.shape)}",
            )
        return array

    def dense(self, entry: Mapping[str, Any], path: KeyPath, name: str, source: str) -> DenseLayer:
        self.keys(entry, path, DENSE_KEYS, required=("units",))
        units = self.units(entry, path)
        shape = self.shapes[source]
        width = shape[-1]
        if len(shape) < 2 or width is None:
            raise self.error(
                path,
                f"a Dense layer reads (batch, ..., inputs), but {source!r} has shape {shape_text(shape)}",
            )
        use_bias = self.boolean(entry, path, "use_bias", True)
        kernel = bias = None
        if "kernel" in entry:
            kernel = self.shaped(entry, path, "kernel", (width, units), "(in, units)", (0, source))
            if use_bias and "bias" not in entry:
                raise self.error(path, "missing key 'bias' (units values), or set use_bias: false")
        if "bias" in entry:
            if not use_bias:
                raise self.error(path + ("bias",), "use_bias is false, but a bias is given")
            if kernel is None:
                raise self.error(path, "missing key 'kernel' (a bias is given without it)")
            bias = self.shaped(entry, path, "bias", (units,), "(units,)")
        self.shapes[name] = (*shape[:-1], units)
        return DenseLayer(
            name=name,
            units=units,
            input=source,
            key_path=path,
            activation=self.activation(entry, path, "activation", "linear"),
            use_bias=bool(use_bias),
            kernel=kernel,
            bias=bias,
        )

    # -- outputs, expectations, vocabulary -------------------------------------------------------------

    def outputs(self, data: Mapping[str, Any], layers: tuple[Layer, ...]) -> tuple[str, ...]:
        if "outputs" not in data:
            return (layers[-1].name,)
        refs = data["outputs"]
        if not isinstance(refs, list) or not refs:
            raise self.error(("outputs",), "expected a list of references, e.g. [decoder_dense]")
        return tuple(self.reference(ref, ("outputs", index)) for index, ref in enumerate(refs))

    def expect(self, data: Mapping[str, Any], dtype: DType) -> tuple[Expectation, ...]:
        if "expect" not in data:
            return ()
        entries = self.mapping(data["expect"], ("expect",))
        expectations = []
        for ref, value in entries.items():
            path: KeyPath = ("expect", ref)
            self.reference(ref, path)
            expected = self.array(value, path)
            shape = self.shapes[ref]
            fits = len(shape) == expected.ndim and all(
                n in (None, m) for n, m in zip(shape, expected.shape, strict=True)
            )
            if not fits:
                raise self.error(
                    path,
                    f"expected shape {shape_text(shape)} (the shape of {ref}), "
                    f"got {shape_text(expected.shape)}",
                )
            expectations.append(Expectation(ref, expected, self.tolerances(expected, path, dtype), path))
        return tuple(expectations)

    def tolerances(self, expected: Array, path: KeyPath, dtype: DType) -> Array:
        """A hand value matches to the decimals it was written with: 0.9933 stands for [0.99325, 0.99335]."""
        slack = EXPECT_RTOL[dtype] * np.maximum(1.0, np.abs(expected))
        written = np.zeros(expected.shape)
        for index in np.ndindex(expected.shape):
            mark = self.doc.marks.get(path + index)
            text = mark.text if mark else None
            # 4.0 or 1.00 means exactly 4 or 1; 0.9933 means what its decimals say
            if text and re.fullmatch(r"[-+]?[0-9]*\.[0-9]+", text) and not float(text).is_integer():
                written[index] = 0.5 * 10.0 ** -len(text.split(".")[1])
        return np.maximum(written, slack)

    def vocab(self, data: Mapping[str, Any]) -> tuple[str, ...] | None:
        if "vocab" not in data:
            return None
        tokens = data["vocab"]
        if not isinstance(tokens, list) or not tokens:
            raise self.error(("vocab",), "expected a list of tokens; token k is one-hot position k")
        for index, token in enumerate(tokens):
            if not isinstance(token, str) or isinstance(token, bool):
                raise self.error(
                    ("vocab", index), f"expected a token (text), got {_describe(token)}; quote it"
                )
            if token in tokens[:index]:
                raise self.error(("vocab", index), f"token {token!r} appears twice")
        return tuple(tokens)

    # -- scalar and key helpers ------------------------------------------------------------------------

    def keys(
        self, mapping: Mapping[str, Any], path: KeyPath, allowed: Sequence[str], required: Sequence[str] = ()
    ) -> None:
        if allowed:
            for key in mapping:
                if key not in allowed:
                    raise self.error(path + (key,), f"unknown key {key!r}{did_you_mean(key, allowed)}")
        for key in required:
            if key not in mapping:
                raise self.error(path, f"missing key {key!r}")

    def mapping(self, value: Any, path: KeyPath) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.error(path, f"expected a mapping, got {_describe(value)}")
        return value

    def choice(self, value: Any, path: KeyPath, choices: Sequence[str], also: str = "") -> str:
        """`value` if it is one of `choices`; `also` names a further valid value the caller handles."""
        listed = (*choices, also) if also else tuple(choices)
        valid = ", ".join(listed)
        if not isinstance(value, str):
            raise self.error(path, f"expected one of: {valid}; got {_describe(value)}")
        if value == also:
            raise self.error(path, f"{value!r} in quotes is text; write {also} without quotes")
        if value not in choices:
            hint = did_you_mean(value, listed)
            raise self.error(path, f"unknown {path[-1]} {shorten(value)!r}{hint} (valid: {valid})")
        return value

    def activation(self, entry: Mapping[str, Any], path: KeyPath, key: str, default: str) -> str:
        value = entry.get(key, default)
        if value is None:
            return "linear"  # Keras activation=None
        return self.choice(value, path + (key,), list(ACTIVATIONS))

    def boolean(self, entry: Mapping[str, Any], path: KeyPath, key: str, default: bool | None) -> Any:
        value = entry.get(key, default)
        if value is not default and not isinstance(value, bool):
            raise self.error(path + (key,), f"expected true or false, got {_describe(value)}")
        return value

    def units(self, entry: Mapping[str, Any], path: KeyPath) -> int:
        return self.integer(entry["units"], path + ("units",), 1, MAX_UNITS)

    def integer(self, value: Any, path: KeyPath, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or not low <= value <= high:
            raise self.error(path, f"expected a whole number from {low} to {high:,}, got {_describe(value)}")
        return int(value)

    # -- arrays ----------------------------------------------------------------------------------------

    def shaped(
        self,
        entry: Mapping[str, Any],
        path: KeyPath,
        key: str,
        expected: tuple[int, ...],
        formula: str,
        reads: tuple[int, str] | None = None,
        pytorch: str | None = None,
    ) -> Array:
        """An array of exactly the `expected` shape. `reads` is (axis, source) for a weight whose axis is the
        width of what the layer reads: a mismatch there names the source, where that width comes from.
        `pytorch` is PyTorch's name for the transposed weight, which a transposed array likely is."""
        array = self.array(entry[key], path + (key,))
        if array.shape != expected:
            message = expected_shape_message(expected, formula, array.shape)
            if len(expected) == 2 and array.shape == expected[::-1]:
                message += "; it looks transposed"
                if pytorch:
                    message += f": a PyTorch {pytorch} goes under {pytorch}:, not {key}:"
            elif reads is not None and array.ndim == len(expected):
                axis, source = reads
                if array.shape[axis] != expected[axis]:
                    message += f"; {source!r} has {expected[axis]} features"
            raise self.error(path + (key,), message)
        return array

    def array(self, value: Any, path: KeyPath) -> Array:
        """Nested lists, a numpy array, or {file: PATH[, key: NAME]}: numbers only, finite, rectangular."""
        if isinstance(value, Mapping):
            array = self.file_array(value, path)
        elif isinstance(value, np.ndarray):
            array = value
            if array.dtype.kind not in "iuf":
                raise self.error(path, f"expected numbers, got an array of dtype {array.dtype}")
        elif isinstance(value, list | tuple):
            self.nested_shape(value, path)
            array = np.array(value, dtype=np.float64)
        else:
            raise self.error(path, f"expected an array (a list of numbers), got {_describe(value)}")
        if array.ndim > MAX_ARRAY_RANK:
            raise self.error(path, f"expected at most {MAX_ARRAY_RANK} dimensions, got {array.ndim}")
        if array.size == 0:
            raise self.error(path, f"expected numbers, got an empty array (shape {shape_text(array.shape)})")
        with np.errstate(over="ignore"):  # no copy when the dtype already fits: big inputs stay single
            converted = array.astype(self.np_dtype, copy=False)
        if not np.isfinite(converted).all():
            index = tuple(int(i) for i in np.argwhere(~np.isfinite(converted))[0])
            value = array[index]
            if np.isfinite(value):  # finite in float64, too large for float32
                raise self.error(
                    path + index, f"{self._written(path + index, value)} is out of range for {self.np_dtype}"
                )
            what = "NaN" if np.isnan(value) else "infinity"
            raise self.error(path + index, f"{what} is not allowed; every value must be a finite number")
        return converted

    def summed_bias(self, biases: list[Array], path: KeyPath) -> Array:
        """PyTorch's bias_ih and bias_hh as Keras's one bias: their sum, which must fit the dtype too."""
        with np.errstate(over="ignore"):
            bias = np.asarray(np.sum(biases, axis=0, dtype=self.np_dtype))
        if not np.isfinite(bias).all():
            index = int(np.argwhere(~np.isfinite(bias))[0][0])
            raise self.error(
                path + ("bias_hh", index),
                f"bias_ih[{index}] + bias_hh[{index}] is out of range for {self.np_dtype}; "
                "the LSTM adds them into one bias, as Keras holds it",
            )
        return bias

    def _written(self, path: KeyPath, value: Any) -> str:
        """A number as the user wrote it, or as numpy prints it when it came from a file."""
        mark = self.doc.marks.get(path)
        if mark and mark.text:
            return shorten(mark.text)
        return _describe(value) if isinstance(value, int) else f"{float(value):g}"

    def nested_shape(self, value: Any, path: KeyPath) -> tuple[int, ...]:
        if isinstance(value, list | tuple):
            if not value:
                return (0,)
            first = self.nested_shape(value[0], path + (0,))
            for index in range(1, len(value)):
                shape = self.nested_shape(value[index], path + (index,))
                if shape != first:
                    raise self.error(
                        path + (index,),
                        f"ragged array: this item has shape {shape_text(shape)}"
                        f" but item 0 has {shape_text(first)}"
                        if shape and first
                        else "ragged array: items mix numbers and lists",
                    )
            return (len(value), *first)
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
            raise self.error(path, f"expected a number, got {_describe(value)}")
        if isinstance(value, int) and abs(value) > sys.float_info.max:
            raise self.error(path, f"{self._written(path, value)} is out of range for float64")
        if not math.isfinite(value):
            mark = self.doc.marks.get(path)
            overflowed = mark and mark.text and not INFINITY_TEXT.fullmatch(mark.text)
            if math.isinf(value) and overflowed:  # 1e400 reads as infinity
                raise self.error(path, f"{self._written(path, value)} is out of range for float64")
            raise self.error(
                path,
                f"{'NaN' if math.isnan(value) else 'infinity'} is not allowed; "
                "every value must be a finite number",
            )
        return ()

    def file_array(self, spec: Mapping[str, Any], path: KeyPath) -> Array:
        self.keys(spec, path, ("file", "key"), required=("file",))
        name = spec["file"]
        if isinstance(name, os.PathLike):  # a mapping built in Python may hold a Path
            name = os.fspath(name)
        if not isinstance(name, str) or not name:
            raise self.error(path + ("file",), f"expected a file path, got {_describe(name)}")
        file = self.doc.folder / name
        suffix = file.suffix.lower()
        if suffix not in ARRAY_SUFFIXES:
            raise self.error(path + ("file",), f"{name}: expected a .npy, .npz, .csv or .tsv file")
        if suffix != ".npz" and "key" in spec:
            raise self.error(path + ("key",), f"`key` picks an array from a .npz file; a {suffix} holds one")
        if suffix == ".npz" and "key" not in spec:
            raise self.error(path, f"{name}: a .npz file holds several arrays; say which with `key:`")
        key = spec.get("key")
        if suffix == ".npz" and not isinstance(key, str):
            raise self.error(
                path + ("key",), f"expected the name of an array in {name}, got {_describe(key)}"
            )
        return read_array_file(
            file,
            key,
            lambda part, message: self.error(path + (part,), message),
            name=name,
            missing=f"no such file (looked in {self.doc.folder})",
        )


__all__ = ["format_key_path", "load_example", "load_model", "require_data"]
