"""A Keras model's config (JSON) → an lstm-cli config without weights, and where each layer's weights live.

Both Keras 3 (`config.json` in a `.keras` archive) and tf.keras 2 (the `model_config` attribute of a legacy
`.h5`) describe a model the same way: `Sequential` with a list of layers, or `Functional` (`Model` in
Keras 2) with `inbound_nodes` that say which tensor each layer reads. Keras 3 writes a node as
`{"args": [tensor], "kwargs": {...}}` with `keras_history: [layer, node, tensor]`; Keras 2 writes a list of
`[layer, node, tensor, kwargs]`, an RNN's `initial_state` tensors following its input in the same list.

Converted layers keep their Keras names; each layer's own config is read by `keras_layers`. A tensor
becomes a reference: an LSTM's outputs 0, 1, 2 are `NAME`, `NAME.h`, `NAME.c`; a Bidirectional's are
`NAME` and then `NAME.forward.h`, `NAME.forward.c`, `NAME.backward.h`, `NAME.backward.c` (with
`merge_mode: null`, `NAME.forward` and `NAME.backward` first), in the order its layer type gives them. An
`Input((timesteps,), dtype="int32")` that an Embedding reads is an input of ids, `{shape: [timesteps]}`.

Keras 3 writes its masks into a Functional graph as ops, which are left out and checked against the
masks lstm-cli gives (`keras_masks`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lstm_cli.errors import LstmCliError
from lstm_cli.layers import LAYER_TYPES
from lstm_cli.modelfiles.common import file_error
from lstm_cli.modelfiles.keras_layers import Flavour, LayerReader, WeightedLayer, text
from lstm_cli.modelfiles.keras_masks import MASK_OPS, Masks

RECURRENT = ("LSTM", "Bidirectional")  # the classes Keras 3 calls with its input's mask


@dataclass
class Skeleton:
    mapping: dict[str, Any]  # an lstm-cli config, weights missing
    weighted: list[WeightedLayer] = field(default_factory=list)


def read_keras_config(data: Any, source: Path, flavour: Flavour) -> Skeleton:
    """The lstm-cli config of a Keras model config, weights missing (see `WeightedLayer`)."""
    try:
        return _Reader(source, flavour).model(data)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:  # a config made by hand
        raise file_error(source, f"cannot read the model config ({type(exc).__name__}: {exc})") from None


class _Reader:
    """One model config: its kind (Sequential or Functional), its inputs, and how its layers connect. Each
    layer's own config is read by `layers`, its masks by `masks`."""

    def __init__(self, source: Path, flavour: Flavour) -> None:
        self.source = source
        self.flavour = flavour
        self.layers = LayerReader(source, flavour)
        self.masks = Masks(source)
        self.kinds: dict[str, str] = {}  # Keras layer name → class name
        self.outputs: dict[str, tuple[str, ...]] = {}  # Keras layer → lstm-cli reference of each output

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
                f"the model is a {text(cls)}; lstm-cli reads Sequential and Functional models "
                "(a subclassed model has no config to read: save its weights and give --config)"
            )
        self.masks.check_zero_output(self.layers)
        name = config.get("name") if isinstance(config, Mapping) else None
        keras = "tf.keras 2" if self.flavour == "keras2" else "Keras 3"
        label = f"{keras} {cls} {name!r}" if isinstance(name, str) else f"{keras} {cls}"
        return Skeleton(
            {"description": f"{label}, converted from {self.source.name}", **mapping}, self.layers.weighted
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
            entries.append(self.layers.entry(cls, name, layer_config))
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
                self.outputs[name] = (name,)
            elif cls in MASK_OPS:
                args = self.op_args(layer, name)
                self.masks.op(cls, name, layer_config, args, keras3_tensors(args), self.reference)
            else:
                entries.append(self.connected(cls, name, layer_config, layer))
        if not inputs:
            raise self.fail("the Functional model has no InputLayer")
        if not entries:
            raise self.fail("the model has no layers to convert")
        self.check_ids(inputs, entries)
        outputs = [self.reference(tensor, "the model's outputs") for tensor in _tensor_list(config)]
        mapping: dict[str, Any] = {"inputs": inputs, "layers": entries}
        if outputs and outputs != [entries[-1]["name"]]:
            mapping["outputs"] = outputs
        if self.flavour == "keras3" and (self.layers.masks or self.masks.ops):  # Keras 3 writes down masks
            self.masks.check(mapping)
        return mapping

    def connected(
        self, cls: str, name: str, config: Mapping[str, Any], layer: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The entry of a Functional model's layer, with the references it reads."""
        tensors, state, mask = self.inbound(layer, name)
        source = self.reference(tensors[0], name)
        if cls in RECURRENT and self.flavour == "keras3":
            self.masks.given[name] = None if mask is None else self.masks.given_mask(mask, name)
        entry = self.layers.entry(cls, name, config, source)
        self.outputs[name] = self.layers.outputs(entry)
        if state:
            if cls != "LSTM" or len(state) != 2:
                raise self.fail(f"layer {name!r}: only an LSTM takes an initial state, as [h, c]")
            entry["initial_state"] = [self.reference(tensor, name) for tensor in state]
        return entry

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
            reads_ids = LAYER_TYPES[entry["type"]].reads_ids
            if reads_ids and source not in ids:
                raise self.fail(
                    f"layer {entry['name']!r} is an Embedding that reads {read}; lstm-cli's Embedding "
                    "reads a model input of ids (batch, timesteps)"
                )
            if not reads_ids and source in ids:
                raise self.fail(
                    f"layer {entry['name']!r} reads {read}; lstm-cli reads sequences (batch, timesteps, "
                    "features), or ids (batch, timesteps) into an Embedding"
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
            tensors = keras3_tensors(node.get("args", []))
            state = keras3_tensors(kwargs.get("initial_state") or [])
            masks = keras3_tensors(kwargs.get("mask"))
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
            raise self.fail(f"layer {name!r}: cannot read its inbound node {text(node)}")
        if len(tensors) != 1:
            raise self.fail(f"layer {name!r} reads {len(tensors)} tensors; lstm-cli's layers read one")
        return tensors, state, mask

    def op_args(self, layer: Mapping[str, Any], name: str) -> list[Any]:
        """The arguments a Keras 3 op is called with, once."""
        nodes = layer.get("inbound_nodes")
        node = nodes[0] if isinstance(nodes, list) and len(nodes) == 1 else None
        args = node.get("args") if isinstance(node, Mapping) else None
        if not isinstance(args, list):
            raise self.fail(f"layer {name!r}: cannot read its inbound node")
        return args

    def reference(self, tensor: Any, reader: str) -> str:
        """The lstm-cli reference of a Keras tensor, [layer, node, index]: output `index` of `layer`."""
        if not (isinstance(tensor, list) and len(tensor) == 3 and isinstance(tensor[0], str)):
            raise self.fail(f"{reader}: cannot read the tensor reference {text(tensor)}")
        layer, node, index = tensor
        if node != 0 or layer not in self.kinds:
            raise self.fail(f"{reader} reads {layer!r}, which is not an earlier layer called once")
        if layer in self.masks.ops:
            raise self.fail(f"{reader} reads {layer!r}, a Masking layer's mask, as data")
        refs = self.outputs.get(layer, ())
        if isinstance(index, int) and 0 <= index < len(refs):
            return refs[index]
        raise self.fail(f"{reader} reads output {index} of {layer!r}, which has no such output")


def keras3_tensors(value: Any) -> list[Any]:
    """Every `__keras_tensor__` in a Keras 3 node's args, in order, as [layer, node, index]."""
    found: list[Any] = []
    if isinstance(value, Mapping):
        if value.get("class_name") == "__keras_tensor__":
            config = value.get("config")
            history = config.get("keras_history") if isinstance(config, Mapping) else None
            found.append(list(history) if isinstance(history, list | tuple) else None)
        else:
            for item in value.values():
                found.extend(keras3_tensors(item))
    elif isinstance(value, list | tuple):
        for item in value:
            found.extend(keras3_tensors(item))
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


def _shape(shape: list[Any]) -> str:
    return "(" + ", ".join("None" if n is None else str(n) for n in shape) + ")"


__all__ = ["Flavour", "Skeleton", "WeightedLayer", "read_keras_config"]
