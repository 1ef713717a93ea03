"""`lstm-cli compare` through the command line (SPEC §9): golden table and --explain story, the JSON, exit
codes 0/1/2, B as numbers in each format, --fix round trips, and the one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import CONFIGS, ROOT, Run, assert_golden, run_cli

import lstm_cli

KERAS = str(CONFIGS / "port-keras.yaml")
PORT = str(CONFIGS / "port-pytorch.yaml")  # Keras's bias in both bias_ih and bias_hh (SO 48361376)


def test_the_port_example_table_and_explain_story_golden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the paths shown are as given
    run = run_cli("compare", "configs/port-keras.yaml", "configs/port-pytorch.yaml", "--explain")
    assert run.exit_code == 1, run.stderr
    assert_golden("compare-port-explain.txt", run.stdout)


def test_without_explain_the_finding_is_listed_with_a_pointer_to_explain() -> None:
    run = run_cli("compare", KERAS, PORT)
    assert "bias:twice in layer 'lstm': A and B agree to 0" in run.stdout
    assert "--explain says what each means" in run.stdout
    assert "SO 48361376" not in run.stdout


def test_a_model_against_itself_exits_0_and_says_they_agree() -> None:
    run = run_cli("compare", KERAS, KERAS)
    assert run.exit_code == 0, run.stderr
    assert "A and B agree (within rtol 1e-05, atol 1e-06)." in run.stdout
    assert "Diagnosis" not in run.stdout


def test_json_is_the_spec_document_with_the_diagnosis() -> None:
    run = run_cli("compare", KERAS, PORT, "--format", "json")
    assert run.exit_code == 1
    document = json.loads(run.stdout)
    assert list(document) == [
        "agree", "max_abs_diff", "rtol", "atol", "layers", "first_difference", "outputs", "diagnosis",
    ]  # fmt: skip
    assert document["agree"] is False and (document["rtol"], document["atol"]) == (1e-5, 1e-6)
    assert [step["t"] for step in document["layers"][0]["steps"]] == [0, 1, 2, 3]
    assert set(document["layers"][0]["steps"][0]) == {"t", "i", "f", "g", "o", "c", "h"}
    first = document["first_difference"]
    assert (first["a_layer"], first["t"], first["quantity"], first["sample"], first["unit"]) == (
        "lstm",
        0,
        "i",
        0,
        0,
    )
    assert document["diagnosis"][0] == {
        "hypothesis": "bias:twice",
        "layer": "lstm",
        "max_abs_diff": 0.0,
        "agrees": True,
    }
    assert all(not finding["agrees"] for finding in document["diagnosis"][1:])
    assert document == lstm_cli.compare(KERAS, PORT)  # the API returns the same data


def test_json_of_agreeing_models_has_no_first_difference_and_no_diagnosis() -> None:
    document = json.loads(run_cli("compare", KERAS, KERAS, "-f", "json").stdout)
    assert document["agree"] is True and document["first_difference"] is None
    assert document["diagnosis"] == [] and document["max_abs_diff"] == 0.0


def test_the_first_difference_is_worked_out_by_hand() -> None:
    # At t=0, h_prev = c_prev = 0, so z = x_0 @ kernel + bias; B adds the bias twice. Unit 0 of gate i:
    # x_0 = [0.73, 0.81, -0.45], kernel[:, 0] = [-0.69, -0.18, -0.16], bias[0] = 0.46:
    # x_0 @ kernel[:, 0] = -0.5037 - 0.1458 + 0.072 = -0.5775
    # A: sigmoid(-0.5775 + 0.46) = sigmoid(-0.1175) = 0.470659; B: sigmoid(-0.1175 + 0.46) = 0.584798.
    first = json.loads(run_cli("compare", KERAS, PORT, "-f", "json").stdout)["first_difference"]
    assert first["a"] == pytest.approx(0.470659, abs=1e-6)
    assert first["b"] == pytest.approx(0.584798, abs=1e-6)


def port_outputs() -> dict[str, np.ndarray]:
    """B as numbers: the port's own outputs, as another runtime would dump them."""
    return lstm_cli.forward(PORT)


@pytest.mark.parametrize("suffix", [".npy", ".npz", ".json", "-forward.json"])
def test_b_as_numbers_in_each_format_is_diagnosed_like_the_model(tmp_path: Path, suffix: str) -> None:
    outputs = port_outputs()
    path = tmp_path / f"b{suffix}"
    if suffix == ".npy":
        np.save(path, outputs["lstm"])
    elif suffix == ".npz":
        np.savez(path, lstm=outputs["lstm"])
    elif suffix == ".json":
        path.write_text(json.dumps({"lstm": outputs["lstm"].tolist()}))
    else:
        path.write_text(run_cli("forward", PORT, "-f", "json").stdout)  # a forward --format json document
    run = run_cli("compare", KERAS, str(path), "-f", "json")
    assert run.exit_code == 1, run.stderr
    document = json.loads(run.stdout)
    assert document["layers"] == []
    assert document["diagnosis"][0]["hypothesis"] == "bias:twice" and document["diagnosis"][0]["agrees"]
    assert document["first_difference"]["t"] == 0


def test_numbers_equal_to_a_s_own_agree(tmp_path: Path) -> None:
    np.save(tmp_path / "a.npy", lstm_cli.forward(KERAS)["lstm"])
    assert run_cli("compare", KERAS, str(tmp_path / "a.npy")).exit_code == 0


@pytest.mark.parametrize("suffix", [".yaml", ".pt", ".onnx"])
def test_fix_writes_b_corrected_and_then_they_agree(tmp_path: Path, suffix: str) -> None:
    if suffix == ".pt":
        pytest.importorskip("torch")
    if suffix == ".onnx":
        pytest.importorskip("onnx")
    fixed = tmp_path / f"fixed{suffix}"
    run = run_cli("compare", KERAS, PORT, "--fix", str(fixed))
    assert run.exit_code == 1 and fixed.exists(), run.stderr
    assert "undid bias:twice in 'lstm'" in run.stderr
    assert run_cli("compare", KERAS, str(fixed)).exit_code == 0


def test_the_fixed_yaml_says_how_it_was_written(tmp_path: Path) -> None:
    fixed = tmp_path / "fixed.yaml"
    run_cli("compare", KERAS, PORT, "--fix", str(fixed))
    text = fixed.read_text()
    assert text.startswith(
        "# Written by `lstm-cli compare --fix`: port-pytorch.yaml with bias:twice in 'lstm' undone."
    )
    layer = yaml.safe_load(text)["layers"][0]
    keras = yaml.safe_load(Path(KERAS).read_text())["layers"][0]
    assert np.allclose(layer["bias"], keras["bias"])  # half the doubled bias, in Keras's layout


def test_fix_when_they_agree_writes_nothing(tmp_path: Path) -> None:
    run = run_cli("compare", KERAS, KERAS, "--fix", str(tmp_path / "fixed.yaml"))
    assert run.exit_code == 0 and not (tmp_path / "fixed.yaml").exists()
    assert "A and B agree" in run.stderr


def test_a_random_input_is_chosen_and_said_when_a_has_none(tmp_path: Path) -> None:
    mapping = yaml.safe_load(Path(KERAS).read_text())
    del mapping["input"]
    mapping["inputs"] = {"input": {"shape": [None, 3]}}
    path = tmp_path / "a.yaml"
    path.write_text(yaml.safe_dump(mapping))
    run = run_cli("compare", str(path), PORT, "-f", "json")
    assert run.exit_code == 1, run.stderr
    assert "a random input (seed 0)" in run.stderr and "normal with standard deviation" in run.stderr
    assert json.loads(run.stdout)["diagnosis"][0]["hypothesis"] == "bias:twice"
    assert run_cli("compare", str(path), PORT, "--seed", "3", "-f", "json").stdout != run.stdout


def one_line_error(run: Run) -> str:
    assert run.exit_code == 2, run.stdout
    assert run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in lines[0]
    return lines[0]


def test_errors_are_one_line_with_exit_2(tmp_path: Path) -> None:
    np.save(tmp_path / "wrong.npy", np.zeros((1, 4, 3)))
    assert "'lstm' has shape (1, 4, 3) where A's has (1, 4, 2)" in one_line_error(
        run_cli("compare", KERAS, str(tmp_path / "wrong.npy"))
    )
    (tmp_path / "bad.json").write_text('{"lstm": [1, 2,\n ]}')
    assert "bad.json:2:2: not JSON" in one_line_error(run_cli("compare", KERAS, str(tmp_path / "bad.json")))
    assert "is numbers, not a model" in one_line_error(
        run_cli("compare", KERAS, str(tmp_path / "wrong.npy"), "--fix", str(tmp_path / "x.yaml"))
    )
    assert "--force overwrites the --fix FILE" in one_line_error(run_cli("compare", KERAS, PORT, "--force"))
    assert "--explain shows the table format" in one_line_error(
        run_cli("compare", KERAS, PORT, "--explain", "-f", "json")
    )


def test_different_structures_name_the_first_layer_without_a_counterpart(tmp_path: Path) -> None:
    mapping = yaml.safe_load(Path(KERAS).read_text())
    mapping["layers"].append({"type": "dense", "units": 1, "kernel": [[0.5], [-0.5]], "bias": [0.1]})
    path = tmp_path / "with-dense.yaml"
    path.write_text(yaml.safe_dump(mapping))
    line = one_line_error(run_cli("compare", str(path), KERAS))
    assert "B has no counterpart for A's layer 'dense' (Dense, 1 units)" in line
    assert line.endswith("the layers matched so far: 'lstm' = 'lstm'")


def test_noise_on_one_weight_is_no_known_mistake_and_the_closest_is_named(tmp_path: Path) -> None:
    mapping = yaml.safe_load(Path(KERAS).read_text())
    mapping["layers"][0]["recurrent_kernel"][1][5] += 0.05
    path = tmp_path / "noisy.yaml"
    path.write_text(yaml.safe_dump(mapping))
    run = run_cli("compare", KERAS, str(path))
    assert run.exit_code == 1
    text = " ".join(run.stdout.split())
    assert "No known mistake explains it" in text and "The closest is " in text
    document = json.loads(run_cli("compare", KERAS, str(path), "-f", "json").stdout)
    closest = document["diagnosis"][0]
    assert not closest["agrees"] and closest["hypothesis"] in text
    # a nudge this small leaves A and B nearer than any known mistake would make them
    assert closest["max_abs_diff"] >= document["max_abs_diff"]
    assert "no closer than A and B are as they are" in text


def test_the_tolerances_decide_agreement() -> None:
    # The port's outputs are at most 0.32 from A's, and its gates at most 0.8: an atol of 1 lets them agree.
    assert run_cli("compare", KERAS, PORT, "--atol", "1").exit_code == 0
    loose = json.loads(run_cli("compare", KERAS, PORT, "--rtol", "0.1", "-f", "json").stdout)
    assert loose["rtol"] == 0.1 and loose["agree"] is False


def test_a_forward_document_of_another_model_is_compared_on_the_references_a_gives(tmp_path: Path) -> None:
    # A .pt's forward document carries the states its nn.LSTM returns; A, a Keras LSTM, gives none.
    mapping = yaml.safe_load(Path(PORT).read_text())
    mapping["layers"][0]["return_state"] = True
    with_states = tmp_path / "with-states.yaml"
    with_states.write_text(yaml.safe_dump(mapping))
    document = tmp_path / "b.json"
    document.write_text(run_cli("forward", str(with_states), "-f", "json").stdout)
    run = run_cli("compare", KERAS, str(document), "-f", "json")
    assert run.exit_code == 1, run.stderr
    assert "lstm.h, lstm.c left out: A gives no such reference" in run.stderr
    assert json.loads(run.stdout)["diagnosis"][0]["hypothesis"] == "bias:twice"


def test_numbers_that_name_nothing_a_gives_are_an_error_not_an_agreement(tmp_path: Path) -> None:
    document = tmp_path / "b.json"
    document.write_text(json.dumps({"dtype": "float64", "outputs": {"other": [[1.0]]}}))
    assert "none of its references (other) is one A gives" in one_line_error(
        run_cli("compare", KERAS, str(document))
    )


def test_outputs_b_does_not_give_are_said_not_compared(tmp_path: Path) -> None:
    mapping = yaml.safe_load(Path(KERAS).read_text())
    mapping["layers"][0]["return_state"] = True
    mapping["outputs"] = ["lstm", "lstm.h", "lstm.c"]
    path = tmp_path / "states.yaml"
    path.write_text(yaml.safe_dump(mapping))
    run = run_cli("compare", str(path), KERAS)
    assert run.exit_code == 0, run.stderr
    assert "not compared: A's lstm.h, lstm.c, which B does not give in that shape" in run.stderr


def test_an_output_that_cannot_be_compared_is_an_error_not_an_agreement(tmp_path: Path) -> None:
    # A returns the bidirectional layer's last output through a Dense; B (as a state_dict reads) returns
    # every step, and its Dense's bias is off by 0.5. The halves agree step by step, but the Dense is never
    # compared: "agree" would be a silent wrong answer.
    rng = np.random.default_rng(11)

    def half() -> dict[str, object]:
        return {
            "kernel": rng.uniform(-0.8, 0.8, (3, 8)).round(2).tolist(),
            "recurrent_kernel": rng.uniform(-0.8, 0.8, (2, 8)).round(2).tolist(),
            "bias": rng.uniform(-0.5, 0.5, 8).round(2).tolist(),
        }

    layers = [
        {"type": "bidirectional", "name": "bi", "units": 2, "forward": half(), "backward": half()},
        {"type": "dense", "name": "dense", "units": 2, "kernel": [[0.5, -0.5]] * 4, "bias": [0.1, 0.2]},
    ]
    a = {"input": rng.uniform(-1, 1, (2, 5, 3)).round(2).tolist(), "layers": layers}
    b = json.loads(json.dumps(a))
    b["layers"][0]["return_sequences"] = True
    b["layers"][1]["bias"] = [0.6, 0.2]
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(a))
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(b))
    line = one_line_error(run_cli("compare", str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml")))
    assert "A's output 'dense' (2, 2) cannot be compared: B gives (2, 5, 2)" in line


def test_steps_that_the_mask_skips_do_not_count_as_differences(tmp_path: Path) -> None:
    # A PyTorch port with padding_idx=0 zeroes the embedding's row 0; only masked steps read it, and their
    # gates are thrown away: A and B agree. (The gates used to be compared there, and "differed".)
    rng = np.random.default_rng(12)
    layers = [
        {"type": "embedding", "name": "embed", "input_dim": 6, "output_dim": 3, "mask_zero": True,
         "embeddings": rng.uniform(-1, 1, (6, 3)).round(2).tolist()},
        {"type": "lstm", "name": "lstm", "units": 2, "return_sequences": True,
         "kernel": rng.uniform(-0.8, 0.8, (3, 8)).round(2).tolist(),
         "recurrent_kernel": rng.uniform(-0.8, 0.8, (2, 8)).round(2).tolist(),
         "bias": rng.uniform(-0.5, 0.5, 8).round(2).tolist()},
    ]  # fmt: skip
    a = {"input": [[0, 0, 3, 1, 2], [4, 2, 1, 0, 0]], "layers": layers}
    b = json.loads(json.dumps(a))
    b["layers"][0]["embeddings"][0] = [0.0, 0.0, 0.0]
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(a))
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(b))
    run = run_cli("compare", str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml"), "-f", "json")
    assert run.exit_code == 0, run.stdout
    # With a real difference as well, the first one is at a step that counted, not a masked one.
    b["layers"][1]["bias"][0] += 0.5
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(b))
    first = json.loads(
        run_cli("compare", str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml"), "-f", "json").stdout
    )["first_difference"]
    assert (first["t"], first["sample"], first["quantity"]) == (0, 1, "i")  # sample 0 is masked at t = 0, 1


def test_numbers_with_nan_and_inf_give_json_with_null_where_a_difference_is_no_number(tmp_path: Path) -> None:
    output = lstm_cli.forward(KERAS)["lstm"].copy()
    output[0, 2, 1], output[0, 3, 0] = np.nan, np.inf
    np.save(tmp_path / "b.npy", output)
    run = run_cli("compare", KERAS, str(tmp_path / "b.npy"), "-f", "json")
    assert run.exit_code == 1, run.stderr
    document = json.loads(run.stdout)  # strict JSON: no NaN or Infinity
    assert document["max_abs_diff"] is None and document["outputs"] == {"lstm": None}
    first = document["first_difference"]
    assert (first["t"], first["sample"], first["unit"], first["b"]) == (2, 0, 1, None)
    assert "inf" in run_cli("compare", KERAS, str(tmp_path / "b.npy")).stdout  # the table says it


@pytest.mark.parametrize("suffix", [".yaml", ".pt"])
def test_fix_gives_a_b_built_without_a_bias_the_bias_it_lacks(tmp_path: Path, suffix: str) -> None:
    # An nn.LSTM(bias=False) port: bias:none; the fix must add A's bias and use it.
    if suffix == ".pt":
        pytest.importorskip("torch")
    mapping = yaml.safe_load(Path(KERAS).read_text())
    del mapping["layers"][0]["bias"]
    mapping["layers"][0]["use_bias"] = False
    b = tmp_path / "no-bias.yaml"
    b.write_text(yaml.safe_dump(mapping))
    fixed = tmp_path / f"fixed{suffix}"
    run = run_cli("compare", KERAS, str(b), "--fix", str(fixed))
    assert run.exit_code == 1 and "undid bias:none in 'lstm'" in run.stderr, run.stderr
    assert run_cli("compare", KERAS, str(fixed)).exit_code == 0


def test_t_is_the_index_into_the_input_for_numbers_too_under_go_backwards(tmp_path: Path) -> None:
    # The go_backwards LSTM processes input step 3 first, and returns it first: position 0 is t = 3.
    for name, mapping in (("a", KERAS), ("b", PORT)):
        config = yaml.safe_load(Path(mapping).read_text())
        config["layers"][0]["go_backwards"] = True
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(config))
    a, b = str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml")
    np.save(tmp_path / "b.npy", lstm_cli.forward(b)["lstm"])
    as_model = json.loads(run_cli("compare", a, b, "-f", "json").stdout)["first_difference"]
    as_numbers = json.loads(run_cli("compare", a, str(tmp_path / "b.npy"), "-f", "json").stdout)[
        "first_difference"
    ]
    assert as_model["t"] == as_numbers["t"] == 3
