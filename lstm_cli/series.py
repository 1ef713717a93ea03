"""A recorded layer's steps as arrays over time: what `stats`, `plot` and the LSTMVis export read.

The engine's records are one step at a time (`LayerTrace.steps`); these are the same numbers stacked along
time, for maths over whole sequences. Pure: numpy in, numpy out, nothing recomputed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from .engine import LayerTrace, run_model, stacked_steps
from .layers.lstm import STEP_QUANTITIES
from .model import Array, BidirectionalLayer, Model


@dataclass(frozen=True, eq=False)
class LayerSeries:
    """One layer and direction over the whole run, every step kept."""

    name: str  # the layer's name; both halves of a bidirectional layer carry it
    direction: str  # "forward", or "backward" for a bidirectional layer's reversed half
    half: bool  # a half of a bidirectional layer
    activation: str
    recurrent_activation: str
    t: Array  # (timesteps,) each step's index into the input sequence, in processing order
    values: dict[str, Array]  # i, f, g, o, c, h, each (batch, timesteps, units); h (batch, timesteps, proj)
    valid: Array  # (batch, timesteps): False where the mask skipped the step
    x: Array  # (batch, timesteps, features): each step's input
    input: str  # the reference the layer reads
    samples: tuple[int, ...]  # each row's sample in the batch the model ran

    @property
    def title(self) -> str:
        """`encoder`, or `encoder, backward half`."""
        return f"{self.name}, {self.direction} half" if self.half else self.name

    def of_samples(self, samples: Sequence[int]) -> LayerSeries:
        """The same steps, for the chosen samples of the batch alone."""
        chosen = list(samples)
        values = {name: value[chosen] for name, value in self.values.items()}
        kept = tuple(self.samples[row] for row in chosen)
        return replace(self, values=values, valid=self.valid[chosen], x=self.x[chosen], samples=kept)


def layer_series(model: Model, trace: LayerTrace) -> LayerSeries:
    """`trace`'s steps stacked along time, read from the run's buffers. c and h are the states carried on (a
    masked row's unchanged), the gates as the step computed them (a masked row's then discarded: `valid`
    says which)."""
    steps = stacked_steps(trace.steps)
    shown = (steps.i, steps.f, steps.g, steps.o, steps.carried_c, steps.carried_h)
    values = {name: value.swapaxes(0, 1) for name, value in zip(STEP_QUANTITIES, shown, strict=True)}
    batch, timesteps = steps.c.shape[1], steps.c.shape[0]
    valid = np.ones((batch, timesteps), bool) if steps.valid is None else steps.valid.T
    layer = trace.layer
    half = any(isinstance(other, BidirectionalLayer) and other.name == layer.name for other in model.layers)
    return LayerSeries(
        layer.name,
        trace.direction,
        half,
        layer.activation,
        layer.recurrent_activation,
        np.asarray(steps.t, int),
        values,
        valid,
        steps.x.swapaxes(0, 1),
        layer.input,
        tuple(range(batch)),
    )


def step_tokens_of(model: Model, series: LayerSeries, row: int) -> list[str | None] | None:
    """The token of each step of `series` (processing order) for its row `row`, as the tables show it;
    None where the layer's input is not tokens (tokens.step_tokens)."""
    from .tokens import step_tokens

    tokens = step_tokens(model, series.input)
    if tokens is None:
        return None
    sample = series.samples[row]
    return [tokens.token(series.x[row, k], int(t), sample) for k, t in enumerate(series.t)]


def run_series(
    model: Model,
    layers: Sequence[str] = (),
    samples: Sequence[int] = (),
    *,
    command: str,
    progress: Callable[[int], None] | None = None,
) -> list[LayerSeries]:
    """Run the model once, keeping every step of the chosen recurrent layers (all of them, without
    `layers`), and return each layer and direction over time, for the chosen samples (all, without
    `samples`). `command` names the command in the errors of a bad choice; `progress` hears of the steps
    as they are done (engine.run_model)."""
    from .tracing.selection import Selection, choose

    chosen = choose(model, Selection(tuple(layers), (), tuple(samples)), command)
    result = run_model(model, record=lambda name: name in chosen.layers, progress=progress)
    return [layer_series(model, trace).of_samples(chosen.samples) for trace in result.traces]
