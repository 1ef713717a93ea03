"""PyTorch state_dicts of `nn.LSTM`, read from and written to `.pt`/`.pth` files (or `.npz` with its keys).

`nn.LSTM(input_size, hidden_size, num_layers, bias, bidirectional)` keeps, for layer k and each direction,
`weight_ih_l{k}` (4*hidden, inputs), `weight_hh_l{k}` (4*hidden, hidden), `bias_ih_l{k}` and `bias_hh_l{k}`
(4*hidden,), the backward direction's with the suffix `_reverse`. The gates are in Keras's order (i, f, g, o),
so a layer reads as `kernel = weight_ih.T`, `recurrent_kernel = weight_hh.T`, `bias = bias_ih + bias_hh`
(SPEC §1), and layer k > 0 reads layer k-1's output, 2*hidden wide when bidirectional.

Layer k becomes `lstm` (k = 0), `lstm_1`, ... or, bidirectional, `bidirectional`, `bidirectional_1`, ...;
every layer returns its sequence and its state, so the last layer's output is PyTorch's `output` and
PyTorch's `h_n[k*D + d]` (D directions) is layer k's `.h`, or its `.forward.h` (d = 0) and `.backward.h`.

A file is read with `torch.load(weights_only=True)`: a pickle that would build anything but tensors and
plain containers is refused before it runs.
"""

from __future__ import annotations

import pickle
import re
import warnings
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from lstm_cli.errors import LstmCliError
from lstm_cli.model import BidirectionalLayer, LstmLayer, Model, keras_name
from lstm_cli.modelfiles.common import file_error, optional_module, sniff, weights_dtype, wrong_kind

TORCH_FILE = "a PyTorch file (torch.save of a state_dict)"
PARAMS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
KEY = re.compile(
    r"(?P<prefix>(?:.*\.)?)(?P<param>weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)_l(?P<layer>\d+)"
    r"(?P<reverse>_reverse)?"
)
CHECKPOINT_KEYS = ("state_dict", "model_state_dict", "model")  # where training checkpoints keep one


def read_torch_file(path: Path) -> dict[str, np.ndarray]:
    """A `.pt`/`.pth` file's tensors by key, never running code: torch.load(weights_only=True)."""
    kind = sniff(path)
    if kind not in ("torch-zip", "pickle"):
        raise wrong_kind(path, TORCH_FILE, kind)
    torch = optional_module("torch", "reading PyTorch files")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's notes on pickle protocols are not the user's concern
            loaded = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise file_error(
            path,
            f"refused: {_refusal(exc)}; lstm-cli reads tensors only, as saved by "
            "torch.save(model.state_dict(), PATH)",
        ) from None
    except Exception as exc:  # a damaged file fails deep inside torch, in any way at all
        lines = str(exc).strip().splitlines() or [type(exc).__name__]
        raise file_error(path, f"cannot read: {lines[0]}") from None
    state = _state_dict(loaded, path)
    arrays = {}
    for key, value in state.items():
        if isinstance(value, torch.Tensor):
            tensor = value.detach().cpu()
            if tensor.is_floating_point() and tensor.element_size() < 4:
                tensor = tensor.float()  # float16, bfloat16: numpy has no bfloat16
            arrays[str(key)] = tensor.numpy()
    return arrays


def _refusal(exc: BaseException) -> str:
    """What the pickle asked for, from torch's message (`Unsupported global: GLOBAL posix.system ...`)."""
    wanted = re.search(r"GLOBAL ([\w.]+)", str(exc))
    if wanted:
        return f"unpickling it would call {wanted.group(1)}, which a state_dict never needs"
    return "unpickling it would build objects other than tensors"


def _state_dict(loaded: Any, path: Path) -> Mapping[str, Any]:
    if isinstance(loaded, Mapping):
        for key in CHECKPOINT_KEYS:
            inner = loaded.get(key)
            if isinstance(inner, Mapping) and not any(KEY.fullmatch(str(k)) for k in loaded):
                return inner
        return loaded
    raise file_error(path, f"holds a {type(loaded).__name__}, not a state_dict (a mapping of tensors)")


def lstm_prefixes(arrays: Mapping[str, Any]) -> list[str]:
    """The modules holding nn.LSTM weights, as `lstm.`, `encoder.rnn.` or `` for a bare nn.LSTM."""
    found = [m.group("prefix") for key in arrays if (m := KEY.fullmatch(key)) and m.group("layer") == "0"]
    return sorted(set(found))


def state_dict_config(
    arrays: Mapping[str, np.ndarray], source: Path, prefix: str | None
) -> tuple[dict[str, Any], list[str]]:
    """The lstm-cli config of one nn.LSTM in a state_dict, and notes on what was left out."""
    chosen = _choose_prefix(arrays, source, prefix)
    layers: dict[int, dict[str, dict[str, np.ndarray]]] = {}
    for key, array in arrays.items():
        match = KEY.fullmatch(key)
        if match is None or match.group("prefix") != chosen:
            continue
        if match.group("param") == "weight_hr":
            raise file_error(
                source,
                f"{key}: this nn.LSTM has proj_size > 0 (a projection of h), which lstm-cli does not "
                "compute (Keras has no such layer)",
            )
        direction = "backward" if match.group("reverse") else "forward"
        layers.setdefault(int(match.group("layer")), {}).setdefault(direction, {})[match.group("param")] = (
            array
        )
    count = len(layers)
    if sorted(layers) != list(range(count)):
        missing = min(set(range(count)) - set(layers))
        raise file_error(source, f"{chosen}weight_ih_l{missing}: missing (layers must be l0, l1, ...)")
    bidirectional = "backward" in layers[0]
    use_bias = "bias_ih" in layers[0]["forward"] or "bias_hh" in layers[0]["forward"]
    entries = []
    width = None
    for k in range(count):
        entry, width = _layer(layers[k], k, chosen, bidirectional, use_bias, width, source)
        entries.append(entry)
    first = layers[0]["forward"]["weight_ih"]
    units = entries[0]["units"]
    used = {f"{chosen}{p}_l{k}{s}" for k in range(count) for p in PARAMS for s in ("", "_reverse")}
    ignored = [key for key in arrays if key not in used]
    notes = []
    if ignored:
        shown = ", ".join(ignored[:4]) + (", ..." if len(ignored) > 4 else "")
        notes.append(f"left out {len(ignored)} arrays that are not this nn.LSTM's: {shown}")
    signature = (
        f"nn.LSTM(input_size={first.shape[1]}, hidden_size={units}, num_layers={count}"
        + (", bias=False" if not use_bias else "")
        + (", bidirectional=True" if bidirectional else "")
        + ")"
    )
    module = f" at {chosen.rstrip('.')!r}" if chosen else ""
    all_arrays = [a for layer in layers.values() for half in layer.values() for a in half.values()]
    mapping = {
        "description": f"{signature}{module}, converted from {source.name}; "
        "input (batch, timesteps, features)",
        "dtype": weights_dtype(all_arrays),
        "input": {"shape": [None, int(first.shape[1])]},
        "layers": entries,
    }
    return mapping, notes


def _choose_prefix(arrays: Mapping[str, Any], source: Path, prefix: str | None) -> str:
    found = lstm_prefixes(arrays)
    if prefix is not None:
        wanted = prefix if prefix == "" or prefix.endswith(".") else prefix + "."
        if wanted not in found:
            known = ", ".join(repr(p.rstrip(".")) for p in found) or "none"
            raise file_error(source, f"no nn.LSTM at --prefix {prefix!r} (found: {known})")
        return wanted
    if not found:
        keys = ", ".join(list(arrays)[:6]) + (", ..." if len(arrays) > 6 else "")
        raise file_error(
            source,
            f"no nn.LSTM weights (weight_ih_l0, weight_hh_l0, ...) in it; it holds: {keys or 'nothing'}",
        )
    if len(found) > 1:
        names = ", ".join(repr(p.rstrip(".")) for p in found)
        raise file_error(source, f"it holds several nn.LSTM modules ({names}); choose one with --prefix")
    return found[0]


def _layer(
    layer: dict[str, dict[str, np.ndarray]],
    k: int,
    prefix: str,
    bidirectional: bool,
    use_bias: bool,
    width: int | None,
    source: Path,
) -> tuple[dict[str, Any], int]:
    """Layer k's config entry, every array checked against nn.LSTM's shapes (named by its keys), and
    the width of its output, which layer k+1 reads."""
    directions = ("forward", "backward") if bidirectional else ("forward",)
    if set(layer) != set(directions):
        count = {1: "one direction", 2: "two directions"}
        raise file_error(
            source,
            f"{prefix}weight_ih_l{k}: layer {k} has {count[len(layer)]}, layer 0 has "
            f"{count[len(directions)]}; the layers of one nn.LSTM have the same",
        )
    reads = "input_size" if k == 0 else f"{'2*' if bidirectional else ''}hidden_size"
    halves = {}
    units = 0
    for direction in directions:
        params = layer[direction]
        suffix = "_reverse" if direction == "backward" else ""
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh") if use_bias else ("weight_ih", "weight_hh")
        for name in PARAMS:
            if name in names and name not in params:
                raise file_error(source, f"{prefix}{name}_l{k}{suffix}: missing")
            if name not in names and name in params:
                raise file_error(
                    source, f"{prefix}{name}_l{k}{suffix}: layer 0 has no bias, but layer {k} has"
                )
        weight_hh = params["weight_hh"]
        units = weight_hh.shape[1] if weight_hh.ndim == 2 else 0
        shapes = {
            "weight_hh": ((4 * units, units), "(4*hidden_size, hidden_size)"),
            "weight_ih": ((4 * units, width), f"(4*hidden_size, {reads})"),
            "bias_ih": ((4 * units,), "(4*hidden_size,)"),
            "bias_hh": ((4 * units,), "(4*hidden_size,)"),
        }
        for name in sorted(names, key=list(shapes).index):  # weight_hh first: it says hidden_size
            (expected, formula), array = shapes[name], params[name]
            if units == 0 or not _fits(array.shape, expected):
                shown = formula if units == 0 else _shape_text(expected)
                raise file_error(
                    source,
                    f"{prefix}{name}_l{k}{suffix}: expected shape {shown} = {formula}, got {array.shape}",
                )
        halves[direction] = {name: params[name] for name in names}
    kind = "bidirectional" if bidirectional else "lstm"
    entry: dict[str, Any] = {
        "type": kind,
        "name": keras_name(kind, k),
        "units": int(units),
        "return_sequences": True,
        "return_state": True,
    }
    if not use_bias:
        entry["use_bias"] = False
    entry.update(halves if bidirectional else halves["forward"])
    return entry, len(directions) * int(units)


def _fits(shape: tuple[int, ...], expected: tuple[int | None, ...]) -> bool:
    """`None` in `expected` takes any size: layer 0's input size is whatever weight_ih_l0 says."""
    return len(shape) == len(expected) and all(
        n is None or n == m for n, m in zip(expected, shape, strict=True)
    )


def _shape_text(shape: tuple[int | None, ...]) -> str:
    items = ["input_size" if n is None else str(n) for n in shape]
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


# -- writing -------------------------------------------------------------------------------------------


def torch_arrays(model: Model, mapping: Mapping[str, Any], prefix: str | None) -> dict[str, np.ndarray]:
    """The state_dict of the one nn.LSTM that the model is, keys in nn.LSTM's order."""
    _check_stack(model)
    start = "" if not prefix else prefix if prefix.endswith(".") else prefix + "."
    dtype = np.dtype(model.dtype)
    out: dict[str, np.ndarray] = OrderedDict()
    for k, (layer, entry) in enumerate(zip(model.layers, mapping["layers"], strict=True)):
        if isinstance(layer, BidirectionalLayer):
            halves = [(layer.forward, entry["forward"], ""), (layer.backward, entry["backward"], "_reverse")]
        else:
            assert isinstance(layer, LstmLayer)  # checked by _check_stack
            halves = [(layer, entry, "")]
        for lstm, given, suffix in halves:
            for name, array in _torch_layout(lstm, given, dtype).items():
                out[f"{start}{name}_l{k}{suffix}"] = array
    return out


def _torch_layout(layer: LstmLayer, given: Mapping[str, Any], dtype: np.dtype[Any]) -> dict[str, np.ndarray]:
    """weight_ih, weight_hh, bias_ih, bias_hh: as the config gave them in PyTorch layout (keeping the
    split of the bias), else from Keras layout with the whole bias in bias_ih."""
    weights = layer.weights
    assert weights is not None  # the caller requires weights
    if "weight_ih" in given:
        arrays = {name: np.asarray(given[name], dtype=dtype) for name in PARAMS if name in given}
        if layer.use_bias:
            zeros = np.zeros(4 * layer.units, dtype=dtype)
            arrays.setdefault("bias_ih", zeros)
            arrays.setdefault("bias_hh", zeros)
        return {name: arrays[name] for name in PARAMS if name in arrays}
    arrays = {"weight_ih": weights.kernel.T, "weight_hh": weights.recurrent_kernel.T}
    if weights.bias is not None:
        arrays["bias_ih"] = weights.bias
        arrays["bias_hh"] = np.zeros_like(weights.bias)
    return {name: np.ascontiguousarray(array, dtype=dtype) for name, array in arrays.items()}


def _check_stack(model: Model) -> None:
    """A .pt holds one nn.LSTM: a plain stack of LSTM (or Bidirectional concat) layers, tanh and sigmoid."""

    def refuse(name: str, why: str) -> LstmCliError:
        return LstmCliError(f"layer {name!r} {why}; a .pt holds one nn.LSTM, a plain stack of LSTM layers")

    if len(model.inputs) != 1:
        raise LstmCliError("the config has several inputs; a .pt holds one nn.LSTM, which reads one")
    previous = next(iter(model.inputs))
    kinds = set()
    for index, layer in enumerate(model.layers):
        if isinstance(layer, BidirectionalLayer):
            if layer.merge_mode != "concat":
                raise refuse(layer.name, f"merges with {layer.merge_mode}, not concat")
            lstm = layer.forward
        elif isinstance(layer, LstmLayer):
            lstm = layer
        else:
            raise refuse(layer.name, f"is a {layer.type} layer")
        kinds.add(layer.type)
        checks = [
            (layer.input != previous, f"reads {layer.input!r}, not the layer before it"),
            (lstm.activation != "tanh", f"has activation {lstm.activation} (nn.LSTM: tanh)"),
            (lstm.recurrent_activation != "sigmoid", f"has recurrent_activation {lstm.recurrent_activation}"),
            (lstm.go_backwards, "goes backwards"),
            (lstm.initial_state is not None, "starts from an initial_state"),
            (lstm.units != _first(model).units, "has other units than the first layer"),
            (lstm.use_bias != _first(model).use_bias, "differs from the first layer in use_bias"),
            (
                index < len(model.layers) - 1 and not lstm.return_sequences,
                "does not return sequences, but a later layer reads it",
            ),
        ]
        for failed, why in checks:
            if failed:
                raise refuse(layer.name, why)
        previous = layer.name
    if len(kinds) > 1:
        raise LstmCliError("the config mixes lstm and bidirectional layers; nn.LSTM is one or the other")


def _first(model: Model) -> LstmLayer:
    layer = model.layers[0]
    return layer.forward if isinstance(layer, BidirectionalLayer) else layer  # type: ignore[return-value]


def write_torch_file(arrays: Mapping[str, np.ndarray], path: Path) -> None:
    torch = optional_module("torch", "writing .pt files")
    state = OrderedDict((key, torch.from_numpy(np.ascontiguousarray(a))) for key, a in arrays.items())
    torch.save(state, path)
