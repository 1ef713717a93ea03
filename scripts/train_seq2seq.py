"""Train the weights of `configs/seq2seq.yaml`: a tiny character-level encoder/decoder that reverses strings.

The model is the one Keras's ten-minute seq2seq example builds, made small: an encoder LSTM whose final
(h, c) start a decoder LSTM, then a Dense softmax over the vocab (`<s>`, `</s>`, a, b, c, d), latent 4. It
is trained with PyTorch on every string of 1 to 4 letters from a, b, c, d (340 strings) with teacher
forcing: the encoder reads the string; the decoder reads `<s>` and the reversed string and learns to
predict the reversed string and then `</s>`. `nn.LSTM` keeps its gates in Keras's order (i, f, g, o), so
the conversion is `kernel = weight_ih.T`, `recurrent_kernel = weight_hh.T`, `bias = bias_ih + bias_hh`.

The weights are rounded to 4 decimals, and the config is only written if lstm-cli's own greedy decoder
(`lstm_cli.decoding`, float64 and float32) still reverses all 340 strings with them.

    python scripts/train_seq2seq.py                            # train, check, print the config
    python scripts/train_seq2seq.py -o configs/seq2seq.yaml    # ... and write it there

Seeded and single-threaded, so a run reproduces the file on the same torch build. Needs torch.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from lstm_cli.config import load_model
from lstm_cli.decoding import decode
from lstm_cli.yamlwriter import flow_array

SEED = 0
VOCAB = ("<s>", "</s>", "a", "b", "c", "d")
START, STOP = 0, 1
LETTERS = range(2, len(VOCAB))  # vocab indexes of a, b, c, d
MAX_LENGTH = 4
LATENT = 4
EPOCHS = 3000  # full-batch Adam steps; greedy accuracy reaches 100% after about 500
LEARNING_RATE = 0.02
DECIMALS = 4
EXAMPLE = "abcd"  # the string the config's encoder reads

Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # encoder one-hots, decoder one-hots, targets


def one_hot(indexes: list[int]) -> torch.Tensor:
    return torch.eye(len(VOCAB))[indexes]  # (len(indexes), vocab)


def dataset() -> dict[int, Batch]:
    """Every string, batched by length so that no padding (and no masking) is needed."""
    batches = {}
    for length in range(1, MAX_LENGTH + 1):
        strings = [list(s) for s in itertools.product(LETTERS, repeat=length)]
        reversed_strings = [s[::-1] for s in strings]
        encoder_inputs = torch.stack([one_hot(s) for s in strings])  # (n, length, vocab)
        # (n, length + 1, vocab): <s>, then the reversed string
        decoder_inputs = torch.stack([one_hot([START, *r]) for r in reversed_strings])
        targets = torch.tensor([[*r, STOP] for r in reversed_strings])  # (n, length + 1)
        batches[length] = (encoder_inputs, decoder_inputs, targets)
    return batches


class Seq2Seq(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encoder = torch.nn.LSTM(len(VOCAB), LATENT, batch_first=True)
        self.decoder_lstm = torch.nn.LSTM(len(VOCAB), LATENT, batch_first=True)
        self.decoder_dense = torch.nn.Linear(LATENT, len(VOCAB))

    def forward(self, encoder_inputs: torch.Tensor, decoder_inputs: torch.Tensor) -> torch.Tensor:
        _, states = self.encoder(encoder_inputs)  # the encoder keeps only its final (h, c)
        sequence, _ = self.decoder_lstm(decoder_inputs, states)
        return self.decoder_dense(sequence)  # logits; the config's Dense applies the softmax

    @torch.no_grad()
    def reverse(self, encoder_inputs: torch.Tensor) -> torch.Tensor:
        """Greedy decoding of a batch, as `lstm-cli decode` does it: (n, steps) vocab indexes."""
        _, states = self.encoder(encoder_inputs)
        fed = torch.full((len(encoder_inputs),), START)
        chosen = []
        for _ in range(encoder_inputs.shape[1] + 1):
            sequence, states = self.decoder_lstm(one_hot(fed.tolist()).unsqueeze(1), states)
            fed = self.decoder_dense(sequence[:, -1]).argmax(-1)
            chosen.append(fed)
        return torch.stack(chosen, dim=1)


def train(batches: dict[int, Batch]) -> Seq2Seq:
    torch.manual_seed(SEED)
    model = Seq2Seq()
    optimiser = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    for _ in range(EPOCHS):
        optimiser.zero_grad()
        loss = sum(
            torch.nn.functional.cross_entropy(model(enc, dec).reshape(-1, len(VOCAB)), targets.reshape(-1))
            for enc, dec, targets in batches.values()
        )
        assert isinstance(loss, torch.Tensor)
        loss.backward()
        optimiser.step()
    return model


def torch_accuracy(model: Seq2Seq, batches: dict[int, Batch]) -> float:
    right = sum(int((model.reverse(enc) == targets).all(dim=1).sum()) for enc, _, targets in batches.values())
    return right / sum(len(targets) for _, _, targets in batches.values())


def rows(tokens: Sequence[str]) -> np.ndarray:
    return np.eye(len(VOCAB))[[VOCAB.index(t) for t in tokens]]


def config_text(model: Seq2Seq) -> str:
    """The config, arrays in flow style one row a line, weights converted to Keras's layout and rounded."""

    def array(key: str, values: np.ndarray, indent: int) -> str:
        head = f"{' ' * indent}{key}: "
        return head + flow_array(values, len(head), DECIMALS)

    def lstm_weights(lstm: torch.nn.LSTM) -> str:
        state = {name: value.detach().double().numpy() for name, value in lstm.state_dict().items()}
        return "\n".join(
            [
                array("kernel", state["weight_ih_l0"].T, 4),
                array("recurrent_kernel", state["weight_hh_l0"].T, 4),
                array("bias", state["bias_ih_l0"] + state["bias_hh_l0"], 4),
            ]
        )

    dense = {key: value.detach().double().numpy() for key, value in model.decoder_dense.state_dict().items()}
    teacher = ["<s>", *EXAMPLE[::-1]]
    return f"""\
description: >-
  Keras's ten-minute seq2seq example made tiny: a character-level encoder/decoder, latent 4, that reverses
  a string of 1 to 4 letters from a, b, c, d. The encoder reads "{EXAMPLE}"; `decode --feed decoder_inputs
  --start "<s>" --stop "</s>"` gives {" ".join(EXAMPLE[::-1])} </s>. Weights trained with PyTorch by
  scripts/train_seq2seq.py (seed {SEED}; all 340 strings decode correctly), rounded to {DECIMALS} decimals.
vocab: ["<s>", "</s>", a, b, c, d]    # token k is one-hot position k, in both inputs and the output
inputs:
  # "{EXAMPLE}": one one-hot row per letter, (timesteps, features)
{array("encoder_inputs", rows(EXAMPLE), 2)}
  # Teacher forcing, as in training: <s>, then the reversed string. `forward` runs the training model on
  # it; `decode` ignores it and feeds its own tokens, one at a time.
{array("decoder_inputs", rows(teacher), 2)}
layers:
  - type: lstm                  # the encoder keeps only its final states, encoder.h and encoder.c
    name: encoder
    input: encoder_inputs
    units: {LATENT}
    return_state: true
{lstm_weights(model.encoder)}
  - type: lstm                  # the decoder starts from the encoder's states
    name: decoder_lstm
    input: decoder_inputs
    units: {LATENT}
    return_sequences: true
    return_state: true
    initial_state: [encoder.h, encoder.c]
{lstm_weights(model.decoder_lstm)}
  - type: dense                 # a probability for each token of the vocab
    name: decoder_dense
    input: decoder_lstm
    units: {len(VOCAB)}
    activation: softmax
{array("kernel", dense["weight"].T, 4)}
{array("bias", dense["bias"], 4)}
outputs: [decoder_dense]
"""


def lstm_cli_accuracy(text: str, dtype: str) -> tuple[float, float]:
    """How many strings lstm-cli's decoder reverses with the config as written, and the smallest gap
    between the chosen token's probability and the next best, over every step."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "seq2seq.yaml"
        path.write_text(text, encoding="utf-8")
        model = load_model(path, dtype=dtype)
    spec = model.inputs["encoder_inputs"]
    right = total = 0
    margin = 1.0
    for length in range(1, MAX_LENGTH + 1):
        for letters in itertools.product("abcd", repeat=length):
            data = rows("".join(letters))[np.newaxis]
            encoder_inputs = dataclasses.replace(spec, shape=data.shape[1:], data=data)
            inputs = {**model.inputs, "encoder_inputs": encoder_inputs}
            decoding = decode(
                dataclasses.replace(model, inputs=inputs),
                "decoder_inputs",
                "<s>",
                stop="</s>",
                max_steps=MAX_LENGTH + 2,
            )
            right += decoding.tokens == [*letters[::-1], "</s>"]
            total += 1
            for step in decoding.steps:
                top, second = np.sort(step.probabilities)[::-1][:2]
                margin = min(margin, float(top - second))
    return right / total, margin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", type=Path, help="write the config here (default: stdout)")
    output = parser.parse_args().output
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    batches = dataset()
    model = train(batches)
    report = sys.stderr if output is None else sys.stdout
    accuracy = torch_accuracy(model, batches)
    print(f"torch float32, trained weights: {accuracy:.1%} of 340 reversed", file=report)
    text = config_text(model)
    for dtype in ("float64", "float32"):
        accuracy, margin = lstm_cli_accuracy(text, dtype)
        print(
            f"lstm-cli {dtype}, weights rounded to {DECIMALS} decimals: {accuracy:.1%} of 340 reversed; "
            f"smallest top-1 lead {margin:.4f}",
            file=report,
        )
        if accuracy < 1:
            sys.exit("the rounded weights do not reverse every string; the config is not written")
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        print(f"wrote {output}", file=report)


if __name__ == "__main__":
    main()
