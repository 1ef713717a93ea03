"""`forward` through the command line: the seed's numbers in every format, golden tables, exit codes."""

import csv
import io
import json

import numpy as np
import pytest
import yaml
from conftest import CONFIGS, assert_golden, run_cli

import lstm_cli

SEED = str(CONFIGS / "seed.yaml")


def test_seed_json() -> None:
    run = run_cli("forward", SEED, "--format", "json")
    assert run.exit_code == 0
    assert run.stderr == ""
    assert json.loads(run.stdout) == {
        "dtype": "float64",
        "outputs": {"lstm": [[[0.0, 4.0, 0.0]]], "lstm.h": [[0.0, 4.0, 0.0]], "lstm.c": [[0.0, 4.0, 1.0]]},
    }


def test_seed_table_golden() -> None:
    run = run_cli("forward", SEED)
    assert run.exit_code == 0
    assert_golden("forward-seed.txt", run.stdout)
    assert "│ 0 │ [5, 2, 1] │ [1, 1, 0] │ [0, 2, 1] │ [2, 1, 0] │ [0, 4, 1] │ [0, 4, 0] │" in run.stdout


def test_builtin_seed_without_config() -> None:
    run = run_cli("forward", "--format", "json")
    assert run.exit_code == 0
    assert "built-in example `seed`" in run.stderr
    assert json.loads(run.stdout)["outputs"]["lstm.h"] == [[0.0, 4.0, 0.0]]
    assert run_cli("forward").stdout == run_cli("forward", SEED).stdout


def test_seed_expect_exits_1_and_names_the_value() -> None:
    run = run_cli("forward", str(CONFIGS / "seed-expect.yaml"), "--format", "json")
    assert run.exit_code == 1
    document = json.loads(run.stdout)
    assert document["mismatches"] == [{"ref": "lstm.h", "index": [0, 2], "expected": 1.0, "actual": 0.0}]
    table = run_cli("forward", str(CONFIGS / "seed-expect.yaml"))
    assert table.exit_code == 1
    assert "expect: 1 of 6 values differ" in table.stdout
    assert "│ lstm.h    │ [0, 2] │ 1        │ 0      │" in table.stdout


def test_expect_that_matches_exits_0(tmp_path) -> None:
    text = (CONFIGS / "seed.yaml").read_text() + "expect:\n  lstm.h: [[0, 4, 0]]\n  lstm.c: [[0, 4, 1]]\n"
    (tmp_path / "ok.yaml").write_text(text)
    run = run_cli("forward", str(tmp_path / "ok.yaml"))
    assert run.exit_code == 0
    assert "expect: all 6 values match" in run.stdout
    assert json.loads(run_cli("forward", str(tmp_path / "ok.yaml"), "-f", "json").stdout)["mismatches"] == []


def test_expect_matches_to_the_decimals_written(tmp_path) -> None:
    # sigmoid(5) = 0.99330715: written as 0.9933 it matches, as 0.993 too, but 0.9934 does not.
    base = {
        "input": [[[1.0]]],
        "layers": [{"type": "dense", "units": 1, "activation": "sigmoid", "kernel": [[5]], "bias": [0]}],
    }
    for written, code in (("0.9933", 0), ("0.993", 0), ("0.9934", 1), ("0.99330715", 0), ("1", 1)):
        path = tmp_path / "hand.yaml"
        path.write_text(yaml.safe_dump(base) + f"expect:\n  dense: [[[{written}]]]\n")
        assert run_cli("forward", str(path), "-f", "json").exit_code == code, written


def test_yaml_format_round_trips() -> None:
    run = run_cli("forward", SEED, "--format", "yaml")
    assert run.exit_code == 0
    assert yaml.safe_load(run.stdout)["outputs"]["lstm.c"] == [[0.0, 4.0, 1.0]]


def test_csv_is_tidy_and_complete() -> None:
    run = run_cli("forward", SEED, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(run.stdout)))
    assert list(rows[0]) == ["layer", "direction", "t", "sample", "unit", "quantity", "value"]
    h = [float(r["value"]) for r in rows if r["quantity"] == "h" and r["direction"] == "forward"]
    assert h == [0.0, 4.0, 0.0]
    o = [float(r["value"]) for r in rows if r["quantity"] == "o"]
    assert o == [2.0, 1.0, 0.0]
    outputs = [float(r["value"]) for r in rows if r["quantity"] == "c" and r["direction"] == ""]
    assert outputs == [0.0, 4.0, 1.0]


def test_csv_with_differing_expect_values_says_so_on_stderr() -> None:
    # CSV's columns hold values, not mismatches: exit 1 alone would leave the reader guessing why.
    for command in ("forward", "trace"):
        run = run_cli(command, str(CONFIGS / "seed-expect.yaml"), "--format", "csv")
        assert run.exit_code == 1
        assert run.stdout.startswith("layer,direction,t,sample,unit,quantity,value\n")
        assert (
            run.stderr == "lstm-cli: 1 value under expect: differs from the run; --format json lists them\n"
        )


def test_precision_and_whole_numbers() -> None:
    run = run_cli("forward", str(CONFIGS / "default-activations.yaml"), "--precision", "2")
    assert run.exit_code == 0
    assert "[0.26, 0.07]" in run.stdout  # h at t=0 of sample 0: 0.2602..., 0.0694...
    rounded = json.loads(
        run_cli("forward", str(CONFIGS / "default-activations.yaml"), "-f", "json", "--precision", "3").stdout
    )
    assert rounded["outputs"]["lstm.h"][0] == [0.089, 0.099]


def test_numbers_at_the_ends_of_the_range_read_well(tmp_path) -> None:
    # Dense on x = [1, 0] with no bias gives the kernel's first row back: small negatives round to 0 (never
    # -0), 1e20 and -1e300 show in exponent form rather than as hundreds of digits, 123456.5 stays as it is.
    config = tmp_path / "ends.yaml"
    config.write_text(
        "input: [[[1, 0]]]\nlayers:\n  - type: dense\n    units: 4\n"
        "    kernel: [[-0.00004, 1e20, -1e300, 123456.5], [0, 0, 0, 0]]\n    bias: [0, 0, 0, 0]\n"
    )
    table = run_cli("forward", str(config), env={"COLUMNS": "200"}).stdout
    assert "[[[0.0000, 1.0000e+20, -1.0000e+300, 123456.5000]]]" in table
    rounded = json.loads(run_cli("forward", str(config), "-f", "json", "--precision", "0").stdout)
    assert json.dumps(rounded["outputs"]["dense"]) == "[[[0.0, 1e+20, -1e+300, 123456.0]]]"
    csv_text = run_cli("forward", str(config), "-f", "csv", "--precision", "0").stdout
    assert ",0.0\n" in csv_text and "-0.0" not in csv_text
    written = run_cli("convert", str(config), "-o", "-").stdout
    assert "kernel: [[  -4e-05,    1e+20,  -1e+300, 123456.5]," in written  # and it reads back the same:
    (tmp_path / "again.yaml").write_text(written)
    again = lstm_cli.forward(tmp_path / "again.yaml")["dense"]
    assert again.tolist() == lstm_cli.forward(config)["dense"].tolist()


def test_batch_table_has_a_sample_column() -> None:
    run = run_cli("forward", str(CONFIGS / "default-activations.yaml"))
    assert "┃ t ┃ sample ┃ unit ┃" in run.stdout  # 2 units' vectors do not fit 100 columns: the long layout


@pytest.mark.parametrize("name", ["seed", "default-activations", "pytorch-layout", "stacked"])
def test_every_example_runs_and_agrees_with_the_api(name: str) -> None:
    path = str(CONFIGS / f"{name}.yaml")
    run = run_cli("forward", path, "-f", "json")
    assert run.exit_code == 0, run.stderr
    api = lstm_cli.forward(path)
    cli_outputs = json.loads(run.stdout)["outputs"]
    assert set(cli_outputs) == set(api)
    for ref, value in api.items():
        np.testing.assert_array_equal(np.array(cli_outputs[ref]), value)


def test_dtype_flag_wins_over_the_config() -> None:
    run = run_cli("forward", str(CONFIGS / "stacked.yaml"), "-f", "json", "--dtype", "float32")
    assert json.loads(run.stdout)["dtype"] == "float32"
    out32 = lstm_cli.forward(str(CONFIGS / "stacked.yaml"), dtype="float32")
    assert out32["classifier"].dtype == np.float32
    out64 = lstm_cli.forward(str(CONFIGS / "stacked.yaml"))
    np.testing.assert_allclose(out32["classifier"], out64["classifier"], rtol=1e-5)


@pytest.mark.parametrize("dtype", ["float32", "f4", np.float32, np.dtype("float32")])
def test_api_dtype_may_be_named_as_numpy_names_it(dtype) -> None:
    out = lstm_cli.forward(str(CONFIGS / "stacked.yaml"), dtype=dtype)
    assert out["classifier"].dtype == np.float32
    steps = lstm_cli.trace(str(CONFIGS / "stacked.yaml"), dtype=dtype)
    assert steps["dtype"] == "float32"


@pytest.mark.parametrize("dtype", [np.int32, "float16", "no such type", object()])
def test_api_refuses_other_dtypes(dtype) -> None:
    with pytest.raises(lstm_cli.LstmCliError, match="dtype must be one of float32, float64"):
        lstm_cli.forward(str(CONFIGS / "stacked.yaml"), dtype=dtype)


def test_api_takes_a_mapping_with_numpy_arrays() -> None:
    config = yaml.safe_load((CONFIGS / "seed.yaml").read_text())
    layer = config["layers"][0]
    for key in ("kernel", "recurrent_kernel", "bias"):
        layer[key] = np.array(layer[key], dtype=np.float32)
    config["input"] = np.array([[[1.0, 0.0]]])
    out = lstm_cli.forward(config)
    assert out["lstm.h"].tolist() == [[0, 4, 0]]


def test_api_takes_a_path_for_an_array_file(tmp_path) -> None:
    config = yaml.safe_load((CONFIGS / "seed.yaml").read_text())
    np.save(tmp_path / "x.npy", np.array([[[1.0, 0.0]]]))
    config["input"] = {"file": tmp_path / "x.npy"}  # a pathlib.Path, as str(...) would be
    assert lstm_cli.forward(config)["lstm.h"].tolist() == [[0, 4, 0]]


def test_user_text_is_not_markup(tmp_path) -> None:
    lines = (CONFIGS / "seed.yaml").read_text().splitlines(keepends=True)
    text = "description: '[bold red]not markup[/] check'\n" + "".join(lines[1:])
    (tmp_path / "m.yaml").write_text(text)
    run = run_cli("forward", str(tmp_path / "m.yaml"))
    assert "[bold red]not markup[/] check" in run.stdout


def test_overflow_is_an_error_not_a_row_of_inf(tmp_path) -> None:
    # Identity activations with weights 10: c grows ×10 each step and overflows float32 within ~40 steps.
    config = {
        "dtype": "float32",
        "input": [[[1.0]] * 60],
        "layers": [
            {
                "type": "lstm",
                "units": 1,
                "activation": None,
                "recurrent_activation": None,
                "kernel": [[10, 10, 10, 10]],
                "recurrent_kernel": [[10, 10, 10, 10]],
                "bias": [0, 0, 0, 0],
            }
        ],
    }
    (tmp_path / "big.yaml").write_text(yaml.safe_dump(config))
    run = run_cli("forward", str(tmp_path / "big.yaml"), "-f", "json")
    assert run.exit_code == 2
    assert run.stdout == ""
    assert "layer 'lstm' overflowed to inf or NaN at timestep" in run.stderr
    assert "Infinity" not in run.stdout


def test_streamed_json_equals_the_whole_document() -> None:
    from lstm_cli.formats import forward_document, to_json, write_json

    rng = np.random.default_rng(0)
    values = {
        "big": rng.normal(size=(3, 700, 5)),
        "small": rng.normal(size=(2, 3)),
        "one": rng.normal(size=4),
    }
    for precision in (None, 3):
        stream = io.StringIO()
        write_json(stream, forward_document("float64", values, [], lists=False), precision)
        assert stream.getvalue() == to_json(forward_document("float64", values, [], precision))


def test_a_long_run_shows_a_bounded_table_and_says_what_it_left_out(tmp_path) -> None:
    rng = np.random.default_rng(1)
    timesteps, features, units = 300, 3, 20
    for name, array in {
        "x": rng.normal(size=(2, timesteps, features)),
        "k": rng.normal(size=(features, 4 * units)),
        "r": rng.normal(size=(units, 4 * units)) / 5,
        "b": np.zeros(4 * units),
    }.items():
        np.save(tmp_path / f"{name}.npy", array)
    (tmp_path / "long.yaml").write_text(
        "input: {file: x.npy}\nlayers:\n  - type: lstm\n    units: 20\n    kernel: {file: k.npy}\n"
        "    recurrent_kernel: {file: r.npy}\n    bias: {file: b.npy}\n"
    )
    run = run_cli("forward", str(tmp_path / "long.yaml"))
    assert run.exit_code == 0
    # long, 8 units a step: t = 0 and 1 (3 samples' worth of rows, 24) and the last sample of t = 299
    assert (
        "4768 of 4800 rows left out; units 8 to 19 left out; --format json or csv gives every value\n"
        in run.stdout
    )
    assert run.stdout.count("⋮") == 8
    lines = [line for line in run.stdout.splitlines() if line.startswith("│ ")]
    assert lines[24].startswith("│   ⋮ │        │    ⋮ │      ⋮ │")
    assert lines[0].startswith("│   0 │      0 │    0 │") and lines[25].startswith("│ 299 │      1 │    0 │")
    assert lines[32].startswith("│     │        │    7 │") and not lines[33].startswith("│     │")


def test_window_keeps_only_the_steps_a_table_shows() -> None:
    from lstm_cli.config import load_model
    from lstm_cli.engine import run_model

    model = load_model(str(CONFIGS / "stacked.yaml"))
    result = run_model(model, record=True, window=(1, 1))
    assert [[record.t for record in trace.steps] for trace in result.traces] == [[0, 3], [0, 3]]
    assert all(trace.timesteps == 4 for trace in result.traces)
    full = run_model(model, record=True)
    np.testing.assert_array_equal(result.traces[1].steps[-1].h, full.traces[1].steps[-1].h)


def test_a_whole_number_written_with_decimals_is_still_exact(tmp_path) -> None:
    # sigmoid(5) = 0.99330715, so "1.0" (exactly one) does not match, while "0.99" does, to its two decimals.
    base = {
        "input": [[[1.0]]],
        "layers": [{"type": "dense", "units": 1, "activation": "sigmoid", "kernel": [[5]], "bias": [0]}],
    }
    for written, code in (("1.0", 1), ("1.00", 1), ("0.99", 0)):
        path = tmp_path / "hand.yaml"
        path.write_text(yaml.safe_dump(base) + f"expect:\n  dense: [[[{written}]]]\n")
        assert run_cli("forward", str(path), "-f", "json").exit_code == code, written
