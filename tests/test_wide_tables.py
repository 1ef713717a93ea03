"""SPEC §7 "Wide layers": no table cell wraps a vector; when a step's vectors do not fit the width, the table
turns long, a row per unit (and sample) with the numbers in columns. The layout is chosen by width.

Golden files live in tests/golden/; `LSTM_CLI_REGENERATE=1 python -m pytest tests/test_wide_tables.py`
rewrites them.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import CONFIGS, assert_golden, run_cli
from rich.cells import cell_len

from lstm_cli.render.forward import wrapped_array

QUANTITIES = ("i", "f", "g", "o", "c", "h")
# A whole cell: a number (with a saturation mark in trace), a vector on one line, masked, or the gap's ⋮.
WHOLE_CELL = re.compile(r"[↑↓]?-?\d[\d.e+-]*|\[[^\[\]]*\]|masked|–|⋮")
WHOLE_VECTOR = re.compile(r"\[[^\[\]]*\]")
OUTER_TEXT = re.compile(r"[\[\], ]*(… \+\d+[\], ]*)*")


def lstm_config(
    units: int, samples: int, timesteps: int, rounded: bool, **layer: object
) -> dict[str, object]:
    """An LSTM on 2 features with seeded weights: to 2 decimals, or (`rounded=False`) the whole numbers
    -1, 0 and 1 with an input of 0s and 1s, as in a hand check."""
    rng = np.random.default_rng(0)

    def weights(*shape: int) -> list[object]:
        drawn = np.round(rng.normal(size=shape), 2) if rounded else rng.choice([-1, 0, 0, 1], size=shape)
        return drawn.tolist()

    features = 2
    if rounded:
        data = weights(samples, timesteps, features)
    else:
        data = rng.integers(0, 2, (samples, timesteps, features)).tolist()
    return {
        "input": data,
        "layers": [
            {
                "type": "lstm",
                "units": units,
                "kernel": weights(features, 4 * units),
                "recurrent_kernel": weights(units, 4 * units),
                "bias": weights(4 * units),
                **layer,
            }
        ],
    }


def three_units() -> dict[str, object]:
    """Like the seed, no activations and whole numbers everywhere: short vectors, 94 columns wide."""
    return lstm_config(3, 2, 3, rounded=False, activation=None, recurrent_activation=None)


def eight_units() -> dict[str, object]:
    """tanh and sigmoid with weights to 2 decimals: vectors of 8 four-decimal numbers."""
    return lstm_config(8, 2, 3, rounded=True)


CONFIGS_BY_UNITS = {3: three_units, 8: eight_units}


@pytest.fixture
def config(tmp_path: Path, request: pytest.FixtureRequest) -> str:
    path = tmp_path / f"units-{request.param}.yaml"
    path.write_text(yaml.safe_dump(CONFIGS_BY_UNITS[request.param]()), encoding="utf-8")
    return str(path)


def at_width(width: int, *args: str) -> str:
    run = run_cli(*args, env={"COLUMNS": str(width)})
    assert run.exit_code == 0, run.stderr
    return run.stdout


def tables(text: str) -> list[tuple[list[str], list[list[str]]]]:
    """Each framed table in `text`: its header cells, and its body lines split into cells."""
    found: list[tuple[list[str], list[list[str]]]] = []
    for line in text.splitlines():
        if line.startswith("┏"):
            found.append(([], []))
        elif line.startswith(("┃", "│")):
            cells = [cell.strip() for cell in line[1:-1].split(line[0])]
            if line[0] == "┃":
                found[-1][0].extend(cells)
            else:
                found[-1][1].append(cells)
    return found


def assert_no_cell_continues(text: str) -> None:
    """Every line of a layer table (forward's, decode's, and trace's steps) holds whole cells: a wrapped
    cell would leave a line with an empty or cut cell. The outputs table's lines hold whole vectors."""
    checked = 0
    for header, rows in tables(text):
        if header == ["reference", "shape", "value"]:
            for row in rows:
                left = WHOLE_VECTOR.sub("", row[2])  # brackets, commas and "… +N" should be all that is left
                assert row[2].startswith("likeliest tokens: ") or OUTER_TEXT.fullmatch(left), row
            continue
        if header[-6:] == list(QUANTITIES):  # forward's layout, wide or long
            values = [row[-6:] for row in rows]
        elif header[:1] == ["unit"]:  # a trace step, units across, a quantity per row
            assert all(row[0] for row in rows), rows
            values = [row[1:] for row in rows]
        else:
            continue
        checked += 1
        for cells in values:
            assert all(WHOLE_CELL.fullmatch(cell) for cell in cells), cells
    assert checked, "no layer table found"


def assert_fits(text: str, width: int) -> None:
    longest = max(cell_len(line) for line in text.splitlines())
    assert longest <= width


def layout(text: str) -> str:
    """Which layout the first layer table took: long tables have a unit column."""
    header = tables(text)[0][0]
    return "long" if "unit" in header else "wide"


# -- goldens: forward and trace at 80 and 120 columns, with 3 and 8 units ----------------------------------


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("config", [3, 8], indirect=True, ids=["3-units", "8-units"])
def test_forward_golden(config: str, width: int) -> None:
    stdout = at_width(width, "forward", config)
    assert_golden(f"forward-{Path(config).stem}-{width}.txt", stdout)
    assert_no_cell_continues(stdout)
    assert_fits(stdout, width)


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("config", [3, 8], indirect=True, ids=["3-units", "8-units"])
def test_trace_golden(config: str, width: int) -> None:
    stdout = at_width(width, "trace", config, "--timestep", "1")
    assert_golden(f"trace-{Path(config).stem}-{width}.txt", stdout)
    assert_no_cell_continues(stdout)
    assert_fits(stdout, width)


def test_decode_trace_golden_at_80_columns() -> None:
    args = ("decode", str(CONFIGS / "seq2seq.yaml"), "--feed", "decoder_inputs", "--start", "<s>")
    stdout = at_width(80, *args, "--stop", "</s>", "--trace")
    assert_golden("decode-seq2seq-trace-80.txt", stdout)
    assert_no_cell_continues(stdout)
    assert_fits(stdout, 80)


# -- the rule -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("config", [3], indirect=True, ids=["3-units"])
def test_the_wide_layout_is_kept_exactly_while_it_fits(config: str) -> None:
    roomy = at_width(200, "forward", config)
    assert layout(roomy) == "wide"
    wide_width = cell_len(next(line for line in roomy.splitlines() if line.startswith("┏")))
    assert wide_width == 94
    assert layout(at_width(wide_width, "forward", config)) == "wide"
    assert layout(at_width(wide_width - 1, "forward", config)) == "long"


@pytest.mark.parametrize("config", [3, 8], indirect=True, ids=["3-units", "8-units"])
def test_the_layout_flips_with_the_width(config: str) -> None:
    layouts = {width: layout(at_width(width, "forward", config)) for width in (80, 120, 200)}
    if Path(config).stem == "units-3":
        assert layouts == {80: "long", 120: "wide", 200: "wide"}
    else:  # 6 cells of 8 four-decimal numbers: its wide table would take 429 columns
        assert layouts == {80: "long", 120: "long", 200: "long"}


@pytest.mark.parametrize("width", [80, 100, 120, 160])
@pytest.mark.parametrize("config", [3, 8], indirect=True, ids=["3-units", "8-units"])
def test_no_line_exceeds_the_width_and_no_cell_wraps(config: str, width: int) -> None:
    for args in (("forward", config), ("trace", config), ("trace", config, "--explain", "--timestep", "0")):
        stdout = at_width(width, *args)
        assert_fits(stdout, width)
        assert_no_cell_continues(stdout)


def test_a_long_table_of_a_long_run_keeps_whole_steps_and_says_what_it_left_out(tmp_path: Path) -> None:
    """9 steps of 3 samples of 7 units (189 rows; the issue's 502 lines): the first 4 steps-and-samples and
    the last, 7 rows each, then a caption."""
    path = tmp_path / "long.yaml"
    path.write_text(yaml.safe_dump(lstm_config(7, 3, 9, rounded=True)), encoding="utf-8")
    stdout = at_width(80, "forward", str(path))
    (header, rows), *_ = tables(stdout)
    assert header == ["t", "sample", "unit", *QUANTITIES]
    assert [row[:3] for row in rows if row[0]] == [
        ["0", "0", "0"],
        ["0", "1", "0"],
        ["0", "2", "0"],
        ["1", "0", "0"],
        ["⋮", "", "⋮"],
        ["8", "2", "0"],
    ]
    assert len(rows) == 5 * 7 + 1
    assert "\n154 of 189 rows left out; --format json or csv gives every value\n" in stdout


def test_a_masked_step_says_masked_in_the_long_layout() -> None:
    stdout = at_width(80, "forward", str(CONFIGS / "bidirectional-masking.yaml"))
    (header, rows), *_ = tables(stdout)
    assert header == ["t", "sample", "unit", *QUANTITIES]
    assert rows[2] == ["0", "1", "0", "masked", "masked", "masked", "masked", "0", "0"]
    assert rows[3] == ["", "", "1", "masked", "masked", "masked", "masked", "0", "0"]


def test_the_long_layout_keeps_the_token_column() -> None:
    stdout = at_width(80, "forward", str(CONFIGS / "seq2seq.yaml"))
    encoder, decoder, *_ = tables(stdout)
    assert encoder[0] == decoder[0] == ["t", "x_t", "unit", *QUANTITIES]
    assert [row[1] for row in decoder[1] if row[0]] == ["<s>", "d", "c", "b", "a"]
    assert_no_cell_continues(stdout)


# -- the outputs table: lines break between vectors -------------------------------------------------------


def test_an_array_breaks_lines_between_vectors_only() -> None:
    assert wrapped_array(np.array([[1.0, 2, 3], [4, 5, 6]]), 4, 12) == "[[1, 2, 3],\n[4, 5, 6]]"
    assert wrapped_array(np.array([[1.0, 2, 3], [4, 5, 6]]), 4, 80) == "[[1, 2, 3], [4, 5, 6]]"
    assert wrapped_array(np.arange(100.0).reshape(50, 2), 4, 40) == (
        "[[0, 1], [2, 3], [4, 5], [6, 7], [8, 9],\n"
        "[10, 11], [12, 13], [14, 15], [16, 17],\n"
        "[18, 19], [20, 21], [22, 23], [24, 25],\n"
        "[26, 27], [28, 29], [30, 31], [32, 33],\n"
        "[34, 35], [36, 37], [38, 39], [40, 41],\n"
        "[42, 43], [44, 45], [46, 47], … +26]"
    )


def test_a_vector_wider_than_the_value_column_shows_the_items_that_fit() -> None:
    assert wrapped_array(np.arange(10.0).reshape(1, 10), 4, 20) == "[[0, 1, 2, 3, … +6]]"
    assert wrapped_array(np.arange(10.0).reshape(1, 10), 4, 1) == "[[0, 1, … +8]]"  # never fewer than 2


def test_the_outputs_table_fits_the_width_in_whole_vectors() -> None:
    for width in (80, 100, 120):
        stdout = at_width(width, "forward", str(CONFIGS / "seq2seq.yaml"))
        assert_fits(stdout, width)
        assert_no_cell_continues(stdout)
    stdout = at_width(80, "forward", str(CONFIGS / "seq2seq.yaml"))
    assert "│ decoder_dense  │ (1, 5, 6) │ [[[0.0000, 0.0000, 0.0000, 0.0000, … +2], │\n" in stdout
    assert "│                │           │ likeliest tokens: d c b a </s>            │\n" in stdout
