"""forward+backward through `lstm_cli.backward` against torch.nn.LSTM forward+backward
(`output.sum().backward()`), float32, interleaved runs, medians. Not a test.

    python benchmarks/backward.py              # (32, 100, 128, 256), prints the medians and the ratio
    python benchmarks/backward.py --repeats 3 --shape 2,20,8,16
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
THREADS = 2


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--shape", default="32,100,128,256", help="batch,timesteps,features,units")
    args = parser.parse_args()
    import torch

    import lstm_cli

    torch.set_num_threads(THREADS)
    batch, timesteps, features, units = (int(n) for n in args.shape.split(","))
    rng = np.random.default_rng(0)
    scale = 1 / np.sqrt(units)
    x = rng.standard_normal((batch, timesteps, features), dtype=np.float32)
    weights = {
        "kernel": rng.uniform(-scale, scale, (features, 4 * units)).astype(np.float32),
        "recurrent_kernel": rng.uniform(-scale, scale, (units, 4 * units)).astype(np.float32),
        "bias": rng.uniform(-scale, scale, 4 * units).astype(np.float32),
    }
    config = {
        "dtype": "float32",
        "input": x,
        "layers": [{"type": "lstm", "units": units, "return_sequences": True, **weights}],
        "loss": {"type": "sum"},
    }
    lstm = torch.nn.LSTM(features, units, batch_first=True)
    x_torch = torch.from_numpy(x)

    def ours() -> None:
        lstm_cli.backward(config)

    def theirs() -> None:
        lstm.zero_grad()
        output, _ = lstm(x_torch)
        output.sum().backward()

    times: dict[str, list[float]] = {"lstm_cli.backward": [], "torch nn.LSTM": []}
    for run in (ours, theirs):
        run()  # warm up
    for _ in range(args.repeats):
        for name, run in zip(times, (ours, theirs), strict=True):
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, median in medians.items():
        print(f"{name:20} {median * 1000:8.1f} ms (median of {args.repeats})")
    print(f"ratio {medians['lstm_cli.backward'] / medians['torch nn.LSTM']:.2f}x")


if __name__ == "__main__":
    main()
