"""The `expect:` mismatches, each told where the hand value and the run part: what `trace` shows first."""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.text import Text

from lstm_cli.text import DEFAULT_PRECISION, format_number
from lstm_cli.tracing import Story

from .lines import Indented


@dataclass(frozen=True)
class Stories:
    """`expect: 1 of 12 values differ`, then each story: the value, where it comes from, why it differs, the
    arithmetic that shows it, and any hint; or that every value matches."""

    stories: tuple[Story, ...]
    total: int  # mismatches in all; the stories are the first of them
    checked: int  # values under `expect:`
    precision: int = DEFAULT_PRECISION

    def number(self, value: float) -> str:
        return format_number(value, self.precision)

    def parts(self) -> list[RenderableType]:
        if not self.total:
            return [Text(f"expect: all {self.checked} values match")]
        differ = f"expect: {self.total} of {self.checked} values differ"
        lines: list[RenderableType] = [Text(f"{differ}. Where the hand value and the run part:")]
        for story in self.stories:
            mismatch = story.mismatch
            index = ", ".join(str(i) for i in mismatch.index)
            head = Text(f"{mismatch.ref}[{index}]", style="bold")
            head.append(
                f": by hand {self.number(mismatch.expected)}, the run gives {self.number(mismatch.actual)}"
            )
            lines.append(head)
            lines.append(Indented(Text(f"where: {story.where}"), 2))
            lines.append(Indented(Text(f"why: {story.verdict}"), 2))
            lines.extend(Indented(Text(line.text), 4) for line in story.lines)
            lines.extend(Indented(Text(f"hint: {hint}", style="italic"), 2) for hint in story.hints)
        if self.total > len(self.stories):
            lines.append(
                Text(f"… and {self.total - len(self.stories)} more; --format json lists every mismatch")
            )
        return lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from self.parts()

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, Group(*self.parts()))
