"""Oracle: state_dicts of `nn.Embedding`, `nn.LSTM` and `nn.Linear` modules, in and out of lstm-cli.

In: the models of the tutorials (pytorch.org's LSTMTagger, a sentiment classifier, an Embedding → LSTM →
Linear tagger run time-major) are built as their authors write them, saved with
`torch.save(model.state_dict())`, converted, and fed the same ids; lstm-cli's input is batch-first, so
the tests transpose time-major ids themselves. Out: configs with embedding, lstm and dense layers, and
the seq2seq example, go to one `.pt` that `load_state_dict(strict=True)` loads into the matching modules.
Every comparison is float32 against float32, held to max |Δ| ≤ 1e-6; the weights are random, so every
gate has its own values and a swapped pair of gates cannot pass.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import CONFIGS, run_cli

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

import lstm_cli  # noqa: E402
import lstm_cli.config  # noqa: E402
from lstm_cli.modelfiles import read_source  # noqa: E402
from lstm_cli.yamlwriter import dump_yaml  # noqa: E402

pytestmark = pytest.mark.slow  # an oracle: state_dicts loaded into torch modules

TOLERANCE = 1e-6  # float32 against float32


def assert_close(actual: np.ndarray, expected: Any, what: str) -> None:
    expected = expected.detach().numpy() if isinstance(expected, torch.Tensor) else np.asarray(expected)
    assert actual.shape == expected.shape, what
    np.testing.assert_allclose(actual, expected, rtol=0, atol=TOLERANCE, err_msg=what)


def convert(*args: str) -> str:
    run = run_cli("convert", *args)
    assert run.exit_code == 0, run.stderr
    return run.stderr


def ids(seed: int, *shape: int, high: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, high, size=shape)


# -- in: state_dicts of the tutorials' models --------------------------------------------------------------


class LSTMTagger(nn.Module):
    """pytorch.org's "Sequence Models and LSTM Networks" tutorial, as written there: time-major, one
    sentence, log_softmax in forward (which the state_dict does not hold)."""

    def __init__(self, embedding_dim: int, hidden_dim: int, vocab_size: int, tagset_size: int) -> None:
        super().__init__()
        self.hidden_dim = hidden_dim
        self.word_embeddings = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_dim)
        self.hidden2tag = nn.Linear(hidden_dim, tagset_size)

    def forward(self, sentence: torch.Tensor) -> torch.Tensor:
        embeds = self.word_embeddings(sentence)
        lstm_out, _ = self.lstm(embeds.view(len(sentence), 1, -1))
        tag_space = self.hidden2tag(lstm_out.view(len(sentence), -1))
        return F.log_softmax(tag_space, dim=1)


def test_the_tutorials_lstm_tagger_tags_as_torch_does(tmp_path: Path) -> None:
    torch.manual_seed(0)
    tagger = LSTMTagger(embedding_dim=6, hidden_dim=6, vocab_size=9, tagset_size=3)
    torch.save(tagger.state_dict(), tmp_path / "tagger.pt")
    sentence = ids(1, 5, high=9)  # one id per step
    np.save(tmp_path / "ids.npy", sentence[:, None])  # (timesteps, batch), as the tutorial's view makes it
    notes = convert(
        str(tmp_path / "tagger.pt"),
        *("-o", str(tmp_path / "t.yaml"), "--input", str(tmp_path / "ids.npy"), "--time-major"),
    )
    assert notes.splitlines()[0] == (
        "lstm-cli: note: a state_dict holds no activation, so dense layer hidden2tag is linear; set the one "
        "that forward applies after the nn.Linear (log_softmax, softmax, ...)"
    )
    text = (tmp_path / "t.yaml").read_text()
    assert "# A state_dict holds no activation: each dense layer is linear here. Set the activation" in text
    assert (
        "description: \"nn.Embedding(9, 6) at 'word_embeddings' → nn.LSTM(input_size=6, hidden_size=6, "
        "num_layers=1) at 'lstm' → nn.Linear(6, 3) at 'hidden2tag', converted from tagger.pt; "
        'input (batch, timesteps)"\n'
    ) in text
    # The tutorial's forward ends in log_softmax: set it where the header says, and the scores agree.
    (tmp_path / "t.yaml").write_text(text.replace("activation: linear", "activation: log_softmax"))
    out = lstm_cli.forward(tmp_path / "t.yaml")
    with torch.no_grad():
        tag_scores = tagger(torch.from_numpy(sentence))  # (timesteps, tags)
    assert [name for name in out if "." not in name] == ["word_embeddings", "lstm", "hidden2tag"]
    assert_close(out["hidden2tag"][0], tag_scores, "tag_scores")


class Tagger(nn.Module):
    """Embedding → nn.LSTM (time-major, PyTorch's default) → Linear on every step."""

    def __init__(self, num_layers: int, bidirectional: bool) -> None:
        super().__init__()
        self.embed = nn.Embedding(11, 5)
        self.rnn = nn.LSTM(5, 4, num_layers=num_layers, bidirectional=bidirectional)
        self.out = nn.Linear(4 * (2 if bidirectional else 1), 3)

    def forward(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        output, (h_n, c_n) = self.rnn(self.embed(tokens))  # tokens (timesteps, batch)
        return self.out(output), h_n, c_n


@pytest.mark.parametrize(("num_layers", "bidirectional"), [(1, False), (2, True), (3, False)])
def test_embedding_lstm_linear_run_time_major_as_torch_does(
    tmp_path: Path, num_layers: int, bidirectional: bool
) -> None:
    torch.manual_seed(num_layers)
    tagger = Tagger(num_layers, bidirectional)
    torch.save(tagger.state_dict(), tmp_path / "tagger.pt")
    tokens = ids(2, 7, 3, high=11)  # (timesteps, batch), as nn.LSTM(batch_first=False) reads them
    np.save(tmp_path / "ids.npy", tokens)
    convert(
        str(tmp_path / "tagger.pt"),
        *("-o", str(tmp_path / "t.yaml"), "--input", str(tmp_path / "ids.npy"), "--time-major"),
    )
    out = lstm_cli.forward(tmp_path / "t.yaml")
    with torch.no_grad():
        scores, h_n, c_n = tagger(torch.from_numpy(tokens))
    assert_close(out["out"], scores.transpose(0, 1), "out")
    names = ["rnn"] + [f"rnn_l{k}" for k in range(1, num_layers)]
    for k, name in enumerate(names):  # h_n[k*D + d] is layer k's state, direction d
        halves = [f"{name}.forward", f"{name}.backward"] if bidirectional else [name]
        for d, ref in enumerate(halves):
            assert_close(out[f"{ref}.h"], h_n[k * len(halves) + d], f"h_n of {ref}")
            assert_close(out[f"{ref}.c"], c_n[k * len(halves) + d], f"c_n of {ref}")


class SentimentClassifier(nn.Module):
    """The usual classifier: batch-first, a head of two Linears with relu between, on the last step."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(20, 8)
        self.lstm = nn.LSTM(8, 6, batch_first=True)
        self.fc1 = nn.Linear(6, 5)
        self.fc2 = nn.Linear(5, 2)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        output, _ = self.lstm(self.embedding(tokens))
        return self.fc2(F.relu(self.fc1(output[:, -1])))


def test_a_classifiers_linear_reads_the_sequence_so_its_last_step_is_the_prediction(tmp_path: Path) -> None:
    torch.manual_seed(4)
    classifier = SentimentClassifier()
    torch.save(classifier.state_dict(), tmp_path / "sentiment.pt")
    converted = read_source(tmp_path / "sentiment.pt")
    mapping = converted.mapping
    assert [(e["type"], e["name"]) for e in mapping["layers"]] == [
        ("embedding", "embedding"),
        ("lstm", "lstm"),
        ("dense", "fc1"),
        ("dense", "fc2"),
    ]
    assert mapping["input"] == {"shape": [None]}
    mapping["layers"][2]["activation"] = "relu"  # what forward applies between them
    mapping["input"] = tokens = ids(5, 4, 6, high=20)
    out = lstm_cli.forward(mapping)
    with torch.no_grad():
        logits = classifier(torch.from_numpy(tokens))
    assert out["fc2"].shape == (4, 6, 2)  # every step; the classifier reads the last
    assert_close(out["fc2"][:, -1], logits, "logits")


def test_a_torch_style_npz_of_modules_reads_as_the_pt_does(tmp_path: Path) -> None:
    torch.manual_seed(6)
    state = Tagger(2, True).state_dict()
    torch.save(state, tmp_path / "tagger.pt")
    np.savez(tmp_path / "tagger.npz", **{key: value.numpy() for key, value in state.items()})
    convert(str(tmp_path / "tagger.pt"), "-o", str(tmp_path / "a.yaml"))
    convert(str(tmp_path / "tagger.npz"), "-o", str(tmp_path / "b.yaml"))
    text_a = (tmp_path / "a.yaml").read_text().replace("tagger.pt", "X")
    text_b = (tmp_path / "b.yaml").read_text().replace("tagger.npz", "X")
    assert text_a.split("\n", 1)[1] == text_b.split("\n", 1)[1]


def test_a_state_dict_read_and_written_back_is_the_same_state_dict(tmp_path: Path) -> None:
    torch.manual_seed(7)
    state = Tagger(2, True).state_dict()
    torch.save(state, tmp_path / "tagger.pt")
    convert(str(tmp_path / "tagger.pt"), "-o", str(tmp_path / "t.yaml"))
    convert(str(tmp_path / "t.yaml"), "-o", str(tmp_path / "back.pt"))
    back = torch.load(tmp_path / "back.pt", weights_only=True)
    assert list(back) == list(state)
    for key, value in state.items():
        assert torch.equal(back[key], value), key


# -- out: configs with embedding and dense layers, and the seq2seq example ---------------------------------


def weights(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.uniform(-0.6, 0.6, shape).astype(np.float32)


def embedding_lstm_dense(seed: int) -> dict[str, Any]:
    """Embedding(10, 4) → LSTM(5) in Keras layout → Bidirectional(LSTM(3)) in PyTorch layout, its two
    biases apart → Dense(2) without bias."""
    rng = np.random.default_rng(seed)
    halves = {
        half: {
            "weight_ih": weights(rng, 12, 5),
            "weight_hh": weights(rng, 12, 3),
            "bias_ih": weights(rng, 12),
            "bias_hh": weights(rng, 12),
        }
        for half in ("forward", "backward")
    }
    return {
        "dtype": "float32",
        "input": rng.integers(0, 10, (2, 6)),
        "layers": [
            {
                "type": "embedding",
                "name": "words",
                "input_dim": 10,
                "output_dim": 4,
                "embeddings": weights(rng, 10, 4),
            },
            {
                "type": "lstm",
                "name": "encoder",
                "units": 5,
                "return_sequences": True,
                "kernel": weights(rng, 4, 20),
                "recurrent_kernel": weights(rng, 5, 20),
                "bias": weights(rng, 20),
            },
            {"type": "bidirectional", "name": "context", "units": 3, "return_sequences": True, **halves},
            {"type": "dense", "name": "head", "units": 2, "use_bias": False, "kernel": weights(rng, 6, 2)},
        ],
    }


class Modules(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.words = nn.Embedding(10, 4)
        self.encoder = nn.LSTM(4, 5, batch_first=True)
        self.context = nn.LSTM(5, 3, batch_first=True, bidirectional=True)
        self.head = nn.Linear(6, 2, bias=False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        sequence, _ = self.encoder(self.words(tokens))
        sequence, _ = self.context(sequence)
        return self.head(sequence)


def test_a_config_goes_out_as_one_module_per_layer_that_loads_strictly(tmp_path: Path) -> None:
    config = embedding_lstm_dense(8)
    (tmp_path / "m.yaml").write_text(dump_yaml(config))
    assert (
        convert(str(tmp_path / "m.yaml"), "-o", str(tmp_path / "m.pt"))
        == f"lstm-cli: wrote {tmp_path / 'm.pt'}\n"
    )
    state = torch.load(tmp_path / "m.pt", weights_only=True)
    assert list(state) == list(Modules().state_dict())
    model = Modules()
    model.load_state_dict(state, strict=True)
    with torch.no_grad():
        theirs = model(torch.from_numpy(config["input"]))
    assert_close(lstm_cli.forward(tmp_path / "m.yaml")["head"], theirs, "head")


def seq2seq_inputs() -> tuple[torch.Tensor, torch.Tensor]:
    inputs = lstm_cli.config.load_model(CONFIGS / "seq2seq.yaml").inputs
    encoder, decoder = (inputs[name].data for name in ("encoder_inputs", "decoder_inputs"))
    assert encoder is not None and decoder is not None
    return torch.from_numpy(encoder).float(), torch.from_numpy(decoder).float()


class Seq2seq(nn.Module):
    """The seq2seq example in PyTorch: the decoder starts from the encoder's (h, c); softmax in forward."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.LSTM(6, 4, batch_first=True)
        self.decoder_lstm = nn.LSTM(6, 4, batch_first=True)
        self.decoder_dense = nn.Linear(4, 6)

    def forward(self, encoder_inputs: torch.Tensor, decoder_inputs: torch.Tensor) -> torch.Tensor:
        _, state = self.encoder(encoder_inputs)
        sequence, _ = self.decoder_lstm(decoder_inputs, state)
        return torch.softmax(self.decoder_dense(sequence), dim=-1)


def test_the_seq2seq_example_goes_out_as_one_state_dict_of_two_lstms_and_a_linear(tmp_path: Path) -> None:
    notes = convert(str(CONFIGS / "seq2seq.yaml"), "-o", str(tmp_path / "s2s.pt"))
    assert notes == (
        "lstm-cli: note: layer 'decoder_dense' has activation softmax, which a state_dict does not hold: "
        "apply it to the nn.Linear's output in forward\n"
        f"lstm-cli: wrote {tmp_path / 's2s.pt'}\n"
    )
    model = Seq2seq()
    model.load_state_dict(torch.load(tmp_path / "s2s.pt", weights_only=True), strict=True)
    with torch.no_grad():
        probabilities = model(*seq2seq_inputs())
    ours = lstm_cli.forward(CONFIGS / "seq2seq.yaml", dtype="float32")["decoder_dense"]
    assert_close(ours, probabilities, "decoder_dense")


class Stacked(nn.Module):
    """configs/stacked.yaml in PyTorch: two nn.LSTMs of different sizes, a Linear on the last step."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.LSTM(2, 3, batch_first=True)
        self.summariser = nn.LSTM(3, 2, batch_first=True)
        self.classifier = nn.Linear(2, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sequence, _ = self.summariser(self.encoder(x)[0])
        return torch.softmax(self.classifier(sequence[:, -1]), dim=-1)


def test_lstm_layers_of_different_sizes_go_out_as_an_nn_lstm_each(tmp_path: Path) -> None:
    convert(str(CONFIGS / "stacked.yaml"), "--prefix", "model", "-o", str(tmp_path / "stacked.pt"))
    state = torch.load(tmp_path / "stacked.pt", weights_only=True)
    assert {key.split(".")[1] for key in state} == {"encoder", "summariser", "classifier"}
    model = Stacked()
    model.load_state_dict({key.removeprefix("model."): value for key, value in state.items()}, strict=True)
    x = lstm_cli.config.load_model(CONFIGS / "stacked.yaml").inputs["input"].data
    assert x is not None
    with torch.no_grad():
        probabilities = model(torch.from_numpy(x).float())
    ours = lstm_cli.forward(CONFIGS / "stacked.yaml", dtype="float32")["classifier"]
    assert_close(ours, probabilities, "classifier")


def test_layer_writes_one_layer_alone_with_its_keys_bare_or_under_prefix(tmp_path: Path) -> None:
    convert(str(CONFIGS / "seq2seq.yaml"), "-o", str(tmp_path / "s2s.pt"))
    whole = torch.load(tmp_path / "s2s.pt", weights_only=True)
    convert(str(CONFIGS / "seq2seq.yaml"), "--layer", "decoder_lstm", "-o", str(tmp_path / "decoder.pt"))
    decoder = nn.LSTM(6, 4, dtype=torch.float64)
    decoder.load_state_dict(torch.load(tmp_path / "decoder.pt", weights_only=True), strict=True)
    for key, value in decoder.state_dict().items():
        assert torch.equal(value, whole[f"decoder_lstm.{key}"]), key
    args = ("--layer", "decoder_dense", "--prefix", "out", "-o", str(tmp_path / "dense.pt"))
    notes = convert(str(CONFIGS / "seq2seq.yaml"), *args)
    assert "layer 'decoder_dense' has activation softmax" in notes
    assert list(torch.load(tmp_path / "dense.pt", weights_only=True)) == ["out.weight", "out.bias"]
    (tmp_path / "m.yaml").write_text(dump_yaml(embedding_lstm_dense(9)))
    convert(str(tmp_path / "m.yaml"), "--layer", "words", "-o", str(tmp_path / "words.pt"))
    embedding = nn.Embedding(10, 4)
    embedding.load_state_dict(torch.load(tmp_path / "words.pt", weights_only=True), strict=True)
    expected = lstm_cli.config.load_model(tmp_path / "m.yaml").layers[0]
    assert np.array_equal(embedding.weight.detach().numpy(), expected.embeddings)


def test_the_seq2seq_state_dict_reads_back_into_its_architecture_with_config(tmp_path: Path) -> None:
    """A state_dict does not say that the decoder starts from the encoder's state; --config does."""
    convert(str(CONFIGS / "seq2seq.yaml"), "-o", str(tmp_path / "s2s.pt"))
    run = run_cli("convert", str(tmp_path / "s2s.pt"), "-o", "-")
    assert run.exit_code == 2
    assert "it holds several nn.LSTM modules ('decoder_lstm', 'encoder')" in run.stderr
    args = ("--config", str(CONFIGS / "seq2seq-architecture.yaml"), "-o", "-")
    assert run_cli("convert", str(tmp_path / "s2s.pt"), *args).stderr == (
        f"lstm-cli: error: {tmp_path / 's2s.pt'}: encoder.weight_ih_l0: expected shape (1024, 71) = "
        "(4*units, features) for layer 'encoder', got (16, 6)\n"
    )
    convert(
        str(tmp_path / "s2s.pt"), "--config", str(CONFIGS / "seq2seq.yaml"), "-o", str(tmp_path / "b.yaml")
    )
    ours, back = lstm_cli.forward(CONFIGS / "seq2seq.yaml"), lstm_cli.forward(tmp_path / "b.yaml")
    assert ours.keys() == back.keys()
    for ref in ours:
        np.testing.assert_array_equal(back[ref], ours[ref], err_msg=ref)


def test_an_nn_lstm_of_several_layers_fills_the_layers_named_after_it(tmp_path: Path) -> None:
    torch.manual_seed(9)
    state = Tagger(2, True).state_dict()
    torch.save(state, tmp_path / "tagger.pt")
    convert(str(tmp_path / "tagger.pt"), "-o", str(tmp_path / "t.yaml"))
    torch.save({f"model.{key}": value * 2 for key, value in state.items()}, tmp_path / "twice.pt")
    args = ("--config", str(tmp_path / "t.yaml"), "--prefix", "model", "-o", str(tmp_path / "twice.yaml"))
    convert(str(tmp_path / "twice.pt"), *args)
    layer = lstm_cli.config.load_model(tmp_path / "twice.yaml").layers[2]
    assert layer.name == "rnn_l1"
    assert np.array_equal(
        layer.backward.weights.recurrent_kernel, (state["rnn.weight_hh_l1_reverse"] * 2).T.numpy()
    )
