"""tf.keras 2 (and Keras 2) `.h5` files, from `model.save("m.h5")` or `model.save_weights("m.h5")`.

A saved model keeps its architecture as JSON in the root attribute `model_config`, and its weights under
`model_weights/`. A weights-only file has the same layout at its root. Either way:

    model_weights.attrs["layer_names"]           the layers, in model order
    model_weights/<layer>.attrs["weight_names"]  its weights in order: b"lstm/lstm_cell/kernel:0", ...
    model_weights/<layer>/<weight name>          each weight (TensorFlow appends `:0` to variable names)

An attribute over HDF5's 64 KB header limit is split into `weight_names0`, `weight_names1`, ... Keras 2's
`hard_sigmoid` is clip(0.2x + 0.5), so an LSTM that uses it reads as `hard_sigmoid_tf2` (a file written by
Keras 3, whose `keras_version` starts with 3, keeps Keras 3's meaning).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from lstm_cli.modelfiles.common import (
    MAX_JSON_BYTES,
    file_error,
    float_array,
    optional_module,
    sniff,
    wrong_kind,
)
from lstm_cli.modelfiles.keras3 import fill_layer, is_keras3_weights, open_h5, read_weights_into
from lstm_cli.modelfiles.keras_config import Flavour, Skeleton, read_keras_config

LEGACY_FILE = "an HDF5 model file (.h5)"


def read_h5(path: Path, skeleton: Skeleton | None) -> Skeleton:
    """A `.h5` of any Keras: a whole tf.keras 2 model, or weights only (which need `skeleton`, from
    --config). A Keras 3 `.weights.h5` given as `.h5` is recognised by its layout."""
    kind = sniff(path)
    if kind != "hdf5":
        raise wrong_kind(path, LEGACY_FILE, kind)
    h5py = optional_module("h5py", "reading .h5 files")
    with open_h5(path, lambda: h5py.File(path, "r")) as store:
        if is_keras3_weights(store):
            keras3 = True
        else:
            keras3 = False
            root = store.get("model_weights", store)
            has_config = "model_config" in store.attrs
            if skeleton is None:
                if not has_config:
                    raise file_error(
                        path,
                        "the file holds weights but no architecture (it was written by save_weights); "
                        "give the architecture with --config ARCH.yaml",
                    )
                skeleton = read_keras_config(_model_config(store, path), path, _flavour(store, root))
            elif has_config:
                raise file_error(path, "the file holds its own architecture; leave out --config")
            _fill(root, skeleton, path, by_name=has_config)
    if skeleton is None:
        raise file_error(
            path, "a Keras 3 weights file holds no architecture; give it with --config ARCH.yaml"
        )
    if keras3:
        read_weights_into(path, skeleton)
    return skeleton


def _model_config(store: Any, path: Path) -> Any:
    raw = store.attrs["model_config"]
    if isinstance(raw, np.ndarray):
        raw = raw.item() if raw.size == 1 else None
    if isinstance(raw, bytes):
        if len(raw) > MAX_JSON_BYTES:
            raise file_error(path, "model_config is too large to be a model config")
        raw = raw.decode("utf-8", errors="replace")
    if not isinstance(raw, str):
        raise file_error(path, "the model_config attribute is not text")
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise file_error(path, f"the model_config attribute is not valid JSON: {exc}") from None


def _flavour(store: Any, root: Any) -> Flavour:
    """keras3 for a file Keras 3 wrote; keras2 (tf.keras 2, Keras 2 and older) otherwise."""
    version = root.attrs.get("keras_version", store.attrs.get("keras_version", b""))
    if isinstance(version, bytes):
        version = version.decode("utf-8", errors="replace")
    major = str(version).split(".")[0]
    return "keras3" if major.isdigit() and int(major) >= 3 else "keras2"


def attribute_list(group: Any, name: str) -> list[str]:
    """A list attribute, whole (`weight_names`) or in chunks (`weight_names0`, `weight_names1`, ...)."""
    if name in group.attrs:
        chunks = [group.attrs[name]]
    else:
        chunks = []
        while f"{name}{len(chunks)}" in group.attrs:
            chunks.append(group.attrs[f"{name}{len(chunks)}"])
    return [
        item.decode("utf-8") if isinstance(item, bytes) else str(item) for chunk in chunks for item in chunk
    ]


def _fill(root: Any, skeleton: Skeleton, path: Path, *, by_name: bool) -> None:
    """Each weighted layer's arrays, in `weight_names` order. A whole model's layers are found by name;
    a weights-only file's are taken in order, as Keras 2's `load_weights` does."""
    listed = attribute_list(root, "layer_names")
    saved = [name for name in listed if name in root and attribute_list(root[name], "weight_names")]
    if by_name:
        missing = [layer.name for layer in skeleton.weighted if layer.name not in saved]
        if missing:
            raise file_error(path, f"no weights for layer {missing[0]!r} (the file has: {', '.join(saved)})")
        saved = [layer.name for layer in skeleton.weighted]
    elif len(saved) != len(skeleton.weighted):
        raise file_error(
            path,
            f"the file holds weights for {len(saved)} layers ({', '.join(saved) or 'none'}), "
            f"the config has {len(skeleton.weighted)} layers with weights",
        )
    for layer, name in zip(skeleton.weighted, saved, strict=True):
        group = root[name]
        names = attribute_list(group, "weight_names")
        arrays = [float_array(group[weight][()], f"{name}/{weight}", path) for weight in names]
        fill_layer(layer, arrays, path, names)
