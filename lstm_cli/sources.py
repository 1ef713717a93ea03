"""What CONFIG names (README.md, "Model files and input data"): a YAML config, or any model file that
`convert` reads, with what the command line gives beside it: data for its inputs, and for `decode` a vocab and
text.

A model file is read in memory exactly as `convert` reads it (`modelfiles.convert.read_source`, imported
only for one, so that a YAML config pays nothing for the readers).

- `--input [NAME=]FILE`: FILE is a `.npy`, `.npz:KEY` (KEY names the array, as `key:` does in a config),
  `.csv` or `.tsv`, read by the loader that reads a config's `{file: ...}`. NAME picks one of several
  inputs. The data goes where the config's input was: in place of a shape, or of the config's own data.
- `--time-major` reads a 3-D array as (timesteps, batch, features), the layout of PyTorch's default
  `nn.LSTM(batch_first=False)`; `--batch-first` as (batch, timesteps, features), lstm-cli's own. A
  PyTorch state_dict does not record which one its model reads, so for a model read from one, a 3-D
  array needs one of the two: guessing would give a wrong number without a word.
- `--vocab FILE`: the model's vocab, one token per line. `--text NAME=TEXT`: TEXT split into the vocab's
  tokens (see `lstm_cli.vocab`), fed to input NAME as its one-hot sequence.

Everything lands in the config mapping before it is validated, so the model is checked as a whole, once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .arrayfiles import ARRAY_SUFFIXES, read_array_file
from .checks import NAME_PATTERN
from .config import embedded_inputs, load_model
from .errors import LstmCliError
from .model import Model
from .text import shape_text
from .tokens import shown_token
from .vocab import read_vocab, split_text

TORCH_SUFFIXES = (".pt", ".pth")
MODEL_SUFFIXES = (".keras", ".h5", ".hdf5", *TORCH_SUFFIXES, ".npz", ".onnx")  # .weights.h5 ends in .h5
Layout = Literal["time-major", "batch-first"]
MAX_SHOWN_TOKENS = 20  # a note lists the tokens of a text up to this many


@dataclass(frozen=True)
class Inputs:
    files: tuple[str, ...] = ()  # --input [NAME=]FILE, as given
    layout: Layout | None = None  # --time-major or --batch-first
    texts: tuple[str, ...] = ()  # --text NAME=TEXT
    vocab: Path | None = None  # --vocab FILE

    def __bool__(self) -> bool:
        return bool(self.files or self.layout or self.texts or self.vocab)


NO_INPUTS = Inputs()


def open_model(
    path: Path,
    *,
    config: Path | None = None,
    prefix: str | None = None,
    inputs: Inputs = NO_INPUTS,
    dtype: str | None = None,
) -> tuple[Model, list[str]]:
    """The model at `path` with its `inputs`, and notes for stderr on what came from where. `config` is the
    architecture of a weights-only file, `prefix` the nn.LSTM in a state_dict, as for `convert`."""
    if path.suffix.lower() in MODEL_SUFFIXES or config is not None or prefix is not None or inputs:
        from .modelfiles.convert import read_source

        converted = read_source(path, config=config, prefix=prefix, inputs=inputs, dtype=dtype)
        return converted.model, converted.notes
    return load_model(path, dtype=dtype), []  # a YAML config as it is, every position kept


@dataclass(frozen=True)
class _Given:
    """One array for one input, and where it came from."""

    option: str  # `--input x.npy`, as in messages
    name: str  # the input's name, or "" for the only one
    array: np.ndarray  # batch first: (batch, timesteps, features) or (timesteps, features); ids lack features
    read_as: tuple[int, ...]  # the file's own shape, as a message about it shows it
    origin: str  # what the note says the input reads
    time_major: bool = False  # read_as is (timesteps, batch, features)
    text: bool = False  # from --text, not a file

    @property
    def noted(self) -> bool:
        """Said on stderr even for a model file (whose inputs have no data of their own to replace)."""
        return self.time_major or self.text


def attach(mapping: dict[str, Any], inputs: Inputs, *, torch_source: bool, yaml_source: bool) -> list[str]:
    """Put the vocab and the inputs' data into `mapping`; the notes say what came from where.

    `torch_source`: the model was read from a PyTorch state_dict (no batch_first recorded).
    `yaml_source`: it was a YAML config, whose own data or vocab a given one replaces."""
    if inputs.layout is not None and not inputs.files:
        raise LstmCliError(f"--{inputs.layout} says how --input arrays are laid out; give an --input")
    notes = []
    if inputs.vocab is not None:
        tokens = read_vocab(inputs.vocab)
        if yaml_source and "vocab" in mapping:
            notes.append(f"the vocab is {inputs.vocab}'s {len(tokens)} tokens (--vocab), not the config's")
        mapping["vocab"] = list(tokens)
    ids_inputs = embedded_inputs(mapping)
    given = [_from_file(item, inputs.layout, torch_source, mapping, ids_inputs) for item in inputs.files]
    given += [_from_text(item, mapping, ids_inputs) for item in inputs.texts]
    attached: set[str] = set()
    for one in given:
        name, named = _place(mapping, one)
        if name in attached:
            raise LstmCliError(f"{one.option}: input {name!r} is given twice")
        replaced = not (isinstance(named[name], Mapping) and "shape" in named[name])
        _check_fits(one, name, named[name], ids=name in ids_inputs)
        named[name] = one.array
        attached.add(name)
        if yaml_source:
            whose = ", not the config's own data" if replaced else "; the config gives only its shape"
            notes.append(f"input {name!r} reads {one.origin}{whose}")
        elif one.noted:
            notes.append(f"input {name!r} reads {one.origin}")
    return notes


def _place(mapping: dict[str, Any], one: _Given) -> tuple[str, dict[str, Any]]:
    """The input's name, and the mapping that holds its entry (the config itself for its one `input`)."""
    name = _input_name(mapping, one.name, one.option, one.text)
    return name, mapping if "input" in mapping else mapping["inputs"]


def _input_name(mapping: dict[str, Any], given: str, option: str, text: bool) -> str:
    """The input that `given` (a NAME= or "") names."""
    if "input" in mapping:
        if given not in ("", "input"):
            raise LstmCliError(f"{option}: the model has one input, `input`; drop {given}=")
        return "input"
    named: dict[str, Any] = mapping.get("inputs") or {}
    if not given:
        if len(named) != 1:
            raise LstmCliError(
                f"{option}: the model has inputs {', '.join(named)}; say which with NAME="
                f"{'TEXT' if text else 'FILE'}"
            )
        return next(iter(named))
    if given not in named:
        raise LstmCliError(f"{option}: no input {given!r} (the model has: {', '.join(named)})")
    return given


# -- --input: arrays from files --------------------------------------------------------------------------


def split_input_option(item: str) -> tuple[str, Path, str | None]:
    """`[NAME=]FILE[:KEY]` → (NAME or "", FILE, KEY or None). What precedes the first `=` is NAME only
    when it is a name (so `runs/a=1.npy` is a file); KEY follows `.npz:` only."""
    name, sep, file = item.partition("=")
    if not sep or not NAME_PATTERN.fullmatch(name):
        name, file = "", item
    key = None
    head, colon, tail = file.rpartition(":")
    if colon and head.lower().endswith(".npz"):
        file, key = head, tail
    return name, Path(file), key


def _from_file(
    item: str, layout: Layout | None, torch_source: bool, mapping: dict[str, Any], ids_inputs: set[str]
) -> _Given:
    """The array of one --input, batch first. An embedding's input is ids, one axis fewer: (batch,
    timesteps), or (timesteps, batch) time-major, or (timesteps,)."""
    option = f"--input {item}"
    name, file, key = split_input_option(item)
    ids = _input_name(mapping, name, option, text=False) in ids_inputs
    suffix = file.suffix.lower()
    if suffix not in ARRAY_SUFFIXES:
        raise LstmCliError(f"{option}: expected a .npy, .npz:KEY, .csv or .tsv file")
    if suffix == ".npz" and not key:
        raise LstmCliError(f"{option}: a .npz file holds several arrays; say which with {file}:KEY")
    array = read_array_file(file, key, lambda part, message: LstmCliError(f"{option}: {message}"), name="")
    shape = tuple(array.shape)
    major = layout == "time-major"
    features = "" if ids else ", features"
    batched = 2 if ids else 3  # the rank of a batch of sequences
    if array.ndim not in (batched - 1, batched):
        wanted = f"(timesteps, batch{features})" if major else f"(batch, timesteps{features})"
        one = "(timesteps,)" if ids else "(timesteps, features)"
        what = "ids, " if ids else ""
        raise LstmCliError(f"{option}: expected {what}{wanted} or {one}, got shape {shape_text(shape)}")
    if array.ndim == batched and torch_source and layout is None:
        raise LstmCliError(
            f"{option}: shape {shape_text(shape)} could be (timesteps, batch{features}), nn.LSTM's default "
            f"layout, or (batch, timesteps{features}), as with batch_first=True; a PyTorch state_dict does "
            "not record which: add --time-major or --batch-first"
        )
    if not np.isfinite(array).all():
        index = [int(i) for i in np.argwhere(~np.isfinite(array))[0]]
        what = "NaN" if np.isnan(array[tuple(index)]) else "infinity"
        raise LstmCliError(f"{option}: {what} at {index}; every value must be a finite number")
    origin = str(file) if key is None else f"{file}:{key}"
    if array.ndim == batched and major:
        array = np.ascontiguousarray(np.swapaxes(array, 0, 1))  # (batch, timesteps[, features])
        origin += f", time-major: {shape[0]} timesteps of a batch of {shape[1]}"
    return _Given(option, name, array, shape, origin, time_major=major and len(shape) == batched)


def _check_fits(one: _Given, name: str, spec: Any, ids: bool) -> None:
    """The data must fit the input it replaces: a shape's features (and timesteps, if fixed), or the width
    of the config's own data. So a wrong file is named as such, not as a layer whose weights do not fit.
    Ids are held to a fixed number of timesteps only; the embedding checks each id."""
    if ids:
        shape = spec.get("shape") if isinstance(spec, Mapping) else None
        fixed = shape[0] if isinstance(shape, list) and shape else None
        if fixed is not None and one.array.shape[-1] != fixed:
            raise LstmCliError(
                f"{one.option}: the array's shape is {shape_text(one.read_as)}; input {name!r} takes "
                f"{fixed} timesteps of ids"
            )
        return
    if isinstance(spec, Mapping) and "shape" in spec:
        timesteps, features = spec["shape"]
    else:
        timesteps, features = None, np.shape(spec)[-1]
    array = one.array
    if array.shape[-1] == features and (timesteps is None or array.shape[-2] == timesteps):
        return
    if one.text and array.shape[-1] != features:
        raise LstmCliError(
            f"{one.option}: input {name!r} reads {features} features, but the vocab has {array.shape[-1]} "
            "tokens; the one-hot is as wide as the vocab"
        )
    steps = timesteps or "timesteps"
    if len(one.read_as) == 2:
        wanted = f"({steps}, {features})"
    elif one.time_major:
        wanted = f"({steps}, batch, {features})"
    else:
        wanted = f"(batch, {steps}, {features})"
    raise LstmCliError(
        f"{one.option}: the array's shape is {shape_text(one.read_as)}; input {name!r} takes {wanted}"
    )


# -- --text: tokens of the vocab ---------------------------------------------------------------------------


def _from_text(item: str, mapping: dict[str, Any], ids_inputs: set[str]) -> _Given:
    """TEXT as its tokens: their one-hot rows, or their ids for an input that an embedding reads."""
    option = f"--text {item}"
    vocab = mapping.get("vocab")
    name, sep, text = item.partition("=")
    if not sep:
        raise LstmCliError(f"{option}: say which input reads it, as NAME=TEXT")
    if not isinstance(vocab, list) or not vocab:
        raise LstmCliError(
            f"{option}: the model has no vocab to split the text into tokens; give one with --vocab FILE"
        )
    indices = split_text(text, vocab, option)
    if _input_name(mapping, name, option, text=True) in ids_inputs:
        encoded: np.ndarray = np.array(indices, dtype=np.int64)  # (timesteps,): one sequence of ids
    else:
        encoded = np.zeros((len(indices), len(vocab)))  # (timesteps, vocab): one sequence
        encoded[np.arange(len(indices)), indices] = 1.0
    tokens = [shown_token(vocab[index]) for index in indices]
    listed = " ".join(tokens[:MAX_SHOWN_TOKENS]) + (" ..." if len(tokens) > MAX_SHOWN_TOKENS else "")
    count = "1 token" if len(tokens) == 1 else f"{len(tokens)} tokens"
    return _Given(option, name, encoded, encoded.shape, f"{count} (--text): {listed}", text=True)
