"""Every bad-input rule of issue 2, through the CLI: exit 2, nothing on stdout, one exact line on stderr.

The line is `lstm-cli: error: FILE:LINE:COL: KEY.PATH: message` (SPEC §5). LINE:COL is where the problem
was written; for a mapping entry that is its key. Problems with the file as a whole (missing, empty, a
directory) have no line to point at, and leave LINE:COL out.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli

from lstm_cli.config import LAYER_TYPES

TYPES = ", ".join(LAYER_TYPES)  # lstm, dense, ... as later issues add layer types
ACTIVATIONS = (  # SPEC §1, in its order
    "linear, tanh, sigmoid, hard_sigmoid, hard_sigmoid_tf2, relu, relu6, leaky_relu, elu, selu, gelu, "
    "softplus, softsign, silu, swish, hard_silu, hard_swish, mish, exponential, softmax, log_softmax"
)

# A one-unit LSTM reading two features. Line 3 is `type`, 4 `units`, 5 `kernel`, 6 `recurrent_kernel`,
# 7 `bias`; keys added by a test follow from line 8 on. Every key sits in column 5.
LSTM_FIELDS = {
    "type": "lstm",
    "units": "1",
    "kernel": "[[0, 0, 0, 0], [0, 0, 0, 0]]",
    "recurrent_kernel": "[[0, 0, 0, 0]]",
    "bias": "[0, 0, 0, 0]",
}
# The same in PyTorch's layout: weight_ih on line 5, weight_hh 6, bias_ih 7, bias_hh 8.
TORCH_FIELDS = {
    "type": "lstm",
    "units": "1",
    "weight_ih": "[[0, 0], [0, 0], [0, 0], [0, 0]]",
    "weight_hh": "[[0], [0], [0], [0]]",
    "bias_ih": "[0, 0, 0, 0]",
    "bias_hh": "[0, 0, 0, 0]",
}
# Dense(3) on two features: kernel on line 5, bias on line 6.
DENSE_FIELDS = {"type": "dense", "units": "3", "kernel": "[[0, 0, 0], [0, 0, 0]]", "bias": "[0, 0, 0]"}


def layer_config(
    base: dict[str, str], *, input: str = "[[[1, 0]]]", tail: str = "", **fields: str | None
) -> str:
    """A one-layer config: `base` with `fields` replaced (None drops a key, new keys go last), then `tail`."""
    merged = {**base, **fields}
    lines = [f"input: {input}", "layers:"]
    for index, (key, value) in enumerate((k, v) for k, v in merged.items() if v is not None):
        lines.append(f"{'  - ' if index == 0 else '    '}{key}: {value}")
    return "\n".join(lines) + "\n" + tail


def lstm_config(**fields: str | None) -> str:
    return layer_config(LSTM_FIELDS, **fields)


def write(tmp_path: Path, content: str | bytes, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def assert_error(path: Path | str, expected: str) -> None:
    """`forward PATH` refuses the config with exactly `lstm-cli: error: EXPECTED` and exit code 2."""
    run = run_cli("forward", str(path))
    assert run.stderr == f"lstm-cli: error: {expected}\n"
    assert run.stdout == ""
    assert run.exit_code == 2


def assert_config_error(tmp_path: Path, content: str | bytes, expected: str) -> None:
    """Write `content` as a config, then expect `FILE:EXPECTED` (EXPECTED begins with LINE:COL)."""
    path = write(tmp_path, content)
    assert_error(path, f"{path}:{expected}")


def forward_json(tmp_path: Path, content: str) -> dict[str, object]:
    path = write(tmp_path, content)
    run = run_cli("forward", str(path), "--format", "json")
    assert run.exit_code == 0, run.stderr
    return json.loads(run.stdout)["outputs"]  # type: ignore[no-any-return]


# -- numbers follow YAML 1.2 ---------------------------------------------------------------------------


def echo_config(value: str) -> str:
    """Dense(1) with kernel [[1]] and no bias term to speak of: its output is the input value."""
    return layer_config(
        {"type": "dense", "units": "1", "kernel": "[[1]]", "bias": "[0]"}, input=f"[[[{value}]]]"
    )


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("1e-3", 0.001),  # YAML 1.1 (PyYAML) reads this as a string
        ("017", 17),  # not octal: YAML 1.1 reads 15
        ("0o17", 15),
        ("0x1F", 31),
        ("-2.5E+2", -250),
        (".5", 0.5),
        ("1.", 1),
        ("+3", 3),
        ("!!float 2", 2),
    ],
)
def test_yaml_1_2_numbers(tmp_path: Path, written: str, value: float) -> None:
    assert forward_json(tmp_path, echo_config(written))["dense"] == [[[value]]]


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        ("1:30", "expected a number, got a string '1:30'"),  # no sexagesimal: YAML 1.1 reads 90
        ("0b11", "expected a number, got a string '0b11'"),  # no binary in the YAML 1.2 core schema
        ("1_000", "expected a number, got a string '1_000'"),
        ("true", "expected a number, got a boolean (true)"),
        ("False", "expected a number, got a boolean (false)"),
        ("yes", "expected a number, got a string 'yes'"),  # a boolean only in YAML 1.1
        ("null", "expected a number, got null"),
        ("~", "expected a number, got null"),
        ('"1"', "expected a number, got a string '1'"),
        ("!!str 1", "expected a number, got a string '1'"),
        ("abc", "expected a number, got a string 'abc'"),
        ("[1]", "ragged array: items mix numbers and lists"),
        (".nan", "NaN is not allowed; every value must be a finite number"),
        (".NaN", "NaN is not allowed; every value must be a finite number"),
        (".inf", "infinity is not allowed; every value must be a finite number"),
        ("-.inf", "infinity is not allowed; every value must be a finite number"),
        ("+.Inf", "infinity is not allowed; every value must be a finite number"),
        ("1e400", "1e400 is out of range for float64"),
        ("1" + "0" * 400, "1000000000000000000000000000000000000... is out of range for float64"),
        ("1" + "0" * 5000, "a 5,001-digit number is out of range"),
    ],
)
def test_not_a_finite_number_in_a_weight(tmp_path: Path, written: str, problem: str) -> None:
    config = lstm_config(kernel=f"[[0, 0, 0, {written}], [0, 0, 0, 0]]")
    column = len("    kernel: [[0, 0, 0, ") + 1
    assert_config_error(tmp_path, config, f"5:{column}: layers[0].kernel[0][3]: {problem}")


def test_nan_in_the_input(tmp_path: Path) -> None:
    config = lstm_config(input="[[[1, 0], [.nan, 0]]]")
    assert_config_error(
        tmp_path, config, "1:19: input[0][1][0]: NaN is not allowed; every value must be a finite number"
    )


def test_too_large_for_float32(tmp_path: Path) -> None:
    config = "dtype: float32\n" + lstm_config(input="[[[1e39, 0]]]")
    assert_config_error(tmp_path, config, "2:11: input[0][0][0]: 1e39 is out of range for float32")


def test_boolean_where_a_boolean_belongs_is_checked_too(tmp_path: Path) -> None:
    config = lstm_config(return_sequences="yes")  # YAML 1.1's boolean is a string in YAML 1.2
    assert_config_error(
        tmp_path, config, "8:5: layers[0].return_sequences: expected true or false, got a string 'yes'"
    )


# -- keys: unknown, duplicate, missing -----------------------------------------------------------------


def test_unknown_top_level_key_with_suggestion(tmp_path: Path) -> None:
    config = lstm_config() + "expekt:\n  lstm: [[0]]\n"
    assert_config_error(tmp_path, config, "8:1: expekt: unknown key 'expekt'; did you mean 'expect'?")


def test_unknown_top_level_key_first_line(tmp_path: Path) -> None:
    config = "inptu: [[[1, 0]]]\n" + lstm_config()
    assert_config_error(tmp_path, config, "1:1: inptu: unknown key 'inptu'; did you mean 'input'?")


def test_unknown_layer_key_with_suggestion(tmp_path: Path) -> None:
    config = lstm_config(retrun_sequences="true")
    assert_config_error(
        tmp_path,
        config,
        "8:5: layers[0].retrun_sequences: unknown key 'retrun_sequences'; did you mean 'return_sequences'?",
    )


@pytest.mark.parametrize(("written", "suggested"), [("shap", "shape"), ("Shape", "shape"), ("fil", "file")])
def test_unknown_input_key_with_suggestion(tmp_path: Path, written: str, suggested: str) -> None:
    config = f"input: {{{written}: [2, 3]}}\nlayers: [{{type: lstm, units: 1}}]\n"
    assert_config_error(
        tmp_path, config, f"1:9: input.{written}: unknown key {written!r}; did you mean {suggested!r}?"
    )


def test_unknown_key_without_a_close_match(tmp_path: Path) -> None:
    config = layer_config(DENSE_FIELDS, colour="blue")
    assert_config_error(tmp_path, config, "7:5: layers[0].colour: unknown key 'colour'")


def test_dense_does_not_take_lstm_options(tmp_path: Path) -> None:
    config = layer_config(DENSE_FIELDS, return_sequences="true")
    assert_config_error(tmp_path, config, "7:5: layers[0].return_sequences: unknown key 'return_sequences'")


def test_duplicate_top_level_key(tmp_path: Path) -> None:
    config = lstm_config() + "input: [[[0, 1]]]\n"
    assert_config_error(tmp_path, config, "8:1: input: duplicate key (first given on line 1)")


def test_duplicate_layer_key(tmp_path: Path) -> None:
    config = lstm_config() + "    units: 2\n"
    assert_config_error(tmp_path, config, "8:5: layers[0].units: duplicate key (first given on line 4)")


def test_duplicate_key_spelled_with_quotes(tmp_path: Path) -> None:
    config = lstm_config() + '    "bias": [0, 0, 0, 0]\n'
    assert_config_error(tmp_path, config, "8:5: layers[0].bias: duplicate key (first given on line 7)")


def test_duplicate_key_in_a_flow_mapping(tmp_path: Path) -> None:
    config = lstm_config(initial_state="{h: [0], c: [0], h: [1]}")
    assert_config_error(
        tmp_path, config, "8:37: layers[0].initial_state.h: duplicate key (first given on line 8)"
    )


def test_missing_layers(tmp_path: Path) -> None:
    assert_config_error(
        tmp_path,
        "input: [[[1, 0]]]\n",
        "1:1: missing key 'layers' (a list of layers, each a mapping with a `type`)",
    )


def test_missing_input(tmp_path: Path) -> None:
    config = "# no input\n" + lstm_config().split("\n", 1)[1]
    assert_config_error(
        tmp_path, config, "2:1: missing key 'input' (the input sequence, (batch, timesteps, features))"
    )


def test_missing_units(tmp_path: Path) -> None:
    assert_config_error(tmp_path, lstm_config(units=None), "3:5: layers[0]: missing key 'units'")


def test_missing_type(tmp_path: Path) -> None:
    assert_config_error(
        tmp_path, lstm_config(type=None), f"3:5: layers[0]: missing key 'type' (one of: {TYPES})"
    )


def test_null_type(tmp_path: Path) -> None:
    assert_config_error(
        tmp_path, lstm_config(type="null"), f"3:5: layers[0].type: expected one of: {TYPES}; got null"
    )


@pytest.mark.parametrize(
    ("layers", "problem"),
    [
        ("[]", "expected at least one layer, got an empty list"),
        ("{type: lstm}", "expected a list of layers, each a mapping with a `type`; got a mapping"),
        ("lstm", "expected a list of layers, each a mapping with a `type`; got a string 'lstm'"),
    ],
)
def test_layers_not_a_list_of_layers(tmp_path: Path, layers: str, problem: str) -> None:
    assert_config_error(tmp_path, f"input: [[[1, 0]]]\nlayers: {layers}\n", f"2:1: layers: {problem}")


def test_layer_not_a_mapping(tmp_path: Path) -> None:
    assert_config_error(
        tmp_path,
        "input: [[[1, 0]]]\nlayers: [lstm]\n",
        "2:10: layers[0]: expected a mapping, got a string 'lstm'",
    )


# -- units ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("units", "got"),
    [
        ("0", "0"),
        ("-1", "-1"),
        ("2.5", "2.5"),
        ("1e3", "1000.0"),
        ("true", "a boolean (true)"),
        ("'3'", "a string '3'"),
        ("null", "null"),
        ("[1]", "a list"),
        ("65537", "65537"),
        ("1000000000000", "1000000000000"),
        ("1" + "0" * 40, "a number of more than 30 digits"),
        ("x" * 100, "a string '" + "x" * 37 + "...'"),
    ],
)
def test_units_must_be_a_positive_whole_number(tmp_path: Path, units: str, got: str) -> None:
    assert_config_error(
        tmp_path,
        lstm_config(units=units),
        f"4:5: layers[0].units: expected a whole number from 1 to 65,536, got {got}",
    )


# -- layer types and activations -----------------------------------------------------------------------


def test_unknown_layer_type_lists_the_valid_ones(tmp_path: Path) -> None:
    assert_config_error(
        tmp_path, lstm_config(type="gru"), f"3:5: layers[0].type: unknown type 'gru' (valid: {TYPES})"
    )


def test_misspelt_layer_type(tmp_path: Path) -> None:
    assert_config_error(
        tmp_path,
        lstm_config(type="LSTM"),
        f"3:5: layers[0].type: unknown type 'LSTM'; did you mean 'lstm'? (valid: {TYPES})",
    )


def test_unknown_activation_lists_the_valid_ones(tmp_path: Path) -> None:
    assert_config_error(
        tmp_path,
        lstm_config(activation="tanhh"),
        f"8:5: layers[0].activation: unknown activation 'tanhh'; did you mean 'tanh'? (valid: {ACTIVATIONS})",
    )


def test_activation_that_is_not_a_name(tmp_path: Path) -> None:
    assert_config_error(
        tmp_path,
        lstm_config(recurrent_activation="3"),
        f"8:5: layers[0].recurrent_activation: expected one of: {ACTIVATIONS}; got 3",
    )


def test_unknown_dense_activation(tmp_path: Path) -> None:
    assert_config_error(
        tmp_path,
        layer_config(DENSE_FIELDS, activation="softmaxx"),
        f"7:5: layers[0].activation: unknown activation 'softmaxx'; did you mean 'softmax'? "
        f"(valid: {ACTIVATIONS})",
    )


@pytest.mark.parametrize(
    ("dtype", "problem"),
    [
        ("float16", "unknown dtype 'float16'; did you mean 'float64'? (valid: float32, float64)"),
        ("64", "expected one of: float32, float64; got 64"),
        ("null", "expected one of: float32, float64; got null"),
    ],
)
def test_bad_dtype(tmp_path: Path, dtype: str, problem: str) -> None:
    assert_config_error(tmp_path, f"dtype: {dtype}\n" + lstm_config(), f"1:1: dtype: {problem}")


def test_a_bad_dtype_is_an_error_even_where_the_flag_would_win(tmp_path: Path) -> None:
    path = write(tmp_path, "dtype: double\n" + lstm_config())
    run = run_cli("forward", str(path), "--dtype", "float32")
    assert (run.exit_code, run.stdout) == (2, "")
    assert run.stderr == (
        f"lstm-cli: error: {path}:1:1: dtype: unknown dtype 'double' (valid: float32, float64)\n"
    )


# -- shapes --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"kernel": "[[0, 0, 0], [0, 0, 0]]"},
            "5:5: layers[0].kernel: expected shape (2, 4) = (features, 4*units), got (2, 3)",
        ),
        (
            {"kernel": "[0, 0, 0, 0]"},
            "5:5: layers[0].kernel: expected shape (2, 4) = (features, 4*units), got (4,)",
        ),
        (
            {"recurrent_kernel": "[[0, 0, 0, 0], [0, 0, 0, 0]]"},
            "6:5: layers[0].recurrent_kernel: expected shape (1, 4) = (units, 4*units), got (2, 4)",
        ),
        (
            {"bias": "[0, 0, 0]"},
            "7:5: layers[0].bias: expected shape (4,) = (4*units,), got (3,)",
        ),
        (
            {"bias": "[[0, 0, 0, 0]]"},
            "7:5: layers[0].bias: expected shape (4,) = (4*units,), got (1, 4)",
        ),
    ],
)
def test_keras_weight_shapes(tmp_path: Path, fields: dict[str, str], expected: str) -> None:
    assert_config_error(tmp_path, lstm_config(**fields), expected)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"weight_ih": "[[0, 0], [0, 0], [0, 0]]"},
            "5:5: layers[0].weight_ih: expected shape (4, 2) = (4*units, features), got (3, 2)",
        ),
        (
            {"weight_hh": "[[0, 0], [0, 0], [0, 0], [0, 0]]"},
            "6:5: layers[0].weight_hh: expected shape (4, 1) = (4*units, units), got (4, 2)",
        ),
        (
            {"bias_ih": "[0, 0, 0]"},
            "7:5: layers[0].bias_ih: expected shape (4,) = (4*units,), got (3,)",
        ),
        (
            {"bias_hh": "[0, 0, 0, 0, 0]"},
            "8:5: layers[0].bias_hh: expected shape (4,) = (4*units,), got (5,)",
        ),
    ],
)
def test_pytorch_weight_shapes(tmp_path: Path, fields: dict[str, str], expected: str) -> None:
    assert_config_error(tmp_path, layer_config(TORCH_FIELDS, **fields), expected)


def test_dense_kernel_shape(tmp_path: Path) -> None:
    assert_config_error(
        tmp_path,
        layer_config(DENSE_FIELDS, kernel="[[0, 0], [0, 0]]"),
        "5:5: layers[0].kernel: expected shape (2, 3) = (in, units), got (2, 2)",
    )


def test_dense_bias_shape(tmp_path: Path) -> None:
    assert_config_error(
        tmp_path,
        layer_config(DENSE_FIELDS, bias="[0, 0]"),
        "6:5: layers[0].bias: expected shape (3,) = (units,), got (2,)",
    )


def test_dense_after_lstm_reads_units_features(tmp_path: Path) -> None:
    config = lstm_config() + "  - type: dense\n    units: 2\n    kernel: [[0, 0], [0, 0]]\n    bias: [0, 0]\n"
    assert_config_error(
        tmp_path,
        config,
        "10:5: layers[1].kernel: expected shape (1, 2) = (in, units), got (2, 2); 'lstm' has 1 features",
    )


def test_input_features_do_not_match_the_first_layer(tmp_path: Path) -> None:
    assert_config_error(
        tmp_path,
        lstm_config(input="[[[1, 0, 5]]]"),
        "5:5: layers[0].kernel: expected shape (3, 4) = (features, 4*units), got (2, 4); "
        "'input' has 3 features",
    )


def test_a_pasted_pytorch_weight_under_a_keras_key_is_pointed_to_its_pytorch_key(tmp_path: Path) -> None:
    assert_config_error(
        tmp_path,
        lstm_config(kernel="[[0, 0], [0, 0], [0, 0], [0, 0]]"),
        "5:5: layers[0].kernel: expected shape (2, 4) = (features, 4*units), got (4, 2); it looks "
        "transposed: a PyTorch weight_ih goes under weight_ih:, not kernel:",
    )
    assert_config_error(
        tmp_path,
        lstm_config(recurrent_kernel="[[0], [0], [0], [0]]"),
        "6:5: layers[0].recurrent_kernel: expected shape (1, 4) = (units, 4*units), got (4, 1); it looks "
        "transposed: a PyTorch weight_hh goes under weight_hh:, not recurrent_kernel:",
    )


def test_a_transposed_dense_kernel_is_only_said_to_be_transposed(tmp_path: Path) -> None:
    assert_config_error(
        tmp_path,
        layer_config(DENSE_FIELDS, kernel="[[0, 0], [0, 0], [0, 0]]"),
        "5:5: layers[0].kernel: expected shape (2, 3) = (in, units), got (3, 2); it looks transposed",
    )


def test_input_features_do_not_match_pytorch_weight_ih(tmp_path: Path) -> None:
    assert_config_error(
        tmp_path,
        layer_config(TORCH_FIELDS, input="[[[1]]]"),
        "5:5: layers[0].weight_ih: expected shape (4, 1) = (4*units, features), got (4, 2); "
        "'input' has 1 features",
    )


@pytest.mark.parametrize(
    ("kernel", "expected"),
    [
        (
            "[[0, 0, 0, 0], [0, 0, 0]]",
            "5:28: layers[0].kernel[1]: ragged array: this item has shape (3,) but item 0 has (4,)",
        ),
        ("[[0, 0, 0, 0], 0]", "5:28: layers[0].kernel[1]: ragged array: items mix numbers and lists"),
        ("[0, [0, 0, 0, 0]]", "5:17: layers[0].kernel[1]: ragged array: items mix numbers and lists"),
    ],
)
def test_ragged_arrays(tmp_path: Path, kernel: str, expected: str) -> None:
    assert_config_error(tmp_path, lstm_config(kernel=kernel), expected)


def test_ragged_input_in_block_style(tmp_path: Path) -> None:
    config = "input:\n  - - [1, 0]\n    - [1]\nlayers: []\n"
    assert_config_error(
        tmp_path, config, "3:7: input[0][1]: ragged array: this item has shape (1,) but item 0 has (2,)"
    )


@pytest.mark.parametrize(
    ("input", "expected"),
    [
        ("[1, 0]", "expected (batch, timesteps, features) or (timesteps, features), got shape (2,)"),
        (
            "[[[[1, 0]]]]",
            "expected (batch, timesteps, features) or (timesteps, features), got shape (1, 1, 1, 2)",
        ),
        ("3", "expected an array (a list of numbers), got 3"),
        ("[]", "expected numbers, got an empty array (shape (0,))"),
        ("[[]]", "expected numbers, got an empty array (shape (1, 0))"),
    ],
)
def test_input_of_the_wrong_rank(tmp_path: Path, input: str, expected: str) -> None:
    assert_config_error(tmp_path, lstm_config(input=input), f"1:1: input: {expected}")


# -- weight layouts and biases -------------------------------------------------------------------------


def test_both_weight_layouts_in_one_layer(tmp_path: Path) -> None:
    assert_config_error(
        tmp_path,
        lstm_config(weight_ih="[[0, 0], [0, 0], [0, 0], [0, 0]]"),
        "8:5: layers[0].weight_ih: both Keras weights (kernel, recurrent_kernel, bias) and "
        "PyTorch weights (weight_ih, weight_hh, bias_ih, bias_hh) given; use one layout",
    )


def test_use_bias_false_with_a_bias(tmp_path: Path) -> None:
    assert_config_error(
        tmp_path,
        lstm_config(use_bias="false"),
        "7:5: layers[0].bias: use_bias is false, but a bias is given",
    )


def test_use_bias_false_with_a_pytorch_bias(tmp_path: Path) -> None:
    assert_config_error(
        tmp_path,
        layer_config(TORCH_FIELDS, bias_ih=None, use_bias="false"),
        "7:5: layers[0].bias_hh: use_bias is false, but a bias is given",
    )


def test_use_bias_false_with_a_dense_bias(tmp_path: Path) -> None:
    assert_config_error(
        tmp_path,
        layer_config(DENSE_FIELDS, use_bias="false"),
        "6:5: layers[0].bias: use_bias is false, but a bias is given",
    )


def test_missing_bias(tmp_path: Path) -> None:
    assert_config_error(
        tmp_path,
        lstm_config(bias=None),
        "3:5: layers[0]: missing key 'bias' (4*units values), or set use_bias: false",
    )


def test_missing_pytorch_bias_when_use_bias_is_true(tmp_path: Path) -> None:
    assert_config_error(
        tmp_path,
        layer_config(TORCH_FIELDS, bias_ih=None, bias_hh=None, use_bias="true"),
        "3:5: layers[0]: missing key 'bias_ih' or 'bias_hh' (4*units values), or set use_bias: false",
    )


def test_one_pytorch_bias_without_the_other_is_refused_both_ways_round(tmp_path: Path) -> None:
    # A silent wrong number once: bias_ih alone ran as if bias_hh were 0, with exit 0. torch's
    # load_state_dict refuses the missing key, and so does convert; the config does too.
    assert_config_error(
        tmp_path,
        layer_config(TORCH_FIELDS, bias_hh=None),
        "7:5: layers[0].bias_ih: bias_ih is given without bias_hh; PyTorch has both biases or neither "
        "(bias=False): give bias_hh too, or leave both out and set use_bias: false",
    )
    assert_config_error(
        tmp_path,
        layer_config(TORCH_FIELDS, bias_ih=None),
        "7:5: layers[0].bias_hh: bias_hh is given without bias_ih; PyTorch has both biases or neither "
        "(bias=False): give bias_ih too, or leave both out and set use_bias: false",
    )


def test_pytorch_biases_are_optional_as_in_nn_lstm(tmp_path: Path) -> None:
    # SPEC §1: bias_ih and bias_hh are optional (nn.LSTM(bias=False) has neither).
    outputs = forward_json(tmp_path, layer_config(TORCH_FIELDS, bias_ih=None, bias_hh=None))
    assert outputs["lstm"] == [[0.0]]


def test_pytorch_biases_whose_sum_overflows(tmp_path: Path) -> None:
    # Each bias fits float32, but the LSTM holds bias_ih + bias_hh as one bias. A review found a
    # RuntimeWarning on stderr here, and exit 70 under `python -W error`.
    config = "dtype: float32\n" + layer_config(
        TORCH_FIELDS, bias_ih="[0, 3e38, 0, 0]", bias_hh="[0, 3e38, 0, 0]"
    )
    assert_config_error(
        tmp_path,
        config,
        "9:18: layers[0].bias_hh[1]: bias_ih[1] + bias_hh[1] is out of range for float32; "
        "the LSTM adds them into one bias, as Keras holds it",
    )


def test_missing_dense_bias(tmp_path: Path) -> None:
    assert_config_error(
        tmp_path,
        layer_config(DENSE_FIELDS, bias=None),
        "3:5: layers[0]: missing key 'bias' (units values), or set use_bias: false",
    )


def test_dense_bias_without_a_kernel(tmp_path: Path) -> None:
    assert_config_error(
        tmp_path,
        layer_config(DENSE_FIELDS, kernel=None),
        "3:5: layers[0]: missing key 'kernel' (a bias is given without it)",
    )


@pytest.mark.parametrize("key", ["kernel", "recurrent_kernel"])
def test_missing_keras_weight(tmp_path: Path, key: str) -> None:
    assert_config_error(tmp_path, lstm_config(**{key: None}), f"3:5: layers[0]: missing key '{key}'")


def test_missing_weight_hh(tmp_path: Path) -> None:
    assert_config_error(
        tmp_path, layer_config(TORCH_FIELDS, weight_hh=None), "3:5: layers[0]: missing key 'weight_hh'"
    )


def test_layer_without_weights_cannot_run(tmp_path: Path) -> None:
    assert_config_error(
        tmp_path,
        lstm_config(kernel=None, recurrent_kernel=None, bias=None),
        "3:5: layers[0]: layer 'lstm' has no weights; without them it serves `summary` only",
    )


# -- initial state and expect --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (
            "[[0, 0], [0]]",
            "8:21: layers[0].initial_state[0]: "
            "expected shape (1, 1) = (batch, units) or (1,) = (units,), got (2,)",
        ),
        (
            "{h: [0], c: [[0], [0]]}",
            "8:29: layers[0].initial_state.c: "
            "expected shape (1, 1) = (batch, units) or (1,) = (units,), got (2, 1)",
        ),
        (
            "[[0], [0], [0]]",
            "8:5: layers[0].initial_state: expected [h, c] or {h: ..., c: ...}, each an array or a reference",
        ),
        ("{h: [0]}", "8:5: layers[0].initial_state: missing key 'c'"),
        ("{h: [0], c: [0], x: [0]}", "8:37: layers[0].initial_state.x: unknown key 'x'"),
        (
            "[encoder.h, [0]]",
            "8:21: layers[0].initial_state[0]: unknown reference 'encoder.h' (known so far: input)",
        ),
        (
            "[[.inf], [0]]",
            "8:22: layers[0].initial_state[0][0]: "
            "infinity is not allowed; every value must be a finite number",
        ),
    ],
)
def test_initial_state(tmp_path: Path, state: str, expected: str) -> None:
    assert_config_error(tmp_path, lstm_config(initial_state=state), expected)


def test_expect_unknown_reference(tmp_path: Path) -> None:
    config = lstm_config() + "expect:\n  lstmm: [[0]]\n"
    assert_config_error(
        tmp_path,
        config,
        "9:3: expect.lstmm: unknown reference 'lstmm'; did you mean 'lstm'? (known so far: input, lstm)",
    )


def test_expect_wrong_shape(tmp_path: Path) -> None:
    config = lstm_config() + "expect:\n  lstm: [[0, 0]]\n"
    assert_config_error(
        tmp_path, config, "9:3: expect.lstm: expected shape (1, 1) (the shape of lstm), got (1, 2)"
    )


def test_expect_state_of_a_layer_without_return_state(tmp_path: Path) -> None:
    # The key holds a dot, so the key path quotes it: expect['lstm.h'], never expect.lstm.h.
    config = lstm_config() + "expect:\n  lstm.h: [[0]]\n"
    assert_config_error(
        tmp_path, config, "9:3: expect['lstm.h']: 'lstm.h' needs return_state: true on layer 'lstm'"
    )


def test_key_path_with_a_quoted_key(tmp_path: Path) -> None:
    config = lstm_config() + "expect:\n  'my output': [[0]]\n"
    assert_config_error(
        tmp_path,
        config,
        "9:3: expect['my output']: unknown reference 'my output' (known so far: input, lstm)",
    )


def test_expect_not_a_mapping(tmp_path: Path) -> None:
    config = lstm_config() + "expect: [[0]]\n"
    assert_config_error(tmp_path, config, "8:1: expect: expected a mapping, got a list")


# -- arrays from files ---------------------------------------------------------------------------------


def test_npy_file_works(tmp_path: Path) -> None:
    np.save(tmp_path / "kernel.npy", np.zeros((2, 4)))
    np.savez(tmp_path / "weights.npz", bias=np.zeros(4))
    config = lstm_config(kernel="{file: kernel.npy}", bias="{file: weights.npz, key: bias}")
    assert forward_json(tmp_path, config)["lstm"] == [[0.0]]


def test_npy_file_missing(tmp_path: Path) -> None:
    assert_config_error(
        tmp_path,
        lstm_config(kernel="{file: kernel.npy}"),
        f"5:14: layers[0].kernel.file: kernel.npy: no such file (looked in {tmp_path})",
    )


def test_npy_file_with_pickled_objects_is_refused(tmp_path: Path) -> None:
    np.save(tmp_path / "kernel.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    assert_config_error(
        tmp_path,
        lstm_config(kernel="{file: kernel.npy}"),
        "5:14: layers[0].kernel.file: kernel.npy: cannot load: it holds pickled objects, which are refused",
    )


def test_npy_file_that_is_not_numpy(tmp_path: Path) -> None:
    # numpy takes anything it does not recognise for a pickle; the message must not say so.
    (tmp_path / "kernel.npy").write_bytes(b"0, 0, 0, 0\n")
    assert_config_error(
        tmp_path,
        lstm_config(kernel="{file: kernel.npy}"),
        "5:14: layers[0].kernel.file: kernel.npy: not a .npy file (numpy.save writes them)",
    )


def test_npz_file_that_is_not_a_zip(tmp_path: Path) -> None:
    (tmp_path / "w.npz").write_bytes(b"not a zip")
    assert_config_error(
        tmp_path,
        lstm_config(kernel="{file: w.npz, key: kernel}"),
        "5:14: layers[0].kernel.file: w.npz: not a .npz file (numpy.savez writes them)",
    )


def test_npy_file_of_strings(tmp_path: Path) -> None:
    np.save(tmp_path / "kernel.npy", np.array(["a", "b"]))
    assert_config_error(
        tmp_path,
        lstm_config(kernel="{file: kernel.npy}"),
        "5:14: layers[0].kernel.file: kernel.npy: expected numbers, got dtype <U1",
    )


def test_npy_file_with_the_wrong_shape(tmp_path: Path) -> None:
    np.save(tmp_path / "kernel.npy", np.zeros((4, 2)))
    assert_config_error(
        tmp_path,
        lstm_config(kernel="{file: kernel.npy}"),
        "5:5: layers[0].kernel: expected shape (2, 4) = (features, 4*units), got (4, 2); it looks "
        "transposed: a PyTorch weight_ih goes under weight_ih:, not kernel:",
    )


def test_npy_file_with_nan(tmp_path: Path) -> None:
    kernel = np.zeros((2, 4))
    kernel[1, 2] = np.nan
    np.save(tmp_path / "kernel.npy", kernel)
    assert_config_error(
        tmp_path,
        lstm_config(kernel="{file: kernel.npy}"),
        "5:5: layers[0].kernel[1][2]: NaN is not allowed; every value must be a finite number",
    )


def test_npz_without_key(tmp_path: Path) -> None:
    np.savez(tmp_path / "w.npz", kernel=np.zeros((2, 4)))
    assert_config_error(
        tmp_path,
        lstm_config(kernel="{file: w.npz}"),
        "5:5: layers[0].kernel: w.npz: a .npz file holds several arrays; say which with `key:`",
    )


def test_npz_with_a_wrong_key(tmp_path: Path) -> None:
    np.savez(tmp_path / "w.npz", kernel=np.zeros((2, 4)), bias=np.zeros(4))
    assert_config_error(
        tmp_path,
        lstm_config(kernel="{file: w.npz, key: kernal}"),
        "5:27: layers[0].kernel.key: "
        "no array 'kernal' in w.npz; did you mean 'kernel'? (it holds: kernel, bias)",
    )


def test_npz_key_that_is_not_text(tmp_path: Path) -> None:
    np.savez(tmp_path / "w.npz", kernel=np.zeros((2, 4)))
    assert_config_error(
        tmp_path,
        lstm_config(kernel="{file: w.npz, key: 1}"),
        "5:27: layers[0].kernel.key: expected the name of an array in w.npz, got 1",
    )


def test_npy_with_a_key(tmp_path: Path) -> None:
    np.save(tmp_path / "kernel.npy", np.zeros((2, 4)))
    assert_config_error(
        tmp_path,
        lstm_config(kernel="{file: kernel.npy, key: kernel}"),
        "5:32: layers[0].kernel.key: `key` picks an array from a .npz file; a .npy holds one",
    )


def test_file_of_another_kind(tmp_path: Path) -> None:
    assert_config_error(
        tmp_path,
        lstm_config(kernel="{file: kernel.txt}"),
        "5:14: layers[0].kernel.file: kernel.txt: expected a .npy, .npz, .csv or .tsv file",
    )


# -- arrays from .csv and .tsv: one sequence, a row per timestep ---------------------------------------


def test_a_csv_input_is_one_sequence_and_its_header_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("t0,t1\n1,0\n0,1\n")
    (tmp_path / "x.tsv").write_text("1\t0\r\n\r\n0\t1\r\n")  # no header, CRLF, a blank line
    inline = forward_json(tmp_path, lstm_config(input="[[[1, 0], [0, 1]]]"))
    assert forward_json(tmp_path, lstm_config(input="{file: x.csv}")) == inline
    assert forward_json(tmp_path, lstm_config(input="{file: x.tsv}")) == inline


def test_a_csv_weight_is_read_as_a_matrix(tmp_path: Path) -> None:
    (tmp_path / "kernel.csv").write_text("0.5,0,0,0\n0,0,0,-1e-3\n")
    config = lstm_config(kernel="{file: kernel.csv}")
    assert forward_json(tmp_path, config) == forward_json(
        tmp_path, lstm_config(kernel="[[0.5, 0, 0, 0], [0, 0, 0, -1e-3]]")
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a,b\n1,0\n0,x\n", "line 3, column 2: expected a number, got 'x'"),
        ("1,0\n0,\n", "line 2, column 2: expected a number, got an empty cell"),
        ("1,0\n0,nan\n", "line 2, column 2: NaN is not allowed; every value must be a finite number"),
        ("1,0\n0,-inf\n", "line 2, column 2: infinity is not allowed; every value must be a finite number"),
        ("1,0\n0,1e999\n", "line 2, column 2: 1e999 is out of range for float64"),
        ("1,0\n0,1,2\n", "ragged rows: line 2 has 3 columns, line 1 has 2"),
        ("a,b,c\n1,0\n", "the header (line 1) has 3 columns, line 2 has 2"),
        (
            "t,1\n1,0\n",
            "line 1, column 1: expected a number, got 't' (a first row is a header only when it holds no "
            "number)",
        ),
        ("", "no rows of numbers: it holds nothing"),
        ("\n\n", "no rows of numbers: it holds nothing"),
        ("a,b\n", "no rows of numbers: it holds only a header (line 1)"),
        ('1,"0\n', "line 1: not valid CSV: unexpected end of data"),
        ("1,0\n0,\x001\n", "line 2: not a text file (it contains a NUL byte)"),
    ],
)
def test_csv_problems_name_the_line_and_column(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "x.csv").write_text(text, encoding="utf-8")
    assert_config_error(tmp_path, lstm_config(input="{file: x.csv}"), f"1:9: input.file: x.csv: {message}")


def test_a_csv_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_bytes(b"1,0\n0,\xff\n")
    assert_config_error(
        tmp_path,
        lstm_config(input="{file: x.csv}"),
        "1:9: input.file: x.csv: line 2: not UTF-8 text (byte 0xff)",
    )


def test_a_csv_takes_no_key(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("1,0\n")
    assert_config_error(
        tmp_path,
        lstm_config(input="{file: x.csv, key: x}"),
        "1:22: input.key: `key` picks an array from a .npz file; a .csv holds one",
    )


def test_file_mapping_with_an_unknown_key(tmp_path: Path) -> None:
    assert_config_error(
        tmp_path,
        lstm_config(kernel="{path: kernel.npy}"),
        "5:14: layers[0].kernel.path: unknown key 'path'",
    )


# -- the file itself -----------------------------------------------------------------------------------


def test_empty_file(tmp_path: Path) -> None:
    path = write(tmp_path, "")
    assert_error(path, f"{path}: the file is empty; a config is a mapping with `input` and `layers`")


def test_comments_only_file(tmp_path: Path) -> None:
    path = write(tmp_path, "# a config, some day\n\n# not yet\n")
    assert_error(
        path, f"{path}: the file holds only comments; a config is a mapping with `input` and `layers`"
    )


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    assert_error(path, f"{path}: no such file")


def test_directory(tmp_path: Path) -> None:
    assert_error(tmp_path, f"{tmp_path}: is a directory, not a config file")


def test_binary_file(tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(8)  # the first NUL opens line 3
    assert_config_error(tmp_path, png, "3:1: not a text file (it contains a NUL byte)")


def test_nul_byte(tmp_path: Path) -> None:
    content = lstm_config().encode().replace(b"units: 1", b"units: 1\x00")
    assert_config_error(tmp_path, content, "4:13: not a text file (it contains a NUL byte)")


def test_invalid_utf8(tmp_path: Path) -> None:
    content = b"description: caf\xe9\n" + lstm_config().encode()
    assert_config_error(tmp_path, content, "1:17: not UTF-8 text (byte 0xe9)")


def test_utf8_byte_order_mark_is_fine(tmp_path: Path) -> None:
    assert forward_json(tmp_path, "\ufeff" + lstm_config())["lstm"] == [[0.0]]


def test_too_large_file(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as stream:
        stream.truncate(64 * 2**20 + 1)  # sparse: costs no disk
    assert_error(path, f"{path}: larger than 64 MB; put big arrays in .npy files and use {{file: PATH}}")


def test_bad_indentation(tmp_path: Path) -> None:
    config = lstm_config().replace("    units: 1", "      units: 1")
    assert_config_error(
        tmp_path,
        config,
        "4:12: not valid YAML: mapping values are not allowed here; "
        "check the indentation, or quote a value that holds ': '",
    )


def test_unclosed_bracket(tmp_path: Path) -> None:
    config = lstm_config(input="[[[1, 0]]")
    assert_config_error(
        tmp_path,
        config,
        "2:1: not valid YAML: expected ',' or ']', but got a value "
        "(the '[' at line 1, column 8 is still open)",
    )


def test_unclosed_bracket_at_the_end(tmp_path: Path) -> None:
    config = lstm_config() + "expect: {lstm: [[0]]\n"
    assert_config_error(
        tmp_path,
        config,
        "9:1: not valid YAML: expected ',' or '}', but got the end of the file "
        "(the '{' at line 8, column 9 is still open)",
    )


def test_unclosed_quote(tmp_path: Path) -> None:
    config = lstm_config() + "description: 'one step\n"
    assert_config_error(
        tmp_path,
        config,
        "9:1: not valid YAML: found unexpected end of the file "
        "(in the quoted text that starts at line 8, column 14)",
    )


def test_tab_indentation(tmp_path: Path) -> None:
    config = lstm_config().replace("    units", "\tunits")
    assert_config_error(
        tmp_path, config, "4:1: not valid YAML: YAML does not allow tabs for indentation; indent with spaces"
    )
    config = lstm_config().replace("    units", "  \tunits")  # spaces, then a tab
    assert_config_error(
        tmp_path, config, "4:3: not valid YAML: YAML does not allow tabs for indentation; indent with spaces"
    )


def test_a_tab_between_a_key_and_its_value(tmp_path: Path) -> None:
    config = lstm_config().replace("input: ", "input:\t")
    assert_config_error(
        tmp_path, config, "1:7: not valid YAML: YAML does not allow a tab here; separate with spaces"
    )


def test_two_documents(tmp_path: Path) -> None:
    config = lstm_config() + "---\n" + lstm_config()
    assert_config_error(
        tmp_path,
        config,
        "8:1: not valid YAML: expected a single document in the stream, but found another document",
    )


def test_undefined_alias(tmp_path: Path) -> None:
    assert_config_error(
        tmp_path, lstm_config(bias="*zeros"), "7:11: not valid YAML: found undefined alias 'zeros'"
    )


@pytest.mark.parametrize(
    ("content", "kind", "at"),
    [
        ("- type: lstm\n- type: dense\n", "a list", "1:1"),
        ("[input, layers]\n", "a list", "1:1"),
        ("lstm\n", "a single value", "1:1"),
        ("# a number\n42\n", "a single value", "2:1"),
    ],
)
def test_not_a_mapping(tmp_path: Path, content: str, kind: str, at: str) -> None:
    assert_config_error(
        tmp_path, content, f"{at}: a config must be a mapping of keys (input, layers, ...), not {kind}"
    )


def test_key_that_is_a_list(tmp_path: Path) -> None:
    assert_config_error(tmp_path, "[a, b]: 1\n", "1:1: a key must be a plain name, not a list or mapping")


def test_unsupported_tag(tmp_path: Path) -> None:
    assert_config_error(
        tmp_path,
        lstm_config(input="!!set {a, b}"),
        "1:1: input: unsupported tag 'tag:yaml.org,2002:set'; write plain lists and mappings",
    )


def test_python_tags_are_not_constructed(tmp_path: Path) -> None:
    assert_config_error(
        tmp_path,
        lstm_config(units="!!python/object/apply:os.system ['echo hi']"),
        "4:5: layers[0].units: unsupported tag 'tag:yaml.org,2002:python/object/apply:os.system'; "
        "write plain lists and mappings",
    )


# -- documents built to exhaust the reader -------------------------------------------------------------


def timed_error(path: Path, expected: str) -> float:
    start = time.perf_counter()
    assert_error(path, expected)
    return time.perf_counter() - start


def test_deep_nesting_is_refused_quickly(tmp_path: Path) -> None:
    path = write(tmp_path, "input: " + "[" * 10_000 + "]" * 10_000 + "\nlayers: []\n")
    assert timed_error(path, f"{path}:1:71: nested deeper than 64 levels") < 0.5


def test_deep_block_nesting_is_refused_quickly(tmp_path: Path) -> None:
    path = write(tmp_path, "input:\n" + "- " * 10_000 + "1\nlayers: []\n")  # `- - 1` is [[1]]
    assert timed_error(path, f"{path}:2:127: nested deeper than 64 levels") < 0.5


def test_deep_mapping_nesting_is_refused_quickly(tmp_path: Path) -> None:
    path = write(tmp_path, "input: " + "{a: " * 10_000 + "1" + "}" * 10_000 + "\n")
    assert timed_error(path, f"{path}:1:257: nested deeper than 64 levels") < 0.5


def test_billion_laughs_is_refused_quickly(tmp_path: Path) -> None:
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, 10):  # each level is 9 of the one before: 9**10 values in all
        name, previous = chr(ord("a") + level), chr(ord("a") + level - 1)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    path = write(tmp_path, "\n".join(lines) + "\n")
    # Line 5 defines the list whose repetition first passes the bound.
    message = "aliases repeat more than 250,000 values; put big arrays in .npy files"
    assert timed_error(path, f"{path}:5:4: {message}") < 0.5


def test_alias_that_contains_itself(tmp_path: Path) -> None:
    assert_config_error(
        tmp_path, "input: &x [1, *x]\n", "1:8: an alias refers to the list or mapping that contains it"
    )


def test_many_aliases(tmp_path: Path) -> None:
    content = "zero: &z 0\ninput: [[[" + ", ".join(["*z"] * 1001) + "]]]\n"
    assert_config_error(tmp_path, content, f"2:{11 + 4 * 1000}: more than 1000 aliases")


def test_a_few_aliases_are_fine(tmp_path: Path) -> None:
    zeros = "[0, 0, 0, 0]"
    config = lstm_config(kernel=f"[&zeros {zeros}, *zeros]", recurrent_kernel="[*zeros]", bias="*zeros")
    assert forward_json(tmp_path, config)["lstm"] == [[0.0]]


# -- the command line ----------------------------------------------------------------------------------


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, lstm_config(bias="[0, 0, 0]"))
    run = run_cli("forward", str(path), "--debug")
    assert run.exit_code == 2
    assert "Traceback (most recent call last):" in run.stderr
    message = f"{path}:7:5: layers[0].bias: expected shape (4,) = (4*units,), got (3,)"
    assert run.stderr.endswith(f"LstmCliError: {message}\n")


def test_unknown_option(tmp_path: Path) -> None:
    run = run_cli("forward", "--bogus")
    assert (run.exit_code, run.stdout, run.stderr) == (2, "", "lstm-cli: error: No such option: --bogus\n")


def test_extra_argument() -> None:
    run = run_cli("forward", "a.yaml", "b.yaml")
    assert (run.exit_code, run.stdout) == (2, "")
    assert run.stderr == "lstm-cli: error: Got unexpected extra argument(s) (b.yaml)\n"


def test_bad_dtype_option(tmp_path: Path) -> None:
    run = run_cli("forward", str(write(tmp_path, lstm_config())), "--dtype", "float16")
    assert (run.exit_code, run.stdout) == (2, "")
    assert run.stderr.startswith("lstm-cli: error: Invalid value for '--dtype': ")
    assert "'float16' is not one of 'float32', 'float64'" in run.stderr
    assert run.stderr.count("\n") == 1
