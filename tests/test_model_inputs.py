"""Model files and input files wherever a config goes (SPEC §7).

`forward`, `trace`, `summary` and `decode` read a .keras, .h5, .weights.h5 (with --config), .pt/.pth or .npz
in place of CONFIG, in memory and exactly as `convert` reads it, so each gives the same JSON as `convert`
then the command. `--input [NAME=]FILE` (.npy, .npz:KEY, .csv, .tsv) gives an input its data, also for a
YAML config, and says so. `--time-major` reads PyTorch's default layout, and a 3-D `--input` for a model
read from a PyTorch state_dict, which does not record its layout, needs it or `--batch-first`. `decode`
takes `--vocab FILE` and `--text NAME=TEXT`. Tests that need keras, h5py or torch skip without them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import CONFIGS, run_cli

from lstm_cli.errors import LstmCliError
from lstm_cli.vocab import read_vocab, split_text

STACKED = str(CONFIGS / "stacked.yaml")
SEED = str(CONFIGS / "seed.yaml")
TOLERANCE = 2e-5  # float32 against float32 (see tests/oracle_cases.py)


def data(seed: int, *shape: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def ok(*args: str) -> Any:
    run = run_cli(*args)
    assert run.exit_code == 0, run.stderr
    return run


def error(*args: str) -> str:
    """The one error line of a refused run, without `lstm-cli: error: `; nothing on stdout, exit 2."""
    run = run_cli(*args)
    assert (run.exit_code, run.stdout) == (2, ""), run.stderr
    assert run.stderr.startswith("lstm-cli: error: ") and run.stderr.count("\n") == 1, run.stderr
    return run.stderr.removeprefix("lstm-cli: error: ").removesuffix("\n")


def outputs(*args: str) -> dict[str, Any]:
    """The outputs of `forward ARGS --format json`."""
    return json.loads(ok("forward", *args, "-f", "json").stdout)["outputs"]  # type: ignore[no-any-return]


def assert_close(actual: Any, expected: Any, what: str) -> None:
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, what
    scale = max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(actual, expected, rtol=0, atol=TOLERANCE * scale, err_msg=what)


# -- time-major input: PyTorch's default layout, never guessed -----------------------------------------------


def gated_lstm(torch: Any, features: int, units: int) -> Any:
    """nn.LSTM(batch_first=False), the tutorial LSTMTagger's, with each gate's weights on their own scale
    and offset: a reading that mixed up the gates, or time and batch, could not agree by chance."""
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(features, units)
    with torch.no_grad():
        for name, weight in lstm.named_parameters():
            for gate, (scale, offset) in enumerate([(0.5, 0.1), (0.3, 0.6), (0.9, -0.2), (0.2, -0.4)]):
                block = weight[gate * units : (gate + 1) * units]
                block.copy_(torch.randn(block.shape) * scale + offset * (1 if "weight" in name else 2))
    return lstm


@pytest.mark.slow  # an oracle: torch
def test_time_major_input_for_a_pt_is_what_nn_lstm_computes(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    lstm = gated_lstm(torch, 6, 4)
    torch.save(lstm.state_dict(), tmp_path / "tagger.pt")
    embeds = data(1, 5, 2, 6)  # (timesteps, batch, features), as nn.LSTM reads it by default
    pt, npy = str(tmp_path / "tagger.pt"), str(tmp_path / "embeds.npy")
    np.save(npy, embeds)
    run = ok("forward", pt, "--input", npy, "--time-major", "-f", "json")
    assert (
        run.stderr == f"lstm-cli: note: input 'input' reads {npy}, time-major: 5 timesteps of a batch of 2\n"
    )
    out = json.loads(run.stdout)["outputs"]
    with torch.no_grad():
        output, (h_n, c_n) = lstm(torch.from_numpy(embeds))
    assert_close(out["lstm"], output.numpy().transpose(1, 0, 2), "output, batch first")
    assert_close(out["lstm.h"], h_n[0].numpy(), "h_n")
    assert_close(out["lstm.c"], c_n[0].numpy(), "c_n")


@pytest.mark.slow  # writes its file with torch
def test_a_3d_input_for_a_state_dict_without_its_layout_is_an_error_that_says_why(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    torch.save(torch.nn.LSTM(6, 4).state_dict(), tmp_path / "tagger.pt")
    embeds = str(tmp_path / "embeds.npy")
    np.save(embeds, data(1, 5, 1, 6))
    message = (
        f"--input {embeds}: shape (5, 1, 6) could be (timesteps, batch, features), nn.LSTM's default layout, "
        "or (batch, timesteps, features), as with batch_first=True; a PyTorch state_dict does not record "
        "which: add --time-major or --batch-first"
    )
    pt = str(tmp_path / "tagger.pt")
    for command in ("forward", "trace", "summary"):
        assert error(command, pt, "--input", embeds) == message
    assert error("convert", pt, "--input", embeds, "-o", str(tmp_path / "t.yaml")) == message
    assert not (tmp_path / "t.yaml").exists()


@pytest.mark.slow  # an oracle: torch
def test_batch_first_and_a_2d_sequence_read_a_pt_as_written(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    lstm = gated_lstm(torch, 3, 2)
    torch.save(lstm.state_dict(), tmp_path / "lstm.pt")
    x = data(2, 4, 3)  # (timesteps, features): one sequence, the same in both layouts
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "batch.npy", x[np.newaxis])  # (batch, timesteps, features)
    with torch.no_grad():
        expected, _ = lstm(torch.from_numpy(x))  # nn.LSTM reads an unbatched (timesteps, features) too
    pt = str(tmp_path / "lstm.pt")
    one = outputs(pt, "--input", str(tmp_path / "x.npy"))
    assert_close(one["lstm"], expected.numpy()[np.newaxis], "a (timesteps, features) sequence")
    assert outputs(pt, "--input", str(tmp_path / "batch.npy"), "--batch-first") == one


def test_the_layout_flags_are_checked_before_anything_is_read(tmp_path: Path) -> None:
    x = str(tmp_path / "x.npy")
    np.save(x, np.zeros((1, 1, 2)))
    assert error("forward", SEED, "--input", x, "--time-major", "--batch-first") == (
        "--time-major and --batch-first contradict each other; give one"
    )
    assert error("forward", SEED, "--time-major") == (
        "--time-major says how --input arrays are laid out; give an --input"
    )


def test_time_major_transposes_a_yaml_configs_input_too(tmp_path: Path) -> None:
    x = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])  # (timesteps 2, batch 1, features 2)
    np.save(tmp_path / "x.npy", x)
    run = ok("forward", STACKED, "--input", str(tmp_path / "x.npy"), "--time-major", "-f", "json")
    inline = tmp_path / "inline.yaml"
    inline.write_text(
        (CONFIGS / "stacked.yaml")
        .read_text()
        .replace("[[[1, 0], [0, 1], [1, 1], [0, 0]]]", "[[[1, 0], [0, 1]]]")
    )
    assert run.stdout == ok("forward", str(inline), "-f", "json").stdout


# -- each model format, given straight to a command, is what `convert` then the command gives --------------


def assert_same_as_converted(tmp_path: Path, model: Path, *options: str, command: str = "forward") -> str:
    """`COMMAND MODEL OPTIONS` prints what `convert MODEL OPTIONS -o m.yaml` then `COMMAND m.yaml` prints;
    returns the direct run's stderr."""
    direct = ok(command, str(model), *options, "-f", "json")
    converted = tmp_path / "converted.yaml"
    ok("convert", str(model), *options, "-o", str(converted), "--force")
    assert direct.stdout == ok(command, str(converted), "-f", "json").stdout
    return direct.stderr


@pytest.mark.slow  # writes its file with Keras
def test_a_keras_archive_given_to_forward_is_the_converted_config(tmp_path: Path) -> None:
    keras = pytest.importorskip("keras")
    pytest.importorskip("h5py")
    model = keras.Sequential(
        [keras.Input((None, 3)), keras.layers.LSTM(4, return_sequences=True), keras.layers.Dense(2)]
    )
    rng = np.random.default_rng(3)
    model.set_weights([rng.uniform(-0.6, 0.6, w.shape).astype(np.float32) for w in model.get_weights()])
    model.save(tmp_path / "m.keras")
    x = data(4, 2, 5, 3)
    np.save(tmp_path / "x.npy", x)
    assert assert_same_as_converted(tmp_path, tmp_path / "m.keras", "--input", str(tmp_path / "x.npy")) == ""
    out = outputs(str(tmp_path / "m.keras"), "--input", str(tmp_path / "x.npy"))
    assert_close(out[model.layers[-1].name], model.predict(x, verbose=0), "Keras's prediction")


def test_a_tf_keras_2_h5_given_to_forward_is_the_converted_config(tmp_path: Path) -> None:
    pytest.importorskip("h5py")
    from test_convert_keras import keras2_layer, lstm_weights, write_keras2_h5  # skips without keras

    rng = np.random.default_rng(5)
    shapes = [(3, 16), (4, 16), (16,)]  # kernel, recurrent_kernel, bias
    weights = [rng.uniform(-0.5, 0.5, shape).astype(np.float32) for shape in shapes]
    model_config = {
        "class_name": "Sequential",
        "config": {
            "name": "sequential",
            "layers": [
                {"class_name": "InputLayer", "config": {"batch_input_shape": [None, None, 3], "name": "x"}},
                keras2_layer("LSTM", "lstm", units=4, activation="tanh", recurrent_activation="sigmoid",
                             use_bias=True, return_sequences=True, return_state=False, go_backwards=False),
            ],
        },
    }  # fmt: skip
    write_keras2_h5(tmp_path / "m.h5", model_config, {"lstm": lstm_weights("lstm", weights)})
    (tmp_path / "x.csv").write_text("a,b,c\n0.5,-1,2\n0,0.25,1\n")  # one sequence, with a header
    assert assert_same_as_converted(tmp_path, tmp_path / "m.h5", "--input", str(tmp_path / "x.csv")) == ""


def test_keras_weights_with_their_architecture_given_to_forward_are_the_converted_config(
    tmp_path: Path,
) -> None:
    pytest.importorskip("h5py")
    weights = tmp_path / "stacked.weights.h5"
    ok("convert", STACKED, "-o", str(weights))
    (tmp_path / "x.tsv").write_text("0.5\t-1\n1\t1\n")
    assert assert_same_as_converted(tmp_path, weights, "--config", STACKED) == ""
    options = ("--config", STACKED, "--input", str(tmp_path / "x.tsv"))
    assert assert_same_as_converted(tmp_path, weights, *options) == ""
    assert error("forward", str(weights)) == (
        f"{weights}: a Keras 3 weights file holds no architecture; give it with --config ARCH.yaml"
    )


@pytest.mark.slow  # writes its file with torch
def test_a_pytorch_state_dict_given_to_forward_is_the_converted_config(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    torch.save(gated_lstm(torch, 3, 4).state_dict(), tmp_path / "lstm.pth")
    np.save(tmp_path / "x.npy", data(6, 5, 2, 3))
    options = ("--input", str(tmp_path / "x.npy"), "--time-major")
    assert assert_same_as_converted(tmp_path, tmp_path / "lstm.pth", *options) == (
        f"lstm-cli: note: input 'input' reads {tmp_path / 'x.npy'}, time-major: 5 timesteps of a batch of 2\n"
    )


def test_npz_files_given_to_forward_are_the_converted_config(tmp_path: Path) -> None:
    ok("convert", STACKED, "-o", str(tmp_path / "stacked.npz"))  # lstm-cli's keys: needs --config
    assert assert_same_as_converted(tmp_path, tmp_path / "stacked.npz", "--config", STACKED) == ""
    rng = np.random.default_rng(7)
    shapes = {"weight_ih_l0": (16, 3), "weight_hh_l0": (16, 4), "bias_ih_l0": (16,), "bias_hh_l0": (16,)}
    state_dict = {f"rnn.{key}": rng.normal(size=shape) for key, shape in shapes.items()}
    np.savez(tmp_path / "sd.npz", **state_dict)  # an nn.LSTM's state_dict, saved without torch
    np.save(tmp_path / "x.npy", rng.normal(size=(2, 5, 3)))
    options = ("--input", str(tmp_path / "x.npy"), "--batch-first")
    assert assert_same_as_converted(tmp_path, tmp_path / "sd.npz", *options) == ""


@pytest.mark.parametrize("command", ["trace", "summary"])
def test_trace_and_summary_read_model_files_as_forward_does(tmp_path: Path, command: str) -> None:
    ok("convert", STACKED, "-o", str(tmp_path / "stacked.npz"))
    assert_same_as_converted(tmp_path, tmp_path / "stacked.npz", "--config", STACKED, command=command)


def test_a_model_file_without_input_data_asks_for_input(tmp_path: Path) -> None:
    np.savez(tmp_path / "sd.npz", **{"weight_ih_l0": np.zeros((8, 3)), "weight_hh_l0": np.zeros((8, 2))})
    assert error("forward", str(tmp_path / "sd.npz")) == (
        f"{tmp_path / 'sd.npz'}: input: input 'input' has a shape but no data; give an array to run it, or "
        "--input FILE"
    )
    assert "Total params: 40" in ok("summary", str(tmp_path / "sd.npz"), "--style", "legacy").stdout


def test_model_file_options_are_refused_where_they_do_not_apply(tmp_path: Path) -> None:
    assert error("forward", SEED, "--prefix", "rnn") == (
        f"--prefix picks an nn.LSTM in a PyTorch state_dict; {SEED} is not one"
    )
    assert error("forward", SEED, "--config", STACKED) == (
        f"--config gives the architecture of a weights-only file (.weights.h5, .npz, .pt); {SEED} "
        "holds its own"
    )
    assert error("forward", "--config", STACKED) == (
        "--config goes with a CONFIG or model file, not the built-in example; name one"
    )
    x = str(tmp_path / "x.npy")
    np.save(x, np.zeros((1, 2)))
    assert error("summary", "--units", "3", "--features", "2", "--input", x) == (
        "--input goes with a CONFIG or model file, not flags; name one"
    )


# -- --input: data for a YAML config's input, and what it may be ---------------------------------------------


def test_input_replaces_a_configs_own_data_and_says_so(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("x0,x1\n1,0\n0,1\n")
    run = ok("forward", SEED, "--input", str(tmp_path / "x.csv"), "-f", "json")
    assert run.stderr == (
        f"lstm-cli: note: input 'input' reads {tmp_path / 'x.csv'}, not the config's own data\n"
    )
    inline = tmp_path / "inline.yaml"
    inline.write_text((CONFIGS / "seed.yaml").read_text().replace("[[[1, 0]]]", "[[[1, 0], [0, 1]]]"))
    assert run.stdout == ok("forward", str(inline), "-f", "json").stdout


def test_input_gives_an_architecture_only_input_its_data(tmp_path: Path) -> None:
    config = tmp_path / "arch.yaml"
    config.write_text(
        (CONFIGS / "stacked.yaml")
        .read_text()
        .replace("[[[1, 0], [0, 1], [1, 1], [0, 0]]]", "{shape: [null, 2]}")
    )
    np.savez(tmp_path / "x.npz", sequence=np.array([[[1, 0], [0, 1], [1, 1], [0, 0]]]))
    run = ok("trace", str(config), "--input", f"input={tmp_path / 'x.npz'}:sequence", "-f", "json")
    assert run.stderr == (
        f"lstm-cli: note: input 'input' reads {tmp_path / 'x.npz'}:sequence; the config gives only its "
        "shape\n"
    )
    assert run.stdout == ok("trace", STACKED, "-f", "json").stdout


def test_input_names_one_of_several_inputs(tmp_path: Path) -> None:
    source = str(CONFIGS / "seq2seq.yaml")
    (tmp_path / "abc.csv").write_text("0,0,1,0,0,0\n0,0,0,1,0,0\n0,0,0,0,1,0\n")
    assert error("forward", source, "--input", str(tmp_path / "abc.csv")) == (
        f"--input {tmp_path / 'abc.csv'}: the model has inputs encoder_inputs, decoder_inputs; say which "
        "with NAME=FILE"
    )
    run = ok("forward", source, "--input", f"encoder_inputs={tmp_path / 'abc.csv'}")
    assert run.stderr == (
        f"lstm-cli: note: input 'encoder_inputs' reads {tmp_path / 'abc.csv'}, not the config's own data\n"
    )


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("x.txt", "1,0", "expected a .npy, .npz:KEY, .csv or .tsv file"),
        ("missing.npy", None, "no such file"),
        ("x.npz", {"seq": [[1, 0]]}, "a .npz file holds several arrays; say which with {file}:KEY"),
        ("x.npz:sq", {"seq": [[1, 0]]}, "no array 'sq' in the archive; did you mean 'seq'? (it holds: seq)"),
        (
            "x.npy",
            [1.0, 0.0],
            "expected (batch, timesteps, features) or (timesteps, features), got shape (2,)",
        ),
        ("x.npy", [[[1.0, np.nan]]], "NaN at [0, 0, 1]; every value must be a finite number"),
        (
            "x.npy",
            [[[1.0, 0.0, 2.0]]],
            "the array's shape is (1, 1, 3); input 'input' takes (batch, timesteps, 2)",
        ),
        ("x.csv", "1,0,2\n", "the array's shape is (1, 3); input 'input' takes (timesteps, 2)"),
        ("x.csv", "1,0\n1,zero\n", "line 2, column 2: expected a number, got 'zero'"),
        ("x.npy", "not numpy", "not a .npy file (numpy.save writes them)"),
    ],
)
def test_input_file_problems_are_one_line_naming_the_option(
    tmp_path: Path, name: str, content: Any, message: str
) -> None:
    file = tmp_path / name.split(":")[0]
    if isinstance(content, str):
        file.write_text(content)
    elif isinstance(content, dict):
        np.savez(file, **{key: np.array(value) for key, value in content.items()})
    elif content is not None:
        np.save(file, np.array(content))
    item = str(tmp_path / name)
    assert error("forward", SEED, "--input", item) == f"--input {item}: {message.format(file=file)}"


def test_input_problems_of_naming(tmp_path: Path) -> None:
    x = str(tmp_path / "x.npy")
    np.save(x, np.zeros((1, 1, 2)))
    assert error("forward", SEED, "--input", f"encoder={x}") == (
        f"--input encoder={x}: the model has one input, `input`; drop encoder="
    )
    assert error("forward", SEED, "--input", x, "--input", f"input={x}") == (
        f"--input input={x}: input 'input' is given twice"
    )
    assert error("forward", "--input", x) == (
        "--input goes with a CONFIG or model file, not the built-in example; name one"
    )


def test_time_major_shapes_are_told_in_the_files_own_layout(tmp_path: Path) -> None:
    x = str(tmp_path / "x.npy")
    np.save(x, np.zeros((4, 1, 3)))
    assert error("forward", SEED, "--input", x, "--time-major") == (
        f"--input {x}: the array's shape is (4, 1, 3); input 'input' takes (timesteps, batch, 2)"
    )
    np.save(x, np.zeros((3, 3, 5)))  # as many timesteps as samples: the layout is still the file's
    assert error("forward", SEED, "--input", x, "--time-major") == (
        f"--input {x}: the array's shape is (3, 3, 5); input 'input' takes (timesteps, batch, 2)"
    )


# -- decode: a vocab from a file, and an input given as text ------------------------------------------------


def seq2seq_without_vocab(tmp_path: Path) -> Path:
    """configs/seq2seq.yaml as a converted model is: no vocab, and the encoder's input a shape."""
    text = (CONFIGS / "seq2seq.yaml").read_text()
    text = re.sub(r"\nvocab: .*?\n", "\n", text)
    text = re.sub(
        r"  encoder_inputs: \[\[.*?\]\]\n", "  encoder_inputs: {shape: [null, 6]}\n", text, flags=re.S
    )
    path = tmp_path / "s2s.yaml"
    path.write_text(text)
    (tmp_path / "vocab.txt").write_text("<s>\n</s>\na\nb\nc\nd\n")
    return path


DECODE = ("--feed", "decoder_inputs", "--start", "<s>", "--stop", "</s>", "-f", "json")


def test_decode_takes_a_vocab_file_and_the_encoders_input_as_text(tmp_path: Path) -> None:
    config = seq2seq_without_vocab(tmp_path)
    vocab = str(tmp_path / "vocab.txt")
    run = ok("decode", str(config), "--vocab", vocab, "--text", "encoder_inputs=abcd", *DECODE)
    assert json.loads(run.stdout)["tokens"] == ["d", "c", "b", "a", "</s>"]
    assert run.stderr == (
        "lstm-cli: note: input 'encoder_inputs' reads 4 tokens (--text): a b c d; the config gives only its "
        "shape\n"
    )
    assert run.stdout == ok("decode", str(CONFIGS / "seq2seq.yaml"), *DECODE).stdout  # the same "abcd"


def test_decode_reads_a_model_file_with_a_vocab_file(tmp_path: Path) -> None:
    config = seq2seq_without_vocab(tmp_path)
    ok("convert", str(CONFIGS / "seq2seq.yaml"), "-o", str(tmp_path / "s2s.npz"))  # weights only
    vocab = str(tmp_path / "vocab.txt")
    model = str(tmp_path / "s2s.npz")
    run = ok(
        "decode", model, "--config", str(config), "--vocab", vocab, "--text", "encoder_inputs=ba", *DECODE
    )
    assert json.loads(run.stdout)["tokens"] == ["a", "b", "</s>"]
    assert run.stderr == "lstm-cli: note: input 'encoder_inputs' reads 2 tokens (--text): b a\n"


def test_a_vocab_file_replaces_the_configs_vocab_and_says_so(tmp_path: Path) -> None:
    (tmp_path / "vocab.txt").write_text("<s>\n</s>\nw\nx\ny\nz\n")
    run = ok("decode", str(CONFIGS / "seq2seq.yaml"), "--vocab", str(tmp_path / "vocab.txt"), *DECODE)
    assert json.loads(run.stdout)["tokens"] == ["z", "y", "x", "w", "</s>"]
    assert run.stderr == (
        f"lstm-cli: note: the vocab is {tmp_path / 'vocab.txt'}'s 6 tokens (--vocab), not the config's\n"
    )


def test_text_problems_are_one_line(tmp_path: Path) -> None:
    config = str(seq2seq_without_vocab(tmp_path))
    vocab = str(tmp_path / "vocab.txt")
    assert error("decode", config, "--vocab", vocab, "--text", "abcd", *DECODE) == (
        "--text abcd: say which input reads it, as NAME=TEXT"
    )
    assert error("decode", config, "--text", "encoder_inputs=abcd", *DECODE) == (
        "--text encoder_inputs=abcd: the model has no vocab to split the text into tokens; give one with "
        "--vocab FILE"
    )
    assert error("decode", config, "--vocab", vocab, "--text", "encoder_inputs=abxyd", *DECODE) == (
        "--text encoder_inputs=abxyd: 'xy' (at character 3) is not a token of the vocab (the vocab: '<s>', "
        "'</s>', 'a', 'b', 'c', 'd')"
    )
    (tmp_path / "wide.txt").write_text("a\nb\n")
    wide = str(tmp_path / "wide.txt")
    assert error("decode", config, "--vocab", wide, "--text", "encoder_inputs=ab", *DECODE) == (
        "--text encoder_inputs=ab: input 'encoder_inputs' reads 6 features, but the vocab has 2 tokens; "
        "the one-hot is as wide as the vocab"
    )


def test_text_is_split_longest_token_first() -> None:
    vocab = ["<", "s", ">", "<s>", "</s>", "a", "ab"]
    assert split_text("<s>ab</s><a", vocab, "--text x") == [3, 6, 4, 0, 5]
    chars = ["a", "b", " "]
    assert split_text("ab ba", chars, "--text x") == [0, 1, 2, 1, 0]  # a space token is a token
    words = ["hello", "world", "<s>"]
    assert split_text("<s> hello  world", words, "--text x") == [2, 0, 1]  # else spaces only separate
    with pytest.raises(LstmCliError) as caught:
        split_text("hello there world", words, "--text x")
    assert str(caught.value) == (
        "--text x: 'there' (at character 7) is not a token of the vocab (the vocab: 'hello', 'world', '<s>')"
    )
    with pytest.raises(LstmCliError) as caught:
        split_text("  ", words, "--text x")
    assert str(caught.value) == "--text x: no tokens in the text"


def test_a_vocab_file_is_one_token_a_line_with_quoted_ones_as_python_writes_them(tmp_path: Path) -> None:
    path = tmp_path / "vocab.txt"
    path.write_text("\ufeff<s>\r\n'\\n'\n' '\na b\n\"'\"\n\t\n")
    assert read_vocab(path) == ("<s>", "\n", " ", "a b", "'", "\t")
    cases = {
        "a\n\nb\n": f"{path}:2:1: an empty line; each line is one token (write '' for an empty token, ' ' "
        "for a space)",
        "a\nb\na\n": f"{path}:3:1: token 'a' appears twice (first on line 1)",
        "": f"{path}: holds no tokens; write one token per line",
    }
    for text, message in cases.items():
        path.write_text(text)
        with pytest.raises(LstmCliError) as caught:
            read_vocab(path)
        assert str(caught.value) == message
    path.write_bytes(b"a\n\xffb\n")
    with pytest.raises(LstmCliError) as caught:
        read_vocab(path)
    assert str(caught.value) == f"{path}:2:1: not UTF-8 text (byte 0xff)"
    assert error(
        "decode", SEED, "--vocab", str(tmp_path / "none.txt"), "--feed", "input", "--start", "a"
    ) == (f"{tmp_path / 'none.txt'}: no such file")


def test_convert_reads_a_configs_csv_array_in(tmp_path: Path) -> None:
    # convert re-read {file: ...} arrays with np.load alone, and stopped with an internal error on a .csv
    (tmp_path / "x.csv").write_text("a,b\n1,0\n0,1\n", encoding="utf-8")
    (tmp_path / "c.yaml").write_text(
        "input: {file: x.csv}\nlayers:\n  - {type: dense, units: 1, kernel: [[1], [2]], bias: [0]}\n",
        encoding="utf-8",
    )
    run = run_cli("convert", str(tmp_path / "c.yaml"), "-o", "-")
    assert run.exit_code == 0, run.stderr
    assert "input: [[1, 0],\n        [0, 1]]" in run.stdout
