"""`lstm-cli backward`: its formats, expect_gradients' story and exit code, --check, --sgd and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import assert_golden, run_cli

import lstm_cli


def test_json_holds_the_loss_gradients_and_each_step() -> None:
    run = run_cli("backward", "configs/seed-backward.yaml", "--format", "json")
    assert run.exit_code == 0, run.stderr
    document = json.loads(run.stdout)
    assert document["loss"] == 4.0
    assert document["gradients"]["input"] == [[[8.0, 4.0]]]
    step = document["layers"][0]["steps"][0]
    assert step["dz"]["g"] == [[10.0, 2.0, 0.0]] and step["dc"] == [[2.0, 1.0, 0.0]]
    assert document["mismatches"] == []


def test_a_hand_value_that_differs_is_told_and_exits_1(tmp_path: Path) -> None:
    config = yaml.safe_load(Path("configs/seed-backward.yaml").read_text(encoding="utf-8"))
    config["expect_gradients"]["lstm.bias"][6] = 9  # dz_g[0] = dc·i = 2·5 = 10, not 9
    path = tmp_path / "wrong.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    run = run_cli("backward", str(path))
    assert run.exit_code == 1
    assert run.stdout.splitlines()[-10:-6] == [
        "expect_gradients: 1 value differs",
        "  first: lstm.bias[6] is 10, you expected 9",
        "  lstm.bias[6] is Σ over steps and samples of dz_g[0] (gate g, unit 0):",
        "    t = 0, sample 0: 10",
    ]


def test_the_mismatch_story_golden(tmp_path: Path) -> None:
    """The first difference, the sum it comes from term by term, and the chain rule of its largest term."""
    config = yaml.safe_load(Path("configs/seed-backward.yaml").read_text(encoding="utf-8"))
    config["expect_gradients"]["lstm.kernel"] = [[0, 2, 0, 0, 0, 0, 10, 2, 0, 0, 4, 1], [0] * 12]
    config["expect_gradients"]["lstm.kernel"][0][10] = 1  # do = dh·c = 4 at unit 1, taken as dh·o = 1
    path = tmp_path / "wrong.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    run = run_cli("backward", str(path))
    assert run.exit_code == 1
    assert_golden("backward-seed-expect-gradients.txt", run.stdout)


def test_check_finds_the_seed_exact() -> None:
    run = run_cli("backward", "configs/seed-backward.yaml", "--check", "--format", "json")
    errors = json.loads(run.stdout)["check"]
    assert set(errors) == {"lstm.kernel", "lstm.recurrent_kernel", "lstm.bias", "input"}
    assert max(errors.values()) < 1e-6


def test_sgd_writes_a_config_whose_loss_falls(tmp_path: Path) -> None:
    config = yaml.safe_load(Path("configs/seed-backward.yaml").read_text(encoding="utf-8"))
    config["loss"] = {"type": "mse", "output": "lstm.h", "target": [[0, 3, 1]]}
    del config["expect_gradients"]
    before = tmp_path / "before.yaml"
    before.write_text(yaml.safe_dump(config), encoding="utf-8")
    after = tmp_path / "after.yaml"
    run = run_cli("backward", str(before), "--sgd", "0.01", "-o", str(after), "--format", "json")
    assert run.exit_code == 0, run.stderr
    loss_after = json.loads(run_cli("backward", str(after), "--format", "json").stdout)["loss"]
    assert loss_after < json.loads(run.stdout)["loss"]


def test_sgd_needs_an_output_file() -> None:
    run = run_cli("backward", "configs/seed-backward.yaml", "--sgd", "0.1")
    assert run.exit_code == 2
    assert run.stderr == "lstm-cli: error: --sgd writes the config after one step: give -o FILE\n"


def test_a_target_of_the_wrong_shape_is_located(tmp_path: Path) -> None:
    config = Path("configs/seed-backward.yaml").read_text(encoding="utf-8")
    config = config.replace(
        "  type: sum                     # L = sum of h: dL/dh = 1 for every unit\n",
        "  type: mse\n  target: [[1, 2]]\n",
    )
    path = tmp_path / "bad.yaml"
    path.write_text(config, encoding="utf-8")
    run = run_cli("backward", str(path))
    assert run.exit_code == 2
    assert "loss.target: expected an array of shape (1, 3): the shape of lstm.h; got (1, 2)" in run.stderr


def test_csv_rows_are_tidy() -> None:
    rows = run_cli("backward", "configs/seed-backward.yaml", "--format", "csv").stdout.splitlines()
    assert rows[0] == "layer,direction,t,sample,unit,quantity,value"
    assert "lstm,forward,0,0,0,dz_g,10.0" in rows
    assert "loss,,,,,loss,4.0" in rows
    assert "input,,0,0,1,gradient,4.0" in rows


def test_from_logits_on_the_command_line_is_the_configs_from_logits(tmp_path: Path) -> None:
    logits_target = tmp_path / "t.npy"
    np.save(logits_target, np.array([[[0.0, 1.0, 0.0]]]))
    config = yaml.safe_load(Path("configs/seed-backward.yaml").read_text(encoding="utf-8"))
    del config["expect_gradients"]  # worked out for the sum loss
    path = tmp_path / "seed.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    config["loss"] = {"type": "categorical_crossentropy", "target": [[[0, 1, 0]]], "from_logits": True}
    expected = lstm_cli.backward(config)
    run = run_cli(
        "backward",
        str(path),
        *("--loss", "categorical_crossentropy", "--target", str(logits_target), "--from-logits"),
        *("--format", "json"),
    )
    assert run.exit_code == 0, run.stderr
    document = json.loads(run.stdout)
    assert document["loss"] == float(expected["loss"])
    np.testing.assert_array_equal(document["gradients"]["lstm.kernel"], expected["lstm.kernel"])
    without = run_cli(
        "backward",
        str(path),
        *("--loss", "categorical_crossentropy", "--target", str(logits_target), "--format", "json"),
    )
    assert json.loads(without.stdout)["loss"] != document["loss"]  # the softmax is applied only with it


@pytest.mark.parametrize("loss", ["mse", "mae", "sum"])
def test_from_logits_is_refused_for_a_loss_without_logits(loss: str) -> None:
    run = run_cli("backward", "configs/seed-backward.yaml", "--loss", loss, "--from-logits")
    assert run.exit_code == 2
    assert run.stderr == (
        "lstm-cli: error: --from-logits applies to the crossentropies (binary_crossentropy, "
        f"categorical_crossentropy, sparse_categorical_crossentropy), not to --loss {loss}\n"
    )


def test_from_logits_needs_a_loss_on_the_command_line() -> None:
    run = run_cli("backward", "configs/seed-backward.yaml", "--from-logits")
    assert run.exit_code == 2
    assert run.stderr == "lstm-cli: error: --from-logits goes with --loss TYPE\n"


def _training_config(tmp_path: Path) -> Path:
    config = yaml.safe_load(Path("configs/seed-backward.yaml").read_text(encoding="utf-8"))
    config["loss"] = {"type": "mse", "output": "lstm.h", "target": [[0.5, 3, 1]]}
    config["expect_gradients"] = {"loss": 0.75, "lstm.bias": [0, 2, 0, 0, 0, 0, 10, 2, 0, 0, 4, 1]}
    path = tmp_path / "training.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def test_convert_yaml_to_yaml_keeps_the_loss_and_expect_gradients(tmp_path: Path) -> None:
    source = _training_config(tmp_path)
    destination = tmp_path / "copy.yaml"
    run = run_cli("convert", str(source), "-o", str(destination))
    assert run.exit_code == 0, run.stderr
    assert "left out" not in run.stderr
    written = yaml.safe_load(destination.read_text(encoding="utf-8"))
    assert written["loss"] == {"type": "mse", "output": "lstm.h", "target": [[0.5, 3, 1]]}
    assert written["expect_gradients"]["loss"] == 0.75
    before, after = lstm_cli.backward(str(source)), lstm_cli.backward(str(destination))
    assert before.keys() == after.keys()
    for key, gradient in before.items():
        np.testing.assert_array_equal(after[key], gradient, err_msg=key)


@pytest.mark.parametrize("suffix", [".npz", ".weights.h5", ".onnx"])
def test_convert_to_a_model_file_leaves_the_loss_out_and_says_so(tmp_path: Path, suffix: str) -> None:
    if suffix == ".weights.h5":
        pytest.importorskip("h5py")
    if suffix == ".onnx":
        pytest.importorskip("onnx")
    destination = tmp_path / f"model{suffix}"
    run = run_cli("convert", str(_training_config(tmp_path)), "-o", str(destination))
    assert run.exit_code == 0, run.stderr
    assert (
        f"lstm-cli: note: model{suffix} holds the model alone: the config's loss: and expect_gradients: "
        "are left out\n"
    ) in run.stderr
    assert destination.exists()


def _checked(run_args: list[str]) -> dict[str, float]:
    run = run_cli("backward", *run_args, "--check", "--format", "json")
    assert run.exit_code == 0, run.stderr
    errors: dict[str, float] = json.loads(run.stdout)["check"]
    return errors


@pytest.mark.parametrize(
    "name", ["bidirectional-masked", "masked", "everything", "peepholes", "softmax-and-relu"]
)
def test_check_holds_on_bidirectional_masked_and_variant_models(name: str, tmp_path: Path) -> None:
    from test_backward_explain import STORIES, story_config

    options, shape = STORIES[name]
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(story_config(options, **shape)), encoding="utf-8")
    errors = _checked([str(path)])
    weights = "bi.forward.kernel" if shape.get("bidirectional") else "lstm.kernel"
    assert weights in errors and "input" in errors
    if "peepholes" in options:
        assert "lstm.peepholes.o" in errors
    if "proj" in options:
        assert "lstm.projection.kernel" in errors
    assert max(errors.values()) < 1e-6, errors


def test_check_holds_on_seq2seq_through_the_encoders_states(tmp_path: Path) -> None:
    outputs = lstm_cli.forward("configs/seq2seq.yaml")
    rng = np.random.default_rng(3)
    target = np.eye(6)[rng.integers(0, 6, outputs["decoder_dense"].shape[:-1])]
    np.save(tmp_path / "target.npy", target)
    errors = _checked(
        [
            "configs/seq2seq.yaml",
            "--loss",
            "categorical_crossentropy",
            "--target",
            str(tmp_path / "target.npy"),
        ]
    )
    assert {"encoder.kernel", "decoder_lstm.kernel", "encoder_inputs", "decoder_inputs"} <= set(errors)
    assert max(errors.values()) < 1e-6, errors


def test_sgd_refuses_to_overwrite_a_file_without_force(tmp_path: Path) -> None:
    written = tmp_path / "step.yaml"
    written.write_text("mine\n", encoding="utf-8")
    run = run_cli("backward", "configs/seed-backward.yaml", "--sgd", "0.1", "-o", str(written), "-f", "json")
    assert run.exit_code == 2 and "already exists; add --force to overwrite it" in run.stderr
    assert run.stdout == "" and written.read_text(encoding="utf-8") == "mine\n"
    forced = run_cli(
        "backward", "configs/seed-backward.yaml", "--sgd", "0.1", "-o", str(written), "--force", "-f", "json"
    )
    assert forced.exit_code == 0, forced.stderr
    assert "lstm" in written.read_text(encoding="utf-8")
    assert (
        "--force overwrites the --sgd FILE"
        in run_cli("backward", "configs/seed-backward.yaml", "--force").stderr
    )
