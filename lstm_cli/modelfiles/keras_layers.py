"""A Keras layer's config (JSON) → the config entry of the same lstm-cli layer, one reader per Keras class.

A layer's class names its lstm-cli type (`layers.BY_KERAS_CLASS`); `TimeDistributed(Dense)` is a `dense`
layer, since Dense acts on the last axis, step by step as TimeDistributed runs it. Dropout-like layers do
nothing at inference: they become the config's no-op layers (`layers.NO_OP_KINDS`), so that `summary`
still lists them. An option is written into the entry only where it differs from the default, so that a
converted YAML says what is special about each layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from lstm_cli.activations import ACTIVATIONS
from lstm_cli.errors import LstmCliError
from lstm_cli.layers import BY_KERAS_CLASS, MERGE_MODES, NO_OP_KINDS
from lstm_cli.layers.bidirectional import bidirectional_refs
from lstm_cli.layers.lstm import lstm_refs
from lstm_cli.modelfiles.common import file_error
from lstm_cli.names import KerasNames

Flavour = Literal["keras2", "keras3"]
WeightKind = Literal["lstm", "bidirectional", "dense", "embedding"]

NO_OPS = ", ".join(spec.keras_class for spec in NO_OP_KINDS.values())
SUPPORTED = (
    "LSTM, Bidirectional(LSTM), Dense, TimeDistributed(Dense), Embedding, Masking, InputLayer and the "
    f"layers that do nothing at inference ({NO_OPS})"
)
LSTM_FLAGS = (
    ("use_bias", True),
    ("return_sequences", False),
    ("return_state", False),
    ("go_backwards", False),
)


@dataclass
class WeightedLayer:
    """A layer whose weights the file holds: its config entry, filled in place once they are read."""

    entry: dict[str, Any]
    kind: WeightKind
    name: str
    group: str  # Keras 3's group in model.weights.h5: class and position (lstm, lstm_1, ...), not the name
    use_bias: bool


@dataclass
class LayerReader:
    """Reads each layer of one model config in turn, and keeps what the model's readers ask afterwards:
    the layers whose weights the file holds, and what the masks depend on."""

    source: Path
    flavour: Flavour
    groups: KerasNames = field(default_factory=KerasNames)  # Keras 3's weight groups, counted per class
    weighted: list[WeightedLayer] = field(default_factory=list)
    masks: bool = False  # a Masking layer, or an Embedding with mask_zero
    zero_output: list[str] = field(default_factory=list)  # LSTMs with zero_output_for_mask

    def fail(self, message: str) -> LstmCliError:
        return file_error(self.source, message)

    def entry(
        self, cls: str, name: str, config: Mapping[str, Any], source: str | None = None
    ) -> dict[str, Any]:
        """The config entry of one layer; counts its Keras 3 group. `source` is the reference it reads in a
        Functional model (in a Sequential, the previous layer)."""
        if cls not in BY_KERAS_CLASS and cls != "TimeDistributed":
            raise self.fail(f"layer {name!r} is a {text(cls)}; lstm-cli converts {SUPPORTED}")
        self.check_quantized(config, name)
        kind = "dense" if cls == "TimeDistributed" else BY_KERAS_CLASS[cls].type
        entry: dict[str, Any] = {"type": kind, "name": name}
        if source is not None:
            entry["input"] = source
        if cls == "TimeDistributed":  # Keras 3 keeps the Dense's weights in the wrapper's group, in layer/
            inner = self.time_distributed_dense(config, name)
            return self.dense(entry, inner, f"{self.groups.next('time_distributed')}/layer")
        group = self.groups.next(kind)
        if kind in NO_OP_KINDS:  # options that act only in training, kept as Keras has them
            for key, default, _ in NO_OP_KINDS[kind].options:
                value = config.get(key, default)
                if value != default:
                    entry[key] = self.number(value, f"layer {name!r}: {key}")
            return entry
        if kind == "masking":
            self.masks = True
            entry["mask_value"] = self.number(config.get("mask_value", 0.0), f"layer {name!r}: mask_value")
            return entry
        if kind == "embedding":
            return self.embedding(entry, config, group)
        if kind == "dense":
            return self.dense(entry, config, group)
        if kind == "lstm":
            entry.update(self.lstm_options(config, name))
            if config.get("zero_output_for_mask"):  # matters only under a mask (see keras_masks)
                self.zero_output.append(name)
            self.weighted.append(WeightedLayer(entry, "lstm", name, group, entry.get("use_bias", True)))
            return entry
        entry.update(self.bidirectional_options(config, name))
        self.weighted.append(WeightedLayer(entry, "bidirectional", name, group, entry.get("use_bias", True)))
        return entry

    def outputs(self, entry: Mapping[str, Any]) -> tuple[str, ...]:
        """The references of the layer's output tensors, by index (an LSTM's states whether or not it
        returns them: a reference to one it does not return is refused, with the reason, as the config is
        checked)."""
        name = entry["name"]
        if entry["type"] == "lstm":
            return lstm_refs(name, return_state=True)
        if entry["type"] == "bidirectional":
            return bidirectional_refs(name, entry.get("merge_mode", "concat"), return_state=True)
        return (name,)

    # -- one reader per Keras class ----------------------------------------------------------------------

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
            shown = wrapped if isinstance(wrapped, str) else text(wrapped)
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
                raise self.fail(f"layer {name!r}: expected a whole number {key}, got {text(value)}")
            entry[key] = value
        if self.flag(config, "mask_zero", False, name):
            entry["mask_zero"] = True
            self.masks = True
        self.weighted.append(WeightedLayer(entry, "embedding", name, group, use_bias=False))
        return entry

    def lstm_options(self, config: Mapping[str, Any], name: str) -> dict[str, Any]:
        if config.get("time_major"):
            raise self.fail(f"layer {name!r} is time_major; lstm-cli reads (batch, timesteps, features)")
        options: dict[str, Any] = {
            "units": self.units(config, name),
            "activation": self.activation(config.get("activation", "tanh"), name),
            "recurrent_activation": self.activation(config.get("recurrent_activation", "sigmoid"), name),
        }
        for key, default in LSTM_FLAGS:
            value = self.flag(config, key, default, name)
            if value != default:
                options[key] = value
        return options

    def bidirectional_options(self, config: Mapping[str, Any], name: str) -> dict[str, Any]:
        inner = config.get("layer")
        if not isinstance(inner, Mapping) or inner.get("class_name") != "LSTM":
            wrapped = inner.get("class_name") if isinstance(inner, Mapping) else None
            raise self.fail(f"layer {name!r} wraps a {text(wrapped)}; lstm-cli converts Bidirectional(LSTM)")
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
            raise self.fail(f"layer {name!r}: unknown merge_mode {text(merge_mode)}")
        if merge_mode != "concat":
            options["merge_mode"] = merge_mode
        return options

    # -- values --------------------------------------------------------------------------------------------

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

    def units(self, config: Mapping[str, Any], name: str) -> int:
        units = config.get("units")
        if isinstance(units, bool) or not isinstance(units, int) or units < 1:
            raise self.fail(f"layer {name!r}: expected a whole number of units, got {text(units)}")
        return units

    def flag(self, config: Mapping[str, Any], key: str, default: bool, name: str) -> bool:
        value = config.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(f"layer {name!r}: {key} should be true or false, got {text(value)}")
        return value

    def activation(self, value: Any, name: str) -> str:
        """A Keras activation by lstm-cli's name. tf.keras 2's hard_sigmoid is clip(0.2x + 0.5)."""
        if isinstance(value, Mapping):  # Keras 3 may write a built-in function as {class_name, config}
            value = value.get("config") if isinstance(value.get("config"), str) else value.get("class_name")
        if value is None:
            return "linear"
        if not isinstance(value, str):
            raise self.fail(f"layer {name!r}: activation {text(value)} is not one lstm-cli computes")
        if value == "hard_sigmoid" and self.flavour == "keras2":
            return "hard_sigmoid_tf2"
        if value not in ACTIVATIONS:
            raise self.fail(
                f"layer {name!r}: activation {value!r} is not one lstm-cli computes "
                f"(it has: {', '.join(ACTIVATIONS)})"
            )
        return value

    def number(self, value: Any, what: str) -> float:
        if not is_number(value):
            raise self.fail(f"{what}: expected a number, got {text(value)}")
        return float(value)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def text(value: Any) -> str:
    """A value of the file, shown in a message: its repr, cut short."""
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."
