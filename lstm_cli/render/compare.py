"""The `compare` view: the layers matched, per recurrent layer and direction the largest |A - B| of each
quantity at each step coloured by size, the first difference, the outputs, the verdict, and the diagnosis.

A long sequence shows its first steps, the steps around the first difference, and its last steps.
"""

from __future__ import annotations

from collections.abc import Iterator

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from lstm_cli.comparison import QUANTITIES, Comparison, Difference, LayerDiff, StepDiff
from lstm_cli.diagnosis import Finding
from lstm_cli.layers import owner_of
from lstm_cli.model import Layer, Model
from lstm_cli.porting import no_known_mistake, short, story

HEAD_STEPS = 6
TAIL_STEPS = 3
AROUND = 1  # steps shown either side of the first difference
LISTED = 3  # findings listed without --explain


def compare_view(a: Model, comparison: Comparison, names: tuple[str, str], explain: bool) -> RenderableType:
    parts: list[RenderableType] = [
        Text(f"A: {names[0]}\nB: {names[1]}" + (" (numbers)" if comparison.numbers else ""))
    ]
    if comparison.matches:
        parts.append(_matches(comparison))
    names_a = [layer.a for layer in comparison.layers]
    for layer in comparison.layers:
        parts.append(_layer_table(layer, comparison, halves=names_a.count(layer.a) > 1))
    if comparison.first_difference is not None:
        parts.append(_first(comparison.first_difference))
    if comparison.outputs:
        parts.append(_outputs(comparison))
    parts.append(_verdict(comparison))
    if not comparison.agree:
        parts.append(_diagnosis(a, comparison, explain))
    return Group(*parts)


def _matches(comparison: Comparison) -> Text:
    lines = ["\nLayers matched (A = B):"]
    for match in comparison.matches:
        kind = owner_of(match.a).keras_class
        units = getattr(match.a, "units", None)
        lines.append(
            f"  {match.a.name} = {match.b.name}  ({kind}{'' if units is None else f', {units} units'})"
        )
    return Text("\n".join(lines))


def _style(value: float, comparison: Comparison) -> str:
    """Green within tolerance, yellow up to 1e-3, red beyond."""
    if value <= comparison.atol:
        return "green"
    return "yellow" if value <= 1e-3 else "bold red"


def _shown_steps(layer: LayerDiff, first: Difference | None) -> Iterator[StepDiff | None]:
    """The steps shown, None where some are left out."""
    steps = layer.steps
    keep = set(range(min(HEAD_STEPS, len(steps)))) | set(range(max(0, len(steps) - TAIL_STEPS), len(steps)))
    if first is not None and (first.a_layer, first.direction) == (layer.a, layer.direction):
        at = next(k for k, step in enumerate(steps) if step.t == first.t)
        keep |= set(range(max(0, at - AROUND), min(len(steps), at + AROUND + 1)))
    previous = -1
    for k in sorted(keep):
        if k > previous + 1:
            yield None
        yield steps[k]
        previous = k


def _layer_table(layer: LayerDiff, comparison: Comparison, halves: bool) -> Group:
    """One layer's (or half's) steps; `halves`: a bidirectional layer's, named with its direction."""
    name = layer.a if layer.a == layer.b else f"{layer.a} = {layer.b}"
    direction = f" ({layer.direction})" if halves else ""
    title = f"{name}{direction}: largest |A - B| at each step"
    table = Table()
    table.add_column("t", justify="right")
    for quantity in QUANTITIES:
        table.add_column(quantity, justify="right")
    table.add_column("")
    first = comparison.first_difference
    for step in _shown_steps(layer, first):
        if step is None:
            table.add_row("…", *("" for _ in QUANTITIES), "")
            continue
        marked = first is not None and (first.a_layer, first.direction, first.t) == (
            layer.a,
            layer.direction,
            step.t,
        )
        cells = [Text(short(step.diffs[q]), style=_style(step.diffs[q], comparison)) for q in QUANTITIES]
        table.add_row(str(step.t), *cells, "← first difference" if marked else "")
    return Group(Text(f"\n{title}"), table)


def _first(first: Difference) -> Text:
    layer = first.a_layer if first.a_layer == first.b_layer else f"{first.a_layer} = {first.b_layer}"
    at = "" if first.t is None else f", t={first.t}"
    direction = "" if first.direction == "forward" else f" ({first.direction})"
    return Text(
        f"First difference: layer {layer}{direction}{at}, {first.quantity}, sample {first.sample}, "
        f"unit {first.unit}: A {first.a:.6g}, B {first.b:.6g}"
    )


def _outputs(comparison: Comparison) -> Group:
    table = Table()
    table.add_column("output")
    table.add_column("|A - B|", justify="right")
    for ref, diff in comparison.outputs.items():
        table.add_row(ref, Text(short(diff), style=_style(diff, comparison)))
    return Group(Text("\nOutputs: largest |A - B|"), table)


def _verdict(comparison: Comparison) -> Text:
    tolerance = f"rtol {comparison.rtol:g}, atol {comparison.atol:g}"
    if comparison.agree:
        return Text(f"A and B agree (within {tolerance}).", style="green")
    return Text(
        f"A and B differ: the largest |A - B| is {short(comparison.max_abs_diff)} ({tolerance}).",
        style="bold red",
    )


def _layer(a: Model, finding: Finding) -> Layer | None:
    return a.find(finding.layer)


def _indented(lines: list[str]) -> RenderableType:
    """A heading, then each line indented, wrapped lines too."""
    return Group(Text(lines[0]), *(Padding(Text(line.strip()), (0, 0, 0, 2)) for line in lines[1:]))


def _diagnosis(a: Model, comparison: Comparison, explain: bool) -> RenderableType:
    findings = comparison.diagnosis
    agreeing = [finding for finding in findings if finding.agrees]
    lines = ["\nDiagnosis:"]
    if not agreeing:
        closest = findings[0] if findings else None
        lines.append(
            "  "
            + no_known_mistake(
                closest,
                None if closest is None else _layer(a, closest),
                numbers=comparison.numbers,
                unchanged=comparison.max_abs_diff,
            )
        )
        return _indented(lines)
    for finding in agreeing:
        if explain:
            lines.append("  " + story(finding, _layer(a, finding), numbers=comparison.numbers))
        else:
            lines.append(
                f"  {finding.hypothesis} in layer '{finding.layer}': "
                f"A and B agree to {short(finding.max_abs_diff)}"
            )
    if not explain:
        lines.append("  (--explain says what each means and how to fix it)")
    return _indented(lines)
