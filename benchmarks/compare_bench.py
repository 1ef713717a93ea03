"""compare's diagnosis against one forward pass, for a 2-layer, 256-unit LSTM on 100 steps (issue budget:
the whole diagnosis in at most 30 forward passes).

Each case plants one mistake in B and times `compare` end to end (A and B run with their records kept, the
step table, then the diagnosis), as a ratio to one `run_model` of A. Rounds are interleaved (a forward
pass, then each case) and the medians are reported, since the machine is shared and noisy.

    python benchmarks/compare_bench.py [--rounds N] [--batch B]

OpenBLAS runs one thread here (unless OPENBLAS_NUM_THREADS says otherwise): on two cores shared with other
work, its threads wait on each other, and a (100, 256) @ (256, 1024) product measured 21 times slower with
them than without (7.8 ms against 0.37 ms), which would time the machine's load rather than the diagnosis.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy is imported: see the docstring

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

from lstm_cli.comparison import compare_models, compare_numbers
from lstm_cli.config import load_model
from lstm_cli.diagnosis import hypotheses, planted_values
from lstm_cli.engine import run_model
from lstm_cli.model import Model

UNITS, TIMESTEPS, FEATURES = 256, 100, 64
# The worst cases: a mistake in the first layer found late in the list, and one in the second layer.
CASES = (
    ("recurrent_kernel:reshaped", "first"),
    ("gate_order:iofg", "first"),
    ("time:go_backwards", "second"),
)


def model(batch: int) -> Model:
    rng = np.random.default_rng(0)

    def lstm(name: str, width: int) -> dict[str, object]:
        return {
            "type": "lstm",
            "name": name,
            "units": UNITS,
            "return_sequences": True,
            "kernel": rng.uniform(-0.1, 0.1, (width, 4 * UNITS)),
            "recurrent_kernel": rng.uniform(-0.1, 0.1, (UNITS, 4 * UNITS)),
            "bias": rng.uniform(-0.5, 0.5, 4 * UNITS),
        }

    data = rng.standard_normal((batch, TIMESTEPS, FEATURES))
    return load_model(
        {"dtype": "float32", "input": data, "layers": [lstm("first", FEATURES), lstm("second", UNITS)]}
    )


def timed(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=1)
    args = parser.parse_args()
    a = model(args.batch)
    runs: dict[str, Callable[[], object]] = {}
    for name, layer in CASES:
        hypothesis = next(h for h in hypotheses(a) if (h.name, h.layer) == (name, layer))
        b, numbers = hypothesis.apply(a), planted_values(a, hypothesis)
        found = compare_models(a, b).diagnosis[0]
        assert (found.hypothesis, found.layer, found.agrees) == (name, layer, True), found
        runs[f"model vs model, {name} in {layer}"] = lambda b=b: compare_models(a, b)
        runs[f"model vs numbers, {name} in {layer}"] = lambda n=numbers: compare_numbers(a, n)
    forward: list[float] = []
    times: dict[str, list[float]] = {label: [] for label in runs}
    for _ in range(args.rounds):
        forward.append(timed(lambda: run_model(a)))
        for label, run in runs.items():
            times[label].append(timed(run))
    base = statistics.median(forward)
    shape = f"2 layers x {UNITS} units, {TIMESTEPS} steps, batch {args.batch}, float32"
    print(f"{shape}: one forward pass {base * 1e3:.1f} ms (median of {args.rounds})")
    for label, samples in times.items():
        print(f"  {label:<55} {statistics.median(samples) / base:5.1f} forward passes")


if __name__ == "__main__":
    main()
