"""`lstm-cli init`: a runnable config with freshly initialised weights and a random input, or an example.

The weights are those a new Keras layer starts with (see `initializers`), or PyTorch's with `--init
pytorch`. The file says how it was made: the command that writes it again, seed included.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .architecture import Architecture
from .errors import LstmCliError
from .initializers import glorot_uniform, lstm_bias, orthogonal, torch_uniform
from .yamlio import KeyPath
from .yamlwriter import dump_yaml

Scheme = Literal["keras", "pytorch"]
DEFAULT_PRECISION = 4
HEADER_WIDTH = 100
MAX_VALUES = 1_000_000  # a YAML config is for reading; bigger models belong in .npy files (convert)
SCHEME_TEXT = {
    "keras": "Keras's defaults: LSTM kernel glorot_uniform, recurrent_kernel orthogonal, bias 0 with the "
    "forget gate's slice set to 1; Dense kernel glorot_uniform, bias 0.",
    "pytorch": "PyTorch's defaults: every nn.LSTM weight and bias U(-1/sqrt(units), 1/sqrt(units)); "
    "Dense as nn.Linear, U(-1/sqrt(inputs), 1/sqrt(inputs)), written in Keras's (inputs, units) layout.",
}
SCHEME_NAME = {"keras": "Keras's default initialisation", "pytorch": "PyTorch's default initialisation"}


def fresh_seed() -> int:
    return int(np.random.default_rng().integers(0, 2**31))


def init_config(
    arch: Architecture,
    *,
    seed: int,
    scheme: Scheme = "keras",
    precision: int = DEFAULT_PRECISION,
) -> str:
    """The YAML text of a runnable config: weights drawn in order (input first, then layer by layer)."""
    if arch.bidirectional:
        raise LstmCliError("init writes LSTM and Dense layers; --bidirectional is for summary only")
    _check_size(arch)
    rng = np.random.default_rng(seed)
    batch = arch.batch or 1
    timesteps = arch.timesteps or 1
    data: dict[str, Any] = {
        "description": f"{_architecture_text(arch)}; {SCHEME_NAME[scheme]}, seed {seed}",
        "input": rng.standard_normal((batch, timesteps, arch.features)),
    }
    comments: dict[KeyPath, str] = {}
    layers: list[dict[str, Any]] = []
    width = arch.features
    for index, units in enumerate(arch.units):
        layer: dict[str, Any] = {"type": "lstm", "units": units}
        if arch.returns_sequences(index):
            layer["return_sequences"] = True
        layer.update(_lstm_weights(rng, scheme, width, units))
        first_weight = next(key for key in layer if key in ("kernel", "weight_ih"))
        comments[("layers", index, first_weight)] = _gate_comment(units, scheme)
        layers.append(layer)
        width = units
    for units in arch.dense:
        layers.append({"type": "dense", "units": units, **_dense_weights(rng, scheme, width, units)})
        width = units
    data["layers"] = layers
    notes = [
        f"Written by `{command_line(arch, seed, scheme, precision)}`.",
        *textwrap.wrap(SCHEME_TEXT[scheme], HEADER_WIDTH),
        "Run it with `lstm-cli forward FILE`.",
    ]
    header = "".join(f"# {line}\n" for line in notes)
    return header + dump_yaml(data, comments=comments, precision=precision)


def command_line(arch: Architecture, seed: int, scheme: Scheme, precision: int) -> str:
    """The `lstm-cli init` command that writes the same file again."""
    parts = ["lstm-cli init"]
    parts += [f"--units {units}" for units in arch.units]
    parts.append(f"--features {arch.features}")
    parts.append(f"--timesteps {arch.timesteps or 1}")
    parts.append(f"--batch {arch.batch or 1}")
    if arch.return_sequences:
        parts.append("--return-sequences")
    parts += [f"--dense {units}" for units in arch.dense]
    parts.append(f"--seed {seed}")
    if scheme != "keras":
        parts.append(f"--init {scheme}")
    if precision != DEFAULT_PRECISION:
        parts.append(f"--precision {precision}")
    return " ".join(parts)


def _architecture_text(arch: Architecture) -> str:
    layers = [f"LSTM({units})" for units in arch.units] + [f"Dense({units})" for units in arch.dense]
    shape = (arch.batch or 1, arch.timesteps or 1, arch.features)
    return f"{' -> '.join(layers)} on an input of shape {shape}"


def _gate_comment(units: int, scheme: Scheme) -> str:
    spans = [(k * units, (k + 1) * units - 1) for k in range(4)]
    cols = [f"{a}-{b}" if a != b else f"{a}" for a, b in spans]
    axis, lines = (
        ("the last axis", "columns") if scheme == "keras" else ("the first axis (PyTorch layout)", "rows")
    )
    i, f, g, o = cols
    return f"Gates side by side along {axis}: i ({lines} {i}), f ({f}), g ({g}), o ({o})."


def _lstm_weights(rng: np.random.Generator, scheme: Scheme, features: int, units: int) -> dict[str, Any]:
    gates = 4 * units
    if scheme == "pytorch":
        return {
            "weight_ih": torch_uniform(rng, (gates, features), units),  # (4*units, features)
            "weight_hh": torch_uniform(rng, (gates, units), units),  # (4*units, units)
            "bias_ih": torch_uniform(rng, (gates,), units),
            "bias_hh": torch_uniform(rng, (gates,), units),
        }
    return {
        "kernel": glorot_uniform(rng, (features, gates)),  # (features, 4*units)
        "recurrent_kernel": orthogonal(rng, (units, gates)),  # (units, 4*units), orthonormal rows
        "bias": lstm_bias(units),  # (4*units,)
    }


def _dense_weights(rng: np.random.Generator, scheme: Scheme, inputs: int, units: int) -> dict[str, Any]:
    if scheme == "pytorch":
        return {
            "kernel": torch_uniform(rng, (inputs, units), inputs),
            "bias": torch_uniform(rng, (units,), inputs),
        }
    return {"kernel": glorot_uniform(rng, (inputs, units)), "bias": np.zeros(units)}


def _check_size(arch: Architecture) -> None:
    values = (arch.batch or 1) * (arch.timesteps or 1) * arch.features
    width = arch.features
    for units in arch.units:
        values += 4 * units * (width + units + 2)
        width = units
    for units in arch.dense:
        values += units * (width + 1)
        width = units
    if values > MAX_VALUES:
        raise LstmCliError(
            f"that config would hold {values:,} numbers; init writes at most {MAX_VALUES:,}, "
            "since YAML is for configs a person reads"
        )


# -- examples and files ------------------------------------------------------------------------------------


def example_listing() -> str:
    """One line per built-in example: its name, then its description."""
    import yaml

    from .config import example_names, example_text

    names = example_names()
    width = max(map(len, names), default=0)
    lines = []
    for name in names:
        data = yaml.safe_load(example_text(name))
        description = data.get("description", "") if isinstance(data, Mapping) else ""
        lines.append(f"{name.ljust(width)}  {' '.join(str(description or '').split())}\n")
    return "".join(lines)


def write_new_file(path: Path, text: str, *, force: bool = False) -> None:
    """Write `text` to `path`; an existing file is an error unless `force`."""
    try:
        with open(path, "w" if force else "x", encoding="utf-8") as file:
            file.write(text)
    except FileExistsError:
        raise LstmCliError(f"{os.fspath(path)}: already exists; add --force to overwrite it") from None
    except IsADirectoryError:
        raise LstmCliError(f"{os.fspath(path)}: is a directory") from None
    except OSError as exc:
        raise LstmCliError(f"{os.fspath(path)}: cannot write: {exc.strerror or exc}") from None
