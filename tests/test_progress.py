"""The progress bar of long runs: drawn on stderr at a terminal (a pseudo-terminal here), never into a pipe,
never with a machine format, and never for a run that ends within about a second."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from lstm_cli.cli import progress as progress_module
from lstm_cli.cli.progress import StepsProgress
from tests.conftest import ROOT

STEPS = 1_000_000  # a run of some seconds: the bar shows after one


def long_run(folder: Path, steps: int, seed: int, **top: object) -> Path:
    """A 4-unit LSTM over `steps` steps of 2 features, its input in an .npy beside the config."""
    rng = np.random.default_rng(seed)
    np.save(folder / "x.npy", rng.normal(size=(1, steps, 2)))
    units = 4
    layer = {
        "type": "lstm",
        "units": units,
        "kernel": (rng.normal(size=(2, 4 * units)) / 2).round(3).tolist(),
        "recurrent_kernel": (rng.normal(size=(units, 4 * units)) / 2).round(3).tolist(),
        "bias": [0.0] * (4 * units),
    }
    path = folder / "long.yaml"
    path.write_text(yaml.safe_dump({"input": {"file": "x.npy"}, "layers": [layer], **top}))
    return path


@pytest.fixture(scope="module")
def long_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return long_run(tmp_path_factory.mktemp("long"), STEPS, 0)


def in_a_pipe(*args: str) -> subprocess.CompletedProcess[str]:
    """`lstm-cli ARGS` with stdout and stderr pipes, in a terminal-like environment otherwise."""
    return subprocess.run(
        [sys.executable, "-m", "lstm_cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "TERM": "xterm"},
    )


def stderr_at_a_terminal(*args: str) -> tuple[int, str]:
    """`lstm-cli ARGS` with stderr a pseudo-terminal and stdout thrown away: the exit code, and what the
    terminal was sent."""
    master, slave = os.openpty()
    environment = {**os.environ, "TERM": "xterm", "COLUMNS": "100"}
    process = subprocess.Popen(
        [sys.executable, "-m", "lstm_cli", *args],
        stdout=subprocess.DEVNULL,
        stderr=slave,
        cwd=ROOT,
        env=environment,
    )
    os.close(slave)
    sent = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the terminal's other end closed: the process has ended
            break
        if not chunk:
            break
        sent += chunk
    os.close(master)
    return process.wait(timeout=120), sent.decode(errors="replace")


pty = pytest.mark.skipif(not hasattr(os, "openpty"), reason="a pseudo-terminal is POSIX")


@pytest.mark.slow
@pty
def test_a_long_run_shows_a_bar_at_a_terminal(long_config: Path) -> None:
    code, sent = stderr_at_a_terminal("forward", str(long_config))
    assert code == 0
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", sent)  # without the terminal's colours and moves
    assert shown.startswith("forward: ━")
    assert f"{STEPS}/{STEPS} steps" in shown
    # transient: at the end the cursor is shown again, moved back up, and the bar's line erased
    assert sent.endswith("\x1b[?25h\r\x1b[1A\x1b[2K")


@pytest.mark.slow
@pty
def test_no_bar_with_a_machine_format_even_at_a_terminal(long_config: Path) -> None:
    code, sent = stderr_at_a_terminal("forward", str(long_config), "--format", "json")
    assert code == 0
    assert sent == ""


@pytest.mark.slow
def test_no_bar_into_a_pipe(long_config: Path) -> None:
    result = in_a_pipe("forward", str(long_config))
    assert result.returncode == 0
    assert result.stderr == ""
    assert result.stdout.startswith("lstm (LSTM): 4 units")  # the table, as without a terminal


def test_nothing_is_drawn_within_the_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter([0.0, 0.5, 0.9, 1.2, 1.3])
    monkeypatch.setattr(progress_module.time, "monotonic", lambda: next(clock))
    shown: list[int] = []
    monkeypatch.setattr(StepsProgress, "_show", lambda self: shown.append(self.done))
    progress = StepsProgress(total=100, description="forward:")  # started at 0.0
    progress(10)  # 0.5 s
    progress(10)  # 0.9 s
    assert shown == []
    progress(10)  # 1.2 s: past the delay, and not done
    assert shown == [30]


def test_a_run_done_by_the_delay_draws_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter([0.0, 1.5])
    monkeypatch.setattr(progress_module.time, "monotonic", lambda: next(clock))
    shown: list[int] = []
    monkeypatch.setattr(StepsProgress, "_show", lambda self: shown.append(self.done))
    StepsProgress(total=100, description="forward:")(100)  # the last chunk: nothing left to show
    assert shown == []


BACKWARD_STEPS = 100_000  # forward and backward: some seconds


@pytest.fixture(scope="module")
def long_backward_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return long_run(tmp_path_factory.mktemp("long_backward"), BACKWARD_STEPS, 1, loss={"type": "sum"})


@pytest.mark.slow
@pty
def test_backward_shows_one_bar_for_both_passes_at_a_terminal(long_backward_config: Path) -> None:
    code, sent = stderr_at_a_terminal("backward", str(long_backward_config))
    assert code == 0
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", sent)
    assert shown.startswith("backward: ━")
    assert f"/{2 * BACKWARD_STEPS} steps" in shown  # forward, then backward
    assert sent.endswith("\x1b[?25h\r\x1b[1A\x1b[2K")  # transient


@pytest.mark.slow
@pty
@pytest.mark.parametrize("output_format", ["json", "csv"])
def test_backward_draws_no_bar_with_a_machine_format(long_backward_config: Path, output_format: str) -> None:
    code, sent = stderr_at_a_terminal("backward", str(long_backward_config), "--format", output_format)
    assert code == 0
    assert sent == ""


@pytest.mark.slow
def test_backward_draws_no_bar_into_a_pipe(long_backward_config: Path) -> None:
    result = in_a_pipe("backward", str(long_backward_config))
    assert result.returncode == 0
    assert result.stderr == ""
    assert result.stdout.startswith("loss: sum of lstm = ")
