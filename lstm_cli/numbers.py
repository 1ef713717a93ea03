"""Numbers another runtime produced, for compare's B: a `.npy` of A's one output, or a `.npz` or `.json`
keyed by reference (`lstm`, `lstm.h`, ...). A `.json` may also be a `forward --format json` document, whose
references are under "outputs": of those, the ones A also gives are compared (another model's run returns
what it returns, such as an nn.LSTM's h and c), and the rest are said on stderr. An `.npz` whose keys are
not all references of A is a model file instead."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .errors import LstmCliError
from .model import Array


def read_numbers(
    path: Path, references: Collection[str], outputs: Sequence[str], notes: list[str] | None = None
) -> dict[str, Array] | None:
    """B's numbers keyed by A's `references`, or None when `path` is a model file. A `.npy` is A's one
    output (`outputs`). What a forward document holds beyond A's references is left out, said in `notes`."""
    suffix = path.suffix.lower()
    if suffix == ".npy":
        if len(outputs) != 1:
            raise LstmCliError(
                f"{path}: a .npy holds one array, and A has {len(outputs)} outputs ({', '.join(outputs)}); "
                "give B as an .npz or .json keyed by reference"
            )
        return {
            outputs[0]: _numeric(_load(path, lambda: np.load(path, allow_pickle=False)), path, outputs[0])
        }
    if suffix == ".npz":
        with _load(path, lambda: np.load(path, allow_pickle=False)) as archive:
            if not archive.files or not set(archive.files) <= set(references):
                return None
            return {key: _numeric(archive[key], path, key) for key in archive.files}
    if suffix == ".json":
        numbers, document = _from_json(path)
        left_out = [key for key in numbers if key not in references] if document else []
        if left_out and notes is not None:
            notes.append(f"{path}: {', '.join(left_out)} left out: A gives no such reference")
        kept = {key: value for key, value in numbers.items() if key not in left_out}
        if not kept:  # nothing to compare must not read as agreeing
            raise LstmCliError(
                f"{path}: none of its references ({', '.join(numbers)}) is one A gives "
                f"(A's outputs: {', '.join(outputs)})"
            )
        return kept
    return None


def _load(path: Path, load: Any) -> Any:
    try:
        return load()
    except OSError as exc:
        raise LstmCliError(f"{path}: {exc.strerror or 'cannot be read'}") from None
    except ValueError as exc:
        raise LstmCliError(f"{path}: not a numpy file ({exc})") from None


def _from_json(path: Path) -> tuple[dict[str, Array], bool]:
    """The arrays, and whether they came from a `forward --format json` document."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LstmCliError(f"{path}: {exc.strerror or 'cannot be read'}") from None
    except json.JSONDecodeError as exc:
        raise LstmCliError(f"{path}:{exc.lineno}:{exc.colno}: not JSON: {exc.msg}") from None
    prefix = ""
    if isinstance(document, dict) and isinstance(document.get("outputs"), dict):
        document, prefix = document["outputs"], "outputs."  # a `forward --format json` document
    if not isinstance(document, dict) or not document:
        raise LstmCliError(
            f'{path}: expected an object of arrays keyed by reference, such as {{"lstm": [...]}}'
        )
    numbers = {str(key): _numeric(value, path, prefix + str(key)) for key, value in document.items()}
    return numbers, bool(prefix)


def _numeric(value: Any, path: Path, key: str) -> Array:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        array = None
    if array is None or array.ndim == 0:
        raise LstmCliError(f"{path}: {key}: expected an array of numbers with batch first")
    return array


def describe(numbers: Mapping[str, Array]) -> str:
    return ", ".join(f"{key} {tuple(value.shape)}" for key, value in numbers.items())
