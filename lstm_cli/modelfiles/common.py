"""What every model-file reader and writer shares: optional imports, telling file kinds apart, messages.

A model file is checked for what it holds, not only for its name: a `.pt` that is really an HDF5 file, or
a `.keras` that is not a zip, is named as such in a one-line error.
"""

from __future__ import annotations

import importlib
import os
import zipfile
import zlib
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from lstm_cli.errors import LstmCliError

EXTRAS = {"h5py": "keras", "torch": "torch", "onnx": "onnx"}
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
MAX_JSON_BYTES = 64 * 2**20  # a model's config.json; a bigger one is not a config
# How a damaged zip (.keras, .npz, torch's format) can fail as it is read: a bad directory, a name that is
# not UTF-8, a method zipfile lacks, a deflate stream cut short.
ZIP_ERRORS: tuple[type[Exception], ...] = (
    zipfile.BadZipFile,
    OSError,
    EOFError,
    ValueError,
    NotImplementedError,
    RuntimeError,
    zlib.error,
)


def optional_module(name: str, needed_for: str) -> ModuleType:
    """`h5py` or `torch`, imported only when a file needs it; without it, the command that installs it."""
    try:
        return importlib.import_module(name)
    except ImportError:
        raise LstmCliError(
            f"{needed_for} needs {name}, which is not installed; install it with: pip install {name} "
            f"(lstm-cli's {EXTRAS[name]} extra)"
        ) from None


def file_error(path: Path | str, message: str) -> LstmCliError:
    return LstmCliError(message, source=os.fspath(path))


def sniff(path: Path) -> str:
    """What a file holds, from its first bytes: keras, torch-zip, npz, zip, hdf5, pickle, text or empty."""
    try:
        with path.open("rb") as stream:
            head = stream.read(8)
    except FileNotFoundError:
        raise file_error(path, "no such file") from None
    except IsADirectoryError:
        raise file_error(path, "is a directory, not a model file") from None
    except OSError as exc:
        raise file_error(path, f"cannot read: {exc.strerror or exc}") from None
    if not head:
        return "empty"
    if head.startswith(HDF5_MAGIC):
        return "hdf5"
    if head.startswith(b"PK"):
        return _zip_kind(path)
    if head[0] == 0x80 and len(head) > 1 and head[1] <= 5:  # pickle PROTO opcode: torch's legacy format
        return "pickle"
    if b"\x00" not in head:
        return "text"
    return "unknown"


def _zip_kind(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except ZIP_ERRORS:
        return "broken-zip"
    if "config.json" in names:
        return "keras"
    if any(name.endswith("/data.pkl") or name == "data.pkl" for name in names):
        return "torch-zip"
    if names and all(name.endswith(".npy") for name in names):
        return "npz"
    return "zip"


KIND_TEXT = {
    "keras": "a Keras 3 .keras archive",
    "torch-zip": "a PyTorch file (torch.save)",
    "pickle": "a PyTorch file in the legacy format, or another pickle",
    "npz": "a numpy .npz archive",
    "zip": "a zip archive",
    "broken-zip": "a damaged or truncated zip archive",
    "hdf5": "an HDF5 file (.h5)",
    "text": "a text file",
    "empty": "an empty file",
    "unknown": "an unknown kind of file",
}


def wrong_kind(path: Path, expected: str, kind: str) -> LstmCliError:
    return file_error(path, f"not {expected}: it looks like {KIND_TEXT[kind]}")


def float_array(value: Any, where: str, path: Path) -> np.ndarray:
    """A weight as read from a file: real numbers only, float16 widened to float32."""
    array = np.asarray(value)
    if array.dtype.kind not in "iuf":
        raise file_error(path, f"{where}: expected numbers, got an array of dtype {array.dtype}")
    if array.dtype.kind == "f" and array.dtype.itemsize < 4:
        array = array.astype(np.float32)
    return array


def weights_dtype(arrays: list[np.ndarray]) -> str:
    """float32 when every weight is float32 (what Keras and PyTorch compute in), else float64."""
    return "float32" if arrays and all(a.dtype == np.float32 for a in arrays) else "float64"
