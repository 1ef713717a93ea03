"""The `decode` view: the decoded tokens, each step's top probabilities, how the decoding ended, and with
`--trace` the decoder's gates, c and h at every decoding step (the `forward` table, t being the step).
"""

from __future__ import annotations

import numpy as np
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from lstm_cli.decoding import DecodeStep, Decoding
from lstm_cli.render.forward import HEAD_ROWS, MAX_ROWS, layer_table
from lstm_cli.text import DEFAULT_PRECISION, format_number
from lstm_cli.tokens import shown_token


def decode_view(
    decoding: Decoding,
    *,
    description: str | None = None,
    top: int = 3,
    precision: int = DEFAULT_PRECISION,
    trace: bool = False,
) -> Group:
    parts: list[RenderableType] = []
    if description:
        parts.append(Text(description, style="italic"))
    parts.append(Text(f"decoded: {' '.join(shown_token(token) for token in decoding.tokens)}"))
    parts.append(steps_table(decoding, top, precision))
    parts.append(Text(ending(decoding), style="dim"))
    if trace and not decoding.traces:
        parts.append(Text("--trace: the decoder has no LSTM layers, so there are no gates to show."))
    elif trace:
        parts.append(Text("The decoder's LSTM layers at each decoding step (t is the step):"))
        parts.extend(layer_table(layer_trace, precision) for layer_trace in decoding.traces)
    return Group(*parts)


def steps_table(decoding: Decoding, top: int, precision: int = DEFAULT_PRECISION) -> Table:
    """One row per decoding step: the token fed, then the `top` most probable tokens (the first is chosen)."""
    shown = min(top, len(decoding.vocab))
    title = Text(f"Top tokens of {decoding.output} at each step")
    table = Table(title=title, title_justify="left")
    table.add_column("step", justify="right")
    table.add_column("fed")
    for rank in range(1, shown + 1):
        table.add_column(f"top {rank}" if rank > 1 else "top 1 (chosen)")
    count = len(decoding.steps)
    rows = (
        list(range(count))
        if count <= MAX_ROWS
        else [*range(HEAD_ROWS), *range(count - MAX_ROWS + HEAD_ROWS, count)]
    )
    for position, index in enumerate(rows):
        if count > MAX_ROWS and position == HEAD_ROWS:
            table.add_row("⋮", *["⋮"] * (shown + 1))
        table.add_row(*_row(decoding, index, decoding.steps[index], shown, precision))
    if count > MAX_ROWS:
        table.caption = Text(f"{count - MAX_ROWS} of {count} steps left out; --format json gives every value")
    return table


def _row(decoding: Decoding, index: int, step: DecodeStep, shown: int, precision: int) -> list[str | Text]:
    ranked = np.argsort(-step.probabilities, kind="stable")[:shown]  # ties keep the first index first
    cells: list[str | Text] = [str(index), Text(shown_token(decoding.vocab[step.fed]))]
    for token_index in ranked:
        token = shown_token(decoding.vocab[token_index])
        cells.append(Text(f"{token} {format_number(step.probabilities[token_index], precision)}"))
    return cells


def ending(decoding: Decoding) -> str:
    """Why the decoding stopped where it did."""
    count = len(decoding.steps)
    tokens = f"{count} token{'' if count == 1 else 's'}"
    if decoding.stop is None:
        return f"no --stop given: stopped after --max-steps {decoding.max_steps} ({tokens})"
    stop = shown_token(decoding.vocab[decoding.stop])
    if decoding.stopped:
        return f"stopped at {stop} after {tokens}"
    return f"stopped after --max-steps {decoding.max_steps} ({tokens}) without reaching {stop}"
