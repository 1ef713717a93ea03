"""The `summary` views: Keras 3's table, tf.keras 2's plain text, and the `--detail` arithmetic.

The Keras 3 table is built as keras/src/utils/summary_utils.py builds it (same Rich table, column widths
and totals lines), so that the two print the same text. The legacy text follows tf.keras 2.9-2.12's
`print_summary` (keras/utils/layer_utils.py): fixed positions, cells cut at `),` and the like, a padded
blank line after each layer.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group, JustifyMethod, RenderableType
from rich.padding import Padding
from rich.table import Column, Table
from rich.text import Text

from lstm_cli.summary import (
    LayerInfo,
    ModelSummary,
    Shape,
    keras_shape_text,
    layer_detail,
    readable_size,
)
from lstm_cli.text import shape_text

# Keras 3: line length and column positions (fractions of the line), sequential-like and functional.
KERAS_SEQUENTIAL = (88, (0.45, 0.80, 1.0))
KERAS_FUNCTIONAL = (108, (0.3, 0.56, 0.74, 1.0))
MIN_LINE_LENGTH = 40  # Keras refuses columns under 4 characters; we keep the table at least this wide
# tf.keras 2: the same, as absolute characters after rounding down.
LEGACY_SEQUENTIAL = (65, (0.45, 0.85, 1.0))
LEGACY_FUNCTIONAL = (98, (0.33, 0.55, 0.67, 1.0))
HEADER = ("Layer (type)", "Output Shape", "Param #", "Connected to")


# -- Keras 3 -----------------------------------------------------------------------------------------------


def keras_line_length(summary: ModelSummary, terminal_width: int) -> int:
    """As Keras: its default width, narrowed to the terminal less 4 columns."""
    default = (KERAS_FUNCTIONAL if summary.connected else KERAS_SEQUENTIAL)[0]
    return max(MIN_LINE_LENGTH, min(default, terminal_width - 4))


def keras_view(summary: ModelSummary, terminal_width: int, decimals: int = 2) -> Group:
    line_length = keras_line_length(summary, terminal_width)
    positions = (KERAS_FUNCTIONAL if summary.connected else KERAS_SEQUENTIAL)[1]
    justify: tuple[JustifyMethod, ...] = ("left", "left", "right", "left")
    columns, current = [], 0
    for index, position in enumerate(positions):
        width = int(position * line_length) - current
        columns.append(Column(HEADER[index], justify=justify[index], width=width))
        current += width
    table = Table(*columns, width=line_length, show_lines=True)
    for layer in summary.layers:
        cells = [Text(f"{layer.name} ({layer.kind})"), Text(keras_shape_text(layer.output_shapes))]
        cells.append(Text(f"{layer.params:,}"))
        if summary.connected:
            links = ", ".join(f"{name}[0][{index}]" for name, index in layer.inbound)
            cells.append(Text(links or "-"))
        table.add_row(*cells)
    size = summary.bytes_per_param
    totals = (
        ("Total params", summary.total_params),
        ("Trainable params", summary.trainable_params),
        ("Non-trainable params", summary.non_trainable_params),
    )
    lines = [
        Text.assemble((f" {label}: ", "bold"), f"{count:,} ({readable_size(count * size, decimals)})")
        for label, count in totals
    ]
    return Group(Text(f'Model: "{summary.name}"', style="bold"), table, *lines)


# -- tf.keras 2 (`--style legacy`) -------------------------------------------------------------------------


def legacy_text(summary: ModelSummary) -> str:
    """tf.keras 2's `model.summary()` text, character for character, ending with the three totals."""
    line_length, fractions = LEGACY_FUNCTIONAL if summary.connected else LEGACY_SEQUENTIAL
    positions = [int(line_length * fraction) for fraction in fractions]
    name = "model" if summary.name == "functional" else summary.name  # tf.keras 2's default name
    lines = [f'Model: "{name}"', "_" * line_length]
    lines += _legacy_row(HEADER[: len(positions)], positions)
    lines.append("=" * line_length)
    for layer in summary.layers:
        fields = [f"{layer.name} ({layer.kind})", _legacy_shape(layer), str(layer.params)]
        if summary.connected:
            fields.append(str([f"{name}[0][{index}]" for name, index in layer.inbound]))
        lines += _legacy_row(fields, positions)
        lines.append(" " * line_length)
    lines.append("=" * line_length)
    lines.append(f"Total params: {summary.total_params:,}")
    lines.append(f"Trainable params: {summary.trainable_params:,}")
    lines.append(f"Non-trainable params: {summary.non_trainable_params:,}")
    return "\n".join(lines) + "\n"


def _legacy_shape(layer: LayerInfo) -> str:
    """Python's tuple text; an InputLayer's shape and several outputs are lists, as tf.keras 2 showed them."""
    texts = [_tuple_text(shape) for shape in layer.output_shapes]
    if len(texts) == 1 and layer.kind != "InputLayer":
        return texts[0]
    return f"[{', '.join(texts)}]"


def _tuple_text(shape: Shape) -> str:
    return str(tuple(shape))


def _legacy_row(fields: Sequence[str], positions: Sequence[int]) -> list[str]:
    """One row as tf.keras 2's `print_row` wraps it: each cell cut to its column, at `),` if it can."""
    left = list(fields)
    lines = []
    while any(left):
        line = ""
        for col, text in enumerate(left):
            start = positions[col - 1] if col > 0 else 0
            space = 2 if col != len(positions) - 1 else 0
            cutoff = positions[col] - start - space
            fits = text[:cutoff]
            breaks = [
                fits.find(mark) + len(mark) for mark in ("),", "},", "],", "',") if fits.find(mark) >= 0
            ]
            if breaks:
                cutoff = min(breaks)
                fits = fits[:cutoff]
            if col == 0:
                line += " "
            line += fits + " " * space
            left[col] = text[cutoff:]
            line += " " * (positions[col] - len(line))
        lines.append(line)
    return lines


# -- --detail ----------------------------------------------------------------------------------------------


def detail_view(summary: ModelSummary) -> Group:
    """Each weight's shape and count, the count's formula worked out, PyTorch's count, the multiply-adds."""
    parts: list[RenderableType] = [Text("Where the parameters come from", style="bold")]
    for layer in summary.layers:
        detail = layer_detail(layer)
        if detail is None:
            continue
        parts.append(Text(f"{layer.name} ({layer.kind}): {layer.params:,} parameters"))
        weights = Table.grid(padding=(0, 2))
        for justify in ("left", "left", "left", "right"):
            weights.add_column(justify=justify)
        for weight in layer.weights:
            weights.add_row(
                Text(weight.name), shape_text(weight.shape), f"= {weight.formula}", f"{weight.count:,}"
            )
        sums = Table.grid(padding=(0, 2))
        sums.add_column()
        sums.add_column()
        sums.add_row("Keras", detail.keras_line)
        sums.add_row("PyTorch", detail.torch_line)
        if detail.sums.torch_note:
            sums.add_row("", detail.sums.torch_note)
        macs = f"{detail.sums.multiply_adds_formula} = {detail.sums.multiply_adds:,} per {detail.per}"
        if detail.per == "timestep":
            macs += (
                "; the sequence length is not known"
                if detail.multiply_adds_sequence is None
                else f", {detail.multiply_adds_sequence:,} per sequence of {layer.timesteps} timesteps"
            )
        sums.add_row("multiply-adds", macs)
        parts.append(Padding(weights, (0, 0, 0, 2), expand=False))
        parts.append(Padding(sums, (0, 0, 0, 2), expand=False))
    parts.append(
        Text(
            "Counts are per model, not per timestep: every timestep reuses the same weights. Multiply-adds "
            "count the matrix products for one sample.",
            style="dim",
        )
    )
    return Group(*parts)
