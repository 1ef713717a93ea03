"""`forward --save-lstmvis DIR`: the run's states as LSTMVis (HendrikStrobelt/LSTMVis) reads a project.

The layout is LSTMVis's own (its README, "Adding Your Own Data", and lstmdata/data_handler.py, which reads
it): a folder with

- `lstm.yml`, the project's config, naming the files below and the datasets in them;
- `states.h5`: per recurrent layer k (1, 2, ... in the order they run), the cell states as `states{k}` and
  the outputs h as `output{k}`, the names LSTMVis's own model/get_states.lua writes; the backward half of a
  bidirectional layer as `states{k}_backward` and `output{k}_backward`. Each is float32, (positions,
  units): every sample's sequence one after another, in input order, as LSTMVis's Keras tutorial
  flattens them;
- `words.h5`: the dataset `word_ids`, int64 (positions,): the word at each position;
- `words.dict`: one `word id` per line, as data_handler splits it (so a word holds no whitespace: a space,
  newline or tab in a token is written as its \\uXXXX escape).

LSTMVis applies tanh to a state unless told `transform: none`; h under tanh already lies in [-1, 1] (and
under a sigmoid in [0, 1], `unsigned`), so it is told; c is left to its tanh. A word is the step's token
(the vocab's index, with a vocab); a masked step without one is `<masked>`; otherwise, where the input
is numbers rather than tokens, the timestep: `t0`, `t1`, ... LSTMVis holds one word sequence per project,
so only the layers that read the same input sequence as the first recurrent layer are written; the
others are named in a note.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import LstmCliError
from .model import Array, Model
from .names import layer_of
from .series import LayerSeries
from .tokens import shown_token, step_tokens
from .tracing.ranges import fixed_range

STATES_FILE, WORDS_FILE, DICT_FILE, CONFIG_FILE = "states.h5", "words.h5", "words.dict", "lstm.yml"
WORD_IDS = "word_ids"  # the dataset in WORDS_FILE


@dataclass(frozen=True, eq=False)
class Project:
    """What the files hold: the datasets of states.h5, the word ids, the dict's lines and lstm.yml."""

    states: dict[str, Array]  # dataset name → (positions, units), float32
    word_ids: Array  # (positions,), int64
    words: list[tuple[str, int]]  # the dict: (word, id)
    config: dict[str, Any]  # lstm.yml
    notes: list[str]  # the layers left out, and why


def lstmvis_project(model: Model, series: Sequence[LayerSeries], name: str) -> Project:
    """The project of the recurrent layers that read the first one's input sequence."""
    if not series:
        raise LstmCliError("--save-lstmvis writes LSTM states; the model has no LSTM layer")
    sequence = _sequence_of(model, series[0].input)
    kept = [half for half in series if _sequence_of(model, half.input) == sequence]
    notes = [
        f"--save-lstmvis: LSTMVis shows one word sequence per project; layer {half.name!r} reads "
        f"{_sequence_of(model, half.input)!r}, not {sequence!r}, and is left out"
        for half in series
        if half not in kept and half.direction == "forward"
    ]
    numbers = {layer: k for k, layer in enumerate(dict.fromkeys(half.name for half in kept), start=1)}
    states: dict[str, Array] = {}
    types = []
    for half in kept:
        suffix = "" if half.direction == "forward" else f"_{half.direction}"
        number = numbers[half.name]
        for kind, quantity, prefix in (("state", "c", "states"), ("output", "h", "output")):
            path = f"{prefix}{number}{suffix}"
            states[path] = _positions(half, half.values[quantity]).astype(np.float32)
            types.append({"type": kind, "layer": number, "path": path, **_transform(half, quantity)})
    word_ids, words = word_sequence(model, kept[0])
    return Project(states, word_ids, words, _config(name, model.description, types), notes)


def _sequence_of(model: Model, ref: str) -> str:
    """The model input whose time axis `ref` runs along: through every layer back to an input."""
    while ref not in model.inputs:
        layer = model.find(layer_of(ref))
        if layer is None or not hasattr(layer, "input"):
            return ref
        ref = layer.input
    return ref


def _positions(series: LayerSeries, values: Array) -> Array:
    """(batch, timesteps, units) in processing order → (batch * timesteps, units), each sample's steps
    in input order."""
    order = np.argsort(series.t, kind="stable")
    ordered = values[:, order]
    return ordered.reshape(-1, ordered.shape[-1])


def _transform(series: LayerSeries, quantity: str) -> dict[str, Any]:
    """lstm.yml's options for a state already within [-1, 1] or [0, 1]: LSTMVis is not to apply tanh."""
    fixed = fixed_range(series.activation, series.recurrent_activation, quantity)
    if fixed is None:
        return {}
    return {"transform": "none", "unsigned": True} if fixed[0] >= 0 else {"transform": "none"}


def word_sequence(model: Model, series: LayerSeries) -> tuple[Array, list[tuple[str, int]]]:
    """The word id at each position (sample by sample, input order) and the dict. With a vocab, token k
    has id k; a word outside it takes the next free id."""
    tokens = step_tokens(model, series.input)
    vocab = [dict_word(shown_token(token)) for token in model.vocab or ()]
    ids: dict[str, int] = {word: index for index, word in reversed(list(enumerate(vocab)))}
    order = np.argsort(series.t, kind="stable")
    positions = []
    free = len(vocab)
    for row, sample in enumerate(series.samples):
        for k in order:
            t = int(series.t[k])
            token = None if tokens is None else tokens.token(series.x[row, k], t, sample)
            if token is None:  # no token: a masked step (zero padding, say), or an input of numbers
                token = "<masked>" if not series.valid[row, k] else f"t{t}" if tokens is None else "<none>"
            word = dict_word(token)
            if word not in ids:
                ids[word], free = free, free + 1
            positions.append(ids[word])
    words = sorted(ids.items(), key=lambda item: item[1])
    return np.array(positions, np.int64), words


def dict_word(token: str) -> str:
    """A word as LSTMVis's dict can hold it: no whitespace (it splits each line on whitespace)."""
    return "".join(f"\\u{ord(char):04x}" if char.isspace() else char for char in token) or "''"


def _config(name: str, description: str | None, types: list[dict[str, Any]]) -> dict[str, Any]:
    """lstm.yml, as LSTMVis's README lays it out."""
    return {
        "name": name,
        "description": description or f"{name}, exported by lstm-cli forward --save-lstmvis",
        "files": {"states": STATES_FILE, "word_ids": WORDS_FILE, "words": DICT_FILE},
        "word_sequence": {"file": "word_ids", "path": WORD_IDS, "dict_file": "words"},
        "states": {"file": "states", "types": types},
    }


def save_project(project: Project, directory: Path) -> list[Path]:
    """The four files in `directory` (made if it does not exist; its parent must); the paths written."""
    from .modelfiles.common import optional_module

    h5py = optional_module("h5py", "--save-lstmvis")
    import yaml

    if not directory.parent.is_dir():
        raise LstmCliError(f"--save-lstmvis {directory}: the folder {directory.parent} does not exist")
    try:
        directory.mkdir(exist_ok=True)
        with h5py.File(directory / STATES_FILE, "w") as states:
            for path, values in project.states.items():
                states.create_dataset(path, data=values)
        with h5py.File(directory / WORDS_FILE, "w") as words:
            words.create_dataset(WORD_IDS, data=project.word_ids)
        lines = "".join(f"{word} {index}\n" for word, index in project.words)
        (directory / DICT_FILE).write_text(lines, encoding="utf-8")
        text = yaml.safe_dump(project.config, sort_keys=False, allow_unicode=True)
        (directory / CONFIG_FILE).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise LstmCliError(f"--save-lstmvis {directory}: {exc.strerror or exc}") from None
    return [directory / name for name in (CONFIG_FILE, STATES_FILE, WORDS_FILE, DICT_FILE)]
