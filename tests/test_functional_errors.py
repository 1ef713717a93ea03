"""Every bad reference in a functional config, and bad bidirectional/masking options: one line, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_cli

ENCODER = """\
inputs:
  source: [[[1, 0], [0, 1]]]
  target: [[[1, 0, 0]]]
layers:
  - type: lstm
    name: encoder
    input: source
    units: 1
    return_state: {return_state}
    kernel: [[0, 0, 0, 0], [0, 0, 0, 0]]
    recurrent_kernel: [[0, 0, 0, 0]]
    bias: [0, 0, 0, 0]
  - type: lstm
    name: decoder
    input: {decoder_input}
    units: {decoder_units}
    initial_state: {initial_state}
    kernel: {decoder_kernel}
    recurrent_kernel: {decoder_recurrent}
    bias: {decoder_bias}
"""


def seq2seq(**fields: str) -> str:
    values = {
        "return_state": "true",
        "decoder_input": "target",
        "decoder_units": "1",
        "initial_state": "[encoder.h, encoder.c]",
        "decoder_kernel": "[[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]",
        "decoder_recurrent": "[[0, 0, 0, 0]]",
        "decoder_bias": "[0, 0, 0, 0]",
        **fields,
    }
    return ENCODER.format(**values)


def error_of(tmp_path: Path, text: str) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    run = run_cli("forward", str(path))
    assert run.exit_code == 2, run.stdout
    assert run.stdout == ""
    assert run.stderr.count("\n") == 1
    prefix = f"lstm-cli: error: {path}:"
    assert run.stderr.startswith(prefix)
    return run.stderr[len(prefix) :].rstrip("\n")


def test_the_valid_seq2seq_runs(tmp_path: Path) -> None:
    (tmp_path / "ok.yaml").write_text(seq2seq())
    run = run_cli("forward", str(tmp_path / "ok.yaml"), "-f", "json")
    assert run.exit_code == 0, run.stderr


def test_unknown_reference_with_did_you_mean(tmp_path: Path) -> None:
    assert error_of(tmp_path, seq2seq(decoder_input="targt")) == (
        "15:5: layers[1].input: unknown reference 'targt'; did you mean 'target'? "
        "(known so far: source, target, encoder, encoder.h, encoder.c)"
    )


def test_state_reference_without_return_state(tmp_path: Path) -> None:
    assert error_of(tmp_path, seq2seq(return_state="false")) == (
        "17:21: layers[1].initial_state[0]: 'encoder.h' needs return_state: true on layer 'encoder'"
    )


def test_reference_to_a_later_layer_is_named_as_such(tmp_path: Path) -> None:
    text = seq2seq().replace("    input: source\n", "    input: decoder\n")
    assert error_of(tmp_path, text) == (
        "7:5: layers[0].input: 'decoder' refers to layer 'decoder', which comes later; a layer reads only "
        "inputs and earlier layers (layers run in the order written, so there are no cycles)"
    )


def test_a_layer_cannot_read_itself(tmp_path: Path) -> None:
    assert error_of(tmp_path, seq2seq(decoder_input="decoder")) == (
        "15:5: layers[1].input: 'decoder' refers to layer 'decoder', which comes later; a layer reads only "
        "inputs and earlier layers (layers run in the order written, so there are no cycles)"
    )


def test_state_of_another_width_is_refused(tmp_path: Path) -> None:
    text = seq2seq(
        decoder_units="2",
        decoder_kernel="[[0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0]]",
        decoder_recurrent="[[0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0]]",
        decoder_bias="[0, 0, 0, 0, 0, 0, 0, 0]",
    )
    assert error_of(tmp_path, text) == (
        "17:21: layers[1].initial_state[0]: 'encoder.h' has shape (1, 1), but this layer's state is "
        "(1, 2) = (batch, units)"
    )


def test_a_sequence_cannot_start_a_state(tmp_path: Path) -> None:
    assert error_of(tmp_path, seq2seq(initial_state="[source, encoder.c]")) == (
        "17:21: layers[1].initial_state[0]: 'source' has shape (1, 2, 2), but this layer's state is "
        "(1, 1) = (batch, units)"
    )


def test_several_inputs_need_an_explicit_input(tmp_path: Path) -> None:
    text = seq2seq().replace("    input: source\n", "")
    assert error_of(tmp_path, text) == (
        "5:5: layers[0]: there are several inputs (source, target); say which with `input:`"
    )


def test_unknown_output_reference(tmp_path: Path) -> None:
    assert error_of(tmp_path, seq2seq() + "outputs: [decodr]\n").startswith(
        "21:11: outputs[0]: unknown reference 'decodr'; did you mean 'decoder'?"
    )


def test_unknown_expect_reference(tmp_path: Path) -> None:
    assert error_of(tmp_path, seq2seq() + "expect:\n  encoder.x: [[0]]\n").startswith(
        "22:3: expect['encoder.x']: unknown reference 'encoder.x'"
    )


BIDIRECTIONAL = """\
input: [[[1, 0], [0, 0]]]
layers:
  - type: masking
  - type: bidirectional
    name: bi
    units: 1
    merge_mode: {merge_mode}
    forward: {{kernel: [[0, 0, 0, 0], [0, 0, 0, 0]], recurrent_kernel: [[0, 0, 0, 0]], bias: [0, 0, 0, 0]}}
    backward: {backward}
"""
HALF = "{kernel: [[0, 0, 0, 0], [0, 0, 0, 0]], recurrent_kernel: [[0, 0, 0, 0]], bias: [0, 0, 0, 0]}"


def test_bidirectional_runs_with_both_halves(tmp_path: Path) -> None:
    (tmp_path / "ok.yaml").write_text(BIDIRECTIONAL.format(merge_mode="concat", backward=HALF))
    run = run_cli("forward", str(tmp_path / "ok.yaml"), "-f", "json")
    assert run.exit_code == 0, run.stderr


def test_unknown_merge_mode(tmp_path: Path) -> None:
    assert error_of(tmp_path, BIDIRECTIONAL.format(merge_mode="avg", backward=HALF)) == (
        "7:5: layers[1].merge_mode: unknown merge_mode 'avg'; did you mean 'ave'? "
        "(valid: concat, sum, mul, ave, null)"
    )


def test_merge_mode_null_in_quotes_is_named_as_text(tmp_path: Path) -> None:
    assert error_of(tmp_path, BIDIRECTIONAL.format(merge_mode='"null"', backward=HALF)) == (
        "7:5: layers[1].merge_mode: 'null' in quotes is text; write null without quotes"
    )


def test_merge_mode_null_gives_two_outputs_and_no_merged_one(tmp_path: Path) -> None:
    text = BIDIRECTIONAL.format(merge_mode="null", backward=HALF) + "outputs: [bi]\n"
    assert error_of(tmp_path, text).startswith("10:11: outputs[0]: unknown reference 'bi'")


def test_missing_backward_half(tmp_path: Path) -> None:
    text = BIDIRECTIONAL.format(merge_mode="sum", backward=HALF).replace("    backward: " + HALF + "\n", "")
    assert (
        error_of(tmp_path, text)
        == "4:5: layers[1]: missing key 'backward': give the weights of both directions"
    )


def test_wrong_shape_in_a_half_names_its_path(tmp_path: Path) -> None:
    bad = "{kernel: [[0, 0, 0], [0, 0, 0]], recurrent_kernel: [[0, 0, 0, 0]], bias: [0, 0, 0, 0]}"
    assert error_of(tmp_path, BIDIRECTIONAL.format(merge_mode="sum", backward=bad)).startswith(
        "9:16: layers[1].backward.kernel: expected shape (2, 4) = (features, 4*units), got (2, 3)"
    )


def test_unknown_key_in_a_half(tmp_path: Path) -> None:
    bad = HALF.replace("bias:", "bais:")
    assert error_of(tmp_path, BIDIRECTIONAL.format(merge_mode="sum", backward=bad)).startswith(
        "9:88: layers[1].backward.bais: unknown key 'bais'; did you mean 'bias'?"
    )


def test_masking_value_must_be_a_number(tmp_path: Path) -> None:
    text = BIDIRECTIONAL.format(merge_mode="sum", backward=HALF).replace(
        "  - type: masking\n", "  - type: masking\n    mask_value: zero\n"
    )
    assert (
        error_of(tmp_path, text) == "4:5: layers[0].mask_value: expected a finite number, got a string 'zero'"
    )


@pytest.mark.parametrize("kind", ["masking", "bidirectional"])
def test_sequence_layers_refuse_a_non_sequence(tmp_path: Path, kind: str) -> None:
    extra = "\n    units: 1" if kind == "bidirectional" else ""
    text = (
        "input: [[[1, 0]]]\nlayers:\n  - type: lstm\n    units: 1\n"
        "    kernel: [[0, 0, 0, 0], [0, 0, 0, 0]]\n    recurrent_kernel: [[0, 0, 0, 0]]\n"
        "    bias: [0, 0, 0, 0]\n"
        f"  - type: {kind}{extra}\n"
    )
    assert error_of(tmp_path, text) == (
        "8:5: layers[1]: this layer reads a sequence (batch, timesteps, features), "
        "but 'lstm' has shape (1, 1)"
    )
