"""Speed and memory of the engine against torch.nn.LSTM (and Keras 3 where installed). Not a test.

    python benchmarks/bench.py                 # the full run; writes BENCHMARKS.md
    python benchmarks/bench.py --quick         # small shapes, a smoke test (no file written)

Every figure is a median of interleaved runs (engine, torch, Keras, engine, torch, ...), so that a noisy,
shared machine slows all of them alike. Each library runs in a worker process of its own, so that one's
idle thread pool does not spin against the next one's work. The engine is called as users call it:
`lstm_cli.forward` with numpy float32 arrays in the mapping. torch gets the same threads and the same
weights, and is timed twice: as users call it (oneDNN's fused LSTM on CPU) and with oneDNN switched off.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHAPES = [(1, 1000, 2, 3), (1, 1000, 32, 32), (1, 100, 256, 256), (32, 100, 128, 256), (64, 200, 512, 1024)]
QUICK_SHAPES = [(1, 50, 2, 3), (2, 20, 8, 16)]
THREADS = 2
SETTLE_S = 0.3
# What `summary` from flags imports, by `python -X importtime`; numpy must not be among them.
IMPORTS_SHOWN = (
    "lstm_cli.cli",
    "typer",
    "lstm_cli.render.summary",
    "rich.console",
    "lstm_cli.summary",
    "numpy",
)


def make_case(batch: int, timesteps: int, features: int, units: int) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    scale = 1 / np.sqrt(units)
    return {
        "dtype": "float32",
        "input": rng.standard_normal((batch, timesteps, features), dtype=np.float32),
        "layers": [
            {
                "type": "lstm",
                "units": units,
                "kernel": rng.uniform(-scale, scale, (features, 4 * units)).astype(np.float32),
                "recurrent_kernel": rng.uniform(-scale, scale, (units, 4 * units)).astype(np.float32),
                "bias": rng.uniform(-scale, scale, 4 * units).astype(np.float32),
            }
        ],
    }


def engine_runner(config: dict[str, Any], record: bool = False) -> Callable[[], Any]:
    import lstm_cli
    from lstm_cli.config import load_model
    from lstm_cli.engine import run_model

    if not record:
        return lambda: lstm_cli.forward(config)
    return lambda: run_model(load_model(config), record=True)


def torch_runner(
    config: dict[str, Any],
) -> tuple[Callable[[], Any], Callable[[], Any], Callable[[], np.ndarray]] | None:
    """torch.nn.LSTM as users call it (on CPU it hands the layer to oneDNN's fused RNN primitive), the
    same module with oneDNN switched off (torch's own loop: two GEMMs and the gate maths per step, as
    the engine does), and the final h for checking."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(THREADS)
    warnings.filterwarnings("ignore", message="TF32 acceleration")  # oneDNN's flag switch, on CPU
    layer = config["layers"][0]
    features, units = layer["kernel"].shape[0], layer["units"]
    model = torch.nn.LSTM(features, units, batch_first=True)
    with torch.no_grad():
        model.weight_ih_l0.copy_(torch.from_numpy(layer["kernel"].T.copy()))
        model.weight_hh_l0.copy_(torch.from_numpy(layer["recurrent_kernel"].T.copy()))
        model.bias_ih_l0.copy_(torch.from_numpy(layer["bias"]))
        model.bias_hh_l0.zero_()
    x = torch.from_numpy(config["input"])

    def run() -> Any:
        with torch.no_grad():
            return model(x)

    def run_without_onednn() -> Any:
        with torch.no_grad(), torch.backends.mkldnn.flags(enabled=False):
            return model(x)

    return run, run_without_onednn, lambda: run()[1][0][0].numpy()


def keras_runner(config: dict[str, Any]) -> Callable[[], Any] | None:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    try:
        import keras
    except ImportError:
        return None
    layer = config["layers"][0]
    lstm = keras.layers.LSTM(layer["units"])
    x = config["input"]
    lstm.build(x.shape)
    lstm.set_weights([layer["kernel"], layer["recurrent_kernel"], layer["bias"]])
    return lambda: lstm(x)


def interleaved(
    timers: dict[str, Callable[[], float]], repeats: int, budget: float, settle: float = SETTLE_S
) -> dict[str, float]:
    """Median seconds of each timer, taking one sample of each in turn, round after round. Before each
    sample the machine gets `settle` seconds for the last run's thread pools to stop spinning (on 2 cores
    a spinning OpenBLAS pool made a 1.3 ms torch call take 60 ms); a worker then runs once untimed, so that
    the sample does not pay for waking its own pool."""
    times: dict[str, list[float]] = {name: [] for name in timers}
    started = time.perf_counter()
    for _ in range(repeats):
        for name, timer in timers.items():
            time.sleep(settle)
            times[name].append(timer())
        if time.perf_counter() - started > budget:
            break
    return {name: statistics.median(values) for name, values in times.items()}


def library_runners(library: str, config: dict[str, Any]) -> dict[str, Callable[[], Any]] | None:
    """The timed runs of one library, plus "h": its final hidden state, to check the numbers agree."""
    if library == "engine":
        import lstm_cli

        return {
            "engine": engine_runner(config),
            "engine_trace": engine_runner(config, record=True),
            "h": lambda: lstm_cli.forward(config)["lstm"],
        }
    if library == "torch":
        made = torch_runner(config)
        if made is None:
            return None
        run, run_without_onednn, final_h = made
        return {"torch": run, "torch_loop": run_without_onednn, "h": final_h}
    if library != "keras":
        raise ValueError(f"no library {library!r}")
    keras_run = keras_runner(config)
    return None if keras_run is None else {"keras": keras_run}


def serve(library: str, shape: tuple[int, int, int, int]) -> None:
    """A worker process: times one run of the named runner per line read, answers with the seconds."""
    sys.path.insert(0, str(ROOT))
    runners = library_runners(library, make_case(*shape))
    if runners is None:
        print("unavailable", flush=True)
        return
    for name, run in runners.items():
        if name != "h":
            run()  # warm up: imports, thread pools, first allocations
    print("ready", flush=True)
    for line in sys.stdin:
        name = line.strip()
        if name == "h":
            print(json.dumps(np.asarray(runners["h"]()).tolist()), flush=True)
            continue
        runners[name]()  # after the pause: wakes this library's thread pool, warms the caches
        begin = time.perf_counter()
        runners[name]()
        print(time.perf_counter() - begin, flush=True)


class Worker:
    """One library in its own process: an idle thread pool (OpenBLAS, OpenMP) spins for a while after
    each call, and in a shared process it would slow whichever library runs next on 2 cores."""

    def __init__(self, library: str, shape: tuple[int, int, int, int]) -> None:
        self.library = library
        argv = [sys.executable, __file__, "--worker", library, "--shape", ",".join(map(str, shape))]
        pools = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")  # all as many threads as torch
        env = {**os.environ, **dict.fromkeys(pools, str(THREADS))}
        self.process = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
        )
        self.available = self._answer() == "ready"

    def _answer(self) -> str:
        assert self.process.stdout is not None
        answer = self.process.stdout.readline().strip()
        if not answer:  # its traceback went to stderr, above
            raise RuntimeError(f"the {self.library} worker stopped")
        return answer

    def ask(self, request: str) -> str:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(request + "\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            raise RuntimeError(f"the {self.library} worker stopped") from None
        return self._answer()

    def close(self) -> None:
        assert self.process.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self.process.stdin.close()
        self.process.wait()


def bench_shape(
    shape: tuple[int, int, int, int], repeats: int, budget: float, with_keras: bool, settle: float = SETTLE_S
) -> dict[str, Any]:
    libraries = {"engine": ("engine", "engine_trace"), "torch": ("torch", "torch_loop")}
    if with_keras:
        libraries["keras"] = ("keras",)
    workers: dict[str, Worker] = {}
    try:
        for library in libraries:
            workers[library] = Worker(library, shape)
        if workers["torch"].available:  # same numbers, or no timing
            ours, theirs = (json.loads(workers[library].ask("h")) for library in ("engine", "torch"))
            np.testing.assert_allclose(ours, theirs, rtol=1e-3, atol=1e-4)
        timers = {
            name: (lambda worker=worker, name=name: float(worker.ask(name)))
            for library, worker in workers.items()
            if worker.available
            for name in libraries[library]
        }
        medians = interleaved(timers, repeats, budget, settle)
    finally:
        for worker in workers.values():
            worker.close()
    row: dict[str, Any] = {"shape": shape, **{f"{k}_s": v for k, v in medians.items()}}
    row["trace_over_forward"] = medians["engine_trace"] / medians["engine"]
    if "torch" in medians:
        row["engine_over_torch"] = medians["engine"] / medians["torch"]
        row["engine_over_torch_loop"] = medians["engine"] / medians["torch_loop"]
    if "keras" in medians:
        row["keras_over_engine"] = medians["keras"] / medians["engine"]
    return row


def peak_memory(batch: int, timesteps: int, features: int, units: int) -> dict[str, float]:
    """Peak RSS of a forward pass in a fresh process, against the same process that only builds the input."""
    script = f"""
import resource, sys
sys.path[:0] = [{str(ROOT)!r}, {str(Path(__file__).resolve().parent)!r}]
from bench import make_case
config = make_case({batch}, {timesteps}, {features}, {units})
if "{{mode}}" == "forward":
    import lstm_cli
    lstm_cli.forward(config)
try:  # VmHWM is this process's own peak; ru_maxrss can carry over the forking parent's peak
    print(int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) / 1024)
except OSError:
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""
    result = {}
    for mode in ("baseline", "forward"):
        done = subprocess.run(
            [sys.executable, "-c", script.replace("{mode}", mode)], capture_output=True, text=True, check=True
        )
        result[mode] = float(done.stdout.strip())
    result["input_mb"] = batch * timesteps * features * 4 / 2**20
    return result


def peak_gflops(size: int = 4096, repeats: int = 5) -> float:
    """numpy's float32 GEMM at its best, a (size, size) product: about the most these cores compute."""
    a = np.ones((size, size), np.float32)
    a @ a
    best = min(_timed(lambda: a @ a) for _ in range(repeats))
    return 2 * size**3 / best / 1e9


def _timed(run: Callable[[], Any]) -> float:
    begin = time.perf_counter()
    run()
    return time.perf_counter() - begin


def lstm_gflop(shape: tuple[int, int, int, int]) -> float:
    """The two GEMMs any LSTM forward pass must do: x·kernel and h·recurrent_kernel at every step."""
    batch, timesteps, features, units = shape
    return 2 * batch * timesteps * (features + units) * 4 * units / 1e9


def npy_load(batch: int, timesteps: int, features: int, units: int) -> dict[str, float]:
    """Seconds to read and check a config whose input and weights are .npy files (median of 5)."""
    import tempfile

    from lstm_cli.config import load_model

    case = make_case(batch, timesteps, features, units)
    lstm = case["layers"][0]
    arrays = {"input": case["input"], **{key: lstm[key] for key in ("kernel", "recurrent_kernel", "bias")}}
    with tempfile.TemporaryDirectory() as folder:
        for name, array in arrays.items():
            np.save(Path(folder, f"{name}.npy"), array)
        config = Path(folder, "big.yaml")
        config.write_text(
            "dtype: float32\ninput: {file: input.npy}\nlayers:\n"
            f"  - {{type: lstm, units: {units}, kernel: {{file: kernel.npy}}, "
            "recurrent_kernel: {file: recurrent_kernel.npy}, bias: {file: bias.npy}}\n",
            encoding="utf-8",
        )
        samples = [_timed(lambda: load_model(config)) for _ in range(5)]
        megabytes = sum(array.nbytes for array in arrays.values()) / 2**20
    return {"npy_load_s": statistics.median(samples), "npy_mb": megabytes}


def startup() -> dict[str, float]:
    """Wall time of short commands in fresh processes, with bytecode caches as an installed package has
    them (PYTHONDONTWRITEBYTECODE would make every run compile lstm-cli's modules again); and summary
    against its floor, `import typer, rich.table`, as interleaved pairs (benchmarks/startup.py), installed
    from a wheel and run from a checkout without bytecode."""
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}

    def timed(argv: list[str], repeats: int = 15) -> float:
        subprocess.run(argv, capture_output=True, check=True, env=env)  # fails loudly; writes bytecode caches
        return statistics.median(
            [_timed(lambda: subprocess.run(argv, capture_output=True, env=env)) for _ in range(repeats)]
        )

    summary_argv = [sys.executable, "-m", "lstm_cli", "summary", "--units", "3", "--features", "2"]
    subprocess.run(summary_argv, capture_output=True, check=True, env=env)  # writes the bytecode caches
    imports = subprocess.run(
        [sys.executable, "-X", "importtime", *summary_argv[1:]], capture_output=True, text=True, env=env
    ).stderr
    cumulative = {}  # module → seconds with its own imports, from "import time: self | cumulative | name"
    for line in imports.splitlines():
        fields = line.removeprefix("import time:").split("|")
        if len(fields) == 3 and fields[1].strip().isdigit():
            cumulative[fields[2].strip()] = int(fields[1]) / 1e6
    rich_table = timed([sys.executable, "-c", "import rich.table"])
    typer_floor = timed([sys.executable, "-c", "import typer, rich.table"])
    summary = timed(summary_argv)
    help_ = timed([sys.executable, "-m", "lstm_cli", "--help"])
    paired = {}
    startup_script = importlib.util.spec_from_file_location("startup", ROOT / "benchmarks" / "startup.py")
    if startup_script is not None and startup_script.loader is not None:
        pairs = importlib.util.module_from_spec(startup_script)
        startup_script.loader.exec_module(pairs)
        for mode in ("wheel", "source"):
            result = pairs.measure(mode, 41)
            paired[f"summary_over_floor_{mode}"] = result["ratio"]
            paired[f"paired_summary_{mode}_s"] = result["command_ms"] / 1e3
            paired[f"paired_floor_{mode}_s"] = result["floor_ms"] / 1e3
            paired[f"lstm_cli_self_{mode}_s"] = result["lstm_cli_self_ms"] / 1e3
    return {
        "import_rich_table_s": rich_table,
        "import_typer_s": typer_floor,
        "summary_s": summary,
        "help_s": help_,
        "summary_over_rich": summary / rich_table,
        **paired,
        **{f"importtime_{module}_s": cumulative.get(module, 0.0) for module in IMPORTS_SHOWN},
    }


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = [f"Python {platform.python_version()}", f"numpy {np.__version__}"]
    for name in ("torch", "keras"):
        with contextlib.suppress(ImportError):
            versions.append(f"{name} {__import__(name).__version__}")
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()}; {', '.join(versions)}; {THREADS} threads"


def write_markdown(
    rows: list[dict[str, Any]],
    memory: dict[str, float],
    start: dict[str, float],
    load: dict[str, float],
    gflops: float,
) -> str:
    lines = [
        "# Benchmarks",
        "",
        f"Machine: {machine()}.",
        "",
        "Written by `python benchmarks/bench.py`; medians of interleaved runs, float32.",
        "",
        "| (batch, timesteps, features, units) | engine | torch | engine/torch | torch, oneDNN off "
        "| engine/that | trace/forward | Keras/engine |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        torch_s = row.get("torch_s")
        lines.append(
            f"| {row['shape']} | {row['engine_s'] * 1e3:.1f} ms | "
            + (
                f"{torch_s * 1e3:.1f} ms | {row['engine_over_torch']:.2f} | "
                f"{row['torch_loop_s'] * 1e3:.1f} ms | {row['engine_over_torch_loop']:.2f} | "
                if torch_s
                else "n/a | n/a | n/a | n/a | "
            )
            + f"{row['trace_over_forward']:.2f} | "
            + (f"{row['keras_over_engine']:.1f}× |" if "keras_over_engine" in row else "n/a |")
        )
    lines += [
        "",
        f"Peak memory, forward over (16, 20000, 16) → 128 units, return_sequences false: "
        f"{memory['forward']:.0f} MB peak RSS against {memory['baseline']:.0f} MB for the same process that "
        f"only builds the input ({memory['input_mb']:.0f} MB of it).",
        "",
        f"Big inputs from files: a config whose input (64, 200, 512) and 1024-unit weights are `.npy` files "
        f"({load['npy_mb']:.0f} MB) is read and checked in {load['npy_load_s'] * 1e3:.0f} ms.",
        "",
        _startup_text(start),
        "",
        _floor_text(rows, gflops),
        "",
        *READING.splitlines(),
    ]
    return "\n".join(lines)


def _floor_text(rows: list[dict[str, Any]], gflops: float) -> str:
    """Where no engine on these cores could be 10x faster than Keras: the GEMMs alone take a tenth of
    Keras's time or more, even at the peak rate."""
    bounds = []
    for row in rows:
        if "keras_s" not in row:
            continue
        floor_s = lstm_gflop(tuple(row["shape"])) / gflops
        most = row["keras_s"] / floor_s  # the largest Keras/engine any engine could reach
        if most < 10:
            bounds.append(
                f"at least {floor_s * 1e3:.1f} ms at {tuple(row['shape'])}, where Keras took "
                f"{row['keras_s'] * 1e3:.1f} ms, so no engine can be more than {most:.1f}x faster than "
                "Keras there"
            )
    found = "; ".join(bounds) if bounds else "less than a tenth of Keras's time at every shape measured"
    return (
        f"Compute floor: numpy's float32 GEMM peaks at {gflops:.0f} GFLOPS on these cores (a 4096² "
        "product). Any LSTM forward pass does 2·batch·timesteps·(features+units)·4·units FLOPs of GEMM; at "
        f"that peak they take {found}."
    )


def _startup_text(start: dict[str, float]) -> str:
    text = (
        f"Start-up: `lstm-cli summary --units 3 --features 2` {start['summary_s'] * 1e3:.0f} ms, "
        f"`lstm-cli --help` {start['help_s'] * 1e3:.0f} ms; "
        f'`python -c "import typer, rich.table"` alone takes {start["import_typer_s"] * 1e3:.0f} ms. '
    )
    if "summary_over_floor_wheel" in start:
        ms = {key: value * 1e3 for key, value in start.items() if key.endswith("_s")}
        text += (
            "As interleaved pairs (`python benchmarks/startup.py`, medians), that summary takes "
            f"{start['summary_over_floor_wheel']:.2f}x the time of that import when installed from a wheel "
            f"({ms['paired_summary_wheel_s']:.0f} ms against {ms['paired_floor_wheel_s']:.0f} ms; "
            f"lstm-cli's own modules import in {ms['lstm_cli_self_wheel_s']:.0f} ms), and "
            f"{start['summary_over_floor_source']:.2f}x run from a checkout with PYTHONDONTWRITEBYTECODE=1 "
            f"({ms['paired_summary_source_s']:.0f} ms against {ms['paired_floor_source_s']:.0f} ms; its "
            f"modules, compiled on every run, in {ms['lstm_cli_self_source_s']:.0f} ms). "
        )
    return text + _importtime_text(start)


def _importtime_text(start: dict[str, float]) -> str:
    ms = {module: start[f"importtime_{module}_s"] * 1e3 for module in IMPORTS_SHOWN}
    numpy = f"{ms['numpy']:.0f} ms" if ms["numpy"] else "not imported"
    return (
        f"`python -X importtime` for that summary: lstm_cli.cli {ms['lstm_cli.cli']:.0f} ms, of which typer "
        f"{ms['typer']:.0f} ms; rich.console {ms['rich.console']:.0f} ms; lstm_cli.render.summary "
        f"{ms['lstm_cli.render.summary']:.0f} ms; lstm_cli.summary {ms['lstm_cli.summary']:.0f} ms; "
        f"numpy {numpy}."
    )


READING = """\
## Reading these numbers

- `engine` is `lstm_cli.forward` as users call it: it checks the config's arrays and reorders the
  weights once, then runs. `torch` is the `nn.LSTM` call alone. Each library runs in a worker process of
  its own and each sample follows a 0.3 s pause and one untimed run: on 2 cores a thread pool still
  spinning from the last run (OpenBLAS's, or torch's OpenMP) made a 1.3 ms torch call take 60 ms.
- On CPU, `nn.LSTM` hands the whole layer to oneDNN's fused LSTM primitive: both GEMMs and the gate
  arithmetic in one kernel, on weights repacked for it. `torch, oneDNN off` is the same module under
  `torch.backends.mkldnn.flags(enabled=False)`: torch's own loop, which does what the engine does (one
  GEMM for the inputs, then a GEMM and the gate arithmetic per step). The engine takes 0.2-1.0 times
  that loop's time; the gap to `torch` is oneDNN's fusion.
- It is not the BLAS. The recurrent GEMM (64, 1024) @ (1024, 4096) takes 3.3-3.9 ms a step in numpy's
  OpenBLAS and 4.1-5.6 ms as `torch.mm` (MKL on this AMD CPU). At (64, 200, 512, 1024) torch does all
  161 GFLOP at about 190 GFLOPS, the peak of these 2 cores; OpenBLAS runs the input GEMM near that peak
  but the recurrent GEMM, 64 rows split over 2 threads, at about 140.
- Small shapes are ruled by per-step overhead: the engine's step is 12 numpy calls, 3.6-4.4 µs, and
  oneDNN's is 1.4-3.3 µs (torch's time at these shapes moves between 1.4 and 3.3 ms from run to run). The
  step was 13 calls and 7.4-8.0 µs until each call got cheaper: `np.dot` costs half of `np.matmul` on
  small arrays; numpy's functions bound to local names, with each output passed as the third argument
  rather than `out=`, save 0.1 µs a call; 0.5 as a 0-d array costs a third of a Python float, which numpy
  converts on every call; once sigmoid has halved i, f and o, one tanh call serves all four default
  gates; the bias is one row per sample, so adding it needs no broadcasting; every view a step uses is
  made before the loop. Halving the weights once, instead of z every step, would save one more call, but
  near the float limit it moves where a sum overflows, so the engine does not. At (1, 100, 256, 256) the
  step is a GEMV over 1 MB of weights: 13 µs in OpenBLAS.
- At (32, 100, 128, 256) numpy has a floor above torch's time: the two GEMMs at oneDNN's rate take all of
  torch's 13 ms, and the gate arithmetic, which oneDNN fuses into them, is 10 passes over memory in numpy
  (about 8 ms here). The recurrent GEMM also runs at about 110 GFLOPS in OpenBLAS with 32 rows. Computed
  the other way round, U^T·h^T, it takes 97 µs instead of 147, but with the state stored transposed to
  match, the whole run gained only 15% there (the input projections no longer add in place) and lost 7%
  at (64, 200, 512, 1024), so the engine keeps one layout.
- What would reach 1.0 is oneDNN's kind of kernel, which numpy cannot express: an optional engine that
  hands a plain layer (no records kept) to oneDNN through torch when it is installed, checked against
  this one; or a compiled step that fuses the gate arithmetic into the GEMM's output.
  `benchmarks/compiled_step_probe.py` compiles the default cell's whole loop with numba (which lstm-cli
  does not use): 0.21 µs a step at (1, 1000, 3 units) and 2.9 µs at 32 units, against the engine's 3.7
  and 4.4 µs and oneDNN's 1.4-3.3 µs. It would add a dependency and a second computation beside the
  numpy one, so it stays a proposal. Python threads do not get there: the recurrent GEMM split by gate
  columns over two threads (single-threaded OpenBLAS each) took 4.4 ms against 3.9 ms for OpenBLAS's
  own two threads, and a whole step split that way, with a barrier per step, took twice as long as the
  plain loop.
- Keras 3 on the torch backend runs its own cell per step on CPU (its fused path is for CUDA only): about
  55 µs a step, which rules the 1000-step shapes; the engine's 3.6-4.4 µs step is 12-15x faster. At
  (1, 100, 256, 256) Keras takes about 96 µs a step, so 10x would need 9.6 µs, less than the GEMV alone
  (13 µs); torch's fused kernel is only 5-7x faster than Keras there. At the compute-bound shapes Keras
  runs torch's GEMMs at half the peak or better, so, as the compute floor above shows, 10x would take
  more arithmetic than these cores can do in the time.
- `trace` keeps every gate: each kept step copies its z into its record and computes c and h straight
  into it (its gates are activated from z again when read), so the extra cost is mostly fresh memory:
  20 MB of records at (32, 100, 128, 256), 315 MB at (64, 200, 512, 1024). On this VM the first write to
  memory the host has taken back has cost from 0.1 to 1.7 ms a MB on different days (once 0.87 s to fill
  500 MB the first time, 0.02 s the second), which is why trace/forward moves between runs more than the
  other figures: at (32, 100, 128, 256) it has measured from 1.18 to 1.7 across runs.
- Start-up is measured against `python -c "import typer, rich.table"`, the floor of any CLI built on
  Typer and Rich. numpy is not imported by `--help` or by `summary` from flags, and typer is held below
  0.29, which imports pydantic and builds a validator per parameter on every run (about 100 ms more).
  Above the floor, a summary from flags pays for rich.console (about 6 ms: rich.table alone does not
  import it), lstm-cli's own modules (7-8 ms, of which summary.py's four frozen dataclasses take 2.4 ms
  and architecture.py's one 0.8 ms), building its one command (0.9 ms) and drawing the table (2 ms).
  Before, it also paid for Typer building every command from string annotations, which it evaluated
  again each time it looked (10 ms; 3.3 ms for all the commands without `from __future__ import
  annotations`, 0.9 ms for the one being run), and for importing model.py's nine frozen dataclasses
  (7-8 ms), which a summary from flags does not use: it took 1.53-1.57x the floor installed, 1.68-1.71x
  from a checkout without bytecode. Without the `gc.freeze()` in `main` it takes 1.30-1.32x installed and
  1.47x without bytecode: the interpreter's last collection, at exit, would free everything imported
  object by object (18 ms, against 5 ms with it frozen). Without bytecode lstm-cli's modules are compiled
  on every run (about 12 ms), while typer's and rich's come from site-packages' caches; pip
  byte-compiles a wheel as it installs it, so the installed figure is the one users meet.
- The machine is shared: figures move by 10-30% between runs; the interleaved medians move less.
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small shapes only; print, write nothing")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--no-keras", action="store_true")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--shape", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        batch, timesteps, features, units = (int(size) for size in args.shape.split(","))
        serve(args.worker, (batch, timesteps, features, units))
        return
    shapes = QUICK_SHAPES if args.quick else SHAPES
    rows = []
    for shape in shapes:
        budget = 5.0 if args.quick else 120.0
        row = bench_shape(shape, 3 if args.quick else args.repeats, budget, with_keras=not args.no_keras)
        print(
            json.dumps({k: (round(v, 6) if isinstance(v, float) else v) for k, v in row.items()}), flush=True
        )
        rows.append(row)
    if args.quick:
        return
    memory = peak_memory(16, 20_000, 16, 128)
    print(json.dumps(memory), flush=True)
    load = npy_load(64, 200, 512, 1024)
    print(json.dumps(load), flush=True)
    start = startup()
    print(json.dumps(start), flush=True)
    gflops = peak_gflops()
    print(json.dumps({"peak_gflops": gflops}), flush=True)
    (ROOT / "BENCHMARKS.md").write_text(write_markdown(rows, memory, start, load, gflops), encoding="utf-8")


if __name__ == "__main__":
    main()
