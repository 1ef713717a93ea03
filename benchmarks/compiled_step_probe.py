"""How fast one LSTM step runs when compiled: a measurement behind a proposal in BENCHMARKS.md, not part
of lstm-cli. Needs numba (`pip install numba`), which lstm-cli does not use.

    python benchmarks/compiled_step_probe.py

It times the whole loop of the default cell (sigmoid and tanh, no mask, no records) compiled by numba,
with the matmul written as plain loops, against the engine's numpy loop, at batch 1. Per-step Python
overhead is what keeps the engine behind torch's fused kernel at these shapes.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SHAPES = [(1, 1000, 3), (1, 1000, 32)]  # (batch, timesteps, units)


def compiled_loop() -> object:
    from numba import njit

    @njit
    def loop(projected, recurrent_kernel, bias, h0, c0):  # type: ignore[no-untyped-def]
        """projected: (timesteps, batch, 4*units) x_t @ kernel, gates in Keras's order (i, f, g, o)."""
        timesteps, batch, width = projected.shape
        units = width // 4
        h, c = h0.copy(), c0.copy()
        z = np.empty((batch, width), projected.dtype)
        for t in range(timesteps):
            for row in range(batch):
                for j in range(width):
                    z[row, j] = projected[t, row, j]
                for k in range(units):  # z += h_prev @ recurrent_kernel
                    for j in range(width):
                        z[row, j] += h[row, k] * recurrent_kernel[k, j]
                for j in range(units):
                    i = 0.5 * np.tanh(0.5 * (z[row, j] + bias[j])) + 0.5
                    f = 0.5 * np.tanh(0.5 * (z[row, units + j] + bias[units + j])) + 0.5
                    g = np.tanh(z[row, 2 * units + j] + bias[2 * units + j])
                    o = 0.5 * np.tanh(0.5 * (z[row, 3 * units + j] + bias[3 * units + j])) + 0.5
                    c[row, j] = f * c[row, j] + i * g
                    h[row, j] = o * np.tanh(c[row, j])
        return h, c

    return loop


def probe(loop: object, batch: int, timesteps: int, units: int) -> dict[str, float]:
    """Median µs a step of the engine (`lstm_cli.forward`) and of the compiled loop, same weights."""
    import lstm_cli

    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, timesteps, units), dtype=np.float32)  # features = units
    kernel, recurrent_kernel = (rng.uniform(-0.3, 0.3, (units, 4 * units)).astype(np.float32) for _ in "kr")
    bias = rng.uniform(-0.3, 0.3, 4 * units).astype(np.float32)
    lstm = {
        "type": "lstm",
        "units": units,
        "kernel": kernel,
        "recurrent_kernel": recurrent_kernel,
        "bias": bias,
    }
    config = {"dtype": "float32", "input": x, "layers": [lstm]}
    zeros = np.zeros((batch, units), np.float32)

    def compiled() -> np.ndarray:
        projected = np.ascontiguousarray((x @ kernel).transpose(1, 0, 2))
        return loop(projected, recurrent_kernel, bias, zeros, zeros)[0]  # type: ignore[operator]

    np.testing.assert_allclose(compiled(), lstm_cli.forward(config)["lstm"], rtol=1e-4, atol=1e-5)
    runs = {"engine": lambda: lstm_cli.forward(config), "compiled": compiled}
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(9):
        for name, run in runs.items():
            begin = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - begin)
    return {name: statistics.median(values) / timesteps * 1e6 for name, values in times.items()}


def main() -> None:
    loop = compiled_loop()
    for shape in SHAPES:
        per_step = probe(loop, *shape)
        print(
            f"(batch, timesteps, units) = {shape}: engine {per_step['engine']:.2f} µs a step, "
            f"compiled {per_step['compiled']:.2f} µs a step"
        )


if __name__ == "__main__":
    main()
