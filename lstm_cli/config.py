"""Config → `Model`: every key, number, shape and reference checked, each problem located (docs/config.md).

This is the only module that knows the config schema's top level. It reads YAML through `yamlio` and array
files through `arrayfiles` (`.npy`, `.npz`, `.csv`, `.tsv`; never pickles), and raises `LstmCliError`
pointing at FILE:LINE:COL and the key path. Reading is a short sequence of steps over located values
(`checks.Node`): the top-level keys, dtype, vocab, inputs, the layers (each checked by its type, in
`layers/`), outputs, description and the hand values under `expect:`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .checks import NAME_PATTERN as NAME_PATTERN
from .checks import Node, describe
from .errors import LstmCliError
from .layers import LAYER_TYPES, Scope, owner_of
from .losses import CROSSENTROPIES, LOSS_TYPES
from .model import Array, DType, Expectation, InputSpec, Layer, LossSpec, Model
from .names import DIRECTIONS, OUTPUT, KerasNames, ref_parts
from .text import did_you_mean, shape_text, shorten
from .yamlio import Document, document_from_mapping, format_key_path, parse_yaml, read_config_file

DTYPES: tuple[DType, ...] = ("float32", "float64")
MAX_LAYERS = 1_000  # a calculator's model has a handful; 20,000 (400 KB of YAML) took minutes to summarise
MAX_TIMESTEPS = 10**9  # in an input's shape
TOP_KEYS = (
    *("description", "dtype", "input", "inputs", "layers", "outputs", "expect", "vocab"),
    *("loss", "expect_gradients"),
)
LOSS_KEYS = ("type", "output", "target", "from_logits")
CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # all but tab and line breaks
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
    return _read(document, dtype)


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
    return _read(document, dtype, builtin=name)


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
    """Whether a layer's weights were given (masking and the no-op layers have none to give)."""
    return owner_of(layer).has_weights(layer)


def embedded_inputs(data: Mapping[str, Any]) -> set[str]:
    """The model inputs that embeddings read (integer ids): named by `input:`, or the only input when an
    embedding is the first layer. Known before the inputs are read, since ids are read as ids."""
    names = ["input"] if "input" in data else list(data.get("inputs") or {})
    entries = data.get("layers")
    found = set()
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        kind = entry.get("type") if isinstance(entry, Mapping) else None
        if not isinstance(kind, str) or kind not in LAYER_TYPES or not LAYER_TYPES[kind].reads_ids:
            continue
        source = entry.get("input", names[0] if index == 0 and len(names) == 1 else None)
        if isinstance(source, str) and source in names:
            found.add(source)
    return found


# -- the steps of reading a config, in order ---------------------------------------------------------------


def _read(document: Document, dtype_override: str | None, builtin: str | None = None) -> Model:
    root = Node(document.data, (), document)
    data = _top_level(root)
    dtype = _dtype(root, dtype_override)
    root = Node(document.data, (), document, np.dtype(dtype))
    vocab = _vocab(root)  # before the inputs: ids may be written as tokens
    scope = _inputs(root, vocab, embedded_inputs(data))
    layers = _layers(root["layers"], scope)
    outputs = _outputs(root, scope, layers)
    description = _description(root)
    model = Model(
        inputs=scope.inputs,
        layers=layers,
        outputs=outputs,
        shapes=dict(scope.shapes),
        dtype=dtype,
        document=document,
        description=description,
        declared_dtype=data.get("dtype") if isinstance(data.get("dtype"), str) else None,
        expect=_expect(root, scope, dtype),
        vocab=vocab,
        builtin=builtin,
    )
    loss = _loss(root["loss"], scope, outputs) if "loss" in root else None
    return replace(model, loss=loss, expect_gradients=_expect_gradients(root, model))


def _top_level(root: Node) -> Mapping[str, Any]:
    if not isinstance(root.value, Mapping):
        raise root.error("a config must be a mapping of keys (input, layers, ...)")
    root.keys(TOP_KEYS)
    if "layers" not in root:
        raise root.error("missing key 'layers' (a list of layers, each a mapping with a `type`)")
    return root.value


def _dtype(root: Node, override: str | None) -> DType:
    # The config's dtype is checked even where the override wins: a bad config computes nothing.
    written = root.get("dtype", "float64").choice(DTYPES)
    if override is None:
        return written  # type: ignore[return-value]
    if override not in DTYPES:
        raise LstmCliError(f"dtype must be one of {', '.join(DTYPES)}, not {override!r}")
    return override


def _vocab(root: Node) -> tuple[str, ...] | None:
    if "vocab" not in root:
        return None
    tokens = root["vocab"]
    if not isinstance(tokens.value, list) or not tokens.value:
        raise tokens.error("expected a list of tokens; token k is one-hot position k")
    for index, token in enumerate(tokens.value):
        if not isinstance(token, str) or isinstance(token, bool):
            raise tokens.error(f"expected a token (text), got {describe(token)}; quote it", index)
        if token in tokens.value[:index]:
            raise tokens.error(f"token {token!r} appears twice", index)
    return tuple(tokens.value)


# -- inputs ------------------------------------------------------------------------------------------------


def _inputs(root: Node, vocab: tuple[str, ...] | None, ids: set[str]) -> Scope:
    """The model's inputs, as what the first layers may read. `ids`: the inputs that embeddings read."""
    if "input" in root and "inputs" in root:
        raise root.error("give either `input` or `inputs`, not both", "inputs")
    given: list[tuple[str | None, Node]]
    if "input" in root:
        given = [("input", root["input"])]
    elif "inputs" in root:
        named = root["inputs"].mapping()
        if not named.value:
            raise named.error("name at least one input")
        given = [(None, node) for _, node in named.items()]  # each name checked as it is read
    else:
        raise root.error("missing key 'input' (the input sequence, (batch, timesteps, features))")
    scope = Scope(inputs={})
    batch: int | None = None
    for known, node in given:
        name = known or node.key().name()
        spec = _ids_input(name, node, vocab, scope) if name in ids else _input(name, node)
        if spec.data is not None:
            if batch is not None and spec.data.shape[0] != batch:
                raise node.error(f"batch {spec.data.shape[0]} differs from the other inputs' batch {batch}")
            batch = spec.data.shape[0]
        scope.inputs[name] = spec
    scope.shapes.update({name: (batch, *spec.shape) for name, spec in scope.inputs.items()})
    return scope


def _input(name: str, node: Node) -> InputSpec:
    """A sequence of features: an array (batch, timesteps, features), or (timesteps, features) for one
    sequence, or only its shape."""
    if isinstance(node.value, Mapping):  # {shape: ...} or {file: ...}: a slip in either gets its suggestion
        node.keys(("shape", "file", "key"))
    if isinstance(node.value, Mapping) and "shape" in node:
        timesteps, dims = _shape(node, 2, "expected [timesteps or null, features]")
        return InputSpec(name, (timesteps, dims[1].integer(1, MAX_TIMESTEPS)), None, node.path)
    array = node.array()
    if array.ndim == 2:
        array = array[np.newaxis]  # one sequence: (timesteps, features) → (1, timesteps, features)
    if array.ndim != 3:
        raise node.error(
            "expected (batch, timesteps, features) or (timesteps, features), "
            f"got shape {shape_text(array.shape)}"
        )
    return InputSpec(name, (array.shape[1], array.shape[2]), array, node.path)


def _ids_input(name: str, node: Node, vocab: tuple[str, ...] | None, scope: Scope) -> InputSpec:
    """An input that an embedding reads: integer ids (batch, timesteps), or (timesteps,) for one sequence;
    tokens of the vocab stand for their ids."""
    if isinstance(node.value, Mapping):
        node.keys(("shape", "file", "key"))
    if isinstance(node.value, Mapping) and "shape" in node:
        timesteps, _ = _shape(node, 1, "an embedding's input is ids: expected [timesteps or null]")
        return InputSpec(name, (timesteps,), None, node.path)
    ids = _ids(node, vocab)
    if ids.ndim == 1:
        ids = ids[np.newaxis]  # one sequence: (timesteps,) → (1, timesteps)
        scope.one_sequence.add(name)
    if ids.ndim != 2:
        raise node.error(
            "an embedding reads integer ids (batch, timesteps) or (timesteps,), "
            f"got shape {shape_text(ids.shape)}"
        )
    return InputSpec(name, (ids.shape[1],), ids, node.path)


def _shape(node: Node, rank: int, expected: str) -> tuple[int | None, Node]:
    """{shape: [timesteps or null, ...]}: the timesteps, and the node of the shape's list."""
    node.keys(("shape",), required=("shape",))
    dims = node["shape"]
    if not isinstance(dims.value, list) or len(dims.value) != rank:
        raise dims.error(expected)
    return None if dims.value[0] is None else dims[0].integer(1, MAX_TIMESTEPS), dims


def _ids(node: Node, vocab: tuple[str, ...] | None) -> Array:
    """Whole numbers as int64, with tokens of the vocab read as their positions."""
    value = node.value
    if isinstance(value, list) and vocab is not None:
        value = _token_ids(node, vocab)
    array = node.at(value).array() if not isinstance(value, np.ndarray) else value
    if array.dtype.kind not in "iu":
        if array.dtype.kind != "f":
            raise node.error(f"expected integer ids, got an array of dtype {array.dtype}")
        fractional = np.argwhere(array != np.round(array))
        if len(fractional):
            index = tuple(int(i) for i in fractional[0])
            raise node.error(f"expected an integer id, got {array[index]}", *index)
    if array.size == 0:
        raise node.error("expected ids, got an empty array")
    return np.asarray(array, dtype=np.int64)


def _token_ids(node: Node, vocab: tuple[str, ...]) -> Any:
    """Nested lists with the vocab's tokens replaced by their ids; numbers stay as they are."""
    value = node.value
    if isinstance(value, list):
        return [_token_ids(item, vocab) for item in node.elements()]
    if isinstance(value, str):
        if value not in vocab:
            raise node.error(f"token {shorten(value)!r} is not in the vocab{did_you_mean(value, vocab)}")
        return vocab.index(value)
    return value


# -- layers ------------------------------------------------------------------------------------------------


def _layers(entries: Node, scope: Scope) -> tuple[Layer, ...]:
    """Each layer checked by its type, in order: a layer reads only inputs and earlier layers."""
    if not isinstance(entries.value, list):
        raise entries.error(
            f"expected a list of layers, each a mapping with a `type`; got {describe(entries.value)}"
        )
    if not entries.value:
        raise entries.error("expected at least one layer, got an empty list")
    if len(entries.value) > MAX_LAYERS:
        raise entries.error(f"expected at most {MAX_LAYERS:,} layers, got {len(entries.value):,}")
    given = (entry.get("name") for entry in entries.value if isinstance(entry, Mapping))
    taken = {name for name in given if isinstance(name, str)} | set(scope.inputs)
    scope.pending = taken - set(scope.inputs)  # names of this layer and later ones: not readable yet
    names = KerasNames(taken)  # automatic names skip those given
    previous: str | None = next(iter(scope.inputs)) if len(scope.inputs) == 1 else None
    layers: list[Layer] = []
    for entry in entries.elements():
        layer = _layer(entry.mapping(), scope, names, previous)
        layers.append(layer)
        scope.pending.discard(layer.name)
        previous = layer.name
    return tuple(layers)


def _layer(entry: Node, scope: Scope, names: KerasNames, previous: str | None) -> Layer:
    """One layer: its type, name and input here; the rest of its keys by its type."""
    if "type" not in entry:
        raise entry.error(f"missing key 'type' (one of: {', '.join(LAYER_TYPES)})")
    owner = LAYER_TYPES[entry["type"].choice(tuple(LAYER_TYPES))]
    given = None
    if "name" in entry:
        given = entry["name"].name()
        if given in scope.shapes:
            raise entry["name"].error(f"the name {given!r} is already taken")
    name = names.layer(owner.keras_prefix, owner.wraps, given)
    if "input" in entry:
        source = scope.reference(entry["input"])
    elif previous is None:
        raise entry.error(f"there are several inputs ({', '.join(scope.inputs)}); say which with `input:`")
    elif previous not in scope.shapes:  # a bidirectional layer with merge_mode null gives two sequences
        halves = " or ".join(f"`input: {previous}.{direction}`" for direction in DIRECTIONS)
        raise entry.error(f"{previous!r} gives its halves apart (merge_mode null); say which with {halves}")
    else:
        source = previous
    layer: Layer = owner.parse(entry, scope, name, source)
    outputs = zip(owner.output_refs(layer), owner.output_shapes(layer, scope.shapes[source]), strict=True)
    scope.shapes.update(outputs)
    return layer


# -- outputs, description, expectations --------------------------------------------------------------------


def _outputs(root: Node, scope: Scope, layers: tuple[Layer, ...]) -> tuple[str, ...]:
    if "outputs" not in root:  # the last layer's outputs, as Keras returns them, without its states
        last = layers[-1]
        return tuple(ref for ref in owner_of(last).output_refs(last) if ref_parts(ref)[2] == OUTPUT)
    refs = root["outputs"]
    if not isinstance(refs.value, list) or not refs.value:
        raise refs.error("expected a list of references, e.g. [decoder_dense]")
    return tuple(scope.reference(ref) for ref in refs.elements())


def _description(root: Node) -> str | None:
    description = root.value.get("description")
    if description is not None and not isinstance(description, str):
        raise root.error(f"expected text, got {describe(description)}", "description")
    control = CONTROL_CHARACTER.search(description or "")
    if control:  # the tables print the description: an escape sequence would drive the terminal
        code = f"U+{ord(control.group()):04X}"
        raise root.error(f"a control character ({code}) is not allowed in text", "description")
    return description


def _expect(root: Node, scope: Scope, dtype: DType) -> tuple[Expectation, ...]:
    if "expect" not in root:
        return ()
    expectations = []
    for _, node in root["expect"].mapping().items():
        ref = scope.reference(node.key())
        expected = node.array()
        shape = scope.shapes[ref]
        fits = len(shape) == expected.ndim and all(
            n in (None, m) for n, m in zip(shape, expected.shape, strict=True)
        )
        if not fits:
            raise node.error(
                f"expected shape {shape_text(shape)} (the shape of {ref}), got {shape_text(expected.shape)}"
            )
        expectations.append(Expectation(ref, expected, _tolerances(node, expected, dtype), node.path))
    return tuple(expectations)


def _tolerances(node: Node, expected: Array, dtype: DType) -> Array:
    """A hand value matches to the decimals it was written with: 0.9933 stands for [0.99325, 0.99335]."""
    slack = EXPECT_RTOL[dtype] * np.maximum(1.0, np.abs(expected))
    written = np.zeros(expected.shape)
    for index in np.ndindex(expected.shape):
        mark = node.doc.marks.get(node.path + index)
        text = mark.text if mark else None
        # 4.0 or 1.00 means exactly 4 or 1; 0.9933 means what its decimals say
        if text and re.fullmatch(r"[-+]?[0-9]*\.[0-9]+", text) and not float(text).is_integer():
            written[index] = 0.5 * 10.0 ** -len(text.split(".")[1])
    return np.maximum(written, slack)


# -- the loss and the gradients worked out by hand (backward) ---------------------------------------------


def read_loss(model: Model, given: Mapping[str, Any], source: str) -> LossSpec:
    """A loss given apart from the config (`--loss TYPE --target FILE`), checked as `loss:` is; `source`
    names it in messages."""
    document = document_from_mapping({"loss": given})
    document.source = source
    scope = Scope(inputs=model.inputs, shapes=dict(model.shapes))
    return _loss(Node(document.data, (), document, np.dtype(model.dtype))["loss"], scope, model.outputs)


def _loss(node: Node, scope: Scope, outputs: tuple[str, ...]) -> LossSpec:
    node.mapping().keys(LOSS_KEYS, required=("type",))
    kind = node["type"].choice(LOSS_TYPES)
    if "output" in node:
        ref = scope.reference(node["output"])
    elif len(outputs) == 1:
        ref = outputs[0]
    else:
        raise node.error(f"the model has several outputs ({', '.join(outputs)}); say which with `output:`")
    from_logits = node.boolean("from_logits", False)
    if from_logits and kind not in CROSSENTROPIES:
        raise node.error(f"from_logits applies to the crossentropies, not to {kind}", "from_logits")
    if kind == "sum":
        if "target" in node:
            raise node["target"].error("a sum loss has no target: it is the sum of the output")
        return LossSpec(kind, ref, None, False, node.path)
    if "target" not in node:
        raise node.error(f"missing key 'target' ({_target_shape_text(kind, scope.shapes[ref], ref)})")
    target = _target(node["target"], kind, scope.shapes[ref], ref)
    return LossSpec(kind, ref, target, from_logits, node.path)


def _target_shape_text(kind: str, shape: tuple[int | None, ...], ref: str) -> str:
    if kind == "sparse_categorical_crossentropy":
        return f"class ids of shape {shape_text(shape[:-1])}: the shape of {ref} without its classes"
    return f"an array of shape {shape_text(shape)}: the shape of {ref}"


def _target(node: Node, kind: str, shape: tuple[int | None, ...], ref: str) -> Array:
    """The target, of the output's shape; class ids in [0, classes) for sparse_categorical_crossentropy."""
    target = node.array()
    sparse = kind == "sparse_categorical_crossentropy"
    expected = shape[:-1] if sparse else shape
    got = (
        target.shape[:-1]
        if sparse and target.shape[-1:] == (1,) and len(shape) == target.ndim
        else target.shape
    )
    fits = len(expected) == len(got) and all(n in (None, m) for n, m in zip(expected, got, strict=True))
    if not fits:
        raise node.error(f"expected {_target_shape_text(kind, shape, ref)}; got {shape_text(target.shape)}")
    if sparse:
        classes = shape[-1]
        bad = np.argwhere((target != np.round(target)) | (target < 0) | (target >= (classes or 0)))
        if len(bad):
            index = tuple(int(i) for i in bad[0])
            raise node.error(
                f"expected a class id in [0, {classes}) ({ref} has {classes}), got {target[index]:g}", *index
            )
    return target


def _expect_gradients(root: Node, model: Model) -> tuple[Expectation, ...]:
    """Gradients worked out by hand, keyed as `backward` names them, `loss` for the loss itself."""
    if "expect_gradients" not in root:
        return ()
    from .backprop.keys import gradient_shapes

    shapes = {"loss": (), **gradient_shapes(model)}
    expectations = []
    for key, node in root["expect_gradients"].mapping().items():
        if key not in shapes:
            hint = did_you_mean(str(key), list(shapes))
            raise node.error(f"unknown gradient {shorten(str(key))!r}{hint} (known: {', '.join(shapes)})")
        expected = np.asarray(node.number()) if key == "loss" else node.array()
        if expected.shape != shapes[key]:
            raise node.error(
                f"expected shape {shape_text(shapes[key])} (the shape of {key}), "
                f"got {shape_text(expected.shape)}"
            )
        expectations.append(Expectation(key, expected, _tolerances(node, expected, model.dtype), node.path))
    return tuple(expectations)


__all__ = ["LAYER_TYPES", "NAME_PATTERN", "format_key_path", "load_example", "load_model", "require_data"]
