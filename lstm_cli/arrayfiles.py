"""Arrays from files, for `{file: ...}` in a config and for `--input` (docs/config.md#arrays-from-files): one
loader for both.

- `.npy`: one array. `.npz`: one array of several, by key.
- `.csv`, `.tsv`: one sequence, a row per timestep and a column per feature, so `(timesteps, features)`. A
  first row that holds no number is a header, and is skipped.

Nothing is unpickled, and a `.npy` header is checked before numpy allocates what it declares. Problems are
raised through `fail(part, message)`, `part` being "file" or "key", so that each caller puts them where the
user named the file (a config's FILE:LINE:COL, or the `--input` option); `name` is the file as the user
wrote it, which the caller puts in front of the message.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import stat
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import IO

import numpy as np

from .errors import LstmCliError
from .text import did_you_mean, shape_text, shorten

ARRAY_SUFFIXES = (".npy", ".npz", ".csv", ".tsv")
DELIMITERS = {".csv": ",", ".tsv": "\t"}
NUMBER = re.compile(r"[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?")
NON_FINITE = re.compile(r"[-+]?(nan|inf|infinity)", re.IGNORECASE)
MAX_SHOWN = 40  # characters of a cell quoted in a message

Fail = Callable[[str, str], LstmCliError]  # (the part at fault, "file" or "key"; the message) → the error


def read_array_file(
    file: Path, key: str | None, fail: Fail, *, name: str, missing: str = "no such file"
) -> np.ndarray:
    """The array in `file` (`key` picks it from an .npz): numbers only, of the dtype the file holds.

    The caller has checked the suffix and that an .npz, and only an .npz, has a key. Messages start with
    `name: ` (the file as the user wrote it), except where `name` is empty."""

    def failed(part: str, message: str) -> LstmCliError:
        return fail(part, f"{name}: {message}" if name else message)

    suffix = file.suffix.lower()
    try:
        mode = file.stat().st_mode
        if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):  # a FIFO would wait for a writer for ever
            raise failed("file", "not a regular file")
        if suffix in DELIMITERS:
            array = _read_delimited(file, DELIMITERS[suffix], failed)
        else:
            array = _read_numpy(file, key, failed, fail, name)
    except FileNotFoundError:
        raise failed("file", missing) from None
    except IsADirectoryError:
        raise failed("file", "is a directory") from None
    except ValueError as exc:
        reason = "it holds pickled objects, which are refused" if "pickle" in str(exc) else str(exc)
        raise failed("file", f"cannot load: {reason}") from None
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error, RuntimeError) as exc:
        raise failed("file", f"cannot load: {exc}") from None
    except MemoryError:
        raise failed("file", "too large to load into memory") from None
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "iuf":
        raise failed("file", f"expected numbers, got dtype {array.dtype}")
    return array


def _read_numpy(file: Path, key: str | None, failed: Fail, fail: Fail, name: str) -> np.ndarray:
    """`failed` puts the file's name in front of a message; `fail` does not."""
    suffix = file.suffix.lower()
    with file.open("rb") as stream:  # ours to close, whatever numpy raises
        magic = stream.read(6)
        if suffix == ".npy" and magic != b"\x93NUMPY":
            raise failed("file", "not a .npy file (numpy.save writes them)")
        if suffix == ".npz" and not magic.startswith(b"PK"):
            raise failed("file", "not a .npz file (numpy.savez writes them)")
        stream.seek(0)
        if suffix == ".npy":
            check_npy_header(stream, os.fstat(stream.fileno()).st_size, failed)
            stream.seek(0)
            return np.load(stream, allow_pickle=False)
        with np.load(stream, allow_pickle=False) as archive:
            key = str(key)
            if key not in archive.files:
                raise fail(
                    "key",
                    f"no array {shorten(key)!r} in {name or 'the archive'}{did_you_mean(key, archive.files)}"
                    f" (it holds: {', '.join(archive.files)})",
                )
            member = f"{key}.npy"
            if member not in archive.zip.namelist():  # numpy would hand back its raw bytes
                raise failed("key", f"{shorten(key)!r} is not an array saved by numpy")
            with archive.zip.open(member) as entry:
                check_npy_header(entry, archive.zip.getinfo(member).file_size, failed)
            return archive[key]


def check_npy_header(stream: IO[bytes], size: int, failed: Fail) -> None:
    """Refuse, from its header alone, a .npy that holds pickles or declares more data than it has: numpy
    would allocate what the header declares (terabytes, if it says so) before finding the data short."""
    version = np.lib.format.read_magic(stream)
    read_header = (
        np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    )
    shape, _, dtype = read_header(stream)
    if dtype.hasobject:
        raise failed("file", "cannot load: it holds pickled objects, which are refused")
    declared = math.prod(shape) * dtype.itemsize
    available = size - stream.tell()
    if declared > available:
        raise failed(
            "file",
            f"truncated: its header declares shape {shape_text(shape)} of {dtype} "
            f"({declared:,} bytes), but only {available:,} bytes follow",
        )


# -- .csv and .tsv: one sequence ---------------------------------------------------------------------------


def _read_delimited(file: Path, delimiter: str, failed: Fail) -> np.ndarray:
    """(timesteps, features) float64: a row per timestep. Blank lines are skipped, and so is a first row
    that holds no number (a header). Every other cell must be a finite number, every row as wide."""
    raw = file.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise failed("file", f"line {line}: not UTF-8 text (byte 0x{raw[exc.start]:02x})") from None
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise failed("file", f"line {line}: not a text file (it contains a NUL byte)")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[list[float]] = []
    header: tuple[int, int] | None = None  # (line, columns)
    first: tuple[int, int] | None = None  # the first row of numbers: (line, columns)
    try:
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if first is None and header is None and not any(_is_number(cell) for cell in cells):
                header = (line, len(cells))
                continue
            if first is None:
                first = (line, len(cells))
                if header is not None and header[1] != len(cells):
                    raise failed(
                        "file",
                        f"the header (line {header[0]}) has {_columns(header[1])}, "
                        f"line {line} has {len(cells)}",
                    )
            elif len(cells) != first[1]:
                raise failed(
                    "file",
                    f"ragged rows: line {line} has {_columns(len(cells))}, line {first[0]} has {first[1]}",
                )
            hint = "" if rows or header else " (a first row is a header only when it holds no number)"
            rows.append([_number(cell, line, column, failed, hint) for column, cell in enumerate(cells, 1)])
    except csv.Error as exc:
        raise failed("file", f"line {reader.line_num}: not valid {file.suffix[1:].upper()}: {exc}") from None
    if not rows:
        what = f"only a header (line {header[0]})" if header else "nothing"
        raise failed("file", f"no rows of numbers: it holds {what}")
    return np.array(rows, dtype=np.float64)


def _is_number(cell: str) -> bool:
    return bool(NUMBER.fullmatch(cell.strip()))


def _number(cell: str, line: int, column: int, failed: Fail, hint: str) -> float:
    text = cell.strip()
    where = f"line {line}, column {column}"
    if NUMBER.fullmatch(text):
        value = float(text)
        if math.isinf(value):
            raise failed("file", f"{where}: {shorten(text)} is out of range for float64")
        return value
    if NON_FINITE.fullmatch(text):
        what = "NaN" if text.lstrip("+-").lower() == "nan" else "infinity"
        raise failed("file", f"{where}: {what} is not allowed; every value must be a finite number")
    got = f"{shorten(text)!r}" if text else "an empty cell"
    raise failed("file", f"{where}: expected a number, got {got}{hint}")


def _columns(count: int) -> str:
    return "1 column" if count == 1 else f"{count} columns"
