"""A Keras model's config (JSON) → an lstm-cli config without weights, and where each layer's weights live.

Both Keras 3 (`config.json` in a `.keras` archive) and tf.keras 2 (the `model_config` attribute of a legacy
`.h5`) describe a model the same way: `Sequential` with a list of layers, or `Functional` (`Model` in
Keras 2) with `inbound_nodes` that say which tensor each layer reads. Keras 3 writes a node as
`{"args": [tensor], "kwargs": {...}}` with `keras_history: [layer, node, tensor]`; Keras 2 writes a list of
`[layer, node, tensor, kwargs]`, an RNN's `initial_state` tensors following its input in the same list.

Converted layers keep their Keras names. A tensor becomes a reference: an LSTM's outputs 0, 1, 2 are
`NAME`, `NAME.h`, `NAME.c`; a Bidirectional's are `NAME` and then `NAME.forward.h`, `NAME.forward.c`,
`NAME.backward.h`, `NAME.backward.c` (with `merge_mode: null`, `NAME.forward` and `NAME.backward` first).
Dropout-like layers do nothing at inference: they become the config's no-op layers (model.NO_OP_KINDS),
so that `summary` still lists them. `TimeDistributed(Dense)` is a `dense` layer: Dense acts on the last
axis, step by step as TimeDistributed runs it. An `Input((timesteps,), dtype="int32")` that an Embedding
reads is an input of ids, `{shape: [timesteps]}`.

Keras 3 writes a Masking layer's mask into a Functional graph as two ops, `NotEqual(x, mask_value)` and
`Any(axis=-1)`, and an Embedding's (mask_zero) as one, `NotEqual(ids, 0)`; it passes the result to each
LSTM as `mask=`. lstm-cli's Masking and Embedding compute the same masks and carry them as Keras does, so
the ops are left out; each `mask=` is checked against the mask lstm-cli would give that layer. Keras 3
calls an LSTM that is given `initial_state` tensors without its input's mask: such an LSTM gets
`use_mask: false`, so that it computes what Keras computes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from lstm_cli.activations import ACTIVATIONS
from lstm_cli.config import load_model
from lstm_cli.errors import LstmCliError
from lstm_cli.graph import masks_taken
from lstm_cli.model import MERGE_MODES, NO_OP_KINDS, MaskingLayer, MaskSource
from lstm_cli.modelfiles.common import file_error
from lstm_cli.names import KerasNames

Flavour = Literal["keras2", "keras3"]
WeightKind = Literal["lstm", "bidirectional", "dense", "embedding"]

LAYER_KIND = {
    "LSTM": "lstm",
    "Bidirectional": "bidirectional",
    "Dense": "dense",
    "Masking": "masking",
    "Embedding": "embedding",
    **{spec.keras_class: kind for kind, spec in NO_OP_KINDS.items()},  # the identity at inference
}
NO_OPS = ", ".join(spec.keras_class for spec in NO_OP_KINDS.values())
SUPPORTED = (
    "LSTM, Bidirectional(LSTM), Dense, TimeDistributed(Dense), Embedding, Masking, InputLayer and the "
    f"layers that do nothing at inference ({NO_OPS})"
)
STATE_REFS = ("forward.h", "forward.c", "backward.h", "backward.c")
MASK_OPS = ("NotEqual", "Any")  # a mask, as Keras 3 writes it into a Functional graph
# What a mask depends on: the reference it is computed from, the value compared with, and whether an Any
# over the features follows (a Masking layer's mask) or not (an Embedding's, of its ids).
Mask = tuple[str, float, bool]


@dataclass
class WeightedLayer:
    """A layer whose weights the file holds: its config entry, filled in place once they are read."""

    entry: dict[str, Any]
    kind: WeightKind
    name: str
    group: str  # Keras 3's group in model.weights.h5: class and position (lstm, lstm_1, ...), not the name
    use_bias: bool


@dataclass
class Skeleton:
    mapping: dict[str, Any]  # an lstm-cli config, weights missing
    weighted: list[WeightedLayer] = field(default_factory=list)


class _Reader:
    def __init__(self, source: Path, flavour: Flavour) -> None:
        self.source = source
        self.flavour = flavour
        self.refs: dict[tuple[str, int], str] = {}  # (Keras layer, output index) → lstm-cli reference
        self.kinds: dict[str, str] = {}  # Keras layer name → class name
        self.groups = KerasNames()  # Keras 3's weight groups, counted per class
        self.weighted: list[WeightedLayer] = []
        self.has_masking = False  # a Masking layer, or an Embedding with mask_zero
        self.zero_output: list[str] = []  # LSTMs with zero_output_for_mask, which matters under a mask
        self.mask_ops: dict[str, Mask] = {}  # NotEqual and Any op → the mask it computes
        self.given_masks: dict[str, Mask | None] = {}  # recurrent layer → the mask Keras 3 calls it with

    def fail(self, message: str) -> LstmCliError:
        return file_error(self.source, message)

    # -- the model -------------------------------------------------------------------------------------

    def model(self, data: Any) -> Skeleton:
        if not isinstance(data, Mapping) or "class_name" not in data:
            raise self.fail("the model config is not a Keras model (no class_name)")
        cls = data["class_name"]
        config = data.get("config")
        if cls == "Sequential":
            mapping = self.sequential(config, data)
        elif cls in ("Functional", "Model"):
            mapping = self.functional(config)
        else:
            raise self.fail(
                f"the model is a {_text(cls)}; lstm-cli reads Sequential and Functional models "
                "(a subclassed model has no config to read: save its weights and give --config)"
            )
        self.check_masking()
        name = config.get("name") if isinstance(config, Mapping) else None
        keras = "tf.keras 2" if self.flavour == "keras2" else "Keras 3"
        label = f"{keras} {cls} {name!r}" if isinstance(name, str) else f"{keras} {cls}"
        return Skeleton(
            {"description": f"{label}, converted from {self.source.name}", **mapping}, self.weighted
        )

    def sequential(self, config: Any, data: Mapping[str, Any]) -> dict[str, Any]:
        layers = config.get("layers") if isinstance(config, Mapping) else config  # Keras 2.2: a bare list
        if not isinstance(layers, list) or not layers:
            raise self.fail("the Sequential model has no layers")
        shape = None
        entries: list[dict[str, Any]] = []
        for index, layer in enumerate(layers):
            cls, name, layer_config = self.layer_head(layer, index)
            if shape is None:
                shape = _batch_shape(layer_config) or _built_shape(layer) or _built_shape(data)
            if cls == "InputLayer":
                continue
            entries.append(self.layer(cls, name, layer_config))
            self.kinds[name] = cls
            self.refs[(name, 0)] = name
        if shape is None:
            raise self.fail("the model's input shape is unknown: it was saved before it was built")
        if not entries:
            raise self.fail("the model has no layers to convert")
        inputs = {"input": self.input_shape(shape, "the model's input")}
        self.check_ids(inputs, entries)
        return {"input": inputs["input"], "layers": entries}

    def functional(self, config: Any) -> dict[str, Any]:
        if not isinstance(config, Mapping) or not isinstance(config.get("layers"), list):
            raise self.fail("the Functional model has no layers")
        inputs: dict[str, Any] = {}
        entries: list[dict[str, Any]] = []
        for index, layer in enumerate(config["layers"]):
            cls, name, layer_config = self.layer_head(layer, index)
            self.kinds[name] = cls
            if cls == "InputLayer":
                shape = _batch_shape(layer_config)
                if shape is None:
                    raise self.fail(f"input {name!r} has no shape")
                inputs[name] = self.input_shape(shape, f"input {name!r}")
                self.refs[(name, 0)] = name
                continue
            if cls in MASK_OPS:
                self.mask_op(cls, name, layer_config, layer)
                continue
            tensors, state, mask = self.inbound(layer, name)
            source = self.reference(tensors[0], name)
            if cls in ("LSTM", "Bidirectional") and self.flavour == "keras3":
                self.given_masks[name] = None if mask is None else self.given_mask(mask, name)
            entry = self.layer(cls, name, layer_config, source)
            self.refs[(name, 0)] = (
                name if entry.get("merge_mode", "concat") is not None else f"{name}.forward"
            )
            if state:
                if cls != "LSTM" or len(state) != 2:
                    raise self.fail(f"layer {name!r}: only an LSTM takes an initial state, as [h, c]")
                entry["initial_state"] = [self.reference(tensor, name) for tensor in state]
            entries.append(entry)
        if not inputs:
            raise self.fail("the Functional model has no InputLayer")
        if not entries:
            raise self.fail("the model has no layers to convert")
        self.check_ids(inputs, entries)
        outputs = [self.reference(tensor, "the model's outputs") for tensor in _tensor_list(config)]
        mapping: dict[str, Any] = {"inputs": inputs, "layers": entries}
        if outputs and outputs != [entries[-1]["name"]]:
            mapping["outputs"] = outputs
        if self.flavour == "keras3" and (self.has_masking or self.mask_ops):  # Keras 3 writes down masks
            self.check_masks(mapping)
        return mapping

    def layer_head(self, layer: Any, index: int) -> tuple[str, str, Mapping[str, Any]]:
        if not isinstance(layer, Mapping) or not isinstance(layer.get("class_name"), str):
            raise self.fail(f"layer {index} of the model config has no class_name")
        layer_config = layer.get("config")
        if not isinstance(layer_config, Mapping):
            raise self.fail(f"layer {index} ({layer['class_name']}) has no config")
        name = layer.get("name", layer_config.get("name"))
        if not isinstance(name, str):
            raise self.fail(f"layer {index} ({layer['class_name']}) has no name")
        return layer["class_name"], name, layer_config

    def input_shape(self, shape: list[Any], what: str) -> dict[str, Any]:
        """{shape: [timesteps, features]} of a sequence, or {shape: [timesteps]} of ids (see check_ids)."""
        known = all(n is None or isinstance(n, int) for n in shape)
        if not known or len(shape) not in (2, 3) or (len(shape) == 3 and shape[2] is None):
            raise self.fail(
                f"{what} has shape {_shape(shape)}; lstm-cli reads sequences (batch, timesteps, features), "
                "or ids (batch, timesteps) into an Embedding"
            )
        return {"shape": list(shape[1:])}

    def check_ids(self, inputs: Mapping[str, Any], entries: list[dict[str, Any]]) -> None:
        """Embeddings read model inputs of ids (batch, timesteps), and nothing else reads those."""
        ids = {name for name, spec in inputs.items() if len(spec["shape"]) == 1}
        previous = next(iter(inputs))
        for entry in entries:
            source = entry.get("input", previous)  # a Sequential's layers read the one before
            previous = entry["name"]
            spec = inputs.get(source)
            read = f"the output of {source!r}"
            if spec is not None:
                read = f"input {source!r} of shape {_shape([None, *spec['shape']])}"
            if entry["type"] == "embedding" and source not in ids:
                raise self.fail(
                    f"layer {entry['name']!r} is an Embedding that reads {read}; lstm-cli's Embedding "
                    "reads a model input of ids (batch, timesteps)"
                )
            if entry["type"] != "embedding" and source in ids:
                raise self.fail(
                    f"layer {entry['name']!r} reads {read}; lstm-cli reads sequences (batch, timesteps, "
                    "features), or ids (batch, timesteps) into an Embedding"
                )

    # -- layers ----------------------------------------------------------------------------------------

    def layer(
        self, cls: str, name: str, config: Mapping[str, Any], source: str | None = None
    ) -> dict[str, Any]:
        """The config entry of one layer; counts its Keras 3 group. `source` is the reference it reads in a
        Functional model (in a Sequential, the previous layer)."""
        if cls not in LAYER_KIND and cls != "TimeDistributed":
            raise self.fail(f"layer {name!r} is a {_text(cls)}; lstm-cli converts {SUPPORTED}")
        self.check_quantized(config, name)
        kind = "dense" if cls == "TimeDistributed" else LAYER_KIND[cls]
        entry: dict[str, Any] = {"type": kind, "name": name}
        if source is not None:
            entry["input"] = source
        if cls == "TimeDistributed":  # Keras 3 keeps the Dense's weights in the wrapper's group, in layer/
            inner = self.time_distributed_dense(config, name)
            return self.dense(entry, inner, f"{self.group('time_distributed')}/layer")
        group = self.group(kind)
        if kind in NO_OP_KINDS:  # options that act only in training, kept as Keras has them
            for key, default, _ in NO_OP_KINDS[kind].options:
                value = config.get(key, default)
                if value != default:
                    entry[key] = _number(value, f"layer {name!r}: {key}", self)
            return entry
        if kind == "masking":
            self.has_masking = True
            entry["mask_value"] = _number(config.get("mask_value", 0.0), f"layer {name!r}: mask_value", self)
            return entry
        if kind == "embedding":
            return self.embedding(entry, config, group)
        if kind == "dense":
            return self.dense(entry, config, group)
        if kind == "lstm":
            entry.update(self.lstm_options(config, name))
            self.check_zero_output(config, name)
            use_bias = entry.get("use_bias", True)
            self.weighted.append(WeightedLayer(entry, "lstm", name, group, use_bias))
            return entry
        entry.update(self.bidirectional_options(config, name))
        use_bias = entry.get("use_bias", True)
        self.weighted.append(WeightedLayer(entry, "bidirectional", name, group, use_bias))
        return entry

    def group(self, prefix: str) -> str:
        """Keras 3's group for the next layer of a class: lstm, lstm_1, ... counted per class."""
        return self.groups.next(prefix)

    def dense(self, entry: dict[str, Any], config: Mapping[str, Any], group: str) -> dict[str, Any]:
        name = entry["name"]
        entry["units"] = self.units(config, name)
        entry["activation"] = self.activation(config.get("activation"), name)
        use_bias = self.flag(config, "use_bias", True, name)
        if not use_bias:
            entry["use_bias"] = False
        self.weighted.append(WeightedLayer(entry, "dense", name, group, use_bias))
        return entry

    def time_distributed_dense(self, config: Mapping[str, Any], name: str) -> Mapping[str, Any]:
        """The config of the Dense a TimeDistributed wraps. Dense acts on the last axis, so the wrapper,
        which runs it on each step, computes what the Dense alone computes: a `dense` layer."""
        inner = config.get("layer")
        wrapped = inner.get("class_name") if isinstance(inner, Mapping) else None
        inner_config = inner.get("config") if isinstance(inner, Mapping) else None
        if wrapped != "Dense" or not isinstance(inner_config, Mapping):
            shown = wrapped if isinstance(wrapped, str) else _text(wrapped)
            raise self.fail(
                f"layer {name!r} is a TimeDistributed({shown}); lstm-cli converts TimeDistributed(Dense)"
            )
        self.check_quantized(inner_config, name)
        return inner_config

    def embedding(self, entry: dict[str, Any], config: Mapping[str, Any], group: str) -> dict[str, Any]:
        name = entry["name"]
        if config.get("sparse"):  # tf.keras 2.14+: a tf.SparseTensor out
            raise self.fail(
                f"layer {name!r}: Embedding(sparse=True) returns a sparse tensor, which lstm-cli does not "
                "compute"
            )
        for key in ("input_dim", "output_dim"):
            value = config.get(key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise self.fail(f"layer {name!r}: expected a whole number {key}, got {_text(value)}")
            entry[key] = value
        if self.flag(config, "mask_zero", False, name):
            entry["mask_zero"] = True
            self.has_masking = True
        self.weighted.append(WeightedLayer(entry, "embedding", name, group, use_bias=False))
        return entry

    def check_quantized(self, config: Mapping[str, Any], name: str) -> None:
        """Keras 3's quantized layers (int8, int4, float8) hold integer weights and scales."""
        dtype = config.get("dtype")
        policy = dtype.get("class_name") if isinstance(dtype, Mapping) else None
        quantized = isinstance(policy, str) and policy.startswith("Quantized")
        if quantized or config.get("quantization_config") is not None:
            inner = dtype.get("config") if isinstance(dtype, Mapping) else None
            mode = inner.get("mode") if isinstance(inner, Mapping) else None
            how = f" ({mode})" if isinstance(mode, str) else ""
            raise self.fail(
                f"layer {name!r} is quantized{how}; lstm-cli computes with the float weights of a model "
                "that is not"
            )

    def lstm_options(self, config: Mapping[str, Any], name: str) -> dict[str, Any]:
        if config.get("time_major"):
            raise self.fail(f"layer {name!r} is time_major; lstm-cli reads (batch, timesteps, features)")
        options: dict[str, Any] = {
            "units": self.units(config, name),
            "activation": self.activation(config.get("activation", "tanh"), name),
            "recurrent_activation": self.activation(config.get("recurrent_activation", "sigmoid"), name),
        }
        for key, default in (
            ("use_bias", True),
            ("return_sequences", False),
            ("return_state", False),
            ("go_backwards", False),
        ):
            value = self.flag(config, key, default, name)
            if value != default:
                options[key] = value
        return options

    def bidirectional_options(self, config: Mapping[str, Any], name: str) -> dict[str, Any]:
        inner = config.get("layer")
        if not isinstance(inner, Mapping) or inner.get("class_name") != "LSTM":
            wrapped = inner.get("class_name") if isinstance(inner, Mapping) else None
            raise self.fail(f"layer {name!r} wraps a {_text(wrapped)}; lstm-cli converts Bidirectional(LSTM)")
        inner_config = inner.get("config")
        if not isinstance(inner_config, Mapping):
            raise self.fail(f"layer {name!r}: the wrapped LSTM has no config")
        options = self.lstm_options(inner_config, name)
        if options.pop("go_backwards", False):
            raise self.fail(f"layer {name!r}: a Bidirectional whose forward layer goes backwards")
        backward = config.get("backward_layer")
        if isinstance(backward, Mapping) and isinstance(backward.get("config"), Mapping):
            other = self.lstm_options(backward["config"], name)
            other.pop("go_backwards", None)
            if backward.get("class_name") != "LSTM" or other != options:
                raise self.fail(
                    f"layer {name!r}: its backward layer differs from the forward one; lstm-cli converts "
                    "a Bidirectional whose halves share units, activations and flags"
                )
        merge_mode = config.get("merge_mode", "concat")
        if merge_mode not in MERGE_MODES:
            raise self.fail(f"layer {name!r}: unknown merge_mode {_text(merge_mode)}")
        if merge_mode != "concat":
            options["merge_mode"] = merge_mode
        return options

    def check_zero_output(self, config: Mapping[str, Any], name: str) -> None:
        if config.get("zero_output_for_mask"):
            self.zero_output.append(name)

    def check_masking(self) -> None:
        if self.has_masking and self.zero_output:
            raise self.fail(
                f"layer {self.zero_output[0]!r} has zero_output_for_mask: true, which lstm-cli does not "
                "compute for an LSTM outside Bidirectional"
            )

    def units(self, config: Mapping[str, Any], name: str) -> int:
        units = config.get("units")
        if isinstance(units, bool) or not isinstance(units, int) or units < 1:
            raise self.fail(f"layer {name!r}: expected a whole number of units, got {_text(units)}")
        return units

    def flag(self, config: Mapping[str, Any], key: str, default: bool, name: str) -> bool:
        value = config.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(f"layer {name!r}: {key} should be true or false, got {_text(value)}")
        return value

    def activation(self, value: Any, name: str) -> str:
        """A Keras activation by lstm-cli's name. tf.keras 2's hard_sigmoid is clip(0.2x + 0.5)."""
        if isinstance(value, Mapping):  # Keras 3 may write a built-in function as {class_name, config}
            value = value.get("config") if isinstance(value.get("config"), str) else value.get("class_name")
        if value is None:
            return "linear"
        if not isinstance(value, str):
            raise self.fail(f"layer {name!r}: activation {_text(value)} is not one lstm-cli computes")
        if value == "hard_sigmoid" and self.flavour == "keras2":
            return "hard_sigmoid_tf2"
        if value not in ACTIVATIONS:
            raise self.fail(
                f"layer {name!r}: activation {value!r} is not one lstm-cli computes "
                f"(it has: {', '.join(ACTIVATIONS)})"
            )
        return value

    # -- masks ---------------------------------------------------------------------------------------

    def mask_op(self, cls: str, name: str, config: Mapping[str, Any], layer: Mapping[str, Any]) -> None:
        """Record a NotEqual(x, value) or an Any(axis=-1) over one; refuse any other use of them."""
        nodes = layer.get("inbound_nodes")
        node = nodes[0] if isinstance(nodes, list) and len(nodes) == 1 else None
        args = node.get("args") if isinstance(node, Mapping) else None
        if not isinstance(args, list):
            raise self.fail(f"layer {name!r}: cannot read its inbound node")
        tensors = _keras3_tensors(args)
        if cls == "NotEqual" and len(args) == 2 and len(tensors) == 1 and _is_number(args[1]):
            self.mask_ops[name] = (self.reference(tensors[0], name), float(args[1]), False)
            return
        computes = tensors[0][0] if len(args) == 1 and len(tensors) == 1 and tensors[0] else None
        if (
            cls == "Any"
            and config.get("axis") == -1
            and not config.get("keepdims")
            and computes in self.mask_ops
        ):
            self.mask_ops[name] = (*self.mask_ops[computes][:2], True)
            return
        raise self.fail(
            f"layer {name!r} is a {cls} op that is not the mask of a Masking or Embedding layer; "
            f"lstm-cli converts {SUPPORTED}"
        )

    def given_mask(self, tensor: Any, name: str) -> Mask:
        source = tensor[0] if isinstance(tensor, list) and tensor else None
        if source not in self.mask_ops:
            raise self.fail(
                f"layer {name!r} is called with mask= from {source!r}, which is not the mask of a Masking "
                "or Embedding layer"
            )
        return self.mask_ops[source]

    def check_masks(self, mapping: dict[str, Any]) -> None:
        """Each recurrent layer must take the mask lstm-cli's engine gives it: the one Keras 3 calls it
        with (`mask=`). An LSTM that Keras 3 calls without it (one given initial_state tensors) gets
        `use_mask: false`, and so runs without it as in Keras."""
        taken = masks_taken(load_model(mapping, source=str(self.source)))
        entries = {entry["name"]: entry for entry in mapping["layers"]}
        for name, given in self.given_masks.items():
            source = taken.get(name)
            if given == _mask_of(source):
                continue
            if given is None and entries[name]["type"] == "lstm":
                entries[name]["use_mask"] = False
                continue
            if source is None:
                raise self.fail(
                    f"layer {name!r} is called with a mask that lstm-cli would not give it "
                    "(it masks as a Masking layer or an Embedding with mask_zero before it does)"
                )
            raise self.fail(
                f"layer {name!r} is called with {'no mask' if given is None else 'another mask'} in this "
                f"model; lstm-cli would apply the mask of {source.name!r} and compute other numbers, so it "
                "does not convert the model"
            )

    # -- the graph -------------------------------------------------------------------------------------

    def inbound(self, layer: Mapping[str, Any], name: str) -> tuple[list[Any], list[Any], Any]:
        """The tensors a Functional layer reads, its initial state (if any) and the mask it is called with
        (Keras 3; None if none), as Keras histories."""
        nodes = layer.get("inbound_nodes")
        if not isinstance(nodes, list) or not nodes:
            raise self.fail(f"layer {name!r} is not connected to the model's inputs")
        if len(nodes) > 1:
            raise self.fail(
                f"layer {name!r} is called {len(nodes)} times; lstm-cli converts layers used once"
            )
        node = nodes[0]
        if isinstance(node, Mapping):  # Keras 3
            kwargs = node.get("kwargs") or {}
            tensors = _keras3_tensors(node.get("args", []))
            state = _keras3_tensors(kwargs.get("initial_state") or [])
            masks = _keras3_tensors(kwargs.get("mask"))
            for key, unread in (("mask", len(masks) > 1), ("constants", kwargs.get("constants") is not None)):
                if unread:
                    raise self.fail(f"layer {name!r} is called with {key}=, which lstm-cli does not convert")
            mask = masks[0] if masks else None
        elif isinstance(node, list) and node and all(isinstance(item, list) for item in node):  # Keras 2
            tensors = [item[:3] for item in node]
            kwargs = node[0][3] if len(node[0]) > 3 and isinstance(node[0][3], Mapping) else {}
            given = kwargs.get("initial_state")
            state = [item[:3] for item in given] if isinstance(given, list) else tensors[1:]
            tensors, mask = tensors[:1], None
        else:
            raise self.fail(f"layer {name!r}: cannot read its inbound node {_text(node)}")
        if len(tensors) != 1:
            raise self.fail(f"layer {name!r} reads {len(tensors)} tensors; lstm-cli's layers read one")
        return tensors, state, mask

    def reference(self, tensor: Any, reader: str) -> str:
        if not (isinstance(tensor, list) and len(tensor) == 3 and isinstance(tensor[0], str)):
            raise self.fail(f"{reader}: cannot read the tensor reference {_text(tensor)}")
        layer, node, index = tensor
        if node != 0 or layer not in self.kinds:
            raise self.fail(f"{reader} reads {layer!r}, which is not an earlier layer called once")
        if layer in self.mask_ops:
            raise self.fail(f"{reader} reads {layer!r}, a Masking layer's mask, as data")
        ref = self.refs.get((layer, 0)) if index == 0 else None
        if ref is not None:
            return ref
        cls = self.kinds[layer]
        if isinstance(index, int) and cls == "LSTM" and index in (1, 2):
            return f"{layer}.{'hc'[index - 1]}"
        if isinstance(index, int) and cls == "Bidirectional":
            return self.bidirectional_ref(layer, index)
        raise self.fail(f"{reader} reads output {index} of {layer!r}, which has no such output")

    def bidirectional_ref(self, layer: str, index: int) -> str:
        entry = next(w.entry for w in self.weighted if w.name == layer)
        outputs = ["forward", "backward"] if "merge_mode" in entry and entry["merge_mode"] is None else [""]
        names = [f"{layer}.{half}" if half else layer for half in outputs]
        names += [f"{layer}.{ref}" for ref in STATE_REFS]
        if not 0 <= index < len(names):
            raise self.fail(f"a layer reads output {index} of {layer!r}, which has no such output")
        return names[index]


def read_keras_config(data: Any, source: Path, flavour: Flavour) -> Skeleton:
    """The lstm-cli config of a Keras model config, weights missing (see `WeightedLayer`)."""
    try:
        return _Reader(source, flavour).model(data)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:  # a config made by hand
        raise file_error(source, f"cannot read the model config ({type(exc).__name__}: {exc})") from None


def _keras3_tensors(value: Any) -> list[Any]:
    """Every `__keras_tensor__` in a Keras 3 node's args, in order, as [layer, node, index]."""
    found: list[Any] = []
    if isinstance(value, Mapping):
        if value.get("class_name") == "__keras_tensor__":
            config = value.get("config")
            history = config.get("keras_history") if isinstance(config, Mapping) else None
            found.append(list(history) if isinstance(history, list | tuple) else None)
        else:
            for item in value.values():
                found.extend(_keras3_tensors(item))
    elif isinstance(value, list | tuple):
        for item in value:
            found.extend(_keras3_tensors(item))
    return found


def _tensor_list(config: Mapping[str, Any]) -> list[Any]:
    """`output_layers`: one [layer, node, index], or a list of them (a dict of them in Keras 3)."""
    value = config.get("output_layers") or []
    if isinstance(value, Mapping):
        value = list(value.values())
    if value and isinstance(value[0], str):
        return [list(value)]
    return [list(item) if isinstance(item, list | tuple) else item for item in value]


def _batch_shape(config: Mapping[str, Any]) -> list[Any] | None:
    for key in ("batch_shape", "batch_input_shape"):
        shape = config.get(key)
        if isinstance(shape, list | tuple):
            return list(shape)
    return None


def _built_shape(layer: Any) -> list[Any] | None:
    build = layer.get("build_config") if isinstance(layer, Mapping) else None
    shape = build.get("input_shape") if isinstance(build, Mapping) else None
    return list(shape) if isinstance(shape, list | tuple) else None


def _mask_of(source: MaskSource | None) -> Mask | None:
    """The mask ops Keras 3 writes for the mask of a Masking layer or an Embedding (mask_zero)."""
    if source is None:
        return None
    if isinstance(source, MaskingLayer):
        return (source.input, source.mask_value, True)
    return (source.input, 0.0, False)


def _number(value: Any, what: str, reader: _Reader) -> float:
    if not _is_number(value):
        raise reader.fail(f"{what}: expected a number, got {_text(value)}")
    return float(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _shape(shape: list[Any]) -> str:
    return "(" + ", ".join("None" if n is None else str(n) for n in shape) + ")"


def _text(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
