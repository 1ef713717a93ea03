"""`trace`: golden views of the seed, `--step` from a pipe, JSON steps that recompute, `--explain`'s numbers.

Golden files live in tests/golden/; `LSTM_CLI_REGENERATE=1 python -m pytest tests/test_trace.py` rewrites them
after an intended change to a view (then read the diff before committing it).
"""

from __future__ import annotations

import csv
import io
import json
import re
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from conftest import CONFIGS, assert_golden, run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

import lstm_cli
from lstm_cli.config import load_model
from lstm_cli.formats import write_json
from lstm_cli.model import BidirectionalLayer, LstmLayer, MaskingLayer, Model
from lstm_cli.tracing import explain_unit, locate, run_trace, trace_document

SEED = str(CONFIGS / "seed.yaml")
SEED_EXPECT = str(CONFIGS / "seed-expect.yaml")
DEFAULTS = str(CONFIGS / "default-activations.yaml")
STACKED = str(CONFIGS / "stacked.yaml")


# -- golden views ------------------------------------------------------------------------------------------


def test_seed_trace_golden() -> None:
    run = run_cli("trace", SEED)
    assert run.exit_code == 0, run.stderr
    assert run.stderr == ""
    assert_golden("trace-seed.txt", run.stdout)


def test_seed_explain_golden() -> None:
    run = run_cli("trace", SEED_EXPECT, "--explain")
    assert run.exit_code == 1  # the blog's h[2] = 1 differs, as in `forward`
    assert_golden("trace-seed-explain.txt", run.stdout)


def test_seed_heatmap_golden() -> None:
    run = run_cli("trace", SEED, "--view", "heatmap")
    assert run.exit_code == 0, run.stderr
    assert_golden("trace-seed-heatmap.txt", run.stdout)


def test_heatmap_of_a_batch_golden() -> None:
    run = run_cli("trace", DEFAULTS, "--view", "heatmap")
    assert run.exit_code == 0, run.stderr
    assert_golden("trace-default-activations-heatmap.txt", run.stdout)


def test_the_issue_s_example_lines_appear_verbatim() -> None:
    out = run_cli("trace", SEED, "--explain").stdout
    assert "z_i[0] = x·W_i[:,0] + h_prev·U_i[:,0] + b_i[0] = 1·2 + 0·1 + (0·1 + 0·1 + 0·1) + 3 = 5" in out
    assert "i[0] = linear(z_i[0]) = linear(5) = 5" in out
    assert "c[2] = f[2]·c_prev[2] + i[2]·g[2] = 0·0 + 1·1 = 1" in out
    assert "h[2] = o[2]·linear(c[2]) = 0·1 = 0" in out
    sigmoid = run_cli("trace", DEFAULTS, "--explain", "--timestep", "0", "--sample", "0").stdout
    assert "i[0] = sigmoid(z_i[0]) = sigmoid(0.3250) = 0.5805" in sigmoid


def test_without_config_runs_the_seed_and_says_so() -> None:
    run = run_cli("trace")
    assert run.exit_code == 0
    assert "built-in example `seed`" in run.stderr
    assert run.stdout == run_cli("trace", SEED).stdout


# -- `expect:` mismatches are explained first ----------------------------------------------------------------


def test_seed_mismatch_says_where_hand_and_run_part() -> None:
    out = run_cli("trace", SEED_EXPECT).stdout
    lines = out.splitlines()
    assert lines[1] == "expect: 1 of 6 values differ. Where the hand value and the run part:"
    assert lines[2] == "lstm.h[0, 2]: by hand 1, the run gives 0"
    assert lines[3] == "  where: h[2] of layer lstm at t = 0 (its last step), sample 0"
    assert "so hand and run part at o[2]: h[2] = 1 needs o[2] = 1, and the run has o[2] = 0" in " ".join(
        line.strip() for line in lines[4:6]
    )
    assert (
        "    z_o[2] = x·W_o[:,2] + h_prev·U_o[:,2] + b_o[2] = 1·0 + 0·0 + (0·0 + 0·0 + 0·0) + 0 = 0" in lines
    )
    assert (
        "  hint: 1 is linear(c[2]): as if the output gate o[2] = 0 had been left out (h = o·act(c))" in lines
    )
    assert out.index("expect:") < out.index("lstm (LSTM)")  # explained before the steps


def test_a_cell_state_slip_is_named(tmp_path: Path) -> None:
    """By hand, c = i·g at the last step (the f·c_prev term forgotten): trace names that term."""
    document = lstm_cli.trace(DEFAULTS)
    last = document["layers"][0]["steps"][-1]
    hand = last["gates"]["i"][0][0] * last["gates"]["g"][0][0]
    config = yaml.safe_load(Path(DEFAULTS).read_text())
    expected = lstm_cli.forward(DEFAULTS)["lstm.c"].tolist()
    expected[0][0] = hand
    config["expect"] = {"lstm.c": expected}
    path = tmp_path / "slip.yaml"
    path.write_text(yaml.safe_dump(config))
    run = run_cli("trace", str(path), "--timestep", "0")
    assert run.exit_code == 1
    assert "lstm.c[0, 0]: by hand -0.3208, the run gives 0.1745" in run.stdout
    assert "where: c[0] of layer lstm at t = 2 (its last step), sample 0" in run.stdout
    assert (
        "why: c[0] = f[0]·c_prev[0] + i[0]·g[0] = 0.4953 + (-0.3208); by hand it is 0.4953 less" in run.stdout
    )
    assert "hint: -0.3208 is i[0]·g[0]: as if f[0]·c_prev[0] had been left out" in run.stdout


def test_mid_sequence_and_dense_mismatches(tmp_path: Path) -> None:
    """A sequence value mid-run (no hand c to lean on) names what each factor would need; Dense is named."""
    path = tmp_path / "stacked.yaml"
    encoder = np.round(lstm_cli.forward(STACKED)["encoder"], 3).tolist()
    encoder[0][2][1] = 0.5
    expect = yaml.safe_dump({"expect": {"classifier": [[0.1, 0.3, 0.4]], "encoder": encoder}})
    path.write_text(Path(STACKED).read_text() + expect)
    run = run_cli("trace", str(path), "--layer", "summariser", env={"COLUMNS": "200"})
    assert run.exit_code == 1
    lines = run.stdout.splitlines()
    assert lines[1] == "expect: 2 of 15 values differ. Where the hand value and the run part:"
    assert lines[2] == "encoder[0, 2, 1]: by hand 0.5000, the run gives 0.5812"  # the earliest first
    assert lines[3] == "  where: h[1] of layer encoder at t = 2 (step 3 of 4), sample 0"
    assert lines[4] == (
        "  why: h[1] = o[1]·tanh(c[1]); 0.5000 would need o[1] = 0.6204 (the run has 0.7211) "
        "or tanh(c[1]) = 0.6933 (the run has 0.8060): check o[1] and c[1]"
    )
    assert "classifier[0, 0]: by hand 0.1000, the run gives 0.3447" in lines
    assert "  where: the output of the dense layer classifier" in lines


def test_matching_expectations_say_so(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(Path(SEED).read_text() + "expect:\n  lstm.h: [[0, 4, 0]]\n")
    run = run_cli("trace", str(path))
    assert run.exit_code == 0
    assert "expect: all 3 values match" in run.stdout


# -- `--step`, answered from a pipe ------------------------------------------------------------------------

STEP_TITLE = re.compile(r"^(encoder|summariser) · t = (\d)", re.M)


def shown_steps(out: str) -> list[tuple[str, int]]:
    return [(name, int(t)) for name, t in STEP_TITLE.findall(out)]


def test_step_q_stops_early() -> None:
    run = run_cli("trace", STACKED, "--step", input="\nq\n")
    assert run.exit_code == 0
    assert shown_steps(run.stdout) == [("encoder", 0), ("encoder", 1)]
    assert run.stderr.count("Enter: next step, e: explain, q: stop") == 2
    assert "stopped after encoder, t = 1 (step 2 of 4)" in run.stderr
    assert "Enter" not in run.stdout  # prompts stay off stdout


def test_step_enter_goes_on_through_every_layer() -> None:
    run = run_cli("trace", STACKED, "--step", input="\n" * 8)
    assert run.exit_code == 0
    everything = [("encoder", t) for t in range(4)] + [("summariser", t) for t in range(4)]
    assert shown_steps(run.stdout) == everything
    assert run.stderr.count("Enter: next step") == 7
    assert run.stderr.count("summariser, t = 3 (step 4 of 4). Enter: finish") == 1
    assert "stopped" not in run.stderr


def test_step_runs_to_the_end_at_end_of_input() -> None:
    run = run_cli("trace", STACKED, "--step", input="\n")
    assert run.exit_code == 0
    assert run.stderr.count("Enter: next step") == 2  # the second answer is the end of input
    assert shown_steps(run.stdout) == [("encoder", t) for t in range(4)] + [
        ("summariser", t) for t in range(4)
    ]
    assert "encoder (LSTM), continued" in run.stdout


def test_step_on_the_seed_pauses_once_and_shows_everything() -> None:
    run = run_cli("trace", SEED_EXPECT, "--step")
    assert run.exit_code == 1
    assert run.stderr == "lstm, t = 0 (step 1 of 1). Enter: finish, e: explain, q: stop \n"
    assert run.stdout == run_cli("trace", SEED_EXPECT).stdout


def test_step_e_explains_the_step_shown() -> None:
    """The blog's question, answered at the prompt: why is h[2] 0 and not 1?"""
    run = run_cli("trace", "--step", input="e\n\n")
    assert run.exit_code == 0
    assert run.stdout.endswith("  h[2] = o[2]·linear(c[2]) = 0·1 = 0\n")
    assert run.stderr.splitlines()[1:] == [
        "lstm, t = 0 (step 1 of 1). Enter: finish, e: explain, q: stop ",
        "lstm, t = 0 (step 1 of 1). Enter: finish, q: stop ",
    ]


def test_step_with_explain_pauses_after_each_explained_step() -> None:
    run = run_cli("trace", STACKED, "--step", "--explain", "--layer", "summariser", input="q\n")
    assert shown_steps(run.stdout) == [("summariser", 0)]
    assert "h[1] = o[1]·tanh(c[1])" in run.stdout
    assert "Enter: next step, q: stop" in run.stderr


# -- `--step` at a terminal: a key is an answer, without Enter ----------------------------------------------


def step_at_a_terminal(keys: list[tuple[int, bytes]], interrupt: bool = False) -> tuple[int, str, bool]:
    """`trace configs/stacked.yaml --step` with a pseudo-terminal as stdin. Each (N, KEY) types KEY, with no
    Enter after it, once N prompts have been shown; then Ctrl-C, if asked for. Returns the exit code,
    stderr, and whether the terminal's settings were restored."""
    import os
    import signal
    import subprocess
    import sys
    import termios

    master, slave = os.openpty()
    before = termios.tcgetattr(slave)
    process = subprocess.Popen(
        [sys.executable, "-m", "lstm_cli", "trace", STACKED, "--step"],
        stdin=slave,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert process.stderr is not None
    shown = b""
    for prompts, key in keys:
        while shown.count(b"q: stop ") < prompts and (chunk := process.stderr.read1(1024)):
            shown += chunk
        time.sleep(0.1)  # the prompt is written just before the terminal is switched to single keys
        os.write(master, key)
    if interrupt:
        process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=30)
    restored = termios.tcgetattr(slave) == before
    os.close(master)
    os.close(slave)
    return process.returncode, (shown + rest).decode(), restored


@pytest.mark.skipif(not hasattr(__import__("os"), "openpty"), reason="a pseudo-terminal is POSIX")
def test_step_keys_at_a_terminal_need_no_enter() -> None:
    # Enter goes on; x is no answer, and is ignored; q stops at once
    code, stderr, restored = step_at_a_terminal([(1, b"\r"), (2, b"x"), (2, b"q")])
    assert code == 0
    assert restored
    assert stderr == (
        "encoder, t = 0 (step 1 of 4). Enter: next step, e: explain, q: stop \n"
        "encoder, t = 1 (step 2 of 4). Enter: next step, e: explain, q: stop q\n"
        "lstm-cli: stopped after encoder, t = 1 (step 2 of 4)\n"
    )


@pytest.mark.skipif(not hasattr(__import__("os"), "openpty"), reason="a pseudo-terminal is POSIX")
def test_ctrl_c_at_a_terminal_prompt_restores_the_terminal() -> None:
    code, stderr, restored = step_at_a_terminal([(1, b"")], interrupt=True)
    assert code == 130
    assert restored
    assert stderr == "encoder, t = 0 (step 1 of 4). Enter: next step, e: explain, q: stop "


# -- the JSON steps recompute -----------------------------------------------------------------------------

ACTIVATIONS = {  # written out here, independently of lstm_cli.activations
    "linear": lambda x: x,
    "tanh": np.tanh,
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "hard_sigmoid": lambda x: np.clip(x / 6 + 0.5, 0, 1),
    "relu": lambda x: np.maximum(x, 0),
    "softsign": lambda x: x / (1 + np.abs(x)),
}


@st.composite
def lstm_configs(draw: st.DrawFn) -> dict[str, Any]:
    batch, timesteps = draw(st.integers(1, 3)), draw(st.integers(1, 5))
    features, units = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scale = draw(st.sampled_from([0.1, 1.0, 2.0]))
    use_bias = draw(st.booleans())
    layer: dict[str, Any] = {
        "type": "lstm",
        "units": units,
        "activation": draw(st.sampled_from(["tanh", "linear", "relu", "softsign"])),
        "recurrent_activation": draw(st.sampled_from(["sigmoid", "hard_sigmoid", "tanh"])),
        "return_sequences": draw(st.booleans()),
        "return_state": True,
        "go_backwards": draw(st.booleans()),
        "use_bias": use_bias,
        "kernel": rng.normal(0, scale, (features, 4 * units)),
        "recurrent_kernel": rng.normal(0, scale, (units, 4 * units)),
    }
    if use_bias:
        layer["bias"] = rng.normal(0, scale, 4 * units)
    return {"input": rng.normal(0, 1, (batch, timesteps, features)), "layers": [layer]}


def json_document(config: dict[str, Any]) -> dict[str, Any]:
    """Exactly what `lstm-cli trace --format json` prints for this config (the CLI calls the same two)."""
    stream = io.StringIO()
    write_json(stream, trace_document(run_trace(load_model(config))))
    return json.loads(stream.getvalue())


@settings(max_examples=80, deadline=None)
@given(lstm_configs())
def test_json_steps_recompute(config: dict[str, Any]) -> None:
    layer = config["layers"][0]
    kernel, recurrent_kernel = layer["kernel"], layer["recurrent_kernel"]
    bias = layer.get("bias", np.zeros(kernel.shape[1]))
    act, ract = ACTIVATIONS[layer["activation"]], ACTIVATIONS[layer["recurrent_activation"]]
    document = json_document(config)
    (traced,) = document["layers"]
    steps = traced["steps"]
    timesteps = config["input"].shape[1]
    order = list(range(timesteps))[:: -1 if layer["go_backwards"] else 1]
    assert [step["t"] for step in steps] == order
    close = {"rtol": 1e-12, "atol": 1e-12}
    for k, step in enumerate(steps):
        x, h_prev, c_prev = (np.array(step[key]) for key in ("x", "h_prev", "c_prev"))
        np.testing.assert_array_equal(x, config["input"][:, step["t"]])
        z = np.concatenate([np.array(step["z"][gate]) for gate in "ifgo"], axis=-1)
        np.testing.assert_allclose(z, x @ kernel + h_prev @ recurrent_kernel + bias, **close)
        gates = {gate: np.array(step["gates"][gate]) for gate in "ifgo"}
        for gate in "ifo":
            np.testing.assert_allclose(gates[gate], ract(np.array(step["z"][gate])), **close)
        np.testing.assert_allclose(gates["g"], act(np.array(step["z"]["g"])), **close)
        c, h = np.array(step["c"]), np.array(step["h"])
        np.testing.assert_allclose(c, gates["f"] * c_prev + gates["i"] * gates["g"], **close)
        np.testing.assert_allclose(h, gates["o"] * act(c), **close)
        if k == 0:
            assert not h_prev.any() and not c_prev.any()  # zero initial state
        else:  # the states chain from step to step, exactly
            assert step["h_prev"] == steps[k - 1]["h"]
            assert step["c_prev"] == steps[k - 1]["c"]
        assert step["masked"] is False
    forward = lstm_cli.forward(config)
    assert steps[-1]["h"] == forward["lstm.h"].tolist()
    assert steps[-1]["c"] == forward["lstm.c"].tolist()
    assert document["outputs"] == {ref: value.tolist() for ref, value in forward.items()}


def test_cli_json_is_the_document(tmp_path: Path) -> None:
    run = run_cli("trace", STACKED, "--format", "json")
    assert run.exit_code == 0
    assert json.loads(run.stdout) == json_document(yaml.safe_load(Path(STACKED).read_text()))


def test_seed_json_matches_the_spec() -> None:
    document = json.loads(run_cli("trace", SEED, "--format", "json").stdout)
    assert document["dtype"] == "float64"
    assert document["outputs"] == json.loads(run_cli("forward", SEED, "-f", "json").stdout)["outputs"]
    assert document["layers"] == [
        {
            "name": "lstm",
            "direction": "forward",
            "steps": [
                {
                    "t": 0,
                    "masked": False,
                    "x": [[1.0, 0.0]],
                    "h_prev": [[0.0, 0.0, 0.0]],
                    "c_prev": [[0.0, 0.0, 0.0]],
                    "z": {
                        "i": [[5.0, 2.0, 1.0]],
                        "f": [[1.0, 1.0, 0.0]],
                        "g": [[0.0, 2.0, 1.0]],
                        "o": [[2.0, 1.0, 0.0]],
                    },
                    "gates": {
                        "i": [[5.0, 2.0, 1.0]],
                        "f": [[1.0, 1.0, 0.0]],
                        "g": [[0.0, 2.0, 1.0]],
                        "o": [[2.0, 1.0, 0.0]],
                    },
                    "c": [[0.0, 4.0, 1.0]],
                    "h": [[0.0, 4.0, 0.0]],
                }
            ],
        }
    ]


def test_seed_csv_is_tidy() -> None:
    run = run_cli("trace", SEED, "--format", "csv")
    assert run.exit_code == 0
    rows = list(csv.reader(io.StringIO(run.stdout)))
    assert rows[0] == ["layer", "direction", "t", "sample", "unit", "quantity", "value"]
    steps = [row for row in rows[1:] if row[1] == "forward"]
    assert len(steps) == 2 + 12 * 3  # x has 2 features; h_prev ... h have 3 units each
    assert ["lstm", "forward", "0", "0", "2", "o", "0.0"] in steps
    assert ["lstm", "forward", "0", "0", "0", "z_i", "5.0"] in steps
    assert ["lstm", "forward", "0", "0", "1", "x", "0.0"] in steps
    assert rows[-1] == ["lstm", "", "", "0", "2", "c", "1.0"]


def test_python_api_returns_the_json_data() -> None:
    document = lstm_cli.trace(SEED_EXPECT)
    step = document["layers"][0]["steps"][0]
    assert step["h"] == [[0.0, 4.0, 0.0]]
    assert step["z"]["o"] == [[2.0, 1.0, 0.0]]
    assert document["mismatches"] == [{"ref": "lstm.h", "index": [0, 2], "expected": 1.0, "actual": 0.0}]
    assert document == json.loads(run_cli("trace", SEED_EXPECT, "--format", "json").stdout)
    assert lstm_cli.trace(SEED, dtype="float32")["dtype"] == "float32"


# -- `--explain` prints the engine's numbers ----------------------------------------------------------------

EXPLAINED = re.compile(r"^\s+(z_[ifgo]|[ifgoch])\[(\d+)\] = (.*) = (\S+)$")


@pytest.mark.parametrize("config", [SEED, DEFAULTS, STACKED])
def test_explain_prints_the_engine_s_numbers(config: str) -> None:
    wide = {"COLUMNS": "1000"}  # one line per value, unwrapped
    run = run_cli("trace", config, "--explain", "--precision", "17", "--timestep", "-1", env=wide)
    document = json.loads(run_cli("trace", config, "--format", "json", "--timestep", "-1").stdout)
    weights = {
        layer.get("name", "lstm"): layer for layer in yaml.safe_load(Path(config).read_text())["layers"]
    }
    blocks = re.split(r"^(\S+) · t = \d+ \(step \d+ of \d+\)(?: · sample (\d+))?.*$", run.stdout, flags=re.M)
    checked = 0
    for name, sample, text in zip(blocks[1::3], blocks[2::3], blocks[3::3], strict=True):
        step = next(layer for layer in document["layers"] if layer["name"] == name)["steps"][0]
        b = int(sample or 0)
        for line in text.splitlines():
            match = EXPLAINED.match(line)
            if not match:
                continue
            quantity, unit, middle, shown = match.groups()
            unit = int(unit)
            if quantity.startswith("z_"):
                engine = step["z"][quantity[2]][b][unit]
                # the substituted products are x·W and h_prev·U with the engine's own numbers
                gate = "ifgo".index(quantity[2])
                column = gate * len(step["h"][0]) + unit
                products = re.findall(r"\(?(-?[\d.]+)\)?·\(?(-?[\d.]+)\)?", middle)
                inputs = step["x"][b] + step["h_prev"][b]
                layer = weights[name]
                matrix = np.vstack([layer["kernel"], layer["recurrent_kernel"]])
                assert len(products) == len(inputs)
                for (left, right), value, row in zip(products, inputs, matrix, strict=True):
                    assert float(left) == pytest.approx(value, rel=1e-15, abs=1e-16)
                    assert float(right) == pytest.approx(row[column], rel=1e-15, abs=1e-16)
            elif quantity in "ifgo":
                engine = step["gates"][quantity][b][unit]
            else:
                engine = step[quantity][b][unit]
            assert float(shown) == pytest.approx(engine, rel=1e-15, abs=1e-16), line
            checked += 1
    assert checked == sum(
        10 * len(layer["steps"][0]["h"]) * len(layer["steps"][0]["h"][0]) for layer in document["layers"]
    )


@pytest.mark.parametrize("activation", ["softmax", "log_softmax"])
def test_explain_writes_softmax_over_all_the_units(tmp_path: Path, activation: str) -> None:
    # x = [1, 0.5], zero state, no bias: z_g = [1·1 + 0.5·0, 1·2 + 0.5·1] = [1, 2.5]; the largest is 2.5.
    #   Σ exp(z_g − 2.5) = exp(-1.5) + exp(0) = 0.2231 + 1 = 1.2231
    #   softmax:      g = [exp(-1.5) / 1.2231, 1 / 1.2231] = [0.1824, 0.8176]
    #   log_softmax:  g = [-1.5 − log 1.2231, 0 − log 1.2231] = [-1.7014, -0.2014]
    # i = f = o = hard_sigmoid(1.5) = 1.5/6 + 0.5 = 0.75, so c = 0.75·g.
    config = tmp_path / "softmax.yaml"
    config.write_text(
        f"input: [[[1, 0.5]]]\nlayers:\n  - type: lstm\n    units: 2\n    activation: {activation}\n"
        "    recurrent_activation: hard_sigmoid\n"
        "    kernel: [[1, 1, 1, 1, 1, 2, 1, 1], [1, 1, 1, 1, 0, 1, 1, 1]]\n"
        "    recurrent_kernel: [[1, 1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1, 1]]\n"
        "    bias: [0, 0, 0, 0, 0, 0, 0, 0]\n"
    )
    out = run_cli("trace", str(config), "--explain", env={"COLUMNS": "1000"}).stdout
    lines = {line.split(" = ")[0].strip(): line.strip() for line in out.splitlines() if " = " in line}
    if activation == "softmax":
        assert lines["g[0]"] == (
            "g[0] = softmax(z_g)[0] = exp(z_g[0] − max z_g) / Σ exp(z_g − max z_g) = "
            "exp(1 − 2.5000) / 1.2231 = 0.1824"
        )
        # c = 0.75·[0.1824, 0.8176] = [0.1368, 0.6132]; Σ exp(c − 0.6132) = exp(-0.4764) + 1 = 1.6210
        assert lines["h[0]"] == (
            "h[0] = o[0]·softmax(c)[0] = 0.7500·(exp(0.1368 − 0.6132) / 1.6210) = 0.7500·0.3831 = 0.2873"
        )
    else:
        assert lines["g[1]"] == (
            "g[1] = log_softmax(z_g)[1] = z_g[1] − max z_g − log Σ exp(z_g − max z_g) = 2.5000 − 2.5000 "
            "− log 1.2231 = -0.2014"
        )
    # a mismatch's story writes the activation the same way: softmax of c, not of c[0] alone
    with config.open("a") as stream:
        stream.write("expect:\n  lstm: [[5, 5]]\n")
    story = run_cli("trace", str(config), env={"COLUMNS": "1000"}).stdout
    assert f"why: h[0] = o[0]·{activation}(c)[0]; 5 would need" in story


def test_explain_values_are_the_records() -> None:
    run = run_trace(load_model(DEFAULTS))
    block = run.blocks[1]
    lines = explain_unit(block.trace, block.record, 1, 0, repr)
    values = {line.name: line.value for line in lines}
    step = block.record.step
    assert values["z_f[0]"] == step.z[1, 2]  # gate f's column for unit 0 of 2 units
    assert values["o[0]"] == step.o[1, 0]
    assert values["c[0]"] == block.record.c[1, 0]
    assert values["h[0]"] == block.record.h[1, 0]


def test_long_dot_products_are_shortened_with_their_sum() -> None:
    rng = np.random.default_rng(1)
    config = {
        "input": np.ones((1, 1, 12)),
        "layers": [
            {
                "type": "lstm",
                "units": 1,
                "kernel": rng.normal(size=(12, 4)).round(2),
                "recurrent_kernel": np.zeros((1, 4)),
                "bias": np.zeros(4),
            }
        ],
    }
    run = run_trace(load_model(config))
    block = run.blocks[0]
    (z_i,) = [
        line
        for line in explain_unit(block.trace, block.record, 0, 0, lambda v: f"{v:g}")
        if line.name == "z_i[0]"
    ]
    total = float(config["layers"][0]["kernel"][:, 0].sum())
    assert "… 8 more … + " in z_i.text
    assert f" = {total:g}) + (0·0)" in z_i.text


# -- selection, and what is left out -------------------------------------------------------------------------


def test_timestep_ranges_and_layers_select_json_steps() -> None:
    document = json.loads(run_cli("trace", STACKED, "-f", "json", "--timestep", "1:3").stdout)
    assert [[step["t"] for step in layer["steps"]] for layer in document["layers"]] == [[1, 2], [1, 2]]
    document = json.loads(
        run_cli(
            "trace", STACKED, "-f", "json", "--timestep", "0", "--timestep", "-1", "--layer", "summariser"
        ).stdout
    )
    assert [layer["name"] for layer in document["layers"]] == ["summariser"]
    assert [step["t"] for step in document["layers"][0]["steps"]] == [0, 3]


def test_go_backwards_counts_down() -> None:
    config = yaml.safe_load(Path(SEED).read_text())
    config["input"] = [[[1, 0], [0, 1], [1, 1]]]
    config["layers"][0]["go_backwards"] = True
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "back.yaml"
        path.write_text(yaml.safe_dump(config))
        document = json.loads(run_cli("trace", str(path), "-f", "json").stdout)
        table = run_cli("trace", str(path)).stdout
    assert [step["t"] for step in document["layers"][0]["steps"]] == [2, 1, 0]
    assert "t counts down (go_backwards)" in table
    assert table.index("t = 2 (step 1 of 3)") < table.index("t = 0 (step 3 of 3)")


def test_sample_and_units_narrow_the_table() -> None:
    out = run_cli("trace", DEFAULTS, "--sample", "1", "--units", "1", "--timestep", "2").stdout
    assert "lstm · t = 2 (step 3 of 3) · sample 1 · x_t = [1, 1]" in out
    assert "sample 0" not in out
    assert re.search(r"┃ unit\s+┃\s+1 ┃\n", out)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--timestep", "5"], "--timestep 5: out of range; layer 'lstm' reads 1 timestep (index 0)"),
        (
            ["--timestep", "2:x"],
            "--timestep '2:x': expected an index such as 3 or -1, or a range such as 2:5",
        ),
        (["--units", "3:9"], "--units 3:9: selects nothing; layer 'lstm' has 3 units (0 to 2)"),
        (["--sample", "1"], "--sample 1: out of range; the batch has 1 sample (index 0)"),
        (["--layer", "lstn"], "--layer 'lstn': no such layer; did you mean 'lstm'? (layers: lstm)"),
        (["-f", "json", "--step"], "--step shows the table format; it does not apply to --format json"),
        (["--view", "heatmap", "--explain"], "--explain shows the table view, not --view heatmap"),
        (
            ["-f", "csv", "--save-svg", "x.svg"],
            "--save-svg saves the table view; it does not apply to --format csv",
        ),
    ],
)
def test_bad_selections_are_one_line_errors(args: list[str], message: str) -> None:
    run = run_cli("trace", SEED, *args)
    assert run.exit_code == 2
    assert run.stdout == ""
    assert run.stderr == f"lstm-cli: error: {message}\n"


def test_a_dense_layer_is_not_traced() -> None:
    run = run_cli("trace", STACKED, "--layer", "classifier")
    assert run.exit_code == 2
    assert (
        "--layer 'classifier' is a dense layer; trace shows the recurrent layers: encoder, summariser"
        in run.stderr
    )


@pytest.fixture(scope="module")
def big_config(tmp_path_factory: pytest.TempPathFactory) -> str:
    """1000 timesteps, 64 units, 16 features: arrays in .npy files, as a real model would have them."""
    folder = tmp_path_factory.mktemp("big")
    rng = np.random.default_rng(0)
    for name, shape in (("x", (1, 1000, 16)), ("k", (16, 256)), ("r", (64, 256)), ("b", (256,))):
        np.save(folder / f"{name}.npy", rng.normal(0, 0.3, shape))
    weights = "\n".join(
        f"    {key}: {{file: {name}.npy}}"
        for key, name in (("kernel", "k"), ("recurrent_kernel", "r"), ("bias", "b"))
    )
    path = folder / "big.yaml"
    path.write_text(f"input: {{file: x.npy}}\nlayers:\n  - type: lstm\n    units: 64\n{weights}\n")
    return str(path)


def test_a_long_wide_trace_is_bounded_and_says_what_it_left_out(big_config: str) -> None:
    started = time.perf_counter()
    run = run_cli("trace", big_config)
    elapsed = time.perf_counter() - started
    assert run.exit_code == 0, run.stderr
    assert elapsed < 5, f"took {elapsed:.1f} s"
    assert len(run.stdout.splitlines()) < 250
    assert len(shown := re.findall(r"^lstm · t = (\d+)", run.stdout, re.M)) == 8
    assert shown == ["0", "1", "2", "3", "4", "5", "998", "999"]
    assert "⋮ 992 steps left out (t = 6 to 997)" in run.stdout
    notes = " ".join(run.stdout.split("Left out:")[1].split())
    assert "992 steps (t = 6 to 997), choose them with --timestep 6:998" in notes
    assert "units 8 to 63 (8 of the 64 units fit this width), choose them with --units 8:16" in notes
    assert "--format json or csv gives every value" in notes


def test_a_long_wide_heatmap_is_bounded(big_config: str) -> None:
    run = run_cli("trace", big_config, "--view", "heatmap")
    assert run.exit_code == 0, run.stderr
    assert max(len(line) for line in run.stdout.splitlines()) <= 100
    assert len(run.stdout.splitlines()) < 150
    assert "units 16 to 63 left out; choose them with --units 16:32" in run.stdout
    assert re.search(
        r"┆ marks \d+ steps left out \(t = \d+ to \d+\), choose them with --timestep \d+:\d+", run.stdout
    )


def test_saturated_gates_are_marked_without_colour(tmp_path: Path) -> None:
    config = yaml.safe_load(Path(SEED).read_text())
    layer = config["layers"][0]
    del layer["activation"], layer["recurrent_activation"]  # tanh and sigmoid, on z up to 5
    layer["kernel"] = (np.array(layer["kernel"]) * 2).tolist()
    path = tmp_path / "saturated.yaml"
    path.write_text(yaml.safe_dump(config))
    out = run_cli("trace", str(path)).stdout
    assert "│ i      │  ↑0.9991 │  ↑0.9526 │   0.8808 │" in out  # sigmoid(7), sigmoid(3), sigmoid(2)
    assert "↑ above 0.95, ↓ below 0.05: a saturated gate" in out
    heat = run_cli("trace", str(path), "--view", "heatmap").stdout
    assert "scale: i, f, o 0 ▁▂▃▄▅▆▇█ 1" in heat
    assert "saturated at every step shown (above 0.95 or below 0.05): i open in units 0, 1" in heat


# -- masking and bidirectional layers, through the engine --------------------------------------------------


def functional_model(kind: str) -> Model:
    """DEFAULTS rebuilt with a Masking layer before the LSTM, or with the LSTM in a Bidirectional wrapper."""
    model = load_model(DEFAULTS)
    lstm = model.layers[0]
    assert isinstance(lstm, LstmLayer)
    if kind == "masking":
        spec = model.inputs["input"]
        assert spec.data is not None
        data = spec.data.copy()
        data[0, 1] = 0.0  # sample 0 at t = 1: every feature is the mask value, so the step is skipped
        masking = MaskingLayer("masking", "input", ("layers", 0))
        return replace(
            model,
            inputs={"input": replace(spec, data=data)},
            layers=(masking, replace(lstm, input="masking")),
            shapes={**model.shapes, "masking": model.shapes["input"]},
        )
    halves = {"forward": replace(lstm, name="bi"), "backward": replace(lstm, name="bi", go_backwards=True)}
    return replace(model, layers=(BidirectionalLayer("bi", "input", ("layers", 0), **halves),), expect=())


def rendered(renderable: Any) -> str:
    from rich.console import Console

    console = Console(width=100, file=io.StringIO(), color_system=None)
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_masked_steps_show_as_masked() -> None:
    from lstm_cli.render.trace import TraceView

    run = run_trace(functional_model("masking"))
    stream = io.StringIO()
    write_json(stream, trace_document(run))
    document = json.loads(stream.getvalue())
    flags = [(step["masked"], step.get("masked_samples")) for step in document["layers"][0]["steps"]]
    assert flags == [(False, None), (True, [True, False]), (False, None)]
    step = document["layers"][0]["steps"][1]
    assert step["h"][0] == step["h_prev"][0] and step["c"][0] == step["c_prev"][0]  # carried over
    assert step["h"][1] != step["h_prev"][1]
    table = rendered(TraceView(run, explain=True).view())
    assert "lstm · t = 1 (step 2 of 3) · sample 0 · masked: h and c carry over · x_t = [0, 0]" in table
    assert re.search(r"│ i\s+│\s+– │\s+– │", table)
    assert "c[0] = c_prev[0] = 0.5171 (masked: the step is skipped and the state carries over)" in table
    assert "· a masked step" in rendered(TraceView(run).heatmap())


def test_bidirectional_halves_are_traced_apart() -> None:
    from lstm_cli.render.trace import TraceView

    model = functional_model("bidirectional")
    run = run_trace(model)
    document = trace_document(run)
    assert [(layer["name"], layer["direction"]) for layer in document["layers"]] == [
        ("bi", "forward"),
        ("bi", "backward"),
    ]
    assert [step["t"] for step in document["layers"][1]["steps"]] == [2, 1, 0]
    for layer in document["layers"]:
        np.testing.assert_array_equal(layer["steps"][-1]["h"], run.values[f"bi.{layer['direction']}.h"])
    view = rendered(TraceView(run).view())
    assert "bi (LSTM, backward half): 2 units" in view
    assert "t counts down (the backward half reads the input reversed): from t = 2 to t = 0" in view
    assert "bi, backward half · t = 2 (step 1 of 3) · sample 0" in view
    # concat: bi[..., :2] is the forward half's h, bi[..., 2:] the backward half's, flipped to input order
    forward = locate(model, run.traces, "bi", (0, 1, 0))
    assert forward is not None and (forward.trace.direction, forward.index, forward.unit) == ("forward", 1, 0)
    backward = locate(model, run.traces, "bi", (1, 0, 3))
    assert backward is not None and (
        backward.trace.direction,
        backward.index,
        backward.sample,
        backward.unit,
    ) == (
        "backward",
        2,  # t = 0 is the backward half's last step of 3
        1,
        1,
    )
    summed = replace(model, layers=(replace(model.layers[0], merge_mode="sum"),))
    assert locate(summed, run.traces, "bi", (0, 1, 0)) is None  # a sum of both halves: no single step
    site = locate(model, run.traces, "bi.backward.h", (1, 1))
    assert site is not None and (site.trace.direction, site.index, site.sample, site.unit) == (
        "backward",
        2,
        1,
        1,
    )


def test_expect_on_a_concatenated_bidirectional_output_is_explained_by_its_half(tmp_path: Path) -> None:
    # x = [1, 0, 2]; the masking layer masks t = 1. Each half: 1 unit, every gate's kernel 0.5, recurrent 0.1.
    # The backward half starts at t = 2 with zero state: z = 2·0.5 = 1 for every gate, so
    #   i = f = o = sigmoid(1) = 0.7311, g = tanh(1) = 0.7616, c = 0.7311·0.7616 = 0.5568,
    #   h = 0.7311·tanh(0.5568) = 0.7311·0.5056 = 0.3696, which is bi[0, 2, 1] (concat: forward, backward).
    # At t = 1 both halves are masked: inside a bidirectional layer that returns sequences, the output is 0.
    config = tmp_path / "bi.yaml"
    half = "{kernel: [[0.5, 0.5, 0.5, 0.5]], recurrent_kernel: [[0.1, 0.1, 0.1, 0.1]], bias: [0, 0, 0, 0]}"
    config.write_text(
        "input: [[[1], [0], [2]]]\nlayers:\n  - type: masking\n  - type: bidirectional\n    name: bi\n"
        f"    units: 1\n    return_sequences: true\n    forward: {half}\n    backward: {half}\n"
        "expect:\n  bi: [[[0.1743, 0.3655], [0.1743, 0], [0.4777, 0.9]]]\n"
    )
    run = run_cli("trace", str(config), env={"COLUMNS": "200"})
    assert run.exit_code == 1
    stories = run.stdout.split("\nbi[")
    masked = next(story for story in stories if story.startswith("0, 1, 0]"))
    assert "where: h[0] of layer bi (forward half) at t = 1 (step 2 of 3), sample 0" in masked
    assert (
        "inside a bidirectional layer that returns sequences the output is 0, as Keras 3 makes it" in masked
    )
    backward = next(story for story in stories if story.startswith("0, 2, 1]"))
    assert "where: h[0] of layer bi (backward half) at t = 2 (step 1 of 3), sample 0" in backward
    assert "h[0] = o[0]·tanh(c[0]) = 0.7311·tanh(0.5568) = 0.7311·0.5056 = 0.3696" in backward


# -- pictures ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["trace", "forward"])
def test_save_svg_and_html_keep_what_was_shown_in_colour(command: str, tmp_path: Path) -> None:
    svg, html = tmp_path / "view.svg", tmp_path / "view.html"
    args = [command, DEFAULTS, "--save-svg", str(svg), "--save-html", str(html)]
    if command == "trace":
        args += ["--view", "heatmap"]
    run = run_cli(*args)
    assert run.exit_code == 0, run.stderr
    picture = svg.read_text()
    assert picture.startswith("<svg") and f"lstm-cli&#160;{command}" in picture
    page = html.read_text()
    assert "<html" in page.lower()
    assert "lstm" in page
    if command == "trace":
        assert (
            "#fde725" in picture.lower() or "#fde725" in page.lower()
        )  # the heatmap's colours, despite NO_COLOR


def test_save_into_a_missing_folder_fails_before_running() -> None:
    run = run_cli("forward", SEED, "--save-svg", "/no/such/folder/x.svg")
    assert run.exit_code == 2
    assert run.stdout == ""
    assert (
        run.stderr
        == "lstm-cli: error: --save-svg /no/such/folder/x.svg: the folder /no/such/folder does not exist\n"
    )


def test_help_fits_and_has_an_example() -> None:
    run = run_cli("trace", "--help")
    assert run.exit_code == 0
    assert "Example:\n    lstm-cli trace configs/seed-expect.yaml --explain\n" in run.stdout
    for option in (
        "--step",
        "--timestep",
        "--layer",
        "--sample",
        "--units",
        "--explain",
        "--view",
        "--save-svg",
    ):
        assert option in run.stdout
