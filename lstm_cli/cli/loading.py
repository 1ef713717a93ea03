"""Reading CONFIG: a YAML config or model file, with the shared options that say how (--config, --prefix)
and the data given beside it (--input and its layout); without a CONFIG, the built-in example."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from lstm_cli.cli.edge import PROG, notes
from lstm_cli.errors import LstmCliError

if TYPE_CHECKING:
    from lstm_cli.model import Model


class Source(NamedTuple):
    """The shared model-file options, as given. That they go with a CONFIG, and --time-major not with
    --batch-first, is for the option rules; this only hands them on."""

    architecture: Path | None = None  # --config
    prefix: str | None = None
    inputs: list[str] | None = None
    time_major: bool = False
    batch_first: bool = False
    texts: list[str] | None = None
    vocab: Path | None = None

    def options(self) -> dict[str, Any]:
        """open_model's keywords."""
        from lstm_cli.sources import Inputs

        layout: Literal["time-major", "batch-first"] | None = (
            "time-major" if self.time_major else "batch-first" if self.batch_first else None
        )
        inputs = Inputs(tuple(self.inputs or ()), layout, tuple(self.texts or ()), self.vocab)
        return {"config": self.architecture, "prefix": self.prefix, "inputs": inputs}


def load(config: Path | None, dtype: str | None, source: Source) -> Model:
    """A model with data to run: CONFIG's, or the built-in example `seed` without one."""
    from lstm_cli.config import load_example, require_data

    dtype = _name(dtype)
    if config is None:
        sys.stderr.write(
            f"{PROG}: no CONFIG given; running the built-in example `seed` (the blog's hand check)\n"
        )
        model = load_example("seed", dtype=dtype)
    else:
        model = load_file(config, dtype, source)
    require_data(model)
    return model


def load_file(config: Path, dtype: str | None = None, source: Source | None = None) -> Model:
    """The config or model file at `config`, with the inputs `source` gives; notes go to stderr. Where
    there is no file but a built-in example has its name (`seed`, or `configs/seed.yaml` run outside the
    repository), the error says how to get the example."""
    from lstm_cli.config import example_names
    from lstm_cli.sources import open_model

    if not config.exists() and config.suffix in ("", ".yaml") and config.stem in example_names():
        raise LstmCliError(
            f"{config}: no such file; {config.stem!r} is a built-in example, which "
            f"`{PROG} init --example {config.stem} -o {config.stem}.yaml` writes"
        )
    model, found = open_model(config, dtype=_name(dtype), **(source or Source()).options())
    notes(found)
    return model


def _name(dtype: str | None) -> str | None:
    """--dtype's value as a plain str: the library gets names, not the CLI's DType members."""
    return None if dtype is None else str(dtype)
