"""Keras 3 files: `.keras` archives (config.json + model.weights.h5) and `.weights.h5` weights.

Keras 3 stores weights by class and position, not by layer name: the first LSTM of `model.layers` is
`layers/lstm`, the second `layers/lstm_1`, the first Dense `layers/dense`, whatever the layers are called.
Inside, each object's variables are datasets `vars/0`, `vars/1`, ... in creation order:

    layers/lstm/cell/vars/0, 1, 2                      kernel, recurrent_kernel, bias
    layers/bidirectional/forward_layer/cell/vars/0..2  the same per direction, then backward_layer
    layers/dense/vars/0, 1                             kernel, bias
    layers/time_distributed/layer/vars/0, 1            a TimeDistributed(Dense)'s kernel, bias
    layers/embedding/vars/0                            embeddings
    layers/dropout/vars                                nothing (as for Masking and the other no-op layers)

A config written for Keras therefore lines up with a `.weights.h5` by the order of its layers of each type.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from lstm_cli.graph import keras_layers
from lstm_cli.layers import owner_of
from lstm_cli.layers.lstm import KERAS_WEIGHTS
from lstm_cli.model import (
    BidirectionalLayer,
    DenseLayer,
    EmbeddingLayer,
    Layer,
    LstmLayer,
    LstmWeights,
    Model,
)
from lstm_cli.modelfiles.common import (
    MAX_JSON_BYTES,
    ZIP_ERRORS,
    file_error,
    float_array,
    optional_module,
    sniff,
    wrong_kind,
)
from lstm_cli.modelfiles.keras_config import Skeleton, WeightedLayer, read_keras_config
from lstm_cli.names import KerasNames

WEIGHTS_MEMBER = "model.weights.h5"
KERAS_FILE = "a Keras 3 .keras archive (a zip holding config.json and model.weights.h5)"
H5_ERRORS = (OSError, KeyError, ValueError, TypeError, RuntimeError)


def read_keras_archive(path: Path) -> Skeleton:
    """A `.keras` file: its architecture from config.json, its weights from model.weights.h5."""
    kind = sniff(path)
    if kind != "keras":
        raise wrong_kind(path, KERAS_FILE, kind)
    try:
        with zipfile.ZipFile(path) as archive:
            config = _json_member(archive, "config.json", path)
            if WEIGHTS_MEMBER not in archive.namelist():
                held = ", ".join(archive.namelist())
                raise file_error(path, f"the archive has no {WEIGHTS_MEMBER} (it holds: {held})")
            weights = archive.read(WEIGHTS_MEMBER)
    except ZIP_ERRORS as exc:
        raise file_error(path, f"cannot read the archive: {exc}") from None
    skeleton = read_keras_config(config, path, "keras3")
    h5py = optional_module("h5py", "reading .keras files")
    with open_h5(path, lambda: h5py.File(io.BytesIO(weights), "r")) as store:
        for layer in skeleton.weighted:
            fill_layer(layer, _layer_vars(store, layer.kind, layer.group, path), path)
    return skeleton


def _json_member(archive: zipfile.ZipFile, name: str, path: Path) -> Any:
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise file_error(path, f"the archive has no {name}") from None
    if info.file_size > MAX_JSON_BYTES:
        raise file_error(path, f"{name} is larger than {MAX_JSON_BYTES // 2**20} MB")
    try:
        return json.loads(archive.read(name).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise file_error(path, f"{name} is not valid JSON: {exc}") from None


@contextmanager
def open_h5(path: Path, opener: Callable[[], Any]) -> Iterator[Any]:
    """An open HDF5 file; h5py's failures (truncated, corrupt, missing datasets) as one-line errors."""
    try:
        store = opener()
    except H5_ERRORS as exc:
        raise file_error(path, f"cannot read the HDF5 weights: {_h5_reason(exc)}") from None
    try:
        with store:
            yield store
    except H5_ERRORS as exc:
        raise file_error(path, f"cannot read the HDF5 weights: {_h5_reason(exc)}") from None


def _h5_reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.split("\n")[0]


def is_keras3_weights(store: Any) -> bool:
    return "layers" in store or ("vars" in store and "layer_names" not in store.attrs)


def _vars(store: Any, group: str, path: Path) -> list[np.ndarray]:
    node = store.get(f"{group}/vars")
    if node is None:
        raise file_error(path, f"no weights at {group}/vars (it holds: {_listing(store)})")
    count = len(node)
    if sorted(node) != sorted(str(i) for i in range(count)):
        raise file_error(path, f"{group}/vars: expected datasets 0, 1, ..., got {', '.join(node)}")
    return [float_array(node[str(i)][()], f"{group}/vars/{i}", path) for i in range(count)]


def _layer_vars(store: Any, kind: str, group: str, path: Path) -> list[np.ndarray]:
    """A layer's arrays in Keras's order: a Bidirectional's forward ones, then its backward ones."""
    base = f"layers/{group}"
    if kind == "lstm":
        return _vars(store, f"{base}/cell", path)
    if kind == "bidirectional":
        halves = [_vars(store, f"{base}/{half}_layer/cell", path) for half in ("forward", "backward")]
        if len(halves[0]) != len(halves[1]):
            raise file_error(path, f"{base}: the forward and backward layers hold different weights")
        return halves[0] + halves[1]
    return _vars(store, base, path)


def _listing(store: Any) -> str:
    layers = store.get("layers")
    names = sorted(f"layers/{name}" for name in layers) if layers is not None else sorted(store)
    return ", ".join(names) or "nothing"


def fill_layer(
    layer: WeightedLayer, arrays: list[np.ndarray], path: Path, names: list[str] | None = None
) -> None:
    """Put a layer's arrays, in Keras's order, into its config entry (in Keras layout)."""
    per_half = 3 if layer.use_bias else 2
    expected = {"lstm": per_half, "bidirectional": 2 * per_half, "dense": per_half - 1, "embedding": 1}
    if len(arrays) != expected[layer.kind]:
        what = {"lstm": "kernel, recurrent_kernel", "dense": "kernel", "embedding": "embeddings"}.get(
            layer.kind, "two LSTMs' weights"
        )
        bias = "" if layer.kind == "embedding" else ", bias" if layer.use_bias else " (use_bias is false)"
        held = f" ({', '.join(names)})" if names else ""
        raise file_error(
            path,
            f"layer {layer.name!r}: expected {expected[layer.kind]} arrays ({what}{bias}), the file holds "
            f"{len(arrays)}{held}",
        )
    entry = layer.entry
    if layer.kind == "embedding":
        entry["embeddings"] = arrays[0]
    elif layer.kind == "dense":
        entry.update(zip(("kernel", "bias"), arrays, strict=False))
    elif layer.kind == "lstm":
        entry.update(zip(KERAS_WEIGHTS, arrays, strict=False))
    else:
        entry["forward"] = dict(zip(KERAS_WEIGHTS, arrays[:per_half], strict=False))
        entry["backward"] = dict(zip(KERAS_WEIGHTS, arrays[per_half:], strict=False))


def read_weights_into(path: Path, skeleton: Skeleton) -> None:
    """A Keras 3 `.weights.h5`, its layers matched to the config's by type and position."""
    h5py = optional_module("h5py", "reading .weights.h5 files")
    with open_h5(path, lambda: h5py.File(path, "r")) as store:
        if not is_keras3_weights(store):
            raise file_error(path, "not a Keras 3 .weights.h5 file (it has no layers/ group)")
        used = set()
        wrapped = _dense_in_time_distributed(store)
        for layer in skeleton.weighted:
            group = layer.group
            if layer.kind == "dense" and wrapped:
                group = f"{group.replace('dense', 'time_distributed', 1)}/layer"
            if f"layers/{group}" not in store:
                raise file_error(
                    path,
                    f"no layers/{group} for the config's layer {layer.name!r} (Keras 3 names weights "
                    f"by type and position; the file holds: {_listing(store)})",
                )
            fill_layer(layer, _layer_vars(store, layer.kind, group, path), path)
            used.add(group.split("/")[0])
        extra = [
            name
            for name in store.get("layers", {})
            if name not in used and _holds_arrays(store[f"layers/{name}"])
        ]
        if extra:
            raise file_error(
                path, f"layers/{extra[0]} holds weights, but the config has no layer in its place"
            )


def _dense_in_time_distributed(store: Any) -> bool:
    """Whether the file's Dense layers are all inside TimeDistributed wrappers: it holds
    `layers/time_distributed/layer/vars` and no `layers/dense` group. A config's `dense` layers then read
    those groups, in the same order (a file that holds both kinds is matched to Dense groups only)."""
    names = list(store.get("layers", {}))
    dense = any(re.fullmatch(r"dense(_[0-9]+)?", name) for name in names)
    return not dense and "layers/time_distributed/layer/vars" in store


def _holds_arrays(group: Any) -> bool:
    found: list[str] = []
    group.visititems(lambda name, item: found.append(name) if hasattr(item, "shape") else None)
    return bool(found)


# -- writing -------------------------------------------------------------------------------------------


def weight_groups(model: Model) -> list[tuple[Layer, str]]:
    """Each layer, in `model.layers` order, with its group in a `.weights.h5`: Keras 3 numbers the groups of
    each class in that order (lstm, lstm_1, ...), whatever the layers are called."""
    names = KerasNames()
    return [(layer, names.next(owner_of(layer).keras_prefix)) for layer in keras_layers(model)]


def write_weights(model: Model, path: Path) -> None:
    """A `.weights.h5` that Keras 3's `model.load_weights` reads into the same layers, in the same order."""
    h5py = optional_module("h5py", "writing .weights.h5 files")
    with h5py.File(path, "w") as store:
        store.create_group("vars")
        for layer, name in weight_groups(model):
            group = store.create_group(f"layers/{name}")
            _vars_group(group, layer.name, [])
            if isinstance(layer, LstmLayer):
                _vars_group(group.create_group("cell"), "lstm_cell", _lstm_arrays(layer))
            elif isinstance(layer, BidirectionalLayer):
                for half, lstm in (("forward", layer.forward), ("backward", layer.backward)):
                    inner = group.create_group(f"{half}_layer")
                    _vars_group(inner, f"{half}_{layer.name}", [])
                    _vars_group(inner.create_group("cell"), "lstm_cell", _lstm_arrays(lstm))
            elif isinstance(layer, DenseLayer):
                arrays = [layer.kernel, layer.bias] if layer.use_bias else [layer.kernel]
                _datasets(group["vars"], [a for a in arrays if a is not None])
            elif isinstance(layer, EmbeddingLayer) and layer.embeddings is not None:
                _datasets(group["vars"], [layer.embeddings])


def _vars_group(group: Any, name: str, arrays: list[np.ndarray]) -> None:
    node = group.require_group("vars")
    node.attrs["name"] = name
    _datasets(node, arrays)


def _datasets(node: Any, arrays: list[np.ndarray]) -> None:
    for index, array in enumerate(arrays):
        node.create_dataset(str(index), data=np.ascontiguousarray(array))


def _lstm_arrays(layer: LstmLayer) -> list[np.ndarray]:
    weights = layer.weights
    if weights is None:
        raise ValueError(f"layer {layer.name!r} has no weights")
    return _keras_layout(weights)


def _keras_layout(weights: LstmWeights) -> list[np.ndarray]:
    arrays = [weights.kernel, weights.recurrent_kernel]
    return arrays + ([weights.bias] if weights.bias is not None else [])
