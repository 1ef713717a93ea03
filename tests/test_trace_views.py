"""The renderables `trace` is composed of: each measures within the width it is drawn at, a step page reads
the same alone as in the whole view, and a step page takes rows other than trace's own."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from conftest import CONFIGS
from rich.console import Console

from lstm_cli.config import load_model
from lstm_cli.render.trace import TraceView
from lstm_cli.render.trace.heatmap import Heatmap, heat_series
from lstm_cli.render.trace.step import StepPage, StepRows
from lstm_cli.tracing import run_trace

SEED_EXPECT = str(CONFIGS / "seed-expect.yaml")
STACKED = str(CONFIGS / "stacked.yaml")


def console(width: int) -> Console:
    return Console(width=width, file=io.StringIO(), color_system=None)


def rendered(renderable: Any, width: int = 100) -> str:
    out = console(width)
    out.print(renderable)
    return out.file.getvalue()  # type: ignore[attr-defined]


def test_every_renderable_of_the_view_measures_within_its_width() -> None:
    for width in (40, 100):
        run = run_trace(load_model(SEED_EXPECT))
        view = TraceView(run, explain=True, width=width)
        trace, block = run.shown[0], run.blocks[0]
        heat = heat_series(run, trace, width)
        assert heat is not None
        parts = [
            view.mismatches(),
            view.heading(trace),
            view.step(block),
            view.explanation(block),
            Heatmap(heat),
        ]
        for part in parts:
            measured = console(width).measure(part)
            assert 0 < measured.minimum <= measured.maximum <= width, (type(part).__name__, measured)


def test_a_step_page_alone_reads_as_it_does_in_the_whole_view() -> None:
    view = TraceView(run_trace(load_model(STACKED)), explain=True)
    whole = rendered(view.view())
    for block in view.run.blocks[:2]:
        assert rendered(view.step(block)) in whole


def test_a_step_page_shows_the_rows_it_is_given() -> None:
    # Another set of per-step quantities (here 2·h and 2·c and a zero, under names of their own) takes the
    # same page: its rows in their groups, a rule between groups, under trace's title of the step.
    run = run_trace(load_model(SEED_EXPECT))
    block = run.blocks[0]
    values = {"dh": 2 * block.record.h, "dc": 2 * block.record.c, "dz": np.zeros_like(block.record.h)}
    rows = StepRows(groups=(("dh", "dc"), ("dz",)), carried=("dh", "dc"))
    page = rendered(StepPage(block, values, rows, samples=(0,), units=range(3), cell=3)).splitlines()
    assert page[0] == "lstm · t = 0 (step 1 of 1) · x_t = [1, 0]"
    assert page[4:8] == [
        "│ dh   │   0 │   8 │   0 │",  # h = [0, 4, 0]
        "│ dc   │   0 │   8 │   2 │",  # c = [0, 4, 1]
        "├──────┼─────┼─────┼─────┤",
        "│ dz   │   0 │   0 │   0 │",
    ]
