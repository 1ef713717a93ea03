"""SPEC §2: with a `vocab:`, token k is one-hot position k, and the tables show the tokens."""

import re

import numpy as np
from conftest import CONFIGS, run_cli

from lstm_cli.tokens import likeliest_tokens, one_hot_token, shown_token

SEQ2SEQ = str(CONFIGS / "seq2seq.yaml")
VOCAB = ("<s>", "</s>", "a", "b", "c", "d")


def test_one_hot_rows_name_their_token() -> None:
    assert one_hot_token(VOCAB, np.array([0, 0, 1, 0, 0, 0.0])) == "a"
    assert one_hot_token(VOCAB, np.array([0, 0, 0, 0, 0, 1.0])) == "d"


def test_other_rows_name_no_token() -> None:
    assert one_hot_token(None, np.array([1.0, 0, 0, 0, 0, 0])) is None  # no vocab
    assert one_hot_token(VOCAB, np.array([1.0, 0, 0])) is None  # another width
    assert one_hot_token(VOCAB, np.array([0, 0.5, 0, 0, 0, 0])) is None  # not a one
    assert one_hot_token(VOCAB, np.array([0, 1.0, 1, 0, 0, 0])) is None  # two hot
    assert one_hot_token(VOCAB, np.zeros(6)) is None


def test_likeliest_tokens_per_sample_first_on_ties() -> None:
    scores = np.array([[[0.1, 0.2, 0.7, 0, 0, 0], [0.5, 0.5, 0, 0, 0, 0]], [[0, 0, 0, 0, 0, 1.0]] * 2])
    assert likeliest_tokens(VOCAB, scores) == [["a", "<s>"], ["d", "d"]]
    assert likeliest_tokens(VOCAB, scores[:, 0]) == [["a"], ["d"]]


def _table_rows(text: str, title: str) -> list[list[str]]:
    """The line that starts each timestep's row of the layer table under `title`, split into cells: in the
    wide layout (framed) and the long one (unframed, the step's first unit on it) alike."""
    rows, inside = [], False
    for line in text.splitlines():
        if line.startswith(title):
            inside = True
        elif inside and ("│" not in line or line.startswith("└")):
            if rows:
                break
        elif inside:
            cells = [cell.strip() for cell in line.strip().strip("│").split("│")]
            if cells[0].isdigit():
                rows.append(cells)
    return rows


def test_forward_table_names_each_input_token() -> None:
    run = run_cli("forward", SEQ2SEQ)
    assert run.exit_code == 0
    # encoder_inputs spell "abcd"; decoder_inputs are <s> then the reversed string (teacher forcing)
    assert [row[1] for row in _table_rows(run.stdout, "encoder (LSTM)")] == ["a", "b", "c", "d"]
    assert [row[1] for row in _table_rows(run.stdout, "decoder_lstm (LSTM)")] == ["<s>", "d", "c", "b", "a"]


def test_forward_outputs_name_the_likeliest_tokens_of_a_vocab_wide_dense() -> None:
    run = run_cli("forward", SEQ2SEQ)
    # The trained decoder reverses "abcd"; decode gives the same tokens (README, decode section).
    assert "likeliest tokens: d c b a </s>" in run.stdout
    assert run.stdout.count("likeliest tokens") == 1  # not on the LSTM outputs


def test_trace_step_heading_names_the_token() -> None:
    run = run_cli("trace", SEQ2SEQ, "--layer", "decoder_lstm", "--timestep", "1")
    assert run.exit_code == 0
    assert re.search(r"t = 1 \(step 2 of 5\) · x_t = \[0, 0, [^\]]*\], token d\n", run.stdout)


def test_rows_that_are_not_one_hot_show_their_numbers(tmp_path) -> None:
    config = tmp_path / "soft.yaml"
    config.write_text(
        "vocab: [x, y]\n"
        "input: [[0.5, 0.5], [0, 1]]\n"
        "layers:\n"
        "  - {type: lstm, units: 2, kernel: [[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8],"
        " [0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1]],"
        " recurrent_kernel: [[0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0]], use_bias: false}\n",
        encoding="utf-8",
    )
    run = run_cli("forward", str(config), "--precision", "2")
    assert run.exit_code == 0, run.stderr
    assert [row[1] for row in _table_rows(run.stdout, "lstm (LSTM)")] == ["[0.50, 0.50]", "y"]  # unwrapped
    # an LSTM as wide as the vocab is not a score over it
    assert "likeliest tokens" not in run.stdout


def test_tokens_that_would_not_show_are_quoted_and_markup_stays_text(tmp_path) -> None:
    config = tmp_path / "odd.yaml"
    config.write_text(
        'vocab: ["[red]x[/red]", "y\\nz"]\n'
        "input: [[1, 0], [0, 1]]\n"
        "layers:\n"
        "  - {type: lstm, units: 1, return_sequences: true, kernel: [[0, 0, 0, 0], [0, 0, 0, 0]],"
        " recurrent_kernel: [[0, 0, 0, 0]], use_bias: false}\n"
        "  - {type: dense, units: 2, kernel: [[1, 0]], bias: [0, 1]}\n",
        encoding="utf-8",
    )
    run = run_cli("forward", str(config))
    assert run.exit_code == 0, run.stderr
    assert [row[1] for row in _table_rows(run.stdout, "lstm (LSTM)")] == ["[red]x[/red]", "'y\\nz'"]
    assert "likeliest tokens: 'y\\nz' 'y\\nz'" in run.stdout  # h is 0, so the bias decides: token 1


def test_a_hidden_state_is_never_read_as_a_token(tmp_path) -> None:
    """Only model inputs hold tokens: here lstm's h is exactly [0, 1, 0], as wide as the vocab."""
    config = tmp_path / "hidden.yaml"
    config.write_text(
        "vocab: [a, b, c]\n"
        "input: [[[1.0]]]\n"
        "layers:\n"
        "  - {type: lstm, units: 3, activation: null, recurrent_activation: null, return_sequences: true,\n"
        "     kernel: [[0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0]], recurrent_kernel: {file: zeros.npy},\n"
        "     use_bias: false}\n"
        "  - {type: lstm, units: 1, kernel: {file: k.npy}, recurrent_kernel: [[0, 0, 0, 0]],\n"
        "     use_bias: false}\n",
        encoding="utf-8",
    )
    np.save(tmp_path / "zeros.npy", np.zeros((3, 12)))
    np.save(tmp_path / "k.npy", np.zeros((3, 4)))
    # i = [0, 1, 0], f = 0, g = [0, 1, 0], o = [0, 1, 0] (linear): c = i·g = [0, 1, 0], h = o·c = [0, 1, 0]
    run = run_cli("trace", str(config), "--layer", "lstm_1")
    assert run.exit_code == 0, run.stderr
    assert "x_t = [0, 1, 0]\n" in run.stdout  # no ", token b"
    assert "x_t" not in run_cli("forward", str(config)).stdout


def test_likeliest_tokens_of_a_big_batch_are_bounded(tmp_path) -> None:
    config = tmp_path / "batch.yaml"
    np.save(tmp_path / "x.npy", np.tile([[[1.0, 0.0]]], (100, 1, 1)))
    config.write_text(
        "vocab: [x, y]\ninput: {file: x.npy}\nlayers:\n"
        "  - {type: dense, units: 2, kernel: [[0, 1], [1, 0]], bias: [0, 0]}\n",
        encoding="utf-8",
    )
    run = run_cli("forward", str(config))
    assert run.exit_code == 0, run.stderr
    assert "likeliest tokens: y | y | y | y | y | y | y | y | … +92 samples" in run.stdout


def test_a_token_is_quoted_where_it_would_not_read_as_one() -> None:
    # "decoded: - é a b ''" read as five tokens; quoted, 'a b' is one, and '' shows it is empty
    tokens = ["-", "é", "a b", "", " ", "\n", "'x'", "<s>"]
    assert [shown_token(token) for token in tokens] == [
        "-",
        "é",
        "'a b'",
        "''",
        "' '",
        "'\\n'",
        "\"'x'\"",
        "<s>",
    ]
