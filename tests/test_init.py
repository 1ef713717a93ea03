"""`init`: Keras's (or PyTorch's) initialisers, checked statistically; seeded files; runnable output."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from conftest import run_cli

from lstm_cli.architecture import Architecture
from lstm_cli.config import example_names, example_text, load_model
from lstm_cli.init import init_config
from lstm_cli.initializers import glorot_uniform, lstm_bias, orthogonal, torch_uniform
from lstm_cli.yamlwriter import dump_yaml, flow_array


def written(*args: str) -> str:
    run = run_cli("init", *args)
    assert run.exit_code == 0, run.stderr
    return run.stdout


def weights_of(text: str) -> list[dict[str, Any]]:
    """The layers as written, arrays as numpy (the file is plain YAML: any YAML reader takes it)."""
    layers = yaml.safe_load(text)["layers"]
    return [
        {key: np.array(value) if isinstance(value, list) else value for key, value in layer.items()}
        for layer in layers
    ]


# -- the initialisers themselves ---------------------------------------------------------------------------


def test_glorot_uniform_stays_within_its_limit_and_fills_it() -> None:
    rng = np.random.default_rng(0)
    kernel = glorot_uniform(rng, (64, 4 * 96))
    limit = math.sqrt(6 / (64 + 4 * 96))
    assert np.abs(kernel).max() <= limit
    assert np.abs(kernel).max() > 0.99 * limit
    assert abs(kernel.mean()) < 0.01 * limit
    assert kernel.var() == pytest.approx(limit**2 / 3, rel=0.03)  # the variance of U(-a, a) is a²/3


@pytest.mark.parametrize(("rows", "cols"), [(1, 4), (3, 12), (64, 256), (12, 3)])
def test_orthogonal_has_orthonormal_rows_for_recurrent_kernels(rows: int, cols: int) -> None:
    matrix = orthogonal(np.random.default_rng(1), (rows, cols))
    assert matrix.shape == (rows, cols)
    if rows <= cols:
        np.testing.assert_allclose(matrix @ matrix.T, np.eye(rows), atol=1e-12)
    else:
        np.testing.assert_allclose(matrix.T @ matrix, np.eye(cols), atol=1e-12)


def test_orthogonal_matches_keras_statistics() -> None:
    """Keras's Orthogonal draws Q with signs fixed by diag(R): no sign or direction is favoured."""
    rng = np.random.default_rng(2)
    firsts = np.array([orthogonal(rng, (3, 12))[0, 0] for _ in range(4000)])
    assert abs(firsts.mean()) < 0.02
    assert firsts.var() == pytest.approx(1 / 12, rel=0.08)  # a unit row of 12 values: E[x²] = 1/12


def test_lstm_bias_is_zero_but_the_forget_slice() -> None:
    bias = lstm_bias(3)
    assert bias.tolist() == [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0]


def test_torch_uniform_bound() -> None:
    values = torch_uniform(np.random.default_rng(3), (4 * 50, 50), 50)
    bound = 1 / math.sqrt(50)
    assert np.abs(values).max() <= bound
    assert values.var() == pytest.approx(bound**2 / 3, rel=0.05)


@pytest.mark.slow  # an oracle: Keras
@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
def test_keras_initialisers_agree_with_keras_statistics() -> None:
    """The same statistics hold for Keras's own initialisers (skipped without Keras)."""
    keras = pytest.importorskip("keras")
    numpy = keras.ops.convert_to_numpy
    kernel = numpy(keras.initializers.GlorotUniform(seed=0)((64, 384)))
    ours = glorot_uniform(np.random.default_rng(0), (64, 384))
    assert np.abs(kernel).max() <= math.sqrt(6 / (64 + 384)) + 1e-7
    assert kernel.var() == pytest.approx(ours.var(), rel=0.06)
    recurrent = numpy(keras.initializers.Orthogonal(seed=0)((16, 64))).astype(np.float64)
    np.testing.assert_allclose(recurrent @ recurrent.T, np.eye(16), atol=1e-5)
    layer = keras.layers.LSTM(5)
    layer.build((None, None, 2))
    np.testing.assert_array_equal(numpy(layer.weights[2]), lstm_bias(5))


# -- the file init writes ----------------------------------------------------------------------------------


def test_written_weights_follow_keras_defaults() -> None:
    layers = weights_of(written("--units", "16", "--features", "5", "--seed", "4", "--precision", "8"))
    kernel, recurrent, bias = layers[0]["kernel"], layers[0]["recurrent_kernel"], layers[0]["bias"]
    assert kernel.shape == (5, 64) and recurrent.shape == (16, 64) and bias.shape == (64,)
    assert np.abs(kernel).max() <= math.sqrt(6 / (5 + 64))
    np.testing.assert_allclose(recurrent @ recurrent.T, np.eye(16), atol=1e-6)  # orthonormal rows
    assert bias.tolist() == [0] * 16 + [1] * 16 + [0] * 32  # the forget gate starts open


def test_default_precision_keeps_rows_orthonormal_to_rounding() -> None:
    layers = weights_of(written("--units", "3", "--features", "2", "--seed", "0"))
    recurrent = layers[0]["recurrent_kernel"]
    np.testing.assert_allclose(recurrent @ recurrent.T, np.eye(3), atol=1e-3)


def test_pytorch_init_writes_pytorch_layout() -> None:
    text = written("--units", "4", "--features", "3", "--init", "pytorch", "--seed", "5", "--dense", "2")
    lstm, dense = weights_of(text)
    assert lstm["weight_ih"].shape == (16, 3) and lstm["weight_hh"].shape == (16, 4)
    assert lstm["bias_ih"].shape == lstm["bias_hh"].shape == (16,)
    assert max(np.abs(lstm[key]).max() for key in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")) <= 0.5
    assert dense["kernel"].shape == (4, 2) and np.abs(dense["kernel"]).max() <= 0.5  # 1/sqrt(4 inputs)
    assert "--init pytorch" in text.splitlines()[0]


def test_same_seed_same_file_and_another_seed_another() -> None:
    args = ("--units", "3", "--features", "2", "--dense", "1")
    first = written(*args, "--seed", "42")
    assert written(*args, "--seed", "42") == first
    assert written(*args, "--seed", "43") != first
    arch = Architecture(units=(3,), features=2, timesteps=3, batch=1, dense=(1,))
    assert init_config(arch, seed=42) == first


def test_the_file_says_how_to_write_it_again() -> None:
    text = written("--units", "3", "--features", "2", "--seed", "9")
    first = text.splitlines()[0]
    assert first == "# Written by `lstm-cli init --units 3 --features 2 --timesteps 3 --batch 1 --seed 9`."
    assert written(*first.split("`")[1].split()[2:]) == text


def test_without_a_seed_the_file_records_the_one_drawn() -> None:
    text = written()
    command = text.splitlines()[0].split("`")[1].split()
    assert "--seed" in command
    assert written(*command[2:]) == text


def test_three_units_read_like_the_seed() -> None:
    """Flow-style rows, one a line, aligned under the first: the seed config's layout."""
    lines = written("--seed", "0").splitlines()
    kernel = next(i for i, line in enumerate(lines) if line.startswith("    kernel: [["))
    assert lines[kernel + 1].startswith("             [") and lines[kernel + 1].endswith("]]")
    assert (
        lines[kernel - 1]
        == "    # Gates side by side along the last axis: i (columns 0-2), f (3-5), g (6-8), o (9-11)."
    )
    assert "    bias: [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0]" in lines
    assert lines[lines.index("layers:") + 1] == "  - type: lstm"


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("--units", "4", "--units", "3", "--dense", "2", "--dense", "1", "--batch", "2"),
        ("--return-sequences", "--dense", "1", "--timesteps", "5"),
        ("--init", "pytorch", "--units", "2", "--features", "3"),
    ],
)
def test_forward_runs_on_what_init_wrote(args: tuple[str, ...], tmp_path: Path) -> None:
    path = tmp_path / "model.yaml"
    run = run_cli("init", *args, "--seed", "1", "-o", str(path))
    assert run.exit_code == 0, run.stderr
    assert run.stdout == ""
    assert run.stderr == f"lstm-cli: wrote {path}\n"
    forward = run_cli("forward", str(path), "--format", "json")
    assert forward.exit_code == 0, forward.stderr
    outputs = json.loads(forward.stdout)["outputs"]
    assert all(np.isfinite(np.array(value)).all() for value in outputs.values())


def test_init_output_matches_keras_and_summary(tmp_path: Path) -> None:
    """What init writes loads as the model asked for: the summary counts the same parameters."""
    path = tmp_path / "model.yaml"
    run_cli(
        "init",
        "--units",
        "8",
        "--units",
        "4",
        "--features",
        "3",
        "--dense",
        "2",
        "--seed",
        "0",
        "-o",
        str(path),
    )
    model = load_model(path)
    assert [layer.units for layer in model.layers] == [8, 4, 2]
    summary = json.loads(run_cli("summary", str(path), "-f", "json").stdout)
    assert summary["total_params"] == 4 * 8 * (3 + 8 + 1) + 4 * 4 * (8 + 4 + 1) + 2 * (4 + 1)


def test_output_file_is_not_overwritten_without_force(tmp_path: Path) -> None:
    path = tmp_path / "model.yaml"
    path.write_text("mine\n")
    run = run_cli("init", "--seed", "0", "-o", str(path))
    assert run.exit_code == 2
    assert run.stderr == f"lstm-cli: error: {path}: already exists; add --force to overwrite it\n"
    assert path.read_text() == "mine\n"
    assert run_cli("init", "--seed", "0", "-o", str(path), "--force").exit_code == 0
    assert path.read_text() == written("--seed", "0")


def test_unwritable_output_is_exit_2(tmp_path: Path) -> None:
    run = run_cli("init", "-o", str(tmp_path / "missing" / "model.yaml"))
    assert run.exit_code == 2
    assert run.stderr.startswith("lstm-cli: error: ") and "cannot write" in run.stderr


# -- examples ----------------------------------------------------------------------------------------------


def test_example_list_names_every_builtin_example() -> None:
    lines = written("--example", "list").splitlines()
    names = [line.split()[0] for line in lines]
    assert names == example_names()
    assert "seed" in names and "seq2seq-architecture" in names
    assert any(line.startswith("seed ") and "hand check" in line for line in lines)


def test_example_list_refuses_an_output_file(tmp_path: Path) -> None:
    run = run_cli("init", "--example", "list", "-o", str(tmp_path / "list.txt"))
    assert (run.exit_code, run.stdout) == (2, "")
    assert run.stderr == "lstm-cli: error: --example list prints the examples' names; drop -o and --force\n"
    assert not (tmp_path / "list.txt").exists()


@pytest.mark.parametrize("name", ["seed", "seq2seq-architecture"])
def test_example_is_written_as_shipped(name: str, tmp_path: Path) -> None:
    assert written("--example", name) == example_text(name)
    path = tmp_path / f"{name}.yaml"
    assert run_cli("init", "--example", name, "-o", str(path)).exit_code == 0
    assert path.read_text(encoding="utf-8") == example_text(name)


def test_forward_runs_on_the_seed_example_init_wrote(tmp_path: Path) -> None:
    path = tmp_path / "seed.yaml"
    run_cli("init", "--example", "seed", "-o", str(path))
    assert json.loads(run_cli("forward", str(path), "-f", "json").stdout)["outputs"]["lstm.h"] == [
        [0.0, 4.0, 0.0]
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--example", "nope"), "lstm-cli: error: unknown example 'nope'; choose one of: "),
        (
            ("--example", "seed", "--units", "3"),
            "lstm-cli: error: --example writes a built-in example as it is",
        ),
        (("--units", "70000"), "lstm-cli: error: Invalid value for '--units'"),
        (("--units", "2000", "--features", "2000"), "lstm-cli: error: that config would hold"),
    ],
)
def test_init_usage_errors(args: tuple[str, ...], message: str) -> None:
    run = run_cli("init", *args)
    assert run.exit_code == 2
    assert run.stdout == ""
    assert run.stderr.startswith(message)


# -- the YAML writer ---------------------------------------------------------------------------------------


def test_flow_arrays_align_rows_under_the_first() -> None:
    assert (
        flow_array([[1, -0.5], [0.25, 2]], column=12, precision=2)
        == "[[    1, -0.50],\n             [ 0.25,     2]]"
    )
    assert flow_array([0.0, 1.0, -0.0], column=0) == "[0, 1, 0]"
    assert flow_array(np.zeros((2, 1, 2)), column=7) == "[[[0, 0]],\n        [[0, 0]]]"


def test_dump_yaml_reads_back_through_the_config_reader(tmp_path: Path) -> None:
    data = {
        "description": "quotes: 'and' colons # and hashes",
        "input": np.array([[[0.5, -1.25]]]),
        "layers": [{"type": "dense", "units": 1, "kernel": [[2.0], [3.0]], "bias": [0.125]}],
    }
    path = tmp_path / "dumped.yaml"
    path.write_text(dump_yaml(data, comments={("layers", 0, "kernel"): "a comment"}))
    model = load_model(path)
    assert model.description == data["description"]
    assert model.layers[0].kernel.tolist() == [[2.0], [3.0]]  # type: ignore[union-attr]
    assert "    # a comment\n    kernel: [[2],\n             [3]]\n" in path.read_text()
