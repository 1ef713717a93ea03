"""PyTorch state_dicts of `nn.LSTM`, `nn.Linear` and `nn.Embedding` modules, read from and written to
`.pt`/`.pth` files (or `.npz` with their keys).

`nn.LSTM(input_size, hidden_size, num_layers, bias, bidirectional)` keeps, for layer k and each direction,
`weight_ih_l{k}` (4*hidden, inputs), `weight_hh_l{k}` (4*hidden, hidden), `bias_ih_l{k}` and `bias_hh_l{k}`
(4*hidden,), the backward direction's with the suffix `_reverse`. The gates are in Keras's order (i, f, g, o),
so a layer reads as `kernel = weight_ih.T`, `recurrent_kernel = weight_hh.T`, `bias = bias_ih + bias_hh`
(docs/config.md#pytorch-layout), and layer k > 0 reads layer k-1's output, 2*hidden wide when bidirectional.
nn.LSTM(proj_size=P) adds `weight_hr_l{k}` (P, hidden), the projection of h (projection.kernel = weight_hr.T):
`weight_hh` is then (4*hidden, P), h is P wide and layer k > 0 reads P (2P) features; c stays hidden wide.
`nn.Linear` keeps `weight` (out, in) = Dense's kernel transposed, and `bias`; `nn.Embedding` keeps `weight`
(num, dim), the table itself. None of them holds an activation: PyTorch applies it in forward.

In, an nn.LSTM alone: layer k becomes `lstm` (k = 0), `lstm_1`, ... or, bidirectional, `bidirectional`,
`bidirectional_1`, ...; every layer returns its sequence and its state, so the last layer's output is
PyTorch's `output` and PyTorch's `h_n[k*D + d]` (D directions) is layer k's `.h`, or its `.forward.h`
(d = 0) and `.backward.h`. With nn.Embedding and nn.Linear modules chained to it (registration order,
chaining shapes), each module is a layer named after it, and layer k of the nn.LSTM NAME is NAME_lk.

Out, the other way round: a plain LSTM stack is one nn.LSTM, and any other model a module per layer name.

A file is read with `torch.load(weights_only=True)`: a pickle that would build anything but tensors and
plain containers is refused before it runs.
"""

from __future__ import annotations

import itertools
import pickle
import re
import warnings
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lstm_cli.checks import NAME_PATTERN
from lstm_cli.errors import LstmCliError
from lstm_cli.graph import masks_taken
from lstm_cli.layers import WEIGHT_KEYS
from lstm_cli.layers.lstm import TORCH_WEIGHTS
from lstm_cli.model import (
    BidirectionalLayer,
    DenseLayer,
    EmbeddingLayer,
    Layer,
    LstmLayer,
    MaskingLayer,
    Model,
    NoOpLayer,
)
from lstm_cli.modelfiles.common import file_error, optional_module, sniff, weights_dtype, wrong_kind
from lstm_cli.names import keras_name
from lstm_cli.text import shape_text

TORCH_FILE = "a PyTorch file (torch.save of a state_dict)"
PARAMS = TORCH_WEIGHTS  # nn.LSTM's parameters of one layer and direction, before their _l{k} suffix
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


@dataclass
class _Module:
    """One module of a state_dict: the prefix of its keys (`lstm.`, or `` for a bare module), its keys in
    the state_dict's order, and whether they are an nn.LSTM's."""

    prefix: str
    keys: list[str] = field(default_factory=list)
    lstm: bool = False

    def linear_like(self, arrays: Mapping[str, np.ndarray]) -> bool:
        """nn.Linear or nn.Embedding: a 2-D `weight`, and perhaps a `bias`, nothing else."""
        params = {key[len(self.prefix) :] for key in self.keys}
        weight = arrays.get(self.prefix + "weight")
        linear = params in ({"weight"}, {"weight", "bias"})
        return not self.lstm and linear and weight is not None and weight.ndim == 2


@dataclass
class _Link:
    """A module read as layers, with what it reads and gives, for the chain's checks and messages."""

    module: _Module
    entries: list[dict[str, Any]]
    signature: str  # nn.Linear(6, 3), as the description lists it
    reads: int | None  # the features it reads; None for an embedding's ids
    reads_key: str  # the key whose shape says so, and how: `(24, 6) = (4*hidden_size, input_size)`
    reads_shape: str
    gives: int  # the width of its output
    gives_key: str
    gives_shape: str
    used: list[str]  # the keys it was read from


def state_dict_config(
    arrays: Mapping[str, np.ndarray], source: Path, prefix: str | None
) -> tuple[dict[str, Any], list[str], list[str]]:
    """The lstm-cli config of the nn.LSTM in a state_dict and of the nn.Embedding and nn.Linear modules
    chained to it; notes on what was left out; and lines for the YAML header that explain the names.

    The modules are read in registration order (a state_dict's order) as one chain, each reading the one
    before: the nn.Linear or nn.Embedding modules right before the nn.LSTM, and the nn.Linear ones right
    after it, up to the first module of another kind. A state_dict does not say how several nn.LSTM modules
    connect, so `prefix` then picks the module (an nn.LSTM, or a module holding one) to read."""
    scope = _scope(arrays, source, prefix)
    modules = [module for module in _modules(arrays) if module.prefix.startswith(scope)]
    lstms = [module for module in modules if module.lstm]
    if len(lstms) > 1:
        names = ", ".join(repr(m.prefix.rstrip(".")) for m in sorted(lstms, key=lambda m: m.prefix))
        where = f"the module at --prefix {prefix!r}" if scope else "it"
        raise file_error(
            source,
            f"{where} holds several nn.LSTM modules ({names}); a state_dict does not say how they connect "
            "(stacked, or an encoder whose state starts a decoder): choose one with --prefix, or give the "
            "architecture with --config ARCH.yaml",
        )
    position = modules.index(lstms[0])
    start, end = position, position + 1
    while start > 0 and modules[start - 1].linear_like(arrays):
        start -= 1
    while end < len(modules) and modules[end].linear_like(arrays):
        end += 1
    chain = _chain(modules[start:end], position - start, arrays, scope, source)
    if len(chain) > 1:  # layer k of the nn.LSTM NAME is NAME_lk, as its keys end in _lk
        lstm = chain[position - start]
        base = _layer_name(lstm.module, scope, lstm.entries[0]["type"])
        for k, entry in enumerate(lstm.entries):
            entry["name"] = base if k == 0 else f"{base}_l{k}"
    used = {key for link in chain for key in link.used}
    ignored = [key for key in arrays if key not in used]
    links = [link for link in chain if link.module.lstm] if len(chain) == 1 else chain
    all_arrays = [arrays[key] for key in used]
    first = chain[0]
    mapping: dict[str, Any] = {
        "description": f"{' → '.join(link.signature for link in links)}, converted from {source.name}; "
        f"input (batch, timesteps{'' if first.reads is None else ', features'})",
        "dtype": weights_dtype(all_arrays),
        "input": {"shape": [None] if first.reads is None else [None, first.reads]},
        "layers": [entry for link in chain for entry in link.entries],
    }
    notes = []
    if ignored:
        shown = ", ".join(ignored[:4]) + (", ..." if len(ignored) > 4 else "")
        whose = "this nn.LSTM's" if len(chain) == 1 else "in the chain of modules read"
        notes.append(f"left out {len(ignored)} arrays that are not {whose}: {shown}")
    stacked = max(len(link.entries) for link in chain if link.module.lstm) > 1
    dropout = DROPOUT_HEADER if stacked else []
    if len(chain) == 1:
        return mapping, notes, LSTM_HEADER + dropout
    dense = [entry["name"] for entry in mapping["layers"] if entry["type"] == "dense"]
    if dense:
        notes.append(
            f"a state_dict holds no activation, so {_listed('dense layer', dense)} linear; set the one "
            "that forward applies after the nn.Linear (log_softmax, softmax, ...)"
        )
    return mapping, notes, CHAIN_HEADER + dropout


INPUT_HEADER = [
    "The input is batch first, (batch, timesteps, ...), as nn.LSTM(batch_first=True) reads it, whatever",
    "the model's batch_first was; data laid out for batch_first=False converts with --time-major.",
]
LSTM_HEADER = [
    "Each nn.LSTM layer k is a layer here (lstm, lstm_1, ... or bidirectional, bidirectional_1, ...)",
    "returning its sequence and state: the last layer's output is PyTorch's output, and h_n[k*D + d]",
    "is layer k's .h (bidirectional: .forward.h for d = 0, .backward.h for d = 1); c_n likewise.",
    *INPUT_HEADER,
]
DROPOUT_HEADER = [  # a state_dict holds no dropout; the converted model is the inference model
    "Inter-layer dropout (nn.LSTM's dropout=p), if the model had any, is not applied here, as in",
    "torch's eval(): it drops values in training only, and a state_dict does not hold it.",
]
CHAIN_HEADER = [
    "The state_dict's modules, in registration order, are the layers here, each named after its module",
    "(dots become _): nn.Embedding is embedding, nn.Linear is dense, and layer k of an nn.LSTM NAME is",
    "NAME (k = 0), NAME_l1, ..., each returning its sequence and state: h_n[k*D + d] is layer k's .h",
    "(bidirectional: .forward.h for d = 0, .backward.h for d = 1); c_n likewise.",
    "Each nn.Linear reads the whole sequence, step by step, as Linear(output) does in PyTorch; for a",
    "model that reads the last step, as fc(output[:, -1]), take the last step of the dense output.",
    "A state_dict holds no activation: each dense layer is linear here. Set the activation that forward",
    "applies after the nn.Linear (log_softmax, softmax, ...) to get its numbers.",
    *INPUT_HEADER,
]


def _listed(what: str, names: list[str]) -> str:
    shown = ", ".join(names)
    return f"{what} {shown} is" if len(names) == 1 else f"{what}s {shown} are"


def _scope(arrays: Mapping[str, Any], source: Path, prefix: str | None) -> str:
    """The key prefix of the module to read (`` for all): --prefix names an nn.LSTM or a module holding
    one."""
    found = lstm_prefixes(arrays)
    if prefix is not None:
        wanted = prefix if prefix == "" or prefix.endswith(".") else prefix + "."
        if not any(p.startswith(wanted) for p in found):
            known = ", ".join(repr(p.rstrip(".")) for p in found) or "none"
            raise file_error(source, f"no nn.LSTM at --prefix {prefix!r} (found: {known})")
        return wanted
    if not found:
        keys = ", ".join(list(arrays)[:6]) + (", ..." if len(arrays) > 6 else "")
        raise file_error(
            source,
            f"no nn.LSTM weights (weight_ih_l0, weight_hh_l0, ...) in it; it holds: {keys or 'nothing'}",
        )
    return ""


def _modules(arrays: Mapping[str, Any]) -> list[_Module]:
    """The state_dict's modules in registration order: the order of their first keys."""
    found: dict[str, _Module] = {}
    for key in arrays:
        match = KEY.fullmatch(key)
        prefix = match.group("prefix") if match else key[: key.rfind(".") + 1]
        module = found.setdefault(prefix, _Module(prefix))
        module.keys.append(key)
        module.lstm = module.lstm or match is not None
    return list(found.values())


def _chain(
    modules: list[_Module], lstm: int, arrays: Mapping[str, np.ndarray], scope: str, source: Path
) -> list[_Link]:
    """The modules as layers, each checked to read what the one before gives. A first module with a
    weight alone is an nn.Embedding, unless only an nn.Linear without bias fits what follows it."""
    links = [
        _lstm_link(module, arrays, scope, source)
        if index == lstm
        else _linear_link(module, arrays, scope, source, embedding=index == 0 and index < lstm)
        for index, module in enumerate(modules)
    ]
    if len(links) > 1 and links[0].reads is None and links[0].gives != links[1].reads:
        weight = arrays[modules[0].prefix + "weight"]
        if weight.shape[0] == links[1].reads:
            links[0] = _linear_link(modules[0], arrays, scope, source, embedding=False)
    for previous, link in itertools.pairwise(links):
        if link.reads != previous.gives:
            lstm_name = modules[lstm].prefix.rstrip(".")
            raise file_error(
                source,
                f"{link.reads_key}: {link.reads_shape} reads {link.reads} features, but "
                f"{previous.gives_key} before it, {previous.gives_shape}, gives {previous.gives}; a "
                "state_dict's modules are read in registration order, each reading the one before it"
                + (f" (--prefix {lstm_name} reads the nn.LSTM alone)" if lstm_name else ""),
            )
    return links


def _layer_name(module: _Module, scope: str, kind: str) -> str:
    """A module's layer name: its path inside the scope, dots made _ (a layer name has no dots)."""
    name = module.prefix[len(scope) :].rstrip(".").replace(".", "_")
    if not name:
        return kind
    return name if NAME_PATTERN.fullmatch(name) else f"module_{name}"


def _linear_link(
    module: _Module, arrays: Mapping[str, np.ndarray], scope: str, source: Path, embedding: bool
) -> _Link:
    """An nn.Linear as a dense layer (kernel = weight.T, activation linear: a state_dict holds none), or
    the chain's first module, a weight alone, as an nn.Embedding."""
    key = module.prefix + "weight"
    weight = arrays[key]
    rows, columns = (int(n) for n in weight.shape)
    shape = f"{tuple(weight.shape)} = "
    if embedding and module.prefix + "bias" not in arrays:
        entry = {
            "type": "embedding",
            "name": _layer_name(module, scope, "embedding"),
            "input_dim": rows,
            "output_dim": columns,
            "embeddings": weight,
        }
        formula = shape + "(num_embeddings, embedding_dim)"
        signature = f"nn.Embedding({rows}, {columns}) at {module.prefix.rstrip('.')!r}"
        return _Link(module, [entry], signature, None, key, formula, columns, key, formula, [key])
    entry = {
        "type": "dense",
        "name": _layer_name(module, scope, "dense"),
        "units": rows,
        "activation": "linear",
        "kernel": np.ascontiguousarray(weight.T),  # (in, units)
    }
    used = [key]
    bias = arrays.get(module.prefix + "bias")
    if bias is None:
        entry["use_bias"] = False
    elif bias.shape != (rows,):
        raise file_error(
            source, f"{module.prefix}bias: expected shape ({rows},) = (out_features,), got {bias.shape}"
        )
    else:
        entry["bias"] = bias
        used.append(module.prefix + "bias")
    formula = shape + "(out_features, in_features)"
    signature = (
        f"nn.Linear({columns}, {rows}{'' if bias is not None else ', bias=False'}) "
        f"at {module.prefix.rstrip('.')!r}"
    )
    return _Link(module, [entry], signature, columns, key, formula, rows, key, formula, used)


def _lstm_link(module: _Module, arrays: Mapping[str, np.ndarray], scope: str, source: Path) -> _Link:
    """An nn.LSTM's layers; in a chain named after the module (NAME, NAME_l1, ...), alone as Keras would
    name them (lstm, lstm_1, ... or bidirectional, bidirectional_1, ...)."""
    chosen = module.prefix
    layers: dict[int, dict[str, dict[str, np.ndarray]]] = {}
    for key in module.keys:
        match = KEY.fullmatch(key)
        if match is None:
            continue  # not an nn.LSTM parameter (weight_hh_l0_raw of a weight-dropped LSTM): left out
        direction = "backward" if match.group("reverse") else "forward"
        layers.setdefault(int(match.group("layer")), {}).setdefault(direction, {})[match.group("param")] = (
            arrays[key]
        )
    count = len(layers)
    if sorted(layers) != list(range(count)):
        missing = min(set(range(count)) - set(layers))
        raise file_error(source, f"{chosen}weight_ih_l{missing}: missing (layers must be l0, l1, ...)")
    bidirectional = "backward" in layers[0]
    use_bias = "bias_ih" in layers[0]["forward"] or "bias_hh" in layers[0]["forward"]
    projected = "weight_hr" in layers[0]["forward"]
    entries = []
    width = None
    for k in range(count):
        entry, width = _layer(layers[k], k, chosen, (bidirectional, use_bias, projected), width, source)
        entries.append(entry)
    first = layers[0]["forward"]["weight_ih"]
    units = entries[0]["units"]
    proj = int(layers[0]["forward"]["weight_hr"].shape[0]) if projected else None
    signature = (
        f"nn.LSTM(input_size={first.shape[1]}, hidden_size={units}, num_layers={count}"
        + (", bias=False" if not use_bias else "")
        + (f", proj_size={proj}" if proj else "")
        + (", bidirectional=True" if bidirectional else "")
        + ")"
        + (f" at {chosen.rstrip('.')!r}" if chosen else "")
    )
    params = (*PARAMS, "weight_hr")
    used = [f"{chosen}{p}_l{k}{s}" for k in range(count) for s in ("", "_reverse") for p in params]
    last = f"{chosen}{'weight_hr' if projected else 'weight_hh'}_l{count - 1}"
    formula = "(proj_size, hidden_size)" if projected else "(4*hidden_size, hidden_size)"
    gives = f"{tuple(arrays[last].shape)} = {formula}" + (", bidirectional" if bidirectional else "")
    return _Link(
        module,
        entries,
        signature,
        int(first.shape[1]),
        f"{chosen}weight_ih_l0",
        f"{tuple(first.shape)} = (4*hidden_size, input_size)",
        int(width or 0),
        last,
        gives,
        [key for key in used if key in arrays],
    )


def _layer(
    layer: dict[str, dict[str, np.ndarray]],
    k: int,
    prefix: str,
    kind: tuple[bool, bool, bool],
    width: int | None,
    source: Path,
) -> tuple[dict[str, Any], int]:
    """Layer k's config entry, every array checked against nn.LSTM's shapes (named by its keys), and
    the width of its output, which layer k+1 reads. `kind`: bidirectional, bias, proj_size > 0, as
    layer 0 has them."""
    bidirectional, use_bias, projected = kind
    directions = ("forward", "backward") if bidirectional else ("forward",)
    if set(layer) != set(directions):
        count = {1: "one direction", 2: "two directions"}
        raise file_error(
            source,
            f"{prefix}weight_ih_l{k}: layer {k} has {count[len(layer)]}, layer 0 has "
            f"{count[len(directions)]}; the layers of one nn.LSTM have the same",
        )
    names = ("weight_ih", "weight_hh") + (("bias_ih", "bias_hh") if use_bias else ())
    names += ("weight_hr",) if projected else ()
    halves = {}
    units = h_width = 0
    for direction in directions:
        params = layer[direction]
        suffix = "_reverse" if direction == "backward" else ""
        for name in (*PARAMS, "weight_hr"):
            if name in names and name not in params:
                raise file_error(source, f"{prefix}{name}_l{k}{suffix}: missing")
            if name not in names and name in params:
                what = "a projection (proj_size > 0)" if name == "weight_hr" else "a bias"
                raise file_error(
                    source, f"{prefix}{name}_l{k}{suffix}: layer 0 has no {what}, but layer {k} has"
                )
        units, h_width = _sizes(params, projected)
        _check_shapes(
            params, names, _shapes(units, h_width, k, kind, width), f"{prefix}", f"_l{k}{suffix}", source
        )
        halves[direction] = {name: params[name] for name in names}
    layer_type = "bidirectional" if bidirectional else "lstm"
    entry: dict[str, Any] = {
        "type": layer_type,
        "name": keras_name(layer_type, k),
        "units": int(units),
        "return_sequences": True,
        "return_state": True,
    }
    if not use_bias:
        entry["use_bias"] = False
    entry.update(halves if bidirectional else halves["forward"])
    return entry, len(directions) * int(h_width)


def _sizes(params: Mapping[str, np.ndarray], projected: bool) -> tuple[int, int]:
    """hidden_size and the width of h (proj_size with a projection, else hidden_size), as weight_hr
    (proj_size, hidden_size) or weight_hh (4*hidden_size, hidden_size) says them; 0, 0 if it cannot."""
    array = params["weight_hr" if projected else "weight_hh"]
    if array.ndim != 2:
        return 0, 0
    return (int(array.shape[1]), int(array.shape[0] if projected else array.shape[1]))


def _shapes(
    units: int, h_width: int, k: int, kind: tuple[bool, bool, bool], width: int | None
) -> dict[str, tuple[tuple[int | None, ...], str]]:
    """nn.LSTM's shapes of layer k's parameters, with their formulas, in the order they are checked:
    the first says hidden_size (and proj_size)."""
    bidirectional, _, projected = kind
    hidden = "proj_size" if projected else "hidden_size"
    reads = "input_size" if k == 0 else f"{'2*' if bidirectional else ''}{hidden}"
    return {
        "weight_hr": ((h_width, units), "(proj_size, hidden_size)"),
        "weight_hh": ((4 * units, h_width), f"(4*hidden_size, {hidden})"),
        "weight_ih": ((4 * units, width), f"(4*hidden_size, {reads})"),
        "bias_ih": ((4 * units,), "(4*hidden_size,)"),
        "bias_hh": ((4 * units,), "(4*hidden_size,)"),
    }


def _check_shapes(
    params: Mapping[str, np.ndarray],
    names: tuple[str, ...],
    shapes: dict[str, tuple[tuple[int | None, ...], str]],
    prefix: str,
    suffix: str,
    source: Path,
) -> None:
    """Each of the parameters `names` has its shape, or the error names its key and formula."""
    units = shapes["bias_ih"][0][0]
    for name in sorted(names, key=list(shapes).index):
        (expected, formula), array = shapes[name], params[name]
        if units == 0 or not _fits(array.shape, expected):
            shown = formula if units == 0 else shape_text(expected, unknown="input_size")
            raise file_error(
                source, f"{prefix}{name}{suffix}: expected shape {shown} = {formula}, got {array.shape}"
            )


def _fits(shape: tuple[int, ...], expected: tuple[int | None, ...]) -> bool:
    """`None` in `expected` takes any size: layer 0's input size is whatever weight_ih_l0 says."""
    return len(shape) == len(expected) and all(
        n is None or n == m for n, m in zip(expected, shape, strict=True)
    )


# -- reading into an architecture (--config) -------------------------------------------------------------

STACKED_NAME = re.compile(r"(?P<base>.+)_l(?P<layer>[1-9]\d*)")


def fill_from_state_dict(
    mapping: dict[str, Any], model: Model, arrays: Mapping[str, np.ndarray], source: Path, prefix: str | None
) -> list[str]:
    """The weights of an architecture (`--config`) from a state_dict, by layer name, as `torch_arrays`
    writes them: layer NAME from the module NAME (NAME.weight_ih_l0, ..., NAME.weight, NAME.bias), and a
    layer NAME_lk without a module of its own from layer k of the nn.LSTM NAME. `prefix` is in front of
    every key. Every array is checked against the layer's shapes; the notes name the arrays left out."""
    start = "" if not prefix else prefix if prefix.endswith(".") else prefix + "."
    lstm_modules = {m.prefix for m in _modules(arrays) if m.lstm}
    used: list[str] = []
    for layer, entry in zip(model.layers, mapping["layers"], strict=True):
        if isinstance(layer, MaskingLayer | NoOpLayer):  # no weights to read
            continue
        for key in WEIGHT_KEYS:
            entry.pop(key, None)
        width = model.shapes[layer.input][-1]
        take = _Taker(arrays, source, layer.name, used)
        name = f"{start}{layer.name}."
        if isinstance(layer, EmbeddingLayer):
            shape = (layer.input_dim, layer.output_dim)
            entry["embeddings"] = take(f"{name}weight", shape, "(input_dim, output_dim)")
        elif isinstance(layer, DenseLayer):
            weight = take(f"{name}weight", (layer.units, width), "(units, in)")
            entry["kernel"] = np.ascontiguousarray(weight.T)
            if layer.use_bias:
                entry["bias"] = take(f"{name}bias", (layer.units,), "(units,)")
            take.absent(f"{name}bias")
        elif isinstance(layer, BidirectionalLayer):
            module, k = _lstm_module_of(layer.name, start, lstm_modules)
            entry["forward"] = _take_lstm(take, layer.forward, f"{module}", f"_l{k}", width)
            entry["backward"] = _take_lstm(take, layer.backward, f"{module}", f"_l{k}_reverse", width)
        else:
            module, k = _lstm_module_of(layer.name, start, lstm_modules)
            entry.update(_take_lstm(take, layer, module, f"_l{k}", width))
            take.absent(f"{module}weight_ih_l{k}_reverse")
    ignored = [key for key in arrays if key not in used]
    if not ignored:
        return []
    shown = ", ".join(ignored[:4]) + (", ..." if len(ignored) > 4 else "")
    return [f"left out {len(ignored)} arrays that no layer of the architecture reads: {shown}"]


def _take_lstm(take: _Taker, lstm: LstmLayer, module: str, suffix: str, width: int | None) -> dict[str, Any]:
    """One direction of one layer of an nn.LSTM, in PyTorch layout, as the config takes it."""
    units = lstm.units
    given = {
        "weight_ih": take(f"{module}weight_ih{suffix}", (4 * units, width), "(4*units, features)"),
        "weight_hh": take(f"{module}weight_hh{suffix}", (4 * units, units), "(4*units, units)"),
    }
    for bias in ("bias_ih", "bias_hh"):
        if lstm.use_bias:
            given[bias] = take(f"{module}{bias}{suffix}", (4 * units,), "(4*units,)")
        take.absent(f"{module}{bias}{suffix}")
    return given


@dataclass
class _Taker:
    """Takes a layer's arrays from a state_dict, each checked to be there and of the layer's shape."""

    arrays: Mapping[str, np.ndarray]
    source: Path
    layer: str
    used: list[str]

    def __call__(self, key: str, shape: tuple[int | None, ...], formula: str) -> np.ndarray:
        if key not in self.arrays:
            raise file_error(self.source, f"{key}: missing (layer {self.layer!r} reads its weights from it)")
        array = self.arrays[key]
        if array.shape != shape:
            raise file_error(
                self.source,
                f"{key}: expected shape {shape_text(shape)} = {formula} for layer {self.layer!r}, "
                f"got {array.shape}",
            )
        self.used.append(key)
        return array

    def absent(self, key: str) -> None:
        """A key the layer does not read (a bias under use_bias: false, a backward half) must not be
        there: the architecture and the state_dict would disagree."""
        if key in self.arrays and key not in self.used:
            raise file_error(
                self.source,
                f"{key}: the state_dict has it, but layer {self.layer!r} of the architecture does not",
            )


def _lstm_module_of(name: str, start: str, modules: set[str]) -> tuple[str, int]:
    """The nn.LSTM holding layer `name`, and the layer's index in it: NAME's layer 0, or for NAME_lk
    without a module of its own, layer k of the nn.LSTM NAME."""
    if f"{start}{name}." in modules:
        return f"{start}{name}.", 0
    stacked = STACKED_NAME.fullmatch(name)
    if stacked and f"{start}{stacked.group('base')}." in modules:
        return f"{start}{stacked.group('base')}.", int(stacked.group("layer"))
    return f"{start}{name}.", 0  # taking its keys then names what is missing


# -- writing -------------------------------------------------------------------------------------------


def torch_arrays(
    model: Model, mapping: Mapping[str, Any], prefix: str | None, layer: str | None = None
) -> tuple[dict[str, np.ndarray], list[str]]:
    """The state_dict the model is in PyTorch, keys in the modules' own order, and notes on what it
    cannot hold. A plain stack of LSTM layers is one nn.LSTM (keys weight_ih_l0, ...); any other model is
    a module per layer, keyed by the layer's name (NAME.weight_ih_l0, NAME.weight, ...), with the layers
    NAME, NAME_l1, ... of a stack as the one nn.LSTM NAME. `layer` writes that layer alone, its keys bare.
    `prefix` goes in front of every key."""
    start = "" if not prefix else prefix if prefix.endswith(".") else prefix + "."
    entries = {item.name: entry for item, entry in zip(model.layers, mapping["layers"], strict=True)}
    if layer is not None:
        chosen = layer_named(model, layer)
        _refuse(chosen, alone=True)
        modules = [(start, [chosen])]
    else:
        for item in model.layers:
            _refuse(item)
        _refuse_masks(model)
        modules = [(start, list(model.layers))] if _one_nn_lstm(model) else _modules_by_name(model, start)
    dtype = np.dtype(model.dtype)
    out: dict[str, np.ndarray] = OrderedDict()
    notes = []
    for key_prefix, layers in modules:
        first = layers[0]
        if isinstance(first, DenseLayer):
            out.update(_linear_arrays(first, key_prefix, dtype))
            if first.activation != "linear":
                notes.append(
                    f"layer {first.name!r} has activation {first.activation}, which a state_dict does not "
                    f"hold: apply it to the nn.Linear's output in forward"
                )
        elif isinstance(first, EmbeddingLayer):
            assert first.embeddings is not None  # the caller requires weights
            out[f"{key_prefix}weight"] = np.ascontiguousarray(first.embeddings, dtype=dtype)
        else:
            out.update(_lstm_arrays(layers, entries, key_prefix, dtype))
    return out, notes


def layer_named(model: Model, name: str) -> Layer:
    """The layer that --layer names."""
    chosen = model.find(name)
    if chosen is None:
        names = ", ".join(layer.name for layer in model.layers)
        raise LstmCliError(f"--layer {name}: no such layer (the model has: {names})")
    return chosen


def _lstm_arrays(
    layers: list[Layer], entries: Mapping[str, Any], start: str, dtype: np.dtype[Any]
) -> dict[str, np.ndarray]:
    """One nn.LSTM whose layer k is layers[k], in nn.LSTM's order of keys."""
    out = {}
    for k, layer in enumerate(layers):
        entry = entries[layer.name]
        if isinstance(layer, BidirectionalLayer):
            halves = [(layer.forward, entry["forward"], ""), (layer.backward, entry["backward"], "_reverse")]
        else:
            assert isinstance(layer, LstmLayer)  # the callers group recurrent layers only
            halves = [(layer, entry, "")]
        for lstm, given, suffix in halves:
            for name, array in _torch_layout(lstm, given, dtype).items():
                out[f"{start}{name}_l{k}{suffix}"] = array
    return out


def _linear_arrays(layer: DenseLayer, start: str, dtype: np.dtype[Any]) -> dict[str, np.ndarray]:
    """nn.Linear keeps Dense's kernel transposed: weight (units, in)."""
    assert layer.kernel is not None  # the caller requires weights
    out = {f"{start}weight": np.ascontiguousarray(layer.kernel.T, dtype=dtype)}
    if layer.bias is not None:
        out[f"{start}bias"] = np.ascontiguousarray(layer.bias, dtype=dtype)
    return out


def _torch_layout(layer: LstmLayer, given: Mapping[str, Any], dtype: np.dtype[Any]) -> dict[str, np.ndarray]:
    """weight_ih, weight_hh, bias_ih, bias_hh: as the config gave them in PyTorch layout (keeping the
    split of the bias), else from Keras layout with the whole bias in bias_ih."""
    weights = layer.weights
    assert weights is not None  # the caller requires weights
    if "weight_ih" in given:
        arrays = {name: np.asarray(given[name], dtype=dtype) for name in OUT_PARAMS if name in given}
        if layer.use_bias:
            zeros = np.zeros(4 * layer.units, dtype=dtype)
            arrays.setdefault("bias_ih", zeros)
            arrays.setdefault("bias_hh", zeros)
        return {name: arrays[name] for name in OUT_PARAMS if name in arrays}
    arrays = {"weight_ih": weights.kernel.T, "weight_hh": weights.recurrent_kernel.T}
    if weights.bias is not None:
        arrays["bias_ih"] = weights.bias
        arrays["bias_hh"] = np.zeros_like(weights.bias)
    if weights.projection is not None:  # (units, proj): nn.LSTM(proj_size)'s weight_hr is (proj, units)
        arrays["weight_hr"] = weights.projection.T
    return {name: np.ascontiguousarray(array, dtype=dtype) for name, array in arrays.items()}


OUT_PARAMS = (*PARAMS, "weight_hr")  # nn.LSTM(proj_size=P)'s order of keys


def _variant_blockers(lstm: LstmLayer) -> list[tuple[bool, str]]:
    """The variant options (docs/config.md#lstm-variants) that nn.LSTM does not compute, by name; a
    projection it does compute: nn.LSTM(proj_size), its weight_hr."""
    options = [
        ("peepholes", lstm.weights is not None and lstm.weights.peepholes is not None),
        (f"forget_bias {lstm.forget_bias:g}", lstm.forget_bias != 0),
        (f"cell_clip {lstm.cell_clip or 0:g}", lstm.cell_clip is not None),
        (f"activation_clip {lstm.activation_clip or 0:g}", lstm.activation_clip is not None),
        ("input_forget", lstm.input_forget),
        (f"output_activation {lstm.output_activation}", lstm.output_activation is not None),
    ]
    blockers = [(given, f"it has {name}, which nn.LSTM does not compute") for name, given in options]
    blockers.append(
        (
            lstm.proj_clip is not None,
            f"it has proj_clip {lstm.proj_clip or 0:g}, which nn.LSTM does not compute "
            "(nn.LSTM(proj_size) does not clip its projection)",
        )
    )
    return blockers


def _refuse(layer: Layer, alone: bool = False) -> None:
    """A layer that no nn module computes is refused, naming what stands in the way. A Dense layer's
    activation is not one: PyTorch applies it in forward, after the nn.Linear (and a note says so)."""
    if isinstance(layer, MaskingLayer):
        raise LstmCliError(
            f"layer {layer.name!r} is a Masking layer, which has no nn module: nn.LSTM cannot skip masked "
            "steps"
        )
    if isinstance(layer, NoOpLayer) and alone:
        raise LstmCliError(
            f"--layer {layer.name}: a {layer.type} layer holds no weights, so a state_dict of it is empty"
        )
    if not isinstance(layer, LstmLayer | BidirectionalLayer):
        return
    lstm = layer.forward if isinstance(layer, BidirectionalLayer) else layer
    state = lstm.initial_state
    blockers = [
        *_variant_blockers(lstm),
        (lstm.activation != "tanh", f"its activation is {lstm.activation}, and nn.LSTM's is tanh"),
        (
            lstm.recurrent_activation != "sigmoid",
            f"its recurrent_activation is {lstm.recurrent_activation}, and nn.LSTM's is sigmoid",
        ),
        (
            isinstance(layer, LstmLayer) and layer.go_backwards,
            "it goes backwards (go_backwards), and nn.LSTM reads the sequence forwards",
        ),
        (
            state is not None and not (isinstance(state.h, str) and isinstance(state.c, str)),
            "its initial_state is given as arrays, which a state_dict does not hold (nn.LSTM takes h_0 "
            "and c_0 in forward)",
        ),
    ]
    if isinstance(layer, BidirectionalLayer) and layer.merge_mode != "concat":
        merges = (
            f"merges its halves with {layer.merge_mode}" if layer.merge_mode else "keeps its halves apart"
        )
        blockers.append((True, f"it {merges}, and nn.LSTM(bidirectional=True) concatenates them"))
    for blocked, why in blockers:
        if blocked:
            raise LstmCliError(f"layer {layer.name!r} cannot be an nn.LSTM: {why}")


def _refuse_masks(model: Model) -> None:
    """An Embedding's mask_zero skips steps in the LSTM layers it reaches, which nn.LSTM cannot do."""
    for name, source in masks_taken(model).items():
        raise LstmCliError(
            f"layer {source.name!r} masks id 0 (mask_zero) for layer {name!r}, and nn.LSTM cannot skip "
            "masked steps (nn.Embedding's padding_idx masks nothing)"
        )


def _one_nn_lstm(model: Model) -> bool:
    """A plain stack: one input, then LSTM layers (or Bidirectional ones) of one size, each reading the
    one before and starting from zeros, as the layers of one nn.LSTM do."""
    first = model.layers[0]
    previous = next(iter(model.inputs))
    for layer in model.layers:
        if len(model.inputs) != 1 or not _stacks_on(layer, first, previous):
            return False
        previous = layer.name
    return True


def _stacks_on(layer: Layer, first: Layer, previous: str) -> bool:
    """Whether `layer` can be the next layer of the nn.LSTM whose layer 0 is `first`."""
    if not isinstance(layer, LstmLayer | BidirectionalLayer) or layer.type != first.type:
        return False
    lstm = layer.forward if isinstance(layer, BidirectionalLayer) else layer
    base = first.forward if isinstance(first, BidirectionalLayer) else first
    assert isinstance(base, LstmLayer)  # of the same type as layer
    return (
        layer.input == previous
        and lstm.initial_state is None
        and lstm.units == base.units
        and lstm.use_bias == base.use_bias
        and _proj(lstm) == _proj(base)
    )


def _proj(lstm: LstmLayer) -> int | None:
    """The projection's width (nn.LSTM's proj_size), None without one: one nn.LSTM's layers share it."""
    return None if lstm.weights is None else lstm.weights.proj


def _modules_by_name(model: Model, start: str) -> list[tuple[str, list[Layer]]]:
    """A module per layer, named after it; layers NAME_l1, NAME_l2, ... that stack on NAME join its
    nn.LSTM, as a converted nn.LSTM(num_layers=3) NAME reads back."""
    modules: list[tuple[str, list[Layer]]] = []
    for layer in model.layers:
        if isinstance(layer, NoOpLayer):  # nn.Dropout and its kin hold nothing in a state_dict
            continue
        if modules:
            name, layers = modules[-1]
            base = name[len(start) : -1]
            if layer.name == f"{base}_l{len(layers)}" and _stacks_on(layer, layers[0], layers[-1].name):
                layers.append(layer)
                continue
        modules.append((f"{start}{layer.name}.", [layer]))
    return modules


def write_torch_file(arrays: Mapping[str, np.ndarray], path: Path) -> None:
    torch = optional_module("torch", "writing .pt files")
    state = OrderedDict((key, torch.from_numpy(np.ascontiguousarray(a))) for key, a in arrays.items())
    torch.save(state, path)
