"""The `trace` views composed from one `TraceRun`: the mismatches first, then each layer's steps (bounded),
page by page for `--step`, or the heatmap. Nothing here computes a step or draws one: it chooses what to
show, within the width, and hands it to the renderables."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from rich.console import Group, RenderableType
from rich.text import Text

from lstm_cli.engine import LayerTrace
from lstm_cli.formats import step_quantities
from lstm_cli.text import DEFAULT_PRECISION, format_number
from lstm_cli.tokens import step_tokens
from lstm_cli.tracing import RECURRENT_GATES, SIGMOID_LIKE, Block, TraceRun, explain_mismatches, explain_unit

from .heatmap import Heatmap, heat_series
from .lines import LeftOut, spans
from .step import Explanation, StepLayout, StepPage, StepRows, step_layout
from .stories import Stories
from .table import LayerHeading, TraceTable

# Rich takes about 0.1-0.2 ms a table cell: a step is ~13 rows x (units + 1) cells, so bound the steps.
MAX_STEPS = 8  # timesteps per layer in the table view: the first HEAD_STEPS and the last ones
HEAD_STEPS = 6
MAX_EXPLAINED_STEPS = 3  # with --explain, whose text is ~10 lines per unit and step
HEAD_EXPLAINED_STEPS = 2
MAX_SAMPLES = 4
TRACE_ROWS = StepRows(
    groups=(("h_prev", "c_prev"), ("z_i", "z_f", "z_g", "z_o"), ("i", "f", "g", "o"), ("c", "h")),
    carried=("h_prev", "c_prev", "c", "h"),  # what a masked step still has: the state it carries
    marked=RECURRENT_GATES,
)


class Page(NamedTuple):
    """One timestep as `--step` shows it, and what its prompt says."""

    view: RenderableType
    label: str  # "lstm, t = 0 (step 1 of 3)"
    block: Block


@dataclass
class TraceView:
    """Everything `trace` shows in a terminal, built from one `TraceRun`; nothing here computes a step."""

    run: TraceRun
    precision: int = DEFAULT_PRECISION
    explain: bool = False
    width: int = 100
    _layouts: dict[int, StepLayout] = field(default_factory=dict, init=False, repr=False)

    def number(self, value: float) -> str:
        return format_number(value, self.precision)

    # -- the whole trace, bounded ----------------------------------------------------------------------

    def view(self) -> Group:
        return Group(*self.intro(), *self._tables(self.run.blocks))

    def pages(self) -> Iterator[Page]:
        """For `--step`: each timestep's view and a label for its prompt (a layer's heading comes first)."""
        blocks = self.run.blocks
        for position, block in enumerate(blocks):
            parts: list[RenderableType] = []
            first = position == 0 or blocks[position - 1].trace is not block.trace
            last = position == len(blocks) - 1 or blocks[position + 1].trace is not block.trace
            if first:
                parts.append(self.heading(block.trace))
            parts.append(self.step(block))
            if last:
                parts.append(LeftOut(tuple(self._notes(block.trace))))
            record = block.record
            label = (
                f"{block.trace.layer.name}{self.run.half(block.trace)}, t = {record.t} "
                f"(step {block.index + 1} of {len(block.trace.steps)})"
            )
            yield Page(Group(*parts), label, block)

    def rest(self, after: int) -> Group:
        """What follows page `after`, bounded as the whole view is: `--step` at the end of its input."""
        blocks = self.run.blocks
        continuing = blocks[after].trace if after < len(blocks) else None
        return Group(*self._tables(blocks[after + 1 :], continuing))

    def _tables(self, blocks: Sequence[Block], continuing: LayerTrace | None = None) -> list[RenderableType]:
        """A table view for each layer's run of `blocks`: its first and last steps where there are many."""
        limit, head = (MAX_EXPLAINED_STEPS, HEAD_EXPLAINED_STEPS) if self.explain else (MAX_STEPS, HEAD_STEPS)
        tables: list[RenderableType] = []
        for _, grouped in itertools.groupby(blocks, key=lambda block: id(block.trace)):
            group = list(grouped)
            trace = group[0].trace
            left_out: list[int] = []
            if len(group) > limit:
                tail = limit - head
                left_out = [block.record.t for block in group[head : len(group) - tail]]
                group = [*group[:head], *group[len(group) - tail :]]
            steps = tuple(self.step(block) for block in group)
            heading = self.heading(trace, continued=trace is continuing)
            tables.append(TraceTable(heading, steps, head, tuple(left_out), tuple(self._notes(trace))))
        return tables

    # -- the parts -------------------------------------------------------------------------------------

    def intro(self) -> list[RenderableType]:
        """The description, then every mismatch with `expect:` explained: the first thing to read."""
        model = self.run.model
        parts: list[RenderableType] = []
        if model.description:
            parts.append(Text(model.description, style="italic"))
        if self.run.mismatches is not None:
            parts.append(self.mismatches())
        if not self.run.shown:
            parts.append(Text("The model has no LSTM layer, so there are no timesteps to trace."))
        return parts

    def mismatches(self) -> Stories:
        stories, total = explain_mismatches(self.run, self.number)
        checked = sum(expectation.expected.size for expectation in self.run.model.expect)
        return Stories(tuple(stories), total, checked, self.precision)

    def heading(self, trace: LayerTrace, continued: bool = False) -> LayerHeading:
        return LayerHeading(trace, self.run.half(trace), continued)

    def step(self, block: Block) -> StepPage:
        """One timestep: a table per shown sample, each followed by its arithmetic with `--explain`."""
        layout = self._layout(block.trace)
        samples = self.run.samples[:MAX_SAMPLES]
        return StepPage(
            block,
            step_quantities(block.record),
            TRACE_ROWS,
            samples,
            layout.units,
            layout.cell,
            self.run.half(block.trace),
            self.run.batch,
            step_tokens(self.run.model, block.trace.layer.input),
            {sample: self._explained(block, sample) for sample in samples} if self.explain else None,
            self.precision,
        )

    def explanation(self, block: Block) -> Group:
        """The arithmetic of one timestep, for every shown sample: `e` at a `--step` prompt."""
        parts: list[RenderableType] = []
        for sample in self.run.samples[:MAX_SAMPLES]:
            if self.run.batch > 1:
                parts.append(Text(f"sample {sample}", style="bold"))
            parts.append(self._explained(block, sample))
        return Group(*parts)

    def _explained(self, block: Block, sample: int) -> Explanation:
        return Explanation(
            tuple(
                tuple(
                    line.text for line in explain_unit(block.trace, block.record, sample, unit, self.number)
                )
                for unit in self._layout(block.trace).units
            )
        )

    def _layout(self, trace: LayerTrace) -> StepLayout:
        """The units a step table shows (those chosen, as many as fit the width) and notes on the rest."""
        key = id(trace)
        if key not in self._layouts:
            layer = trace.layer
            self._layouts[key] = step_layout(
                (step_quantities(block.record) for block in self.run.blocks_of(trace)),
                TRACE_ROWS,
                self.run.samples[:MAX_SAMPLES],
                self.run.units[layer.name] if self.run.units else range(layer.units),
                given=bool(self.run.units),
                width=self.width,
                precision=self.precision,
                marked=layer.recurrent_activation in SIGMOID_LIKE,
            )
        return self._layouts[key]

    def _notes(self, trace: LayerTrace) -> list[str]:
        """What this layer's view left out besides steps (units, samples), and how to see it."""
        notes = list(self._layout(trace).notes)
        samples = self.run.samples
        if len(samples) > MAX_SAMPLES:
            notes.append(f"samples {spans(samples[MAX_SAMPLES:])}, choose them with --sample")
        return notes

    # -- the heatmap -----------------------------------------------------------------------------------

    def heatmap(self) -> Group:
        parts = self.intro()
        for trace in self.run.shown:
            parts.append(self.heading(trace))
            heat = heat_series(self.run, trace, self.width)
            if heat is None:
                parts.append(Text("No timesteps to show."))
            else:
                parts.append(Heatmap(heat, self.precision, self.run.batch))
        return Group(*parts)
