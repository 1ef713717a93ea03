"""The layer types (lstm_cli/layers/): each owns its keys, outputs, shapes, weights and Keras names, and what
config, summary and the converters see of a layer agrees with what its type says."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import CONFIGS
from graph_configs import graph_configs, plain_arrays
from hypothesis import given, settings

from lstm_cli.config import load_model
from lstm_cli.graph import keras_layers
from lstm_cli.layers import LAYER_TYPES, WEIGHT_KEYS, owner_of
from lstm_cli.layers.lstm import lstm_params
from lstm_cli.model import Model
from lstm_cli.names import KerasNames, layer_of, ref_parts
from lstm_cli.summary import from_model

CONFIG_FILES = sorted(CONFIGS.glob("*.yaml"))


def test_every_type_is_registered_under_its_name_with_its_own_keras_class() -> None:
    assert list(LAYER_TYPES)[:5] == ["lstm", "dense", "bidirectional", "masking", "embedding"]
    classes = [owner.keras_class for owner in LAYER_TYPES.values()]
    assert len(set(classes)) == len(classes)
    for name, owner in LAYER_TYPES.items():
        assert owner.type == name
        assert owner.keys[:3] == ("type", "name", "input")
        assert set(owner.weight_keys) <= set(owner.keys)
    assert set(WEIGHT_KEYS) == {key for owner in LAYER_TYPES.values() for key in owner.weight_keys}


def agrees_with_its_types(model: Model) -> None:
    """model.shapes holds the inputs, then each layer's outputs as its type orders and shapes them;
    summary counts each layer's weights as its type gives them; each reference names its layer."""
    expected = {name: model.shapes[name] for name in model.inputs}
    for layer in model.layers:
        owner = owner_of(layer)
        refs = owner.output_refs(layer)
        shapes = owner.output_shapes(layer, model.shapes[layer.input])
        expected.update(zip(refs, shapes, strict=True))
        assert all(layer_of(ref) == ref_parts(ref)[0] == layer.name for ref in refs)
    assert list(model.shapes.items()) == list(expected.items())
    summary = from_model(model, mask_ops=False)
    rows = {info.name: info for info in summary.layers}
    for layer in model.layers:
        weights = owner_of(layer).weights(layer, model.shapes[layer.input])
        assert rows[layer.name].params == sum(weight.count for weight in weights)
        if layer.type == "lstm":
            features = model.shapes[layer.input][-1]
            variants = sum(weight.count for weight in weights if "." in weight.name)  # peepholes, projection
            rows_shrink = 4 * layer.units * (layer.units - layer.output_units)  # recurrent_kernel (proj, 4u)
            expected = lstm_params(features, layer.units, layer.use_bias) + variants - rows_shrink
            assert rows[layer.name].params == expected


def keras_order_is_the_summarys(model: Model) -> None:
    """graph.keras_layers, which the converters number .weights.h5 groups by, lists the layers in the
    order summary lists them (as Keras's model.layers does), without building a summary."""
    summary = from_model(model, mask_ops=False)
    names = {layer.name for layer in model.layers}
    listed = [info.name for info in summary.layers if info.name in names]
    assert [layer.name for layer in keras_layers(model)] == listed


@pytest.mark.parametrize("path", CONFIG_FILES, ids=lambda path: path.name)
def test_the_example_configs_agree_with_their_layer_types(path: Any) -> None:
    model = load_model(path)
    agrees_with_its_types(model)
    keras_order_is_the_summarys(model)


@settings(max_examples=60, deadline=None)
@given(config=graph_configs(arrays=plain_arrays))
def test_generated_graphs_agree_with_their_layer_types(config: dict[str, Any]) -> None:
    model = load_model(config)
    agrees_with_its_types(model)
    keras_order_is_the_summarys(model)


def test_a_bidirectional_layer_uses_up_an_lstm_name_as_keras_names_the_lstm_it_wraps() -> None:
    names = KerasNames(taken={"lstm_2"})
    bidirectional = LAYER_TYPES["bidirectional"]
    assert names.layer(bidirectional.keras_prefix, bidirectional.wraps) == "bidirectional"
    assert names.next("lstm") == "lstm_1"
    assert names.next("lstm") == "lstm_3"  # lstm_2 was given explicitly
    model = load_model(
        {
            "input": {"shape": [None, 2]},
            "layers": [
                {"type": "bidirectional", "units": 1, "return_sequences": True},
                {"type": "lstm", "units": 1},
            ],
        }
    )
    assert [layer.name for layer in model.layers] == ["bidirectional", "lstm_1"]
