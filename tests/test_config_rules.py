"""The config rules of docs/config.md, stated against the loader itself.

Each test gives `lstm_cli.config.load_model` a config (a mapping, or YAML where the rule is about YAML or
about where an error points) and checks the model it builds or the exact error it raises. An error's key
path and message are checked apart: a mapping has no lines, so its errors read `<config>: KEY.PATH: message`.
`tests/test_config_errors.py` checks the same rules through `lstm-cli forward`, with FILE:LINE:COL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lstm_cli.config import load_model, require_data
from lstm_cli.errors import LstmCliError

# -- configs ---------------------------------------------------------------------------------------------


def zeros(*shape: int) -> list[Any]:
    """Nested lists of zeros: a weight of `shape`, written as YAML would give it."""
    return np.zeros(shape).tolist()


def lstm(units: int = 1, features: int = 1, **options: Any) -> dict[str, Any]:
    """An lstm layer with weights of the right shapes: kernel (features, 4*units), ..."""
    weights = {
        "kernel": zeros(features, 4 * units),
        "recurrent_kernel": zeros(units, 4 * units),
        "bias": zeros(4 * units),
    }
    return {"type": "lstm", "units": units, **weights, **options}


def torch_lstm(units: int = 1, features: int = 1, **options: Any) -> dict[str, Any]:
    """The same layer in PyTorch's layout: weight_ih (4*units, features), ..."""
    weights = {
        "weight_ih": zeros(4 * units, features),
        "weight_hh": zeros(4 * units, units),
        "bias_ih": zeros(4 * units),
        "bias_hh": zeros(4 * units),
    }
    return {"type": "lstm", "units": units, **weights, **options}


def half(units: int = 1, features: int = 1) -> dict[str, Any]:
    """One direction of a bidirectional layer: an lstm's weights alone."""
    return {key: value for key, value in lstm(units, features).items() if key not in ("type", "units")}


def dense(units: int = 1, inputs: int = 1, **options: Any) -> dict[str, Any]:
    return {"type": "dense", "units": units, "kernel": zeros(inputs, units), "bias": zeros(units), **options}


def config(*layers: dict[str, Any], input: Any = None, **top: Any) -> dict[str, Any]:
    """A config mapping; the input defaults to one sample of one step of one feature."""
    return {"input": [[[1.0]]] if input is None else input, "layers": list(layers), **top}


def refused(source: Any, **options: Any) -> LstmCliError:
    with pytest.raises(LstmCliError) as info:
        load_model(source, **options)
    return info.value


def assert_refused(source: Any, key_path: str | None, message: str, **options: Any) -> None:
    error = refused(source, **options)
    assert (error.key_path, error.message) == (key_path, message)


def yaml_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# -- top-level keys, layer keys, and "did you mean" ------------------------------------------------------


def test_a_config_needs_layers_and_an_input() -> None:
    assert_refused(
        {"input": [[[1.0]]]}, None, "missing key 'layers' (a list of layers, each a mapping with a `type`)"
    )
    assert_refused(
        {"layers": [lstm()]}, None, "missing key 'input' (the input sequence, (batch, timesteps, features))"
    )
    assert_refused(config(), "layers", "expected at least one layer, got an empty list")


def test_an_unknown_top_level_key_is_refused_with_the_closest_known_key() -> None:
    assert_refused(config(lstm(), output=["lstm"]), "output", "unknown key 'output'; did you mean 'outputs'?")


def test_input_and_inputs_together_are_refused() -> None:
    assert_refused(
        config(lstm(), inputs={"x": [[[1.0]]]}), "inputs", "give either `input` or `inputs`, not both"
    )


def test_an_unknown_layer_key_is_refused_with_the_closest_known_key() -> None:
    assert_refused(
        config(lstm(return_sequence=True)),
        "layers[0].return_sequence",
        "unknown key 'return_sequence'; did you mean 'return_sequences'?",
    )


def test_an_unknown_layer_type_lists_the_valid_types() -> None:
    assert_refused(
        config({"type": "gru", "units": 1}),
        "layers[0].type",
        "unknown type 'gru' (valid: lstm, dense, bidirectional, masking, embedding, dropout, "
        "spatial_dropout1d, gaussian_noise, gaussian_dropout, alpha_dropout, activity_regularization)",
    )


def test_an_unknown_activation_is_refused_with_the_closest_valid_one() -> None:
    error = refused(config(lstm(recurrent_activation="sigmoyd")))
    assert error.key_path == "layers[0].recurrent_activation"
    assert error.message.startswith(
        "unknown recurrent_activation 'sigmoyd'; did you mean 'sigmoid'? (valid: "
    )


def test_the_defaults_are_keras_defaults_and_null_means_linear() -> None:
    model = load_model(
        config(lstm(), lstm(activation=None, recurrent_activation=None, input="input"), dense())
    )
    keras_default, linear, head = model.layers
    assert (keras_default.activation, keras_default.recurrent_activation) == ("tanh", "sigmoid")
    assert (linear.activation, linear.recurrent_activation) == ("linear", "linear")
    assert head.activation == "linear"
    assert not keras_default.return_sequences and not keras_default.return_state
    assert not keras_default.go_backwards and keras_default.use_mask and keras_default.initial_state is None


# -- the types of values ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("units", "found"),
    [(0, "0"), (65_537, "65537"), (1.5, "1.5"), ("3", "a string '3'"), (True, "a boolean (true)")],
)
def test_units_is_a_whole_number_from_1_to_65536(units: Any, found: str) -> None:
    assert_refused(
        config({"type": "lstm", "units": units}),
        "layers[0].units",
        f"expected a whole number from 1 to 65,536, got {found}",
    )


def test_a_flag_is_true_or_false_and_nothing_else() -> None:
    assert_refused(
        config(lstm(return_state="yes")),
        "layers[0].return_state",
        "expected true or false, got a string 'yes'",
    )
    assert_refused(config(lstm(use_mask=0)), "layers[0].use_mask", "expected true or false, got 0")


@pytest.mark.parametrize(
    ("value", "found"), [(True, "a boolean (true)"), (None, "null"), ("1", "a string '1'"), ({}, "a mapping")]
)
def test_only_numbers_belong_in_an_array(value: Any, found: str) -> None:
    assert_refused(config(lstm(), input=[[[value]]]), "input[0][0][0]", f"expected a number, got {found}")


def test_a_ragged_array_is_refused_at_the_first_item_that_differs() -> None:
    assert_refused(
        config(lstm(features=2), input=[[[1, 2], [3]]]),
        "input[0][1]",
        "ragged array: this item has shape (1,) but item 0 has (2,)",
    )


def test_an_empty_array_is_refused() -> None:
    assert_refused(config(lstm(), input=[]), "input", "expected numbers, got an empty array (shape (0,))")


# -- shapes, with the formula each comes from ------------------------------------------------------------


@pytest.mark.parametrize(
    ("layer", "key", "message"),
    [
        (lstm(units=3, kernel=zeros(1, 10)), "kernel", "(1, 12) = (features, 4*units), got (1, 10)"),
        (
            lstm(units=3, recurrent_kernel=zeros(3, 3)),
            "recurrent_kernel",
            "(3, 12) = (units, 4*units), got (3, 3)",
        ),
        (lstm(units=3, bias=zeros(3)), "bias", "(12,) = (4*units,), got (3,)"),
        (torch_lstm(units=2, weight_hh=zeros(8, 3)), "weight_hh", "(8, 2) = (4*units, units), got (8, 3)"),
        (dense(units=2, kernel=zeros(1, 3)), "kernel", "(1, 2) = (in, units), got (1, 3)"),
        (dense(units=2, bias=zeros(3)), "bias", "(2,) = (units,), got (3,)"),
    ],
)
def test_a_wrong_weight_shape_names_the_expected_shape_and_its_formula(
    layer: dict[str, Any], key: str, message: str
) -> None:
    assert_refused(config(layer), f"layers[0].{key}", f"expected shape {message}")


def test_a_transposed_kernel_says_so_and_where_a_pytorch_weight_goes() -> None:
    assert_refused(
        config(lstm(features=2, kernel=zeros(4, 2)), input=[[[1, 2]]]),
        "layers[0].kernel",
        "expected shape (2, 4) = (features, 4*units), got (4, 2); it looks transposed: "
        "a PyTorch weight_ih goes under weight_ih:, not kernel:",
    )


def test_a_kernel_with_the_wrong_features_names_the_reference_that_sets_them() -> None:
    assert_refused(
        config(lstm(features=3), input=[[[1, 2]]]),
        "layers[0].kernel",
        "expected shape (2, 4) = (features, 4*units), got (3, 4); 'input' has 2 features",
    )


def test_output_shapes_follow_keras() -> None:
    model = load_model(
        config(
            lstm(units=2, return_sequences=True, return_state=True),
            lstm(units=3, features=2),
            dense(units=4, inputs=3),
            input=[[[1.0], [2.0]], [[3.0], [4.0]]],
        )
    )
    assert model.shapes == {
        "input": (2, 2, 1),
        "lstm": (2, 2, 2),  # (batch, timesteps, units) with return_sequences
        "lstm.h": (2, 2),
        "lstm.c": (2, 2),
        "lstm_1": (2, 3),  # the last step, (batch, units)
        "dense": (2, 4),
    }


def test_a_two_dimensional_input_is_one_sequence() -> None:
    model = load_model(config(lstm(features=2), input=[[1, 2], [3, 4], [5, 6]]))
    assert model.shapes["input"] == (1, 3, 2)


def test_an_lstm_reads_a_sequence() -> None:
    assert_refused(
        config(lstm(), lstm()),
        "layers[1]",
        "this layer reads a sequence (batch, timesteps, features), but 'lstm' has shape (1, 1)",
    )


# -- references, names, and their order ------------------------------------------------------------------


def test_a_layer_reads_the_layer_before_it_unless_it_names_its_input() -> None:
    model = load_model(config(lstm(return_sequences=True), lstm(), lstm(name="side", input="input")))
    assert [(layer.name, layer.input) for layer in model.layers] == [
        ("lstm", "input"),
        ("lstm_1", "lstm"),
        ("side", "input"),
    ]


def test_a_reference_to_a_later_layer_is_refused_because_layers_run_in_order() -> None:
    assert_refused(
        config(lstm(input="later"), lstm(name="later")),
        "layers[0].input",
        "'later' refers to layer 'later', which comes later; a layer reads only inputs and earlier layers "
        "(layers run in the order written, so there are no cycles)",
    )


def test_the_states_exist_only_with_return_state() -> None:
    assert_refused(
        config(lstm(), outputs=["lstm.h"]), "outputs[0]", "'lstm.h' needs return_state: true on layer 'lstm'"
    )


def test_an_unknown_reference_lists_the_known_ones_with_the_closest() -> None:
    assert_refused(
        config(lstm(input="inptu")),
        "layers[0].input",
        "unknown reference 'inptu'; did you mean 'input'? (known so far: input)",
    )


def test_with_several_inputs_the_first_layer_names_the_one_it_reads() -> None:
    two = {"a": [[[1.0]]], "b": [[[2.0]]]}
    assert_refused(
        {"inputs": two, "layers": [lstm()]},
        "layers[0]",
        "there are several inputs (a, b); say which with `input:`",
    )
    assert load_model({"inputs": two, "layers": [lstm(input="b")]}).layers[0].input == "b"


def test_every_input_has_the_same_batch() -> None:
    assert_refused(
        {"inputs": {"a": [[[1.0]]], "b": [[[1.0]], [[2.0]]]}, "layers": [lstm(input="a")]},
        "inputs.b",
        "batch 2 differs from the other inputs' batch 1",
    )


def test_layers_are_named_as_keras_names_them() -> None:
    masking, bidirectional = {"type": "masking"}, {"type": "bidirectional", "units": 1}
    model = load_model(config(masking, bidirectional | {"return_sequences": True}, lstm(features=2), dense()))
    # A bidirectional layer uses up an lstm name too, for the LSTM it wraps.
    assert [layer.name for layer in model.layers] == ["masking", "bidirectional", "lstm_1", "dense"]


def test_an_automatic_name_skips_a_name_given_explicitly() -> None:
    model = load_model(
        config(lstm(return_sequences=True), lstm(name="lstm_1", return_sequences=True), lstm())
    )
    assert [layer.name for layer in model.layers] == ["lstm", "lstm_1", "lstm_2"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("a.b", "a name is letters, digits, _ and -, starting with a letter or _; got a string 'a.b'"),
        ("1st", "a name is letters, digits, _ and -, starting with a letter or _; got a string '1st'"),
        ("input", "the name 'input' is already taken"),
    ],
)
def test_a_layer_name_is_a_plain_name_that_nothing_else_has(name: str, message: str) -> None:
    assert_refused(config(lstm(name=name)), "layers[0].name", message)


def test_outputs_default_to_the_last_layer_and_are_references() -> None:
    model = load_model(config(lstm(return_sequences=True, return_state=True), dense()))
    assert model.outputs == ("dense",)
    chosen = load_model(
        config(lstm(return_sequences=True, return_state=True), dense(), outputs=["dense", "lstm.c"])
    )
    assert chosen.outputs == ("dense", "lstm.c")
    assert_refused(
        config(lstm(), outputs=[]), "outputs", "expected a list of references, e.g. [decoder_dense]"
    )


# -- initial_state ---------------------------------------------------------------------------------------


def test_an_initial_state_is_a_list_or_a_mapping_of_h_and_c() -> None:
    listed = load_model(config(lstm(units=2, initial_state=[[1, 2], [3, 4]]))).layers[0].initial_state
    mapped = (
        load_model(config(lstm(units=2, initial_state={"h": [1, 2], "c": [3, 4]}))).layers[0].initial_state
    )
    for state in (listed, mapped):
        assert state is not None
        np.testing.assert_array_equal(state.h, [1, 2])  # (units,): shared by the batch
        np.testing.assert_array_equal(state.c, [3, 4])


def test_an_initial_state_needs_exactly_h_and_c() -> None:
    assert_refused(
        config(lstm(initial_state=[[1]])),
        "layers[0].initial_state",
        "expected [h, c] or {h: ..., c: ...}, each an array or a reference",
    )
    assert_refused(config(lstm(initial_state={"h": [1]})), "layers[0].initial_state", "missing key 'c'")


def test_an_initial_state_array_is_batch_by_units_or_units() -> None:
    assert_refused(
        config(lstm(units=2, initial_state=[[1, 2], [[1, 2], [3, 4]]])),
        "layers[0].initial_state[1]",
        "expected shape (1, 2) = (batch, units) or (2,) = (units,), got (2, 2)",
    )


def test_an_initial_state_may_name_an_earlier_state_of_the_same_shape() -> None:
    encoder = lstm(units=2, name="encoder", return_state=True)
    decoder = lstm(units=2, input="input", initial_state=["encoder.h", "encoder.c"])
    assert load_model(config(encoder, decoder)).layers[1].initial_state.h == "encoder.h"
    assert_refused(
        config(encoder, lstm(units=3, input="input", initial_state=["encoder.h", "encoder.c"])),
        "layers[1].initial_state[0]",
        "'encoder.h' has shape (1, 2), but this layer's state is (1, 3) = (batch, units)",
    )


# -- bidirectional ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("merge_mode", "references"),
    [
        ("concat", {"bi": (1, 3, 4)}),
        ("sum", {"bi": (1, 3, 2)}),
        (None, {"bi.forward": (1, 3, 2), "bi.backward": (1, 3, 2)}),
    ],
)
def test_a_bidirectional_layers_references_follow_merge_mode_and_return_state(
    merge_mode: str | None, references: dict[str, tuple[int, ...]]
) -> None:
    layer = {"type": "bidirectional", "name": "bi", "units": 2, "merge_mode": merge_mode}
    model = load_model(
        config(layer | {"return_sequences": True, "return_state": True}, input=[[[1], [2], [3]]])
    )
    states = {f"bi.{half}.{state}": (1, 2) for half in ("forward", "backward") for state in ("h", "c")}
    assert model.shapes == {"input": (1, 3, 1), **references, **states}


def test_the_backward_half_reads_the_input_reversed() -> None:
    bidirectional = load_model(config({"type": "bidirectional", "units": 1})).layers[0]
    assert not bidirectional.forward.go_backwards
    assert bidirectional.backward.go_backwards


def test_a_bidirectional_layer_has_the_weights_of_both_directions_or_neither() -> None:
    assert_refused(
        config({"type": "bidirectional", "units": 1, "forward": half()}),
        "layers[0]",
        "missing key 'backward': give the weights of both directions",
    )


def test_a_bidirectional_layers_halves_have_a_bias_or_neither() -> None:
    torch_without_bias = {"weight_ih": zeros(4, 1), "weight_hh": zeros(4, 1)}
    assert_refused(
        config({"type": "bidirectional", "units": 1, "forward": half(), "backward": torch_without_bias}),
        "layers[0].backward",
        "one direction has a bias and the other has none",
    )


@pytest.mark.parametrize(
    ("merge_mode", "message"),
    [
        ("avg", "unknown merge_mode 'avg'; did you mean 'ave'? (valid: concat, sum, mul, ave, null)"),
        ("null", "'null' in quotes is text; write null without quotes"),
    ],
)
def test_merge_mode_is_concat_sum_mul_ave_or_null(merge_mode: str, message: str) -> None:
    layer = {"type": "bidirectional", "units": 1, "merge_mode": merge_mode}
    assert_refused(config(layer), "layers[0].merge_mode", message)


@pytest.mark.parametrize("key", ["go_backwards", "initial_state", "use_mask"])
def test_a_bidirectional_layer_takes_no_options_of_one_direction(key: str) -> None:
    error = refused(config({"type": "bidirectional", "units": 1, key: True}))
    assert error.key_path == f"layers[0].{key}"
    assert error.message.startswith(f"unknown key {key!r}")


# -- masking and use_mask --------------------------------------------------------------------------------


def test_mask_value_defaults_to_zero_and_is_a_finite_number() -> None:
    assert load_model(config({"type": "masking"})).layers[0].mask_value == 0.0
    assert_refused(
        config({"type": "masking", "mask_value": "x"}),
        "layers[0].mask_value",
        "expected a finite number, got a string 'x'",
    )
    assert_refused(
        config({"type": "masking", "mask_value": float("nan")}),
        "layers[0].mask_value",
        "expected a finite number, got nan",
    )


def test_masking_reads_a_sequence() -> None:
    assert_refused(
        config(lstm(), {"type": "masking"}),
        "layers[1]",
        "this layer reads a sequence (batch, timesteps, features), but 'lstm' has shape (1, 1)",
    )


def test_use_mask_false_is_kept_on_the_layer() -> None:
    model = load_model(config({"type": "masking"}, lstm(use_mask=False)))
    assert model.layers[1].use_mask is False


# -- embedding: ids, tokens, and their range -------------------------------------------------------------


def embedding(**options: Any) -> dict[str, Any]:
    return {"type": "embedding", "input_dim": 3, "output_dim": 2, "embeddings": zeros(3, 2), **options}


def test_an_embedding_reads_integer_ids_and_gives_a_row_per_id() -> None:
    model = load_model(config(embedding(), input=[[1, 2.0, 0], [0, 0, 1]]))
    assert model.shapes == {"input": (2, 3), "embedding": (2, 3, 2)}
    assert model.inputs["input"].data.dtype == np.int64
    assert load_model(config(embedding(), input=[1, 2, 0])).shapes["input"] == (1, 3)  # one sequence


def test_an_id_outside_the_table_is_refused_where_it_was_written() -> None:
    assert_refused(
        config(embedding(), input=[[1, 3, 0]]),
        "input[0][1]",
        "id 3 is outside [0, 3): embedding 'embedding' has input_dim 3",
    )
    assert_refused(
        config(embedding(), input=[1, 2, -1]),
        "input[2]",
        "id -1 is outside [0, 3): embedding 'embedding' has input_dim 3",
    )


def test_an_id_is_a_whole_number() -> None:
    assert_refused(config(embedding(), input=[[1, 2.5]]), "input[0][1]", "expected an integer id, got 2.5")


def test_an_embedding_reads_a_model_input_not_a_layer() -> None:
    assert_refused(
        config(lstm(return_sequences=True), embedding()),
        "layers[1]",
        "an embedding reads integer ids (batch, timesteps) from a model input, but 'lstm' is a layer; "
        "make it the first layer, or name an input with `input:`",
    )


def test_with_a_vocab_tokens_stand_for_their_ids() -> None:
    model = load_model(config(embedding(), input=[["a", "c", 1]], vocab=["a", "b", "c"]))
    np.testing.assert_array_equal(model.inputs["input"].data, [[0, 2, 1]])
    assert_refused(
        config(embedding(), input=[["a", "d"]], vocab=["a", "b", "c"]),
        "input[0][1]",
        "token 'd' is not in the vocab",
    )


# -- the layers that do nothing at inference -------------------------------------------------------------


@pytest.mark.parametrize(
    ("layer", "key", "message"),
    [
        ({"type": "dropout"}, None, "missing key 'rate'"),
        ({"type": "dropout", "rate": 1.5}, "rate", "expected a number from 0 to 1, got 1.5"),
        (
            {"type": "gaussian_noise", "stddev": True},
            "stddev",
            "expected a number from 0 to 1, got a boolean (true)",
        ),
        ({"type": "activity_regularization", "l2": -1}, "l2", "expected a number, 0 or more, got -1"),
    ],
)
def test_a_no_op_layers_options_are_checked_as_keras_checks_them(
    layer: dict[str, Any], key: str | None, message: str
) -> None:
    assert_refused(config(layer), "layers[0]" + (f".{key}" if key else ""), message)


def test_a_no_op_layer_passes_its_input_on_unchanged() -> None:
    no_ops = [
        {"type": "dropout", "rate": 0.5},
        {"type": "spatial_dropout1d", "rate": 0.5},
        {"type": "gaussian_noise", "stddev": 0.1},
        {"type": "gaussian_dropout", "rate": 0.1},
        {"type": "alpha_dropout", "rate": 0.1},
        {"type": "activity_regularization"},
    ]
    model = load_model(config(*no_ops, input=[[[1, 2], [3, 4]]]))
    assert {model.shapes[layer.name] for layer in model.layers} == {(1, 2, 2)}


def test_spatial_dropout1d_reads_a_sequence() -> None:
    assert_refused(
        config(lstm(), {"type": "spatial_dropout1d", "rate": 0.1}),
        "layers[1]",
        "this layer reads a sequence (batch, timesteps, features), but 'lstm' has shape (1, 1)",
    )


# -- PyTorch layout --------------------------------------------------------------------------------------


def test_pytorch_weights_are_read_transposed_with_their_biases_summed() -> None:
    weight_ih = np.arange(8.0).reshape(4, 2)
    weight_hh = np.arange(4.0).reshape(4, 1)
    layer = torch_lstm(
        features=2, weight_ih=weight_ih, weight_hh=weight_hh, bias_ih=[1, 2, 3, 4], bias_hh=[10] * 4
    )
    weights = load_model(config(layer, input=[[[1, 2]]])).layers[0].weights
    np.testing.assert_array_equal(weights.kernel, weight_ih.T)
    np.testing.assert_array_equal(weights.recurrent_kernel, weight_hh.T)
    np.testing.assert_array_equal(weights.bias, [11, 12, 13, 14])


@pytest.mark.parametrize(("given", "missing"), [("bias_ih", "bias_hh"), ("bias_hh", "bias_ih")])
def test_a_pytorch_layer_has_both_biases_or_neither(given: str, missing: str) -> None:
    layer = torch_lstm()
    del layer[missing]
    assert_refused(
        config(layer),
        f"layers[0].{given}",
        f"{given} is given without {missing}; PyTorch has both biases or neither (bias=False): "
        f"give {missing} too, or leave both out and set use_bias: false",
    )


def test_a_pytorch_layer_without_either_bias_has_no_bias() -> None:
    layer = torch_lstm()
    del layer["bias_ih"], layer["bias_hh"]
    loaded = load_model(config(layer)).layers[0]
    assert loaded.use_bias is False and loaded.weights.bias is None


def test_use_bias_that_contradicts_the_weights_is_refused() -> None:
    no_biases = {key: value for key, value in torch_lstm().items() if not key.startswith("bias")}
    assert_refused(
        config(no_biases | {"use_bias": True}),
        "layers[0]",
        "missing key 'bias_ih' or 'bias_hh' (4*units values), or set use_bias: false",
    )
    assert_refused(config(lstm(use_bias=False)), "layers[0].bias", "use_bias is false, but a bias is given")
    keras_without_bias = {key: value for key, value in lstm().items() if key != "bias"}
    assert_refused(
        config(keras_without_bias), "layers[0]", "missing key 'bias' (4*units values), or set use_bias: false"
    )


def test_both_layouts_in_one_layer_are_refused() -> None:
    assert_refused(
        config(lstm() | {"weight_ih": zeros(4, 1)}),
        "layers[0].weight_ih",
        "both Keras weights (kernel, recurrent_kernel, bias) and PyTorch weights (weight_ih, weight_hh, "
        "bias_ih, bias_hh) given; use one layout",
    )


def test_the_summed_pytorch_bias_must_fit_the_dtype() -> None:
    big = [3e38, 0, 0, 0]
    assert_refused(
        config(torch_lstm(bias_ih=big, bias_hh=big), dtype="float32"),
        "layers[0].bias_hh[0]",
        "bias_ih[0] + bias_hh[0] is out of range for float32; "
        "the LSTM adds them into one bias, as Keras holds it",
    )


# -- expect ----------------------------------------------------------------------------------------------


def test_an_expected_value_matches_to_the_decimals_it_was_written_with(tmp_path: Path) -> None:
    path = yaml_file(
        tmp_path,
        "input: [[[1]]]\n"
        "layers:\n"
        "  - {type: dense, units: 4, kernel: [[1, 1, 1, 1]], bias: [0, 0, 0, 0]}\n"
        "expect:\n"
        "  dense: [[[0.9933, 1000.5, 4.0, 1e-3]]]\n",
    )
    tolerance = load_model(path).expect[0].tolerance
    # 0.9933 stands for [0.99325, 0.99335]; 4.0 and 1e-3 match within 1e-6 x max(1, |value|) in float64.
    np.testing.assert_allclose(tolerance, [[[0.00005, 0.05, 4e-6, 1e-6]]])


def test_an_expect_key_is_a_reference_and_its_value_has_the_references_shape() -> None:
    assert_refused(
        config(lstm(), expect={"lstm": [0.5]}),
        "expect.lstm",
        "expected shape (1, 1) (the shape of lstm), got (1,)",
    )
    assert_refused(
        config(lstm(), expect={"lstm.h": [[0.5]]}),
        "expect['lstm.h']",
        "'lstm.h' needs return_state: true on layer 'lstm'",
    )


# -- vocab, dtype, NaN and infinity ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vocab", "key_path", "message"),
    [
        (["a", "b", "a"], "vocab[2]", "token 'a' appears twice"),
        (["a", 1], "vocab[1]", "expected a token (text), got 1; quote it"),
        ([], "vocab", "expected a list of tokens; token k is one-hot position k"),
    ],
)
def test_a_vocab_is_a_list_of_distinct_tokens(vocab: list[Any], key_path: str, message: str) -> None:
    assert_refused(config(lstm(), vocab=vocab), key_path, message)


def test_dtype_is_float64_unless_the_config_or_the_caller_says_otherwise() -> None:
    assert load_model(config(lstm())).dtype == "float64"
    assert load_model(config(lstm(), dtype="float32")).dtype == "float32"
    assert load_model(config(lstm(), dtype="float32"), dtype="float64").dtype == "float64"  # --dtype wins
    # The config's own dtype is checked even where the caller's wins.
    assert_refused(
        config(lstm(), dtype="float16"),
        "dtype",
        "unknown dtype 'float16'; did you mean 'float64'? (valid: float32, float64)",
        dtype="float32",
    )


def test_a_number_too_large_for_the_dtype_is_refused() -> None:
    assert_refused(
        config(lstm(), input=[[[1e39]]], dtype="float32"),
        "input[0][0][0]",
        "1e+39 is out of range for float32",
    )


@pytest.mark.parametrize(("value", "what"), [(float("nan"), "NaN"), (float("-inf"), "infinity")])
def test_nan_and_infinity_are_refused_at_their_index(value: float, what: str) -> None:
    message = f"{what} is not allowed; every value must be a finite number"
    assert_refused(config(lstm(), input=[[[1.0], [value]]]), "input[0][1][0]", message)
    kernel = np.zeros((1, 4))
    kernel[0, 3] = value  # a numpy array, as the Python API takes it
    assert_refused(config(lstm(kernel=kernel)), "layers[0].kernel[0][3]", message)


# -- YAML 1.2 and the YAML reader ------------------------------------------------------------------------


def test_numbers_follow_yaml_1_2(tmp_path: Path) -> None:
    path = yaml_file(
        tmp_path,
        "input: [[[017, 0o17, 0x1F, 1e-3, +.5]]]\nlayers:\n  - {type: dense, units: 1}\n",
    )
    np.testing.assert_array_equal(load_model(path).inputs["input"].data, [[[17, 15, 31, 0.001, 0.5]]])


@pytest.mark.parametrize(
    ("written", "found"), [("1:30", "a string '1:30'"), ("yes", "a string 'yes'"), ("~", "null")]
)
def test_yaml_1_1_numbers_and_booleans_are_text(tmp_path: Path, written: str, found: str) -> None:
    path = yaml_file(tmp_path, f"input: [[[{written}]]]\nlayers:\n  - {{type: dense, units: 1}}\n")
    assert_refused(path, "input[0][0][0]", f"expected a number, got {found}")


def test_a_duplicate_key_is_refused_with_where_it_was_first_given(tmp_path: Path) -> None:
    path = yaml_file(tmp_path, "input: [[[1]]]\ninput: [[[2]]]\nlayers:\n  - {type: dense, units: 1}\n")
    assert_refused(path, "input", "duplicate key (first given on line 1)")


def test_a_tag_other_than_the_core_ones_is_refused(tmp_path: Path) -> None:
    path = yaml_file(tmp_path, "input: !!python/tuple [1]\nlayers:\n  - {type: dense, units: 1}\n")
    assert_refused(
        path, "input", "unsupported tag 'tag:yaml.org,2002:python/tuple'; write plain lists and mappings"
    )


def test_an_error_points_at_the_file_line_and_column_where_the_problem_was_written(tmp_path: Path) -> None:
    path = yaml_file(
        tmp_path,
        "input: [[[1, 0]]]\n"
        "layers:\n"
        "  - type: lstm\n"
        "    units: 3\n"
        "    kernel: [[1, 1, 1, 1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]]\n"
        f"    recurrent_kernel: {zeros(3, 12)}\n"
        f"    bias: {zeros(12)}\n",
    )
    assert str(refused(path)) == (
        f"{path}:5:5: layers[0].kernel: expected shape (2, 12) = (features, 4*units), got (2, 10)"
    )


# -- architecture only, and arrays from files ------------------------------------------------------------


def test_an_architecture_only_config_loads_and_running_it_names_what_is_missing() -> None:
    shapes_only = load_model(config({"type": "lstm", "units": 2}, input={"shape": [None, 3]}))
    assert shapes_only.shapes == {"input": (None, None, 3), "lstm": (None, 2)}
    with pytest.raises(LstmCliError) as info:
        require_data(shapes_only)
    assert (
        info.value.message
        == "input 'input' has a shape but no data; give an array to run it, or --input FILE"
    )
    weightless = load_model(config({"type": "lstm", "units": 2}))
    with pytest.raises(LstmCliError) as info:
        require_data(weightless)
    assert info.value.message == "layer 'lstm' has no weights; without them it serves `summary` only"


def test_arrays_come_from_npy_npz_and_csv_files_beside_the_config(tmp_path: Path) -> None:
    np.save(tmp_path / "kernel.npy", np.ones((2, 4)))
    np.savez(tmp_path / "weights.npz", recurrent=np.ones((1, 4)))
    (tmp_path / "x.csv").write_text("a,b\n1,2\n\n3,4\n", encoding="utf-8")  # a header, then two timesteps
    path = yaml_file(
        tmp_path,
        "input: {file: x.csv}\n"
        "layers:\n"
        "  - type: lstm\n"
        "    units: 1\n"
        "    kernel: {file: kernel.npy}\n"
        "    recurrent_kernel: {file: weights.npz, key: recurrent}\n"
        "    bias: [0, 0, 0, 0]\n",
    )
    model = load_model(path)
    np.testing.assert_array_equal(model.inputs["input"].data, [[[1, 2], [3, 4]]])
    np.testing.assert_array_equal(model.layers[0].weights.kernel, np.ones((2, 4)))


def test_an_npz_needs_a_key_and_pickles_are_refused(tmp_path: Path) -> None:
    np.savez(tmp_path / "weights.npz", x=np.ones((1, 1, 1)))
    np.save(tmp_path / "objects.npy", np.array([{}], dtype=object), allow_pickle=True)
    assert_refused(
        config(lstm(), input={"file": tmp_path / "weights.npz"}),
        "input",
        f"{tmp_path / 'weights.npz'}: a .npz file holds several arrays; say which with `key:`",
    )
    assert_refused(
        config(lstm(), input={"file": tmp_path / "objects.npy"}),
        "input.file",
        f"{tmp_path / 'objects.npy'}: cannot load: it holds pickled objects, which are refused",
    )


def _halves_apart(tail: list[dict[str, object]]) -> dict[str, object]:
    """A bidirectional layer with merge_mode null (two outputs), then `tail`."""
    half = {"kernel": [[1, 2, 3, 4]], "recurrent_kernel": [[0, 0, 0, 0]], "bias": [0, 0, 0, 0]}
    bi = {"type": "bidirectional", "units": 1, "merge_mode": None, "forward": half, "backward": half}
    return {"input": [[[1.0], [0.5]]], "layers": [bi, *tail]}


def test_a_last_layer_that_gives_its_halves_apart_makes_both_the_outputs() -> None:
    # As keras.Model(x, Bidirectional(LSTM(1), merge_mode=None)(x)) returns [forward, backward].
    assert load_model(_halves_apart([])).outputs == ("bidirectional.forward", "bidirectional.backward")


def test_a_layer_after_halves_apart_must_say_which_it_reads() -> None:
    # It once stopped with an internal error (KeyError): the layer's name is no reference here.
    with pytest.raises(LstmCliError) as raised:
        load_model(_halves_apart([{"type": "dense", "units": 1, "kernel": [[1]], "bias": [0]}]))
    assert str(raised.value) == (
        "<config>: layers[1]: 'bidirectional' gives its halves apart (merge_mode null); say which with "
        "`input: bidirectional.forward` or `input: bidirectional.backward`"
    )
