"""Start-up of `lstm-cli summary --units 3 --features 2` against its floor, `import typer, rich.table`.

    python benchmarks/startup.py                 # 21 interleaved pairs in each mode
    python benchmarks/startup.py --pairs 41 --mode wheel

A pair is the two commands run back to back in fresh processes, in alternating order; the ratio is the
median of the pairs' ratios, so that a shared machine's slow moments slow both sides of a pair alike.

Bytecode matters here, so there are three modes. `wheel`: this checkout built as a wheel and installed
with pip into a temporary folder, which byte-compiles it, as an installed lstm-cli is. `bytecode`: the
checkout itself, with every module's cache (stdlib's too) in a fresh PYTHONPYCACHEPREFIX, written by
untimed warm-up runs. `source`: the checkout's modules, copied without their __pycache__, run with
PYTHONDONTWRITEBYTECODE=1, as a development shell may run them: typer and rich load their caches from
site-packages, but lstm-cli's modules are compiled again on every run. Not a test: nothing here is asserted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLOOR = [sys.executable, "-c", "import typer, rich.table"]
# What the `lstm-cli` console script runs, without the script's file lookup.
COMMAND = [
    sys.executable,
    "-c",
    "import sys; from lstm_cli.cli import main; sys.exit(main())",
    "summary",
    "--units",
    "3",
    "--features",
    "2",
]
MODES = ("wheel", "bytecode", "source")


@contextmanager
def environment(mode: str) -> Iterator[tuple[dict[str, str], str]]:
    """The environment and working folder of one mode. The folder is an empty one: `python -c` puts the
    working folder first on sys.path, where a checkout's lstm_cli would hide the one being measured."""
    with tempfile.TemporaryDirectory(prefix="lstm-cli-startup-") as work:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        env.pop("PYTHONPYCACHEPREFIX", None)
        if mode == "source":
            env["PYTHONDONTWRITEBYTECODE"] = "1"
            env["PYTHONPATH"] = _copied(Path(work))  # a checkout's __pycache__ would be read
        elif mode == "bytecode":
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(Path(work) / "pycache")  # every module's cache goes here
        else:
            env["PYTHONDONTWRITEBYTECODE"] = "1"  # pip has compiled the wheel; nothing else is written
            env["PYTHONPATH"] = _installed(Path(work))
        yield env, work


def _copied(work: Path) -> str:
    """This checkout's lstm_cli, without any bytecode, copied into `work`/src; returns that folder."""
    source = work / "src"
    shutil.copytree(ROOT / "lstm_cli", source / "lstm_cli", ignore=shutil.ignore_patterns("__pycache__"))
    return str(source)


def _installed(work: Path) -> str:
    """This checkout, built as a wheel and installed into `work`/site; returns that folder."""
    source, wheels, site = work / "src", work / "wheels", work / "site"
    ignore = shutil.ignore_patterns(".git", "__pycache__", "build", "*.egg-info", ".*cache", ".hypothesis")
    shutil.copytree(ROOT, source, ignore=ignore)  # so that the build leaves nothing in the checkout
    pip = [sys.executable, "-m", "pip", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", wheels, source], check=True)
    wheel = next(wheels.glob("*.whl"))
    subprocess.run([*pip, "install", "--no-deps", "--no-index", "--target", site, wheel], check=True)
    return str(site)


def _seconds(argv: Sequence[str], env: dict[str, str], cwd: str) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def pairs(env: dict[str, str], cwd: str, count: int) -> list[tuple[float, float]]:
    """(floor, command) seconds, `count` times, the order within a pair alternating."""
    for argv in (FLOOR, COMMAND, FLOOR, COMMAND):  # untimed: fills the caches, and fails loudly
        _seconds(argv, env, cwd)
    timed = []
    for index in range(count):
        if index % 2:
            command, floor = _seconds(COMMAND, env, cwd), _seconds(FLOOR, env, cwd)
        else:
            floor, command = _seconds(FLOOR, env, cwd), _seconds(COMMAND, env, cwd)
        timed.append((floor, command))
    return timed


def own_import_ms(env: dict[str, str], cwd: str, runs: int = 5) -> float:
    """`python -X importtime`: the self time of lstm-cli's modules, summed; the median of `runs` runs."""
    argv = [sys.executable, "-X", "importtime", *COMMAND[1:]]
    totals = []
    for _ in range(runs):
        lines = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True).stderr.splitlines()
        own = 0
        for line in lines:  # import time: self [us] | cumulative | imported package
            fields = line.removeprefix("import time:").split("|")
            if len(fields) == 3 and fields[0].strip().isdigit() and fields[2].strip().startswith("lstm_cli"):
                own += int(fields[0])
        totals.append(own / 1e3)
    return statistics.median(totals)


def measure(mode: str, count: int, importtime_runs: int = 5) -> dict[str, float]:
    with environment(mode) as (env, cwd):
        where = subprocess.run(
            [sys.executable, "-c", "import lstm_cli; print(lstm_cli.__file__)"],
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        if not where.startswith(env["PYTHONPATH"].split(os.pathsep)[0]):
            raise RuntimeError(f"{mode}: lstm_cli came from {where.strip()}, not the lstm-cli measured")
        timed = pairs(env, cwd, count)
        own = own_import_ms(env, cwd, importtime_runs)
    return {
        "pairs": count,
        "floor_ms": statistics.median(f for f, _ in timed) * 1e3,
        "command_ms": statistics.median(c for _, c in timed) * 1e3,
        "ratio": statistics.median(c / f for f, c in timed),
        "added_ms": statistics.median((c - f) * 1e3 for f, c in timed),
        "lstm_cli_self_ms": own,
    }


def report(mode: str, result: dict[str, float]) -> str:
    return (
        f"{mode}: summary {result['command_ms']:.0f} ms against {result['floor_ms']:.0f} ms for "
        f"`import typer, rich.table`: ratio {result['ratio']:.2f} (median of {result['pairs']:.0f} pairs), "
        f"{result['added_ms']:.0f} ms added; `-X importtime`: lstm_cli's modules "
        f"{result['lstm_cli_self_ms']:.1f} ms of their own"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pairs", type=int, default=21)
    parser.add_argument("--mode", choices=[*MODES, "all"], default="all")
    args = parser.parse_args()
    for mode in MODES if args.mode == "all" else (args.mode,):
        print(report(mode, measure(mode, args.pairs)), flush=True)


if __name__ == "__main__":
    main()
