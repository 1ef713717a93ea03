"""`summary`: the seed's legacy block, Keras 3's table, parameter counts against Keras and PyTorch.

The Keras 3 goldens in tests/golden/summary-keras3-*.txt were printed by Keras 3.15 itself
(`model.summary()` at COLUMNS=100); when Keras is installed the same models are built and compared live.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from conftest import CONFIGS, GOLDEN, WIDTH, assert_golden, run_cli

from lstm_cli.architecture import Architecture
from lstm_cli.config import load_model
from lstm_cli.errors import LstmCliError
from lstm_cli.summary import (
    LayerInfo,
    dense_weights,
    from_architecture,
    from_model,
    layer_detail,
    lstm_params,
    lstm_weights,
    readable_size,
    torch_lstm_params,
)

SEED_FLAGS = ("--units", "3", "--features", "2", "--timesteps", "3", "--return-sequences", "--dense", "1")

# The seed blog post's `model.summary()` output (tf.keras 2.x), exactly: 65 columns, padded blank lines.
SEED_LEGACY = "\n".join(
    [
        'Model: "sequential"',
        "_" * 65,
        " Layer (type)                Output Shape              Param #   ",
        "=" * 65,
        " lstm (LSTM)                 (None, 3, 3)              72        ",
        " " * 65,
        " dense (Dense)               (None, 3, 1)              4         ",
        " " * 65,
        "=" * 65,
        "Total params: 76",
        "Trainable params: 76",
        "Non-trainable params: 0",
        "",
    ]
)

# A single-input chain that also outputs a state: Keras calls it "functional" but lays it out
# sequential-like (no `Connected to`), with the InputLayer row.
CHAIN_CONFIG = """\
input: {shape: [3, 2]}
layers:
  - {type: lstm, units: 3, return_sequences: true}
  - {type: lstm, units: 4, return_state: true}
  - {type: dense, units: 1}
outputs: [dense, lstm_1.h]
"""

# Functional models with Masking, where Keras 3 lists each mask's NotEqual and Any ops and connects every
# LSTM that takes the mask to it (not one given initial_state tensors).
MASKED_CONFIGS = {
    "masked-layers": """\
input: {shape: [null, 3]}
layers:
  - {type: masking, mask_value: 0.5}
  - {type: bidirectional, name: bi, units: 2, return_sequences: true, return_state: true, merge_mode: null}
  - {type: dense, name: project, input: bi.forward, units: 3}
  - {type: lstm, name: on_project, units: 2, return_sequences: true}
  - {type: lstm, name: on_backward, input: bi.backward, units: 2}
  - {type: dense, name: on_state, input: bi.forward.h, units: 1}
outputs: [on_project, on_backward, on_state]
""",
    "masked-array-state": """\
input: {shape: [2, 1]}
layers:
  - {type: masking, name: m}
  - {type: lstm, name: l, units: 1, initial_state: [[0.5], [0.5]]}
outputs: [l, m]
""",
    "masked-state-sequence": """\
inputs: {enc: {shape: [null, 3]}, dec: {shape: [null, 4]}}
layers:
  - {type: masking, name: me, input: enc}
  - {type: lstm, name: e, input: me, units: 2, return_state: true}
  - {type: masking, name: md, input: dec}
  - {type: lstm, name: dl, input: md, units: 2, return_sequences: true, initial_state: {h: e.h, c: e.c}}
  - {type: lstm, name: after, input: dl, units: 2}
  - {type: dense, name: head, input: dl, units: 4}
outputs: [after, head]
""",
    "chain-states": """\
input: {shape: [2, 1]}
layers:
  - {type: lstm, name: l, units: 1, return_sequences: true, return_state: true}
  - {type: dense, name: d, units: 1}
""",
    "embedding-no-ops": """\
input: {shape: [5]}
layers:
  - {type: embedding, input_dim: 6, output_dim: 3, mask_zero: true}
  - {type: spatial_dropout1d, rate: 0.2}
  - {type: lstm, units: 4, return_sequences: true}
  - {type: dropout, rate: 0.3}
  - {type: gaussian_noise, stddev: 0.1}
  - {type: activity_regularization, l1: 0.01}
  - {type: dense, units: 5, activation: softmax}
""",
    "ids-seq2seq-no-ops": """\
inputs: {enc: {shape: [null]}, dec: {shape: [null]}}
layers:
  - {type: embedding, name: enc_emb, input: enc, input_dim: 10, output_dim: 4, mask_zero: true}
  - {type: lstm, name: encoder, units: 3, return_state: true}
  - {type: embedding, name: dec_emb, input: dec, input_dim: 12, output_dim: 4, mask_zero: true}
  - {type: dropout, name: drop, rate: 0.2}
  - {type: lstm, name: decoder, units: 3, return_sequences: true, initial_state: [encoder.h, encoder.c],
     use_mask: false}
  - {type: gaussian_dropout, name: noise, rate: 0.1}
  - {type: lstm, name: after, units: 3, return_sequences: true}
  - {type: dense, name: head, units: 12, activation: softmax}
""",
    "masked-unused": """\
inputs: {a: {shape: [null, 3]}, b: {shape: [null, 3]}}
layers:
  - {type: masking, name: m1, input: a}
  - {type: dense, name: d, units: 2}
  - {type: masking, name: m2, input: b}
  - {type: lstm, name: l, units: 2}
outputs: [d, l]
""",
}


# -- the legacy style --------------------------------------------------------------------------------------


def test_legacy_style_prints_the_seed_block_exactly() -> None:
    run = run_cli("summary", *SEED_FLAGS, "--style", "legacy")
    assert run.exit_code == 0, run.stderr
    assert run.stdout == SEED_LEGACY
    assert {len(line) for line in run.stdout.splitlines()[1:9]} == {65}


def test_legacy_columns_start_at_0_29_and_55() -> None:
    header = run_cli("summary", *SEED_FLAGS, "--style", "legacy").stdout.splitlines()[2]
    assert header.index("Layer") == 1 and header.index("Output") == 29 and header.index("Param") == 55


def test_legacy_functional_layout() -> None:
    """tf.keras 2's functional text: 98 columns, InputLayer shapes as lists, connections as a list."""
    run = run_cli("summary", str(CONFIGS / "seq2seq-architecture.yaml"), "--style", "legacy")
    assert run.exit_code == 0, run.stderr
    lines = run.stdout.splitlines()
    assert {len(line) for line in lines[1:-3]} == {98}
    lines = [line.rstrip() for line in lines]
    assert lines[0] == 'Model: "model"'  # tf.keras 2's default name; Keras 3 says "functional"
    assert lines[1] == "_" * 98
    assert lines[2] == " Layer (type)                   Output Shape         Param #     Connected to"
    assert lines[4] == " encoder_inputs (InputLayer)    [(None, None, 71)]   0           []"
    assert (
        " decoder_lstm (LSTM)            [(None, None, 256),  358400      ['decoder_inputs[0][0]'," in lines
    )
    assert "                                 (None, 256),                     'encoder[0][1]'," in lines
    assert lines[-3:] == ["Total params: 718,173", "Trainable params: 718,173", "Non-trainable params: 0"]


# -- the Keras 3 style -------------------------------------------------------------------------------------


def _seed_model(keras: Any) -> Any:
    layers = keras.layers
    return keras.Sequential(
        [keras.Input((3, 2)), layers.LSTM(3, return_sequences=True), layers.Dense(1)], name="sequential"
    )


def _seed_config_model(keras: Any) -> Any:
    lstm = keras.layers.LSTM(3, return_sequences=True, return_state=True)
    return keras.Sequential([keras.Input((1, 2)), lstm], name="sequential")


def _seq2seq_model(keras: Any) -> Any:
    """The ten-minute Keras seq2seq training model, with the example config's names."""
    layers = keras.layers
    encoder_inputs = keras.Input(shape=(None, 71), name="encoder_inputs")
    _, state_h, state_c = layers.LSTM(256, return_state=True, name="encoder")(encoder_inputs)
    decoder_inputs = keras.Input(shape=(None, 93), name="decoder_inputs")
    decoder = layers.LSTM(256, return_sequences=True, return_state=True, name="decoder_lstm")
    decoder_outputs, _, _ = decoder(decoder_inputs, initial_state=[state_h, state_c])
    outputs = layers.Dense(93, activation="softmax", name="decoder_dense")(decoder_outputs)
    return keras.Model([encoder_inputs, decoder_inputs], outputs, name="functional")


def _bidirectional_model(keras: Any) -> Any:
    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input((None, 4)),
            layers.Bidirectional(layers.LSTM(5, return_sequences=True)),
            layers.Bidirectional(layers.LSTM(2)),
            layers.Dense(3),
        ],
        name="sequential",
    )


def _chain_model(keras: Any) -> Any:
    layers = keras.layers
    inputs = keras.Input((3, 2), name="input")
    sequence = layers.LSTM(3, return_sequences=True)(inputs)
    last, state_h, _ = layers.LSTM(4, return_state=True)(sequence)
    return keras.Model(inputs, [layers.Dense(1)(last), state_h], name="functional")


def _masked_layers_model(keras: Any) -> Any:
    layers = keras.layers
    inputs = keras.Input((None, 3), name="input")
    lstm = layers.LSTM(2, return_sequences=True, return_state=True)
    halves = layers.Bidirectional(lstm, merge_mode=None, name="bi")(
        layers.Masking(0.5, name="masking")(inputs)
    )
    project = layers.Dense(3, name="project")(halves[0])
    on_project = layers.LSTM(2, return_sequences=True, name="on_project")(project)
    on_backward = layers.LSTM(2, name="on_backward")(halves[1])
    on_state = layers.Dense(1, name="on_state")(halves[2])
    return keras.Model(inputs, [on_project, on_backward, on_state], name="functional")


def _masked_unused_model(keras: Any) -> Any:
    """m1's mask reaches only a Dense layer, so Keras lists no ops for it, yet it named them first."""
    layers = keras.layers
    a, b = keras.Input((None, 3), name="a"), keras.Input((None, 3), name="b")
    dense = layers.Dense(2, name="d")(layers.Masking(name="m1")(a))
    lstm = layers.LSTM(2, name="l")(layers.Masking(name="m2")(b))
    return keras.Model([a, b], [dense, lstm], name="functional")


def _masked_array_state_model(keras: Any) -> Any:
    """An initial state given as arrays is a constant in Keras, and Keras 3 then calls the LSTM without the
    mask, as with state tensors: no mask rows, and a plain chain."""
    inputs = keras.Input((2, 1), name="input")
    masked = keras.layers.Masking(name="m")(inputs)
    state = keras.ops.convert_to_tensor(np.full((1, 1), 0.5, "float32"))
    lstm = keras.layers.LSTM(1, name="l")(masked, initial_state=[state, state])
    return keras.Model(inputs, [lstm, masked], name="functional")


def _masked_state_sequence_model(keras: Any) -> Any:
    """Keras calls dl, given an initial state, without md's mask, yet dl's sequence carries it to after
    (through a Dense head too: Dense takes no mask and so shows no mask connection)."""
    layers = keras.layers
    enc, dec = keras.Input((None, 3), name="enc"), keras.Input((None, 4), name="dec")
    _, h, c = layers.LSTM(2, return_state=True, name="e")(layers.Masking(name="me")(enc))
    sequence = layers.LSTM(2, return_sequences=True, name="dl")(
        layers.Masking(name="md")(dec), initial_state=[h, c]
    )
    outputs = [layers.LSTM(2, name="after")(sequence), layers.Dense(4, name="head")(sequence)]
    return keras.Model([enc, dec], outputs, name="functional")


def _embedding_no_ops_model(keras: Any) -> Any:
    """Keras lists the layers that do nothing at inference, with no parameters."""
    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input((5,), dtype="int32"),
            layers.Embedding(6, 3, mask_zero=True),
            layers.SpatialDropout1D(0.2),
            layers.LSTM(4, return_sequences=True),
            layers.Dropout(0.3),
            layers.GaussianNoise(0.1),
            layers.ActivityRegularization(l1=0.01),
            layers.Dense(5, activation="softmax"),
        ],
        name="sequential",
    )


def _ids_seq2seq_no_ops_model(keras: Any) -> Any:
    """Embeddings' masks are one NotEqual op each. The decoder, given an initial state, takes none (in the
    config, use_mask: false says so), yet its sequence carries dec_emb's mask on, through GaussianDropout,
    to `after`; Dropout and the Dense head take no mask and show none."""
    layers = keras.layers
    enc, dec = (
        keras.Input((None,), dtype="int32", name="enc"),
        keras.Input((None,), dtype="int32", name="dec"),
    )
    _, h, c = layers.LSTM(3, return_state=True, name="encoder")(
        layers.Embedding(10, 4, mask_zero=True, name="enc_emb")(enc)
    )
    embedded = layers.Dropout(0.2, name="drop")(layers.Embedding(12, 4, mask_zero=True, name="dec_emb")(dec))
    sequence = layers.LSTM(3, return_sequences=True, name="decoder")(embedded, initial_state=[h, c])
    noisy = layers.GaussianDropout(0.1, name="noise")(sequence)
    after = layers.LSTM(3, return_sequences=True, name="after")(noisy)
    return keras.Model(
        [enc, dec], layers.Dense(12, activation="softmax", name="head")(after), name="functional"
    )


def _chain_states_model(keras: Any) -> Any:
    """A middle layer that returns its states has three outputs: keras.Sequential cannot hold it."""
    inputs = keras.Input((2, 1), name="input")
    sequence, _, _ = keras.layers.LSTM(1, return_sequences=True, return_state=True, name="l")(inputs)
    return keras.Model(inputs, keras.layers.Dense(1, name="d")(sequence), name="functional")


def _written(name: str) -> Callable[[Path], list[str]]:
    def write(tmp_path: Path) -> list[str]:
        path = tmp_path / f"{name}.yaml"
        path.write_text(MASKED_CONFIGS[name], encoding="utf-8")
        return [str(path)]

    return write


def _chain_config(tmp_path: Path) -> list[str]:
    path = tmp_path / "chain.yaml"
    path.write_text(CHAIN_CONFIG, encoding="utf-8")
    return [str(path)]


KERAS_CASES: dict[str, tuple[Callable[[Path], list[str]], Callable[[Any], Any]]] = {
    "seed": (lambda _: list(SEED_FLAGS), _seed_model),
    "seed-config": (lambda _: [str(CONFIGS / "seed.yaml")], _seed_config_model),
    "seq2seq": (lambda _: [str(CONFIGS / "seq2seq-architecture.yaml")], _seq2seq_model),
    "bidirectional": (
        lambda _: ["--units", "5", "--units", "2", "--features", "4", "--bidirectional", "--dense", "3"],
        _bidirectional_model,
    ),
    "chain": (_chain_config, _chain_model),
    "masked-layers": (_written("masked-layers"), _masked_layers_model),
    "masked-unused": (_written("masked-unused"), _masked_unused_model),
    "masked-array-state": (_written("masked-array-state"), _masked_array_state_model),
    "chain-states": (_written("chain-states"), _chain_states_model),
    "masked-state-sequence": (_written("masked-state-sequence"), _masked_state_sequence_model),
    "embedding-no-ops": (_written("embedding-no-ops"), _embedding_no_ops_model),
    "ids-seq2seq-no-ops": (_written("ids-seq2seq-no-ops"), _ids_seq2seq_no_ops_model),
}


def keras_summary_text(build: Callable[[Any], Any], monkeypatch: pytest.MonkeyPatch) -> str:
    """What Keras's own `model.summary()` prints for the model, at the tests' terminal width."""
    keras = pytest.importorskip("keras")
    monkeypatch.setenv("COLUMNS", str(WIDTH))  # Keras sizes its table from the terminal, as we do
    keras.backend.clear_session()  # fresh automatic names: lstm, dense, bidirectional, ...
    printed: list[str] = []
    build(keras).summary(print_fn=printed.append)
    return "".join(printed)


@pytest.mark.parametrize("case", list(KERAS_CASES))
def test_keras3_style_matches_the_golden_text_from_keras(case: str, tmp_path: Path) -> None:
    args, _ = KERAS_CASES[case]
    run = run_cli("summary", *args(tmp_path))
    assert run.exit_code == 0, run.stderr
    assert_golden(f"summary-keras3-{case}.txt", run.stdout)


@pytest.mark.slow  # an oracle: Keras's own model.summary()
@pytest.mark.parametrize("case", list(KERAS_CASES))
def test_keras3_style_matches_keras_live(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    args, build = KERAS_CASES[case]
    expected = keras_summary_text(build, monkeypatch)
    assert run_cli("summary", *args(tmp_path)).stdout == expected


@pytest.mark.slow  # an oracle: Keras's own model.summary()
def test_random_stacks_match_keras_live(monkeypatch: pytest.MonkeyPatch) -> None:
    """Random LSTM stacks (bidirectional or not, with Dense heads, known or unknown batch and length)."""
    rng = random.Random(11)
    for _ in range(6):
        arch = Architecture(
            units=tuple(rng.randint(1, 300) for _ in range(rng.randint(1, 3))),
            features=rng.randint(1, 200),
            timesteps=rng.choice([None, rng.randint(1, 50)]),
            batch=rng.choice([None, rng.randint(1, 8)]),
            return_sequences=rng.random() < 0.5,
            bidirectional=rng.random() < 0.4,
            dense=tuple(rng.randint(1, 100) for _ in range(rng.randint(0, 2))),
        )

        def build(keras: Any, arch: Architecture = arch) -> Any:
            layers = [keras.Input((arch.timesteps, arch.features), batch_size=arch.batch)]
            for index, units in enumerate(arch.units):
                lstm = keras.layers.LSTM(units, return_sequences=arch.returns_sequences(index))
                layers.append(keras.layers.Bidirectional(lstm) if arch.bidirectional else lstm)
            layers += [keras.layers.Dense(units) for units in arch.dense]
            return keras.Sequential(layers, name="sequential")

        expected = keras_summary_text(build, monkeypatch)
        args = [f"--units={u}" for u in arch.units] + [f"--features={arch.features}"]
        args += [f"--dense={u}" for u in arch.dense]
        args += [] if arch.timesteps is None else [f"--timesteps={arch.timesteps}"]
        args += [] if arch.batch is None else [f"--batch={arch.batch}"]
        args += ["--return-sequences"] * arch.return_sequences + ["--bidirectional"] * arch.bidirectional
        assert run_cli("summary", *args).stdout == expected, arch


def test_keras3_goldens_were_printed_by_keras() -> None:
    """The golden files hold Keras's layout: its title, box-drawing table and the totals with sizes."""
    seed = (GOLDEN / "summary-keras3-seed.txt").read_text(encoding="utf-8")
    assert seed.startswith('Model: "sequential"\n┏')
    assert " Total params: 76 (304.00 B)\n Trainable params: 76 (304.00 B)\n" in seed
    assert seed.endswith(" Non-trainable params: 0 (0.00 B)\n")
    seq2seq = (GOLDEN / "summary-keras3-seq2seq.txt").read_text(encoding="utf-8")
    assert "Connected to" in seq2seq and "encoder[0][1]," in seq2seq
    assert " Total params: 718,173 (2.74 MB)\n" in seq2seq


def test_seq2seq_counts_718173_as_keras_reports() -> None:
    summary = from_model(load_model(CONFIGS / "seq2seq-architecture.yaml"))
    assert [layer.params for layer in summary.layers] == [0, 0, 335_872, 358_400, 23_901]
    assert summary.total_params == 718_173 == 335_872 + 358_400 + 23_901
    assert summary.name == "functional" and summary.connected
    assert [layer.inbound for layer in summary.layers][3] == (
        ("decoder_inputs", 0),
        ("encoder", 1),
        ("encoder", 2),
    )


def test_bidirectional_layers_from_a_config_follow_keras_output_order() -> None:
    """Duck-typed stand-ins for a config's bidirectional layer (merge_mode None, return_state, no bias)."""
    half = SimpleNamespace(units=3, use_bias=False, initial_state=None, weights=None, output_units=3)
    layer = SimpleNamespace(
        name="bi",
        type="bidirectional",
        input="x",
        units=3,
        forward=half,
        backward=half,
        initial_state=None,
        merge_mode=None,
        return_sequences=True,
        return_state=True,
    )
    head = SimpleNamespace(name="head", type="dense", input="bi.backward.c", units=1, use_bias=True)
    shapes = {
        "x": (1, 4, 2),
        "bi.forward": (1, 4, 3),
        "bi.backward": (1, 4, 3),
        **{f"bi.{d}.{s}": (1, 3) for d in ("forward", "backward") for s in ("h", "c")},
        "head": (1, 1),
    }
    model = SimpleNamespace(
        inputs={"x": None}, layers=(layer, head), outputs=("head",), shapes=shapes, declared_dtype=None
    )
    summary = from_model(model)  # type: ignore[arg-type]
    assert summary.name == "functional" and not summary.connected  # a chain: Keras drops `Connected to`
    bi = summary.layers[1]
    assert bi.kind == "Bidirectional" and bi.params == 2 * 4 * 3 * (2 + 3)
    assert bi.output_shapes == ((None, 4, 3), (None, 4, 3), (None, 3), (None, 3), (None, 3), (None, 3))
    assert summary.layers[2].inbound == (("bi", 5),)  # bi.backward.c is Keras's bi[0][5]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"units": (), "features": 2}, "give at least one LSTM layer with --units N"),
        ({"units": (3,), "features": 0}, "--features must be at least 1, got 0"),
        ({"units": (3,), "features": 2, "dense": (70_000,)}, "--dense must be from 1 to 65,536, got 70000"),
    ],
)
def test_architecture_refuses_impossible_sizes(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(LstmCliError) as caught:
        Architecture(**kwargs)
    assert str(caught.value) == message


def test_a_bidirectional_layer_uses_up_an_lstm_name_as_in_keras() -> None:
    # Keras names the LSTM that Bidirectional(LSTM(...)) wraps as well: after one, the next plain LSTM is
    # lstm_1 (Keras 3.15: ['masking', 'bidirectional', 'lstm_1', 'bidirectional_1', 'lstm_3', 'dense']).
    layers: list[dict[str, Any]] = [{"type": "masking"}]
    layers += [
        {"type": kind, "units": 2, "return_sequences": True}
        for kind in ("bidirectional", "lstm", "bidirectional", "lstm")
    ]
    layers.append({"type": "dense", "units": 1})
    model = load_model({"input": {"shape": [4, 3]}, "layers": layers})
    assert [layer.name for layer in model.layers] == [
        "masking", "bidirectional", "lstm_1", "bidirectional_1", "lstm_3", "dense"
    ]  # fmt: skip


def test_keras_naming_and_stacked_sequences() -> None:
    summary = from_architecture(Architecture(units=(4, 3, 2), features=2, dense=(5, 1)))
    assert [layer.name for layer in summary.layers] == ["lstm", "lstm_1", "lstm_2", "dense", "dense_1"]
    assert [layer.output_shapes[0] for layer in summary.layers] == [
        (None, None, 4),
        (None, None, 3),
        (None, 2),
        (None, 5),
        (None, 1),
    ]


# -- counts against the oracles ----------------------------------------------------------------------------


def _random_shapes(count: int, seed: int) -> list[tuple[int, int, bool]]:
    rng = random.Random(seed)
    return [(rng.randint(1, 64), rng.randint(1, 64), rng.random() < 0.75) for _ in range(count)]


@pytest.mark.slow  # an oracle: Keras
@pytest.mark.parametrize(("features", "units", "use_bias"), _random_shapes(12, seed=3))
def test_lstm_count_and_weight_shapes_match_keras(features: int, units: int, use_bias: bool) -> None:
    keras = pytest.importorskip("keras")
    layer = keras.layers.LSTM(units, use_bias=use_bias)
    layer.build((None, None, features))
    assert layer.count_params() == lstm_params(features, units, use_bias)
    ours = lstm_weights(features, units, use_bias)
    assert [tuple(w.shape) for w in layer.weights] == [w.shape for w in ours]
    assert [w.name for w in layer.weights] == [w.name for w in ours]
    dense = keras.layers.Dense(units, use_bias=use_bias)
    dense.build((None, features))
    assert dense.count_params() == sum(w.count for w in dense_weights(features, units, use_bias))


@pytest.mark.slow  # an oracle: torch
@pytest.mark.parametrize(("features", "units", "use_bias"), _random_shapes(12, seed=5))
def test_torch_count_matches_pytorch(features: int, units: int, use_bias: bool) -> None:
    torch = pytest.importorskip("torch")
    for bidirectional in (False, True):
        lstm = torch.nn.LSTM(features, units, bias=use_bias, bidirectional=bidirectional)
        torch_count = sum(p.numel() for p in lstm.parameters())
        directions = 2 if bidirectional else 1
        assert torch_count == directions * torch_lstm_params(features, units, use_bias)
        info = LayerInfo(
            "lstm",
            "Bidirectional" if bidirectional else "LSTM",
            ((None, units),),
            lstm_weights(features, units, use_bias) * directions,
            units=units,
            inputs=features,
            sequence_input=True,
            use_bias=use_bias,
            directions=directions,
        )
        detail = layer_detail(info)
        assert detail is not None and detail.sums.torch_params == torch_count
    linear = torch.nn.Linear(features, units, bias=use_bias)
    assert sum(p.numel() for p in linear.parameters()) == sum(
        w.count for w in dense_weights(features, units, use_bias)
    )


def test_keras_and_pytorch_differ_by_one_bias() -> None:
    for features, units, _ in _random_shapes(20, seed=7):
        assert torch_lstm_params(features, units) - lstm_params(features, units) == 4 * units


# -- --detail, json, csv -----------------------------------------------------------------------------------


def test_detail_writes_out_the_arithmetic() -> None:
    run = run_cli("summary", *SEED_FLAGS, "--detail")
    assert run.exit_code == 0, run.stderr
    lines = [" ".join(line.split()) for line in run.stdout.splitlines()]
    for expected in (
        "kernel (2, 12) = (features, 4*units) 24",
        "recurrent_kernel (3, 12) = (units, 4*units) 36",
        "bias (12,) = (4*units,) 12",
        "Keras 4·units·(features + units + 1) = 4·3·(2 + 3 + 1) = 72",
        "PyTorch 4·units·(features + units) + 8·units = 4·3·(2 + 3) + 8·3 = 84",
        "multiply-adds 4·units·(features + units) = 60 per timestep, 180 per sequence of 3 timesteps",
        "multiply-adds inputs·units = 3 per timestep, 9 per sequence of 3 timesteps",
    ):
        assert expected in lines, expected
    assert "bias_ih and bias_hh" in run.stdout


def test_detail_without_a_known_length() -> None:
    run = run_cli("summary", "--units", "2", "--features", "1", "--bidirectional", "--detail")
    text = " ".join(run.stdout.split())
    assert "Keras 2·4·units·(features + units + 1) = 2·4·2·(1 + 2 + 1) = 64" in text
    assert "PyTorch 2·(4·units·(features + units) + 8·units) = 2·(4·2·(1 + 2) + 8·2) = 80" in text
    assert "= 48 per timestep; the sequence length is not known" in text


def test_json_follows_spec_section_4() -> None:
    run = run_cli("summary", *SEED_FLAGS, "--format", "json")
    assert run.exit_code == 0, run.stderr
    assert json.loads(run.stdout) == {
        "layers": [
            {
                "name": "lstm",
                "type": "LSTM",
                "output_shape": [None, 3, 3],
                "params": 72,
                "weights": {"kernel": [2, 12], "recurrent_kernel": [3, 12], "bias": [12]},
            },
            {
                "name": "dense",
                "type": "Dense",
                "output_shape": [None, 3, 1],
                "params": 4,
                "weights": {"kernel": [3, 1], "bias": [1]},
            },
        ],
        "total_params": 76,
        "trainable_params": 76,
        "non_trainable_params": 0,
    }


def test_json_of_several_outputs_and_of_the_detail() -> None:
    document = json.loads(run_cli("summary", str(CONFIGS / "seed.yaml"), "-f", "json", "--detail").stdout)
    layer = document["layers"][0]
    assert layer["output_shape"] == [[None, 1, 3], [None, 3], [None, 3]]
    assert layer["detail"]["torch_params"] == 84
    assert layer["detail"]["multiply_adds"] == {"per": "timestep", "count": 60, "per_sequence": 60}


def test_csv_is_tidy_with_the_spec_header() -> None:
    from lstm_cli.formats import CSV_HEADER

    run = run_cli("summary", *SEED_FLAGS, "--format", "csv")
    rows = list(csv.reader(io.StringIO(run.stdout)))
    assert tuple(rows[0]) == CSV_HEADER
    assert rows[1:] == [
        ["lstm", "", "", "", "", "params", "72"],
        ["lstm", "", "", "", "", "kernel", "24"],
        ["lstm", "", "", "", "", "recurrent_kernel", "36"],
        ["lstm", "", "", "", "", "bias", "12"],
        ["dense", "", "", "", "", "params", "4"],
        ["dense", "", "", "", "", "kernel", "3"],
        ["dense", "", "", "", "", "bias", "1"],
        ["", "", "", "", "", "total_params", "76"],
        ["", "", "", "", "", "trainable_params", "76"],
        ["", "", "", "", "", "non_trainable_params", "0"],
    ]


def test_table_only_options_are_refused_with_machine_formats() -> None:
    for args in (("--style", "legacy", "-f", "json"), ("--detail", "-f", "csv")):
        run = run_cli("summary", *SEED_FLAGS, *args)
        assert run.exit_code == 2 and run.stdout == ""
        assert run.stderr.startswith("lstm-cli: error: ") and "belongs to the table format" in run.stderr


def test_precision_is_accepted_with_machine_formats_whose_numbers_are_whole() -> None:
    """SPEC §3: summary takes --format and --precision; json and csv hold whole counts: no change."""
    for output_format in ("json", "csv"):
        plain = run_cli("summary", *SEED_FLAGS, "-f", output_format)
        run = run_cli("summary", *SEED_FLAGS, "-f", output_format, "--precision", "1")
        assert run.exit_code == 0 and run.stdout == plain.stdout


def test_precision_sets_the_decimals_of_the_sizes() -> None:
    run = run_cli("summary", *SEED_FLAGS, "--precision", "0")
    assert " Total params: 76 (304 B)" in run.stdout


# -- sizes, configs, errors --------------------------------------------------------------------------------


def test_readable_size_as_keras() -> None:
    assert readable_size(304) == "304.00 B"
    assert readable_size(718_173 * 4) == "2.74 MB"
    assert readable_size(0) == "0.00 B"


def test_float64_config_sizes_its_weights_at_8_bytes(tmp_path: Path) -> None:
    path = tmp_path / "wide.yaml"
    path.write_text("dtype: float64\ninput: {shape: [null, 2]}\nlayers:\n  - {type: lstm, units: 3}\n")
    assert " Total params: 72 (576.00 B)" in run_cli("summary", str(path)).stdout


def test_batch_flag_fills_the_batch_axis() -> None:
    run = run_cli("summary", str(CONFIGS / "stacked.yaml"), "--batch", "8", "-f", "json")
    assert json.loads(run.stdout)["layers"][0]["output_shape"][0] == 8


def test_architecture_only_config_without_weights(tmp_path: Path) -> None:
    path = tmp_path / "arch.yaml"
    path.write_text(
        "input: {shape: [5, 2]}\nlayers:\n  - {type: lstm, units: 3}\n  - {type: dense, units: 2}\n"
    )
    run = run_cli("summary", str(path), "-f", "json")
    assert run.exit_code == 0, run.stderr
    assert json.loads(run.stdout)["total_params"] == 72 + 8


def test_without_config_or_flags_summarises_the_seed() -> None:
    run = run_cli("summary")
    assert run.exit_code == 0
    assert "built-in example `seed`" in run.stderr
    assert run.stdout == run_cli("summary", str(CONFIGS / "seed.yaml")).stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--units", "3"), "lstm-cli: error: --units needs --features F, the input's width\n"),
        (("--features", "2"), "lstm-cli: error: --features describes a model together with --units N"),
        ((str(CONFIGS / "seed.yaml"), "--units", "3"), "lstm-cli: error: give a CONFIG or flags"),
        (("--units", "0", "--features", "2"), "lstm-cli: error: Invalid value for '--units'"),
        (("nope.yaml",), "lstm-cli: error: nope.yaml"),
        (
            ("--units", "3", "--features", "2", "--style", "tf2"),
            "lstm-cli: error: Invalid value for '--style'",
        ),
    ],
)
def test_usage_errors_are_one_line_exit_2(args: tuple[str, ...], message: str) -> None:
    run = run_cli("summary", *args)
    assert run.exit_code == 2
    assert run.stdout == ""
    assert run.stderr.startswith(message)
    assert run.stderr.count("\n") == 1


if __name__ == "__main__":  # python tests/test_summary.py: rewrite the Keras 3 goldens from Keras itself
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")
    with pytest.MonkeyPatch.context() as patch:
        for name, (_, build) in KERAS_CASES.items():
            (GOLDEN / f"summary-keras3-{name}.txt").write_text(
                keras_summary_text(build, patch), encoding="utf-8"
            )
