"""Greedy sequence-to-sequence decoding, as the loop of Keras's ten-minute seq2seq example
(docs/output.md#decode-json).

The layers that do not depend on the fed input (the encoder) run once. The rest (the decoder) then run one
step at a time on the one-hot of a token, starting from the start token and feeding back the argmax of the
output, each LSTM carrying its (h, c) from step to step. Every step is `engine.run_model` on the decoder
layers, so decode, forward and trace share one computation. Pure: numpy in, numpy out, no printing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .config import require_data
from .engine import LayerTrace, RunResult, StepRecord, run_model
from .errors import LstmCliError
from .formats import listed
from .graph import reads
from .model import Array, BidirectionalLayer, InitialState, InputSpec, Layer, LstmLayer, Model
from .names import layer_of, state_refs
from .text import did_you_mean
from .vocab import listed_vocab


@dataclass(frozen=True)
class DecodeStep:
    fed: int  # the vocab index fed at this step: the start token, then the previous step's choice
    index: int  # the argmax of the output: the first index on ties, as numpy.argmax takes it
    probabilities: Array  # (vocab,): the decoded output at this step


@dataclass(frozen=True)
class Decoding:
    vocab: tuple[str, ...]
    feed: str  # the input fed one token at a time
    output: str  # the reference whose argmax is taken
    stop: int | None  # the stop token's index, if one was given
    max_steps: int
    steps: tuple[DecodeStep, ...]
    # One LayerTrace per decoder LSTM, one record per decoding step (its `t` is the step); empty unless
    # asked for.
    traces: list[LayerTrace] = field(default_factory=list)

    @property
    def indices(self) -> list[int]:
        return [step.index for step in self.steps]

    @property
    def tokens(self) -> list[str]:
        return [self.vocab[step.index] for step in self.steps]

    @property
    def stopped(self) -> bool:
        """Whether the stop token ended the decoding (rather than --max-steps)."""
        return self.stop is not None and bool(self.steps) and self.steps[-1].index == self.stop


def decode(
    model: Model,
    feed: str,
    start: str,
    *,
    stop: str | None = None,
    max_steps: int,
    sample: int | None = None,
    record: bool = False,
) -> Decoding:
    """Decode greedily: at most `max_steps` tokens, ending early after `stop` (which is kept, as Keras's
    example keeps its '\\n'). `sample` picks one sequence of a batch; `record` keeps the decoder's steps."""
    plan = _plan(model, feed, start, stop, max_steps, sample)
    known = _encode(model, plan)
    layers = [_one_sequence(layer, plan.sample) for layer in plan.decoder_layers]
    steps: list[DecodeStep] = []
    records: dict[str, list[StepRecord]] = {}
    fed = plan.start
    for position in range(max_steps):
        run = _step(model, plan, layers, fed, known, position, record)
        output = run.values[plan.output]
        probabilities = (output[0, -1] if output.ndim == 3 else output[0]).copy()  # (vocab,)
        index = int(np.argmax(probabilities))  # the first index on ties
        steps.append(DecodeStep(fed, index, probabilities))
        for trace in run.traces:  # one record each; its t becomes the decoding step
            records.setdefault(trace.layer.name, []).extend(
                dataclasses.replace(record, t=position) for record in trace.steps
            )
        layers = [_carried(layer, run.values) for layer in layers]
        if index == plan.stop:
            break
        fed = index
    traces = [_trace(model.layer(name), layer_records) for name, layer_records in records.items()]
    return Decoding(plan.vocab, feed, plan.output, plan.stop, max_steps, tuple(steps), traces)


def decode_document(decoding: Decoding, precision: int | None = None) -> dict[str, Any]:
    """`decode --format json`: exactly {"tokens", "indices", "probabilities"}, one row per step."""
    probabilities = np.array([step.probabilities for step in decoding.steps]).reshape(
        len(decoding.steps), len(decoding.vocab)
    )
    return {
        "tokens": decoding.tokens,
        "indices": decoding.indices,
        "probabilities": listed(probabilities, precision),
    }


# -- the plan: which layers run once, which run per step, and every check before anything runs -------------


@dataclass(frozen=True)
class _Plan:
    vocab: tuple[str, ...]
    feed: str
    start: int
    stop: int | None
    output: str
    sample: int
    encoder_inputs: dict[str, InputSpec]
    encoder_layers: tuple[Layer, ...]
    decoder_layers: tuple[Layer, ...]


def _plan(model: Model, feed: str, start: str, stop: str | None, max_steps: int, sample: int | None) -> _Plan:
    if model.vocab is None:
        raise model.error(
            (),
            "decode needs a `vocab:` in the config, a list of tokens (token k is one-hot position k), "
            "or --vocab FILE, one token per line",
        )
    vocab = model.vocab
    if feed not in model.inputs:
        names = list(model.inputs)
        raise LstmCliError(
            f"--feed {feed!r}: no such input{did_you_mean(feed, names)} (the inputs are: {', '.join(names)})"
        )
    if max_steps < 1:
        raise LstmCliError(f"--max-steps must be at least 1, not {max_steps}")
    start_index = _token_index(vocab, start, "--start")
    stop_index = None if stop is None else _token_index(vocab, stop, "--stop")
    spec = model.inputs[feed]
    width = spec.shape[-1]
    if len(spec.shape) == 1:  # ids that an embedding reads
        raise model.error(
            spec.key_path,
            f"--feed {feed!r} is read by an embedding as ids; decode feeds one-hot rows as wide as the "
            "vocab (Keras's character-level seq2seq), and does not drive a decoder that embeds ids",
        )
    if width != len(vocab):
        raise model.error(
            spec.key_path,
            f"--feed {feed!r} reads {width} features, but the vocab has {len(vocab)} tokens; "
            "the fed one-hot is as wide as the vocab",
        )
    decoder = _depending_on(model, feed)
    output = _decoded_output(model, feed, decoder, len(vocab))
    for layer in model.layers:
        if layer.name in decoder and isinstance(layer, BidirectionalLayer):
            raise model.error(
                layer.key_path,
                f"layer {layer.name!r} (bidirectional) depends on --feed {feed!r}, but decode feeds one "
                "step at a time and a bidirectional layer reads the whole sequence",
            )
        if layer.name in decoder and layer_of(layer.input) not in decoder | {feed}:
            raise model.error(
                layer.key_path,
                f"layer {layer.name!r} depends on --feed {feed!r} only through its initial state: it reads "
                f"{layer.input!r}, which decode does not feed one step at a time; feed the input the "
                "decoder reads",
            )
    encoder_inputs = {name: spec for name, spec in model.inputs.items() if name != feed}
    require_data(dataclasses.replace(model, inputs=encoder_inputs))
    return _Plan(
        vocab=vocab,
        feed=feed,
        start=start_index,
        stop=stop_index,
        output=output,
        sample=_sample(model, sample),
        encoder_inputs=encoder_inputs,
        encoder_layers=tuple(layer for layer in model.layers if layer.name not in decoder),
        decoder_layers=tuple(layer for layer in model.layers if layer.name in decoder),
    )


def _token_index(vocab: Sequence[str], token: str, option: str) -> int:
    if token in vocab:
        return vocab.index(token)
    hint = did_you_mean(token, vocab)
    raise LstmCliError(f"{option} {token!r} is not in the vocab{hint} (the vocab: {listed_vocab(vocab)})")


def _depending_on(model: Model, feed: str) -> set[str]:
    """The names of the layers whose values change with `feed`: the decoder. Layers run in order, so one
    pass finds them all."""
    depending: set[str] = set()
    for layer in model.layers:
        if any(layer_of(ref) == feed or layer_of(ref) in depending for ref in reads(layer)):
            depending.add(layer.name)
    return depending


def _decoded_output(model: Model, feed: str, decoder: set[str], vocab_size: int) -> str:
    """The first of the model's outputs that depends on the fed input; it must be as wide as the vocab."""
    candidates = [ref for ref in model.outputs if layer_of(ref) in decoder]
    if not candidates:
        raise LstmCliError(
            f"no output of the model depends on --feed {feed!r} "
            f"(the outputs are: {', '.join(model.outputs)}); feed the input that the decoder reads"
        )
    output = candidates[0]
    width = model.shapes[output][-1]
    if width != vocab_size:
        raise model.error(
            model.layer(layer_of(output)).key_path,
            f"the decoded output {output!r} has {width} values per step, but the vocab has {vocab_size} "
            "tokens; its argmax must pick a token",
        )
    return output


def _sample(model: Model, sample: int | None) -> int:
    batches = [spec.data.shape[0] for spec in model.inputs.values() if spec.data is not None]
    batch = batches[0] if batches else 1
    if sample is None:
        if batch > 1:
            raise LstmCliError(
                f"the batch holds {batch} sequences; decode one at a time with --sample B (0 to {batch - 1})"
            )
        return 0
    if sample >= batch:
        there = "1 sequence (index 0)" if batch == 1 else f"{batch} sequences (0 to {batch - 1})"
        raise LstmCliError(f"--sample {sample}: out of range; the batch holds {there}")
    return sample


# -- the decoder's layers, step by step ----------------------------------------------------------------------


def _encode(model: Model, plan: _Plan) -> dict[str, Array]:
    """Run the layers that do not depend on the fed input, once. Returns everything the decoder may read
    besides the fed tokens (the other inputs and the encoder's values), for the chosen sequence only."""
    dtype = np.dtype(model.dtype)
    encoder = dataclasses.replace(
        model, inputs=plan.encoder_inputs, layers=plan.encoder_layers, outputs=(), expect=()
    )
    computed = {name: spec.data for name, spec in plan.encoder_inputs.items() if spec.data is not None}
    computed.update(run_model(encoder).values)
    return {ref: value[plan.sample : plan.sample + 1].astype(dtype) for ref, value in computed.items()}


def _step(
    model: Model,
    plan: _Plan,
    layers: list[Layer],
    fed: int,
    known: dict[str, Array],
    position: int,
    record: bool,
) -> RunResult:
    """The decoder on one token: its layers, as a model whose only input is the token's one-hot."""
    one_hot = np.zeros((1, 1, len(plan.vocab)), np.dtype(model.dtype))  # (batch, timesteps, vocab)
    one_hot[0, 0, fed] = 1
    spec = dataclasses.replace(model.inputs[plan.feed], shape=(1, len(plan.vocab)), data=one_hot)
    step_model = dataclasses.replace(
        model, inputs={plan.feed: spec}, layers=tuple(layers), outputs=(plan.output,), expect=()
    )
    try:
        return run_model(step_model, record=record, known=known)
    except LstmCliError as exc:  # an overflow: say at which decoding step
        raise LstmCliError(
            f"decoding step {position}: {exc.message}",
            source=exc.source,
            line=exc.line,
            column=exc.column,
            key_path=exc.key_path,
        ) from None


def _one_sequence(layer: Layer, sample: int) -> Layer:
    """A decoder layer for the chosen sequence: an initial state given as (batch, units) keeps its row."""
    if not isinstance(layer, LstmLayer):
        return layer
    state = layer.initial_state
    if state is None:
        return dataclasses.replace(layer, return_state=True)
    h, c = (
        part[sample] if isinstance(part, np.ndarray) and part.ndim == 2 else part
        for part in (state.h, state.c)
    )
    return dataclasses.replace(layer, return_state=True, initial_state=InitialState(h, c))


def _carried(layer: Layer, values: Mapping[str, Array]) -> Layer:
    """The same layer starting from the (h, c) it ended the last step with."""
    if not isinstance(layer, LstmLayer):
        return layer
    h, c = (values[ref] for ref in state_refs(layer.name))
    return dataclasses.replace(layer, initial_state=InitialState(h, c))


def _trace(layer: Layer, steps: list[StepRecord]) -> LayerTrace:
    """A decoder LSTM's records over the decoding steps, under the layer as the config gives it."""
    assert isinstance(layer, LstmLayer) and layer.weights is not None  # only such layers leave records
    return LayerTrace(layer, "forward", layer.weights, steps)
