"""`lstm-cli stats`: saturation fractions, c and h spreads and dead units, on sequences built so that each
gate saturates at known steps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from lstm_cli.stats import dead_units, saturated_fractions, spread
from tests.conftest import CONFIGS, run_cli

# Three units, no recurrence (recurrent_kernel 0), so that each gate follows x_t alone. Feature 0 is v;
# feature 1 is always 1, so that v = 0 is not a masked row. A gate whose z is ±10 is saturated
# (sigmoid(10) = 0.99995 > 0.9, sigmoid(-10) < 0.1); a z of 0 gives 0.5, saturated neither way.
#   unit 0: z_i = 10 v, z_f = -10 v, g = tanh(v), z_o = 0
#   unit 1: z_i = 10, z_f = -10, g = tanh(0.5), z_o = 10 v
#   unit 2: z_i = 10, z_f = -10, g = tanh(0.5), z_o = 10: c_t = tanh(0.5) + 4.5e-5 c_prev, h as good as
#           constant, so dead
MASK = 5.0  # a row of fives is masked; its v of 5 would saturate unit 0's i and unit 1's o if counted
UNITS = 3


def hand_built() -> dict[str, Any]:
    kernel = np.zeros((2, 4 * UNITS))
    bias = np.zeros(4 * UNITS)
    i, f, g, o = (slice(n * UNITS, (n + 1) * UNITS) for n in range(4))
    kernel[0, i][0], kernel[0, f][0], kernel[0, g][0] = 10, -10, 1
    kernel[0, o][1] = 10
    bias[i][1:] = 10
    bias[f][1:] = -10
    bias[g][1:] = 0.5
    bias[o][2] = 10
    masked = [MASK, MASK]
    rows = [
        [[1, 1], [-1, 1], [0, 1], [1, 1], masked],  # v: 1, -1, 0, 1, then a masked step
        [masked, [1, 1], [1, 1], [-1, 1], [0, 1]],  # a masked step, then v: 1, 1, -1, 0
    ]
    return {
        "input": rows,
        "layers": [
            {"type": "masking", "mask_value": MASK},
            {
                "type": "lstm",
                "name": "gates",
                "units": UNITS,
                "return_sequences": True,
                "kernel": kernel.tolist(),
                "recurrent_kernel": np.zeros((UNITS, 4 * UNITS)).tolist(),
                "bias": bias.tolist(),
            },
        ],
    }


@pytest.fixture
def hand_config(tmp_path: Path) -> str:
    path = tmp_path / "gates.yaml"
    path.write_text(yaml.safe_dump(hand_built()))
    return str(path)


def stats_json(*args: str) -> dict[str, Any]:
    result = run_cli("stats", *args, "--format", "json")
    assert result.exit_code == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_saturation_fractions_count_the_steps_built_to_saturate(hand_config: str) -> None:
    # 8 unmasked steps: v = 1 at four, -1 at two, 0 at two
    (layer,) = stats_json(hand_config)["layers"]
    assert (layer["name"], layer["direction"], layer["counted"], layer["masked"]) == (
        "gates",
        "forward",
        8,
        2,
    )
    assert layer["saturation"] == {
        "i": {"left": [0.25, 0.0, 0.0], "right": [0.5, 1.0, 1.0]},
        "f": {"left": [0.5, 1.0, 1.0], "right": [0.25, 0.0, 0.0]},
        "o": {"left": [0.0, 0.25, 0.0], "right": [0.0, 0.5, 1.0]},
    }


def test_masked_steps_are_not_counted(hand_config: str) -> None:
    # Counted, the two masked rows (v = 5) would make unit 0's i right-saturated 6 times in 10.
    (layer,) = stats_json(hand_config)["layers"]
    assert layer["saturation"]["i"]["right"][0] == 0.5
    # Per sample: sample 0 has v = 1, -1, 0, 1 unmasked; sample 1 has v = 1, 1, -1, 0
    (first,) = stats_json(hand_config, "--sample", "0")["layers"]
    assert (first["counted"], first["masked"]) == (4, 1)
    assert first["saturation"]["i"] == {"left": [0.25, 0.0, 0.0], "right": [0.5, 1.0, 1.0]}


def test_the_unit_whose_h_never_moves_is_dead(hand_config: str) -> None:
    (layer,) = stats_json(hand_config)["layers"]
    assert layer["dead"] == [2]


def test_summary_line_names_the_gates_saturated_most_of_the_time(hand_config: str) -> None:
    # pooled over units: i right (0.5 + 1 + 1) / 3, f left the same, o right (0 + 0.5 + 1) / 3 = 50%
    (layer,) = stats_json(hand_config)["layers"]
    assert layer["summary"] == (
        "i is right-saturated 83% of the time: this layer writes every new candidate into c; "
        "f is left-saturated 83% of the time: this layer forgets; "
        "o is right-saturated 50% of the time: this layer shows its cell state in h; "
        "1 of 3 units dead (h moves at most 0.001): 2"
    )


def test_c_and_h_spread_over_the_unmasked_steps(hand_config: str) -> None:
    # unit 0: f = 0 or 1 or 0.5 with v... checked against the forward pass's own h, masked steps removed
    (layer,) = stats_json(hand_config)["layers"]
    forward = json.loads(run_cli("forward", hand_config, "--format", "json").stdout)
    h = np.array(forward["outputs"]["gates"])  # (batch, timesteps, units); a masked step repeats h
    valid = ~np.all(np.array(hand_built()["input"]) == MASK, axis=-1)
    assert np.allclose(layer["h"]["mean"], h[valid].mean(axis=0), rtol=0, atol=1e-15)
    assert layer["h"]["min"] == h[valid].min(axis=0).tolist()
    assert layer["h"]["max"] == h[valid].max(axis=0).tolist()
    # unit 2: c_1 = i g = sigmoid(10) tanh(0.5) at its first step, and at most f c_prev more later
    first = 1 / (1 + np.exp(-10.0)) * np.tanh(0.5)
    assert layer["c"]["min"][2] == pytest.approx(first, abs=1e-15)
    assert layer["c"]["max"][2] - layer["c"]["min"][2] < 1e-4


def test_spread_and_fractions_by_hand() -> None:
    values = np.array([[[0.05], [0.5], [0.95]], [[0.99], [-3.0], [0.0]]])  # (batch 2, timesteps 3, units 1)
    valid = np.array([[True, True, True], [True, False, True]])
    left, right = saturated_fractions(values, valid)
    assert (left.tolist(), right.tolist()) == ([0.4], [0.4])  # 0.05, 0.0 below; 0.95, 0.99 above; of 5
    result = spread(values, valid)
    assert result.mean.tolist() == [pytest.approx((0.05 + 0.5 + 0.95 + 0.99 + 0.0) / 5)]
    assert (result.low.tolist(), result.high.tolist()) == ([0.0], [0.99])  # -3.0 is masked


def test_a_sequence_of_one_step_shows_no_unit_dead() -> None:
    h = np.zeros((2, 3, 2))
    h[0, :, 1] = [0.0, 0.5, 1.0]
    one_each = np.array([[True, False, False], [False, True, False]])
    assert dead_units(h, one_each) == ()
    assert dead_units(h, np.ones((2, 3), bool)) == (0,)
    # moves of 1e-3 at most are dead (2**-10 is 0.00098, exact in binary); more are not
    h[1, :, 0] = [0.5, 0.5 + 2**-10, 0.5]
    assert dead_units(h, np.ones((2, 3), bool)) == (0,)
    h[1, 1, 0] = 0.5 + 2**-9
    assert dead_units(h, np.ones((2, 3), bool)) == ()


def test_a_linear_recurrent_activation_has_no_saturation() -> None:
    (layer,) = stats_json(str(CONFIGS / "seed.yaml"))["layers"]
    assert layer["saturation"] is None
    assert layer["summary"] == (
        "recurrent_activation linear does not map onto [0, 1], so no gate is counted as saturated"
    )
    assert layer["c"] == {"mean": [0.0, 4.0, 1.0], "min": [0.0, 4.0, 1.0], "max": [0.0, 4.0, 1.0]}


def test_both_halves_of_a_bidirectional_layer() -> None:
    document = stats_json(str(CONFIGS / "bidirectional-masking.yaml"))
    assert [(layer["name"], layer["direction"]) for layer in document["layers"]] == [
        ("encoder", "forward"),
        ("encoder", "backward"),
    ]
    assert [(layer["counted"], layer["masked"]) for layer in document["layers"]] == [(5, 3), (5, 3)]
    assert document["thresholds"] == {"left": 0.1, "right": 0.9, "dead": 0.001}


def test_csv_is_tidy(hand_config: str) -> None:
    result = run_cli("stats", hand_config, "--format", "csv")
    lines = result.stdout.splitlines()
    assert lines[0] == "layer,direction,unit,quantity,statistic,value"
    assert "gates,forward,0,i,right_saturated,0.5" in lines
    assert "gates,forward,1,o,left_saturated,0.25" in lines
    assert "gates,forward,2,h,dead,1.0" in lines
    assert "gates,forward,0,h,dead,0.0" in lines
    # 3 gates x 2 sides, c and h x 3 statistics, dead: 13 rows per unit
    assert len(lines) == 1 + 13 * UNITS


def test_table_view(hand_config: str) -> None:
    result = run_cli("stats", hand_config)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].rstrip() == "gates: 8 steps counted, 2 masked, not counted"
    header = "unit i<0.1 i>0.9 f<0.1 f>0.9 o<0.1 o>0.9 c mean c min…max h mean h min…max"
    assert lines[1].strip() == header
    assert lines[3].split()[:7] == ["0", "25%", "50%", "50%", "25%", "0%", "0%"]
    assert lines[5].split()[:3] == ["2", "dead", "0%"]
    assert "1 of 3 units dead (h moves at most 0.001): 2" in result.stdout


def test_layer_choice_names_the_command() -> None:
    result = run_cli("stats", str(CONFIGS / "stacked.yaml"), "--layer", "classifier")
    assert result.exit_code == 2
    assert result.stderr == (
        "lstm-cli: error: --layer 'classifier' is a dense layer; stats shows the recurrent layers: "
        "encoder, summariser\n"
    )


def test_a_model_file_gives_the_same_stats_as_its_config(tmp_path: Path) -> None:
    stacked = str(CONFIGS / "stacked.yaml")
    weights = tmp_path / "stacked.npz"
    assert run_cli("convert", stacked, "-o", str(weights)).exit_code == 0
    assert stats_json(str(weights), "--config", stacked) == stats_json(stacked)
