"""`.npz` archives of a config's arrays, keyed by where they sit in the config:

    input                         the input data (`inputs/NAME` for each of several inputs)
    layers/NAME/kernel            a layer's weight, by the layer's name (either layout: weight_ih, ...;
                                  an embedding's table: layers/NAME/embeddings)
    layers/NAME/forward/kernel    a bidirectional layer's halves
    layers/NAME/initial_state/h   an initial state given as an array

The same keys serve the `.npz` written beside a big YAML config (`{file: model.npz, key: layers/lstm/kernel}`)
and `convert -o model.npz`. Reading one back needs the architecture from --config. An `.npz` whose keys are
an nn.LSTM state_dict's (`weight_ih_l0`, ...) reads as a PyTorch file instead, without needing torch.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lstm_cli.layers import WEIGHT_KEYS
from lstm_cli.model import Model
from lstm_cli.modelfiles.common import ZIP_ERRORS, file_error, float_array, sniff, wrong_kind
from lstm_cli.yamlio import KeyPath
from lstm_cli.yamlwriter import is_array

NPZ_FILE = "a numpy .npz archive (numpy.savez)"


def read_npz(path: Path) -> dict[str, np.ndarray]:
    kind = sniff(path)
    if kind not in ("npz", "zip"):
        raise wrong_kind(path, NPZ_FILE, kind)
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except ZIP_ERRORS as exc:
        pickled = isinstance(exc, ValueError) and "pickle" in str(exc)
        reason = "it holds pickled objects, which are refused" if pickled else str(exc)
        raise file_error(path, f"cannot load: {reason}") from None
    return {key: float_array(array, key, path) for key, array in arrays.items()}


def array_fields(mapping: Mapping[str, Any], names: Sequence[str]) -> Iterator[tuple[KeyPath, str]]:
    """Every array of a config (its key path, and its key in an .npz), the hand values of `expect:` aside.
    `names` are the layers' names, resolved (a YAML config may leave them to Keras's default naming)."""
    if is_array(mapping.get("input")):
        yield ("input",), "input"
    for name, value in (mapping.get("inputs") or {}).items():
        if is_array(value):
            yield ("inputs", name), f"inputs/{name}"
    for index, (entry, name) in enumerate(zip(mapping["layers"], names, strict=True)):
        yield from _nested(entry, ("layers", index), f"layers/{name}", top=True)


def _nested(value: Any, path: KeyPath, key: str, top: bool = False) -> Iterator[tuple[KeyPath, str]]:
    items: Any
    if isinstance(value, Mapping):
        items = value.items()
    elif isinstance(value, list) and not top:
        items = enumerate(value)
    else:
        return
    for name, item in items:
        if top and name not in (*WEIGHT_KEYS, "initial_state"):
            continue
        if is_array(item):
            yield (*path, name), f"{key}/{name}"
        elif isinstance(item, Mapping | list):
            yield from _nested(item, (*path, name), f"{key}/{name}")


def get(mapping: Any, path: KeyPath) -> Any:
    for part in path:
        mapping = mapping[part]
    return mapping


def put(mapping: Any, path: KeyPath, value: Any) -> None:
    get(mapping, path[:-1])[path[-1]] = value


def fill_from_npz(
    mapping: dict[str, Any], model: Model, arrays: Mapping[str, np.ndarray], path: Path
) -> None:
    """The arrays of an .npz into the config `--config` gave, by key. A layer the archive has weights for
    loses the config's weights first, so that the archive may hold either layout."""
    names = {layer.name: index for index, layer in enumerate(model.layers)}
    cleared: set[int] = set()
    for key, array in arrays.items():
        parts = key.split("/")
        if key == "input" and "input" in mapping:
            mapping["input"] = array
        elif parts[0] == "inputs" and len(parts) == 2 and parts[1] in (mapping.get("inputs") or {}):
            mapping["inputs"][parts[1]] = array
        elif parts[0] == "layers" and len(parts) >= 3 and parts[1] in names:
            index = names[parts[1]]
            entry = mapping["layers"][index]
            if index not in cleared and parts[2] in WEIGHT_KEYS:
                for weight in WEIGHT_KEYS:
                    entry.pop(weight, None)
                cleared.add(index)
            target: Any = entry
            for part in parts[2:-1]:
                target = _child(target, part, key, path)
            _set(target, parts[-1], array, key, path)
        else:
            known = ", ".join(f"layers/{name}/..." for name in names)
            raise file_error(path, f"{key}: no such place in the config (its layers: {known})")


def _child(target: Any, part: str, key: str, path: Path) -> Any:
    if isinstance(target, dict):
        return target.setdefault(part, {})
    if isinstance(target, list) and part.isdigit() and int(part) < len(target):
        return target[int(part)]
    raise file_error(path, f"{key}: the config has nothing at {part!r}")


def _set(target: Any, part: str, array: np.ndarray, key: str, path: Path) -> None:
    if isinstance(target, dict):
        target[part] = array
    elif isinstance(target, list) and part.isdigit() and int(part) < len(target):
        target[int(part)] = array
    else:
        raise file_error(path, f"{key}: the config has nothing at {part!r}")
