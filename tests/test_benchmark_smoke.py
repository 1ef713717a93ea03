"""The benchmark script runs, at a reduced size (a smoke test: no timing is asserted)."""

import importlib.util
import sys

import pytest
from conftest import ROOT

pytestmark = pytest.mark.slow  # runs the benchmark script and its memory probe


def load_bench():
    spec = importlib.util.spec_from_file_location("bench", ROOT / "benchmarks" / "bench.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench"] = module
    spec.loader.exec_module(module)
    return module


def test_benchmark_runs_at_a_reduced_size() -> None:
    bench = load_bench()
    row = bench.bench_shape((2, 12, 3, 4), repeats=2, budget=5.0, with_keras=False, settle=0.0)
    assert row["shape"] == (2, 12, 3, 4)
    assert row["engine_s"] > 0 and row["engine_trace_s"] > 0
    assert row["trace_over_forward"] > 0
    if "torch_s" in row:  # torch installed: the script checked our numbers against it before timing
        assert row["engine_over_torch"] > 0


def test_markdown_report_names_the_machine() -> None:
    bench = load_bench()
    row = bench.bench_shape((1, 5, 2, 3), repeats=1, budget=5.0, with_keras=False, settle=0.0)
    text = bench.write_markdown(
        [row],
        {"forward": 100.0, "baseline": 90.0, "input_mb": 1.0},
        {
            "summary_s": 0.2,
            "help_s": 0.1,
            "import_rich_table_s": 0.07,
            "import_typer_s": 0.1,
            "summary_over_rich": 2.9,
            **{f"importtime_{module}_s": 0.01 for module in bench.IMPORTS_SHOWN if module != "numpy"},
            "importtime_numpy_s": 0.0,
        },
        {"npy_load_s": 0.05, "npy_mb": 41.0},
        200.0,
    )
    assert "Machine:" in text and "(1, 5, 2, 3)" in text and "Peak memory" in text
    assert "read and checked in 50 ms" in text
    assert "of which typer 10 ms" in text and "numpy not imported." in text


def test_compute_floor_names_the_shapes_where_10x_keras_is_out_of_reach() -> None:
    bench = load_bench()
    # The seed's shape, by hand: 2 FLOPs · 1 sample · 1 step · (2 features + 3 units) · 12 gate columns = 120.
    assert bench.lstm_gflop((1, 1, 2, 3)) == pytest.approx(120e-9)
    # (64, 200, 512, 1024) is 161 GFLOP: 0.805 s at 200 GFLOPS, so Keras's 1.5 s allows at most 1.9x.
    rows = [
        {"shape": (64, 200, 512, 1024), "keras_s": 1.5},
        {"shape": (1, 1000, 2, 3), "keras_s": 0.056},  # 0.12 GFLOP: latency-bound, 10x not ruled out
        {"shape": (1, 5, 2, 3)},  # no Keras
    ]
    text = bench._floor_text(rows, 200.0)
    assert "peaks at 200 GFLOPS" in text
    assert "at least 805.3 ms at (64, 200, 512, 1024), where Keras took 1500.0 ms" in text
    assert "more than 1.9x faster" in text and "(1, 1000, 2, 3)" not in text
    assert "less than a tenth" in bench._floor_text(rows[1:], 200.0)


def test_npy_load_probe_reads_a_file_config() -> None:
    bench = load_bench()
    load = bench.npy_load(2, 5, 3, 4)
    assert load["npy_load_s"] > 0
    assert load["npy_mb"] == (2 * 5 * 3 + 3 * 16 + 4 * 16 + 16) * 4 / 2**20


def test_peak_memory_probe_runs() -> None:
    pytest.importorskip("resource")
    bench = load_bench()
    memory = bench.peak_memory(2, 50, 4, 8)
    assert memory["forward"] >= memory["baseline"] > 0


def test_a_worker_that_stops_is_named() -> None:
    bench = load_bench()
    with pytest.raises(RuntimeError, match="the no-such-library worker stopped"):
        bench.Worker("no-such-library", (1, 2, 3, 4))
