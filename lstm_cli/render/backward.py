"""The `backward` view: the loss, each recurrent layer's steps in backward order (dh, dc, the gates'
gradients after activation and before it, dx, dh_prev, dc_prev), then every gradient; with --explain, the
chain rule of every gradient of each step with its numbers substituted (backprop/explain.py)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from lstm_cli.backprop import BackwardResult
from lstm_cli.backprop.explain import (
    LEGEND,
    ChainStep,
    explain_inputs_backward,
    explain_unit_backward,
    weight_story,
)
from lstm_cli.backprop.layers import CellTrace
from lstm_cli.backprop.views import StepView, step_views
from lstm_cli.engine import Mismatch, StepArrays, stacked_steps
from lstm_cli.layers.lstm import GATES
from lstm_cli.model import Array, LossSpec, Model
from lstm_cli.render.trace.step import Explanation
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
    if explain and result.cells:
        parts.append(Text(LEGEND))
    for cell in result.cells:
        if cell.forward.layer.name not in chosen.layers:
            continue
        views = step_views(cell, chosen)
        steps = stacked_steps(cell.forward.steps) if explain else None
        for view in views[:MAX_STEPS]:
            parts.append(_step_table(cell, view, places))
            if steps is not None:
                parts.append(_chain_story(cell, steps, view, places))
        if len(views) > MAX_STEPS:
            parts.append(Text(f"… {len(views) - MAX_STEPS} earlier steps left out; --timestep picks them"))
    parts.append(_gradients_table(result, places))
    if mismatches:
        parts.append(_mismatch_story(result, mismatches, places))
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


def _chain_story(cell: CellTrace, steps: StepArrays, view: StepView, places: int) -> Group:
    """Every gradient's chain rule with its numbers, for each sample the view keeps, unit by unit; then
    dx and dh_prev, which read every unit."""
    table = cell.gradients.table
    assert table is not None  # a recorded cell
    layer = cell.forward.layer

    def number(value: float) -> str:
        return format_number(value, places)

    units = range(view.first_unit, view.first_unit + view.arrays["dc"].shape[-1])
    rows = range(units.start, min(units.stop, table.dh.shape[-1]))
    parts: list[RenderableType] = []
    for sample in view.samples:
        step = ChainStep(layer, cell.forward.weights, steps, table, view.k, sample, number)
        stories = [tuple(line.text for line in explain_unit_backward(step, u)) for u in units]
        stories.append(tuple(line.text for line in explain_inputs_backward(step, rows)))
        title = f"The chain rule, unit by unit (sample {sample}, t = {view.t}):"
        parts.append(Explanation(tuple(stories), title))
    return Group(*parts)


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


def _mismatch_story(result: BackwardResult, mismatches: Sequence[Mismatch], places: int) -> Text:
    """The first difference, and where its gradient comes from: each step's term, and the chain rule of
    the largest one."""
    first = mismatches[0]
    where = "".join(f"[{i}]" for i in first.index)
    lines = [
        f"expect_gradients: {len(mismatches)} value{'s differ' if len(mismatches) != 1 else ' differs'}",
        f"  first: {first.ref}{where} is {format_number(first.actual, places)}, "
        f"you expected {format_number(first.expected, places)}",
    ]
    story = weight_story(
        result.cells, first.ref, first.index, lambda value: format_number(value, places), first.expected
    )
    lines.extend(f"  {line}" for line in story)
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
