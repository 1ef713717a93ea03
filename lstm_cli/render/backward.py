"""The `backward` view: the loss, each recurrent layer's steps in backward order (dh, dc, the gates'
gradients after activation and before it, dx, dh_prev, dc_prev), then every gradient; with --explain, each
step's chain rule for dc with its numbers substituted."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from lstm_cli.backprop import BackwardResult
from lstm_cli.backprop.activations import derivative
from lstm_cli.backprop.layers import CellTrace
from lstm_cli.backprop.views import StepView, step_views
from lstm_cli.engine import Mismatch, stacked_steps
from lstm_cli.layers.lstm import GATES
from lstm_cli.model import Array, LossSpec, Model
from lstm_cli.text import format_number, shape_text
from lstm_cli.tracing.selection import Chosen

MAX_STEPS = 20  # tables per layer; the first ones in backward order (the last steps processed)
MAX_ITEMS = 12  # numbers of a vector shown before "…"
ROWS = ("dh", "dc", *(f"dgate_{g}" for g in GATES), *(f"dz_{g}" for g in GATES), "dx", "dh_prev", "dc_prev")
LABELS = {f"dgate_{g}": f"d{g}" for g in GATES}


def vector(values: Array, places: int) -> str:
    shown = [format_number(float(v), places) for v in values[:MAX_ITEMS]]
    return "[" + ", ".join(shown) + (", …" if len(values) > MAX_ITEMS else "") + "]"


def backward_view(
    model: Model,
    loss: LossSpec,
    result: BackwardResult,
    chosen: Chosen,
    places: int,
    explain: bool,
    mismatches: Sequence[Mismatch],
) -> RenderableType:
    parts: list[RenderableType] = [
        Text(f"loss: {loss.type} of {loss.output} = {format_number(float(result.loss), places)}")
    ]
    for cell in result.cells:
        if cell.forward.layer.name not in chosen.layers:
            continue
        views = step_views(cell, chosen)
        for view in views[:MAX_STEPS]:
            parts.append(_step_table(cell, view, places))
            if explain:
                parts.append(_dc_story(cell, view, places))
        if len(views) > MAX_STEPS:
            parts.append(Text(f"… {len(views) - MAX_STEPS} earlier steps left out; --timestep picks them"))
    parts.append(_gradients_table(result, places))
    if mismatches:
        parts.append(_mismatch_story(mismatches, places))
    return Group(*parts)


def _step_table(cell: CellTrace, view: StepView, places: int) -> Group:
    layer = cell.forward.layer
    title = Text(f"{layer.name} ({cell.forward.direction}), t = {view.t}: the step backwards")
    table = Table()
    table.add_column("gradient")
    for sample in view.samples:
        table.add_column(f"sample {sample}")
    for name in ROWS:
        table.add_row(LABELS.get(name, name), *(vector(row, places) for row in view.arrays[name]))
    return Group(title, table)


def _dc_story(cell: CellTrace, view: StepView, places: int) -> Text:
    """dc = dh·o·act'(c) + dc_next, each term's numbers for the first sample shown, unit by unit."""
    layer = cell.forward.layer
    steps = stacked_steps(cell.forward.steps)
    k, sample = view.k, view.samples[0]
    o, c = steps.o[k][sample], steps.c[k][sample]
    name = layer.h_activation
    slope = derivative(name, c, _activate(name, c))
    if slope is None or layer.activation_clip is not None or not layer.plain:
        return Text(
            f"  (dc's story is written for Keras's own cell with an elementwise {name}; see the table)"
        )
    dh, dc = view.arrays["dh"][0], view.arrays["dc"][0]
    lines = []
    for column, (dh_u, dc_u) in enumerate(zip(dh, dc, strict=True)):
        u = column + view.first_unit
        through_h = dh_u * o[u] * slope[u]
        rest = dc_u - through_h
        numbers = [format_number(float(v), places) for v in (dh_u, o[u], slope[u], rest, dc_u)]
        lines.append(
            f"  dc[{u}] = dh[{u}]·o[{u}]·{name}'(c[{u}]) + dc_next[{u}] = "
            f"{numbers[0]}·{numbers[1]}·{numbers[2]} + {numbers[3]} = {numbers[4]}"
        )
    return Text(
        "\n".join([f"  sample {sample}, t = {view.t}; dc_next is step t+1's dc_prev = dc·f there", *lines])
    )


def _activate(name: str, c: Array) -> Array:
    from lstm_cli.activations import get_activation

    return get_activation(name)(c)


def _gradients_table(result: BackwardResult, places: int) -> Table:
    table = Table(title="gradients, summed over time and batch", title_justify="left")
    table.add_column("dL/d")
    table.add_column("shape")
    table.add_column("values")
    for key, gradient in result.gradients.items():
        rows = gradient.reshape(-1, gradient.shape[-1]) if gradient.ndim else gradient.reshape(1, 1)
        shown = "\n".join(vector(row, places) for row in rows[:MAX_ITEMS])
        if len(rows) > MAX_ITEMS:
            shown += f"\n… {len(rows) - MAX_ITEMS} more rows"
        table.add_row(key, shape_text(gradient.shape), shown)
    return table


def _mismatch_story(mismatches: Sequence[Mismatch], places: int) -> Text:
    first = mismatches[0]
    where = "".join(f"[{i}]" for i in first.index)
    lines = [
        f"expect_gradients: {len(mismatches)} value{'s differ' if len(mismatches) != 1 else ' differs'}",
        f"  first: {first.ref}{where} is {format_number(first.actual, places)}, "
        f"you expected {format_number(first.expected, places)}",
    ]
    return Text("\n".join(lines))


def check_table(errors: dict[str, float]) -> Table:
    """--check: per array, the largest relative error of the gradient against central differences."""
    table = Table(title="gradient check: central differences in float64", title_justify="left")
    table.add_column("dL/d")
    table.add_column("largest relative error", justify="right")
    for key, error in errors.items():
        table.add_row(key, f"{error:.1e}")
    return table


__all__ = ["backward_view", "check_table"]
