"""What `trace` shows: the options as typed (`--layer`, `--timestep`, `--sample`, `--units`), checked
against the model before anything runs. A command that shows per-step values takes the same selection."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lstm_cli.errors import LstmCliError
from lstm_cli.model import BidirectionalLayer, LstmLayer, Model
from lstm_cli.text import did_you_mean


@dataclass(frozen=True)
class Selection:
    """What the user asked to see, as typed; empty means everything."""

    layers: tuple[str, ...] = ()
    timesteps: tuple[str, ...] = ()  # "3", "-1", or a range "2:5" (the end left out, as in Python)
    samples: tuple[int, ...] = ()
    units: str | None = None  # "0:8" or "5"


_SPAN = re.compile(r"(?P<index>-?\d+)|(?P<start>-?\d*):(?P<stop>-?\d*)")


def parse_span(text: str, option: str) -> int | slice:
    """`3` and `-1` are one index; `2:5`, `:3` and `5:` are ranges as in Python (`2:5` is 2, 3 and 4)."""
    match = _SPAN.fullmatch(text.strip())
    if match is None:
        raise LstmCliError(f"{option} {text!r}: expected an index such as 3 or -1, or a range such as 2:5")
    if match["index"] is not None:
        return int(match["index"])
    return slice(
        int(match["start"]) if match["start"] else None, int(match["stop"]) if match["stop"] else None
    )


def _indexes(text: str, option: str, count: int, owner: str, noun: str) -> list[int]:
    """The indexes that `text` picks out of `count`, or an error that says what there is to pick."""
    span = parse_span(text, option)
    indexes = "index 0" if count == 1 else f"0 to {count - 1}"
    there = f"{owner} {count} {noun}{'' if count == 1 else 's'} ({indexes})"
    if isinstance(span, int):
        if not -count <= span < count:
            raise LstmCliError(f"{option} {text}: out of range; {there}")
        return [span % count]
    picked = list(range(count)[span])
    if not picked:
        raise LstmCliError(f"{option} {text}: selects nothing; {there}")
    return picked


@dataclass(frozen=True)
class Chosen:
    """The selection checked and resolved: layer names, timesteps and units by layer, samples, the batch."""

    layers: tuple[str, ...]
    timesteps: dict[str, set[int]] | None
    samples: tuple[int, ...]
    units: dict[str, range] | None
    batch: int


def choose(model: Model, selection: Selection, command: str = "trace") -> Chosen:
    """Check the selection against the model before anything runs, so a typo costs nothing. `command`
    names what the errors say shows the recurrent layers."""
    recurrent = [layer for layer in model.layers if isinstance(layer, LstmLayer | BidirectionalLayer)]
    names = [layer.name for layer in recurrent]
    for name in selection.layers:
        if name in names:
            continue
        other = model.find(name)
        if other is not None:
            raise LstmCliError(
                f"--layer {name!r} is a {other.type} layer; {command} shows the recurrent layers: "
                f"{', '.join(names) or 'none'}"
            )
        raise LstmCliError(
            f"--layer {name!r}: no such layer{did_you_mean(name, names)} (layers: {', '.join(names)})"
        )
    chosen = [layer for layer in recurrent if not selection.layers or layer.name in selection.layers]
    first = next(iter(model.inputs.values()))
    batch = first.data.shape[0] if first.data is not None else 1
    samples = sorted(
        {
            index
            for b in selection.samples
            for index in _indexes(str(b), "--sample", batch, "the batch has", "sample")
        }
    )
    timesteps = None
    if selection.timesteps:
        timesteps = {}
        for layer in chosen:
            count = model.shapes[layer.input][1] or 0
            owner = f"layer {layer.name!r} reads"
            timesteps[layer.name] = {
                t
                for text in selection.timesteps
                for t in _indexes(text, "--timestep", count, owner, "timestep")
            }
    units = None
    if selection.units is not None:
        units = {}
        for layer in chosen:
            picked = _indexes(selection.units, "--units", layer.units, f"layer {layer.name!r} has", "unit")
            units[layer.name] = range(picked[0], picked[-1] + 1)
    return Chosen(
        tuple(layer.name for layer in chosen), timesteps, tuple(samples or range(batch)), units, batch
    )
