"""A model described by command-line flags alone: the shared input of `summary` and `init`.

`--units 8 --units 4 --features 2 --dense 1` is LSTM(8) → LSTM(4) → Dense(1) on (batch, timesteps, 2). As
in a stacked Keras model, every LSTM but the last returns its sequence; the last does when asked.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import LstmCliError
from .layers.base import MAX_UNITS


@dataclass(frozen=True)
class Architecture:
    units: tuple[int, ...]  # one LSTM layer per entry, stacked
    features: int
    timesteps: int | None = None  # None: any length, as Keras's Input(shape=(None, features))
    batch: int | None = None  # None: any batch, shown as Keras shows it
    return_sequences: bool = False  # of the last LSTM layer; the others always return sequences
    bidirectional: bool = False  # wrap every LSTM layer in Bidirectional (merge_mode concat)
    dense: tuple[int, ...] = ()  # Dense layers after the LSTMs, in order

    def __post_init__(self) -> None:
        if not self.units:
            raise LstmCliError("give at least one LSTM layer with --units N")
        for flag, sizes in (("--units", self.units), ("--dense", self.dense)):
            for size in sizes:
                if not 1 <= size <= MAX_UNITS:
                    raise LstmCliError(f"{flag} must be from 1 to {MAX_UNITS:,}, got {size}")
        for flag, value in (
            ("--features", self.features),
            ("--timesteps", self.timesteps),
            ("--batch", self.batch),
        ):
            if value is not None and value < 1:
                raise LstmCliError(f"{flag} must be at least 1, got {value}")

    def returns_sequences(self, index: int) -> bool:
        """Whether LSTM layer `index` returns its whole sequence (every one but the last does)."""
        return index < len(self.units) - 1 or self.return_sequences
