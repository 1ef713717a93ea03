"""The table view of one layer: its heading with the equations its steps follow, then its steps, a ⋮ line
where a long run left steps out, and what the view left out."""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.text import Text

from lstm_cli.engine import LayerTrace
from lstm_cli.layers.lstm import variant_text
from lstm_cli.text import plural

from .lines import LeftOut, choose_hint, spans


@dataclass(frozen=True)
class LayerHeading:
    """The layer, once: its sizes, activations and the equations every step below follows."""

    trace: LayerTrace
    half: str = ""  # ", backward half"
    continued: bool = False  # only the name, where `--step` ends and the rest of the layer follows

    def text(self) -> Text:
        trace, layer = self.trace, self.trace.layer
        if self.continued:
            return Text(f"{layer.name} (LSTM{self.half}), continued", style="bold")
        act, ract = layer.activation, layer.recurrent_activation
        steps = len(trace.steps)
        text = Text(
            f"{layer.name} (LSTM{self.half}): {plural(layer.units, 'unit')}, activation {act}, "
            f"recurrent_activation {ract}{variant_text(layer)}; {plural(steps, 'timestep')}",
            style="bold",
        )
        if layer.go_backwards or trace.direction == "backward":
            first, last = (trace.steps[0].t, trace.steps[-1].t) if trace.steps else (0, 0)
            why = (
                "the backward half reads the input reversed"
                if trace.direction == "backward"
                else "go_backwards"
            )
            text.append(f"\n  t counts down ({why}): from t = {first} to t = {last}", style="not bold")
        bias = trace.weights.bias is not None
        text.append(
            f"\n  z = x_t·W + h_prev·U{' + b' if bias else ''}, gates i, f, g, o side by side "
            f"(W kernel, U recurrent_kernel{', b bias' if bias else ''})"
            f"\n  i = {ract}(z_i), f = {ract}(z_f), g = {act}(z_g), o = {ract}(z_o)"
            f"\n  c = f·c_prev + i·g, h = o·{act}(c)",
            style="not bold",
        )
        return text

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.text()

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.text())


@dataclass(frozen=True)
class TraceTable:
    """One layer's steps: the heading, the steps shown with a ⋮ line after the first `head` where steps were
    left out, then what was left out: those steps first, then `notes` (units, samples)."""

    heading: LayerHeading
    steps: tuple[RenderableType, ...]
    head: int = 0
    left_out: tuple[int, ...] = ()  # the t of each step left out
    notes: tuple[str, ...] = ()

    def parts(self) -> list[RenderableType]:
        left_out = self.left_out
        parts: list[RenderableType] = [self.heading]
        for position, step in enumerate(self.steps):
            if left_out and position == self.head:
                gap = f"⋮ {plural(len(left_out), 'step')} left out (t = {spans(left_out)})"
                parts.append(Text(gap, style="dim"))
            parts.append(step)
        notes = self.notes
        if left_out:
            notes = (
                f"{plural(len(left_out), 'step')} (t = {spans(left_out)}){choose_hint(left_out)}",
                *notes,
            )
        parts.append(LeftOut(notes))
        return parts

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from self.parts()

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, Group(*self.parts()))
