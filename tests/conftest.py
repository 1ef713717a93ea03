"""Shared test helpers: the CLI run in-process at a fixed terminal width, with stdout and stderr apart."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from lstm_cli.cli import app

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
WIDTH = 100


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str


def run_cli(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Run:
    """`lstm-cli ARGS...` in-process, COLUMNS pinned so that Rich lays tables out the same everywhere."""
    runner = CliRunner()
    environment = {"COLUMNS": str(WIDTH), "LINES": "50", "NO_COLOR": "1", "TERM": "dumb", **(env or {})}
    result = runner.invoke(app, list(args), input=input, env=environment, catch_exceptions=False)
    return Run(result.exit_code, result.stdout, result.stderr)


@pytest.fixture
def cli() -> object:
    return run_cli


@pytest.fixture(autouse=True)
def _keras_backend() -> None:
    os.environ.setdefault("KERAS_BACKEND", "torch")


def keras_activation(name: str | None) -> Any:
    """A config's activation as Keras 3 takes it: its name, except tf.keras 2's hard sigmoid, which Keras 3
    dropped. That one is its formula, clip(0.2x + 0.5, 0, 1), in Keras ops, so that the Keras LSTM still runs
    the cell around it. keras is imported only when that is asked for: tests must run without it."""
    if name != "hard_sigmoid_tf2":
        return name
    import keras

    return lambda x: keras.ops.clip(0.2 * x + 0.5, 0.0, 1.0)


GOLDEN = Path(__file__).resolve().parent / "golden"


def assert_golden(name: str, text: str) -> None:
    """Compare with tests/golden/NAME exactly; `LSTM_CLI_REGENERATE=1 pytest` rewrites the files instead."""
    path = GOLDEN / name
    if os.environ.get("LSTM_CLI_REGENERATE") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path}; run with LSTM_CLI_REGENERATE=1 to create it"
    assert text == path.read_text(encoding="utf-8")


# A module whose every test is slow says so first thing in its `pytestmark`.
ALL_SLOW = re.compile(r"^pytestmark = \[?\s*pytest\.mark\.slow\b", re.MULTILINE)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Under `-m "not slow"`, a module whose every test is slow is not even imported: the oracles import
    Keras and torch as they are collected, a third of the quick loop's start."""
    if config.getoption("markexpr") != "not slow" or collection_path.suffix != ".py":
        return None
    if not collection_path.name.startswith("test_"):
        return None
    return True if ALL_SLOW.search(collection_path.read_text(encoding="utf-8")) else None
