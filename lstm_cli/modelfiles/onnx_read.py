"""An ONNX graph of LSTM ops → an lstm-cli config (SPEC §8, ONNX files).

The graph is walked in its own (topological) order, from the inputs to the outputs, only through the nodes
that an output depends on. Each value is followed as `onnx_values` describes: the LSTM ops become `lstm`
or `bidirectional` layers (`onnx_lstm`), `MatMul` or `Gemm` with an `Add` and one activation op `dense`,
`Gather` on a constant table `embedding`; the glue between them (Transpose, Squeeze, Unsqueeze, Reshape,
Slice, Gather, Concat, Identity, and the ops that build zero initial states from the input's shape) is
followed, so that each graph output is known as one or more lstm-cli references. Any other op is refused
by name.

Layers are named after their nodes: a torch.onnx.export name `/lstm/LSTM_1` becomes `lstm_1`, the module's
path with the op's suffix; other names keep their letters, digits, `_` and `-`. What a layer returns
(`return_sequences`, `return_state`, a bidirectional layer's `merge_mode`) follows from what the graph
reads of it. The inputs are batch first, as lstm-cli takes them; the header of a converted YAML says how
each graph input and output lies in the ONNX file.
"""

from __future__ import annotations

import textwrap
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from lstm_cli.errors import LstmCliError
from lstm_cli.modelfiles.onnx_file import load
from lstm_cli.modelfiles.onnx_layers import Layer
from lstm_cli.modelfiles.onnx_values import Data, Source, Stack, Value
from lstm_cli.modelfiles.onnx_walk import NAME_CHARACTERS, GraphInput, Walk
from lstm_cli.sources import Inputs


@dataclass
class OnnxRead:
    """An .onnx file as an lstm-cli config, with notes for stderr, lines for a YAML header, and the layout
    that `--input` arrays have when the graph takes its inputs time-major."""

    mapping: dict[str, Any]
    notes: list[str]
    header: list[str]
    time_major: list[str]  # config names of the inputs that the graph takes (timesteps, batch, ...)
    batch_first: list[str]


def read_onnx(path: Path) -> OnnxRead:
    """An .onnx file as an lstm-cli config (and what to say about it)."""
    walk = Walk(load(path))
    walk.run()
    return _finish(walk)


def read_onnx_source(path: Path, inputs: Inputs) -> tuple[dict[str, Any], list[str], list[str], Inputs]:
    """`convert`'s and `open_model`'s view: the config, notes, header lines, and the `--input` options with
    the graph's own layout as the default: arrays for a graph that takes its inputs time-major are read
    time-major, as onnxruntime takes them."""
    read = read_onnx(path)
    if inputs.files and inputs.layout is None and read.time_major:
        if read.batch_first:
            raise LstmCliError(
                f"the graph takes {', '.join(read.time_major)} time-major and {', '.join(read.batch_first)} "
                "batch first; --input reads every array one way: add --time-major or --batch-first, with the "
                "arrays laid out so"
            )
        inputs = replace(inputs, layout="time-major")
    return read.mapping, read.notes, read.header, inputs


# -- what the graph reads of each layer decides its flags and references ----------------------------------

Use = tuple[str, str | None, str | None]  # (part, merge, half)
KEY_ORDER = (
    "type",
    "name",
    "input",
    "units",
    "input_dim",
    "output_dim",
    "activation",
    "recurrent_activation",
    "use_bias",
    "return_sequences",
    "return_state",
    "go_backwards",
    "merge_mode",
    "initial_state",
)
HEADER_WIDTH = 96  # the text of a YAML header line, after "# "
HEADER = (
    "Each LSTM op of the graph is a layer here, named after its node (torch.onnx.export's /lstm/LSTM_1 is "
    "lstm_1), with W, R and B in Keras's layout and gate order (i, f, g, o): ONNX's blocks (i, o, f, c) "
    "reordered, and B's two halves summed. MatMul (or Gemm) + Add + an activation is a dense layer, and "
    "Gather on a table an embedding."
)


def _finish(walk: Walk) -> OnnxRead:
    uses = _uses(walk)
    flags = {name: _flags(walk, layer, uses[name]) for name, layer in walk.layers.items()}
    names = _input_names(walk)
    refs = _Refs(walk, flags, names)
    layers = [_entry(walk, layer, flags[layer.name], refs, k) for k, layer in enumerate(walk.layers.values())]
    outputs: list[str] = []
    header: list[str] = []
    notes = list(walk.notes)
    for name in walk.outputs:
        found, line, flipped = refs.output(name, walk.values[name])
        outputs += [ref for ref in found if ref not in outputs]
        header.append(line)
        if flipped:
            notes.append(
                f"output {name!r} is {found[0]} in reverse time order: ONNX gives a reverse LSTM's Y in "
                "input order, and Keras's go_backwards (so lstm-cli) in processing order"
            )
    inputs, lines, time_major, batch_first = _inputs(walk, names)
    wrap = textwrap.TextWrapper(HEADER_WIDTH, subsequent_indent="  ", break_on_hyphens=False)
    header = textwrap.wrap(HEADER, HEADER_WIDTH) + [
        part for line in lines + header for part in wrap.wrap(line)
    ]
    model = walk.model.proto
    made_by = " ".join(part for part in (model.producer_name, model.producer_version) if part)
    chain = " → ".join(f"{layer.name} ({' + '.join(layer.ops)})" for layer in walk.layers.values())
    origin = f"{made_by}, opset {walk.model.opset}" if made_by else f"opset {walk.model.opset}"
    mapping: dict[str, Any] = {"description": f"{chain}, converted from {walk.model.path.name} ({origin})"}
    if len(inputs) == 1 and next(iter(inputs)) == "input":
        mapping["input"] = inputs["input"]
    else:
        mapping["inputs"] = inputs
    mapping["layers"] = layers
    if not layers or outputs != [layers[-1]["name"]]:
        mapping["outputs"] = outputs
    unused = [name for name in walk.inputs if name not in names]
    if unused:
        notes.append(f"left out graph inputs that no output depends on: {', '.join(unused)}")
    return OnnxRead(mapping, notes, header, time_major, batch_first)


def _uses(walk: Walk) -> dict[str, set[Use]]:
    """What the graph reads of each layer: its parts, each merged, apart (a half) or whole."""
    found: dict[str, set[Use]] = defaultdict(set)

    def use(source: Source) -> None:
        if source.merge is not None:
            found[source.owner].add((source.part, source.merge, None))
        elif len(source.halves) == 2:
            found[source.owner].update((source.part, None, half) for half in source.halves)
        else:
            found[source.owner].add((source.part, None, source.halves[0] if source.halves else None))

    for layer in walk.layers.values():
        use(layer.reads)
        for state in layer.states:
            if isinstance(state, Source):
                use(state)
    for name in walk.outputs:
        value = walk.values[name]
        for item in value.items if isinstance(value, Stack) else [value]:
            if isinstance(item, Data):
                use(item.source)
    return found


def _flags(walk: Walk, layer: Layer, used: set[Use]) -> dict[str, Any]:
    parts = {part for part, _, _ in used}
    if layer.kind == "lstm":
        alone = parts == {"h"}
        return {
            "return_sequences": "seq" in parts,
            "return_state": "c" in parts or ("h" in parts and not alone),
            "h_alone": alone,
        }
    if layer.kind != "bidirectional":
        return {}
    sequences = {merge or "apart" for part, merge, _ in used if part == "seq"}
    merged_states = {merge for part, merge, _ in used if part != "seq" and merge is not None}
    if len(sequences) > 1 or len(merged_states) > 1 or (sequences and merged_states):
        raise walk.model.error(
            f"{layer.node}: the graph reads its halves both merged and apart, or merged two ways; one "
            "lstm-cli bidirectional layer gives them one way (its merge_mode)"
        )
    alone = parts == {"h"} and not merged_states  # only the final states' halves: NAME.forward, .backward
    mode = next(iter(sequences or merged_states or {"apart" if alone else "concat"}))
    return {
        "return_sequences": bool(sequences),
        "return_state": not alone and any(part != "seq" and merge is None for part, merge, _ in used),
        "merge_mode": None if mode == "apart" else mode,
        "h_alone": alone,
    }


class _Refs:
    """The lstm-cli reference of each value the graph reads."""

    def __init__(self, walk: Walk, flags: dict[str, dict[str, Any]], names: dict[str, str]) -> None:
        self.walk = walk
        self.flags = flags
        self.names = names

    def __call__(self, source: Source) -> str:
        if source.owner in self.names:
            return self.names[source.owner]
        layer = self.walk.layers[source.owner]
        name = layer.name
        if layer.kind in ("dense", "embedding"):
            return name
        if layer.kind == "lstm":
            if source.part == "seq" or (source.part == "h" and self.flags[name]["h_alone"]):
                return name
            return f"{name}.{source.part}"
        if source.merge is not None:
            return name
        half = source.halves[0]
        if source.part == "seq" or self.flags[name]["h_alone"]:
            return f"{name}.{half}"
        return f"{name}.{half}.{source.part}"

    def output(self, name: str, value: Value) -> tuple[list[str], str, bool]:
        """A graph output's references, the header line that says so, and whether it runs backwards."""
        ctx = self.walk.ctx
        if not isinstance(value, Data | Stack):
            raise self.walk.model.error(
                f"output {name!r} is a constant or a shape, not computed from an input"
            )
        items = list(value.items) if isinstance(value, Stack) else [value]
        refs = []
        for item in items:
            source = item.source
            halves = (
                [source]
                if source.merge or len(source.halves) < 2
                else [Source(source.owner, source.part, (half,)) for half in source.halves]
            )
            refs += [self(half) for half in halves]
        if isinstance(value, Stack):
            first = items[0]
            count = sum(item.axes[value.axis].size for item in items)
            axes = [ctx.labels.text(axis) for axis in first.axes]
            axes[value.axis] = str(count)
            shape = "(" + ", ".join(axes) + ")"
        else:
            shape = ctx.shape_text(value)
        listed = " and ".join(refs) if len(refs) == 2 else ", ".join(refs)
        line = f"ONNX output {name!r} {shape}: {listed}"
        if isinstance(value, Stack) or len(refs) > 1:
            kinds = [axis.kind for axis in items[0].axes]
            axis = value.axis if isinstance(value, Stack) else kinds.index("direction")
            return refs, f"{line}, stacked on axis {axis}.", False
        data = items[0]
        roles = [ctx.labels.role_of(a.label) for a in data.axes if a.kind == "label"]
        plain = roles in (["batch"], ["batch", "time"]) and all(
            a.kind in ("label", "feature") for a in data.axes
        )
        if plain and not data.flipped:
            return refs, f"{line}.", False
        steps = ", timesteps" if "time" in roles else ""
        line += f", here (batch{steps}, {data.axes[-1].size})"
        if data.flipped:
            line += " in reverse time order"
        return refs, line + ".", data.flipped


def _input_names(walk: Walk) -> dict[str, str]:
    """The config's name of each graph input that a layer or an output reads: `input` for the only one."""
    owners = [layer.reads.owner for layer in walk.layers.values()]
    for name in walk.outputs:
        value = walk.values[name]
        items = value.items if isinstance(value, Stack) else [value]
        owners += [item.source.owner for item in items if isinstance(item, Data)]
    used = list(dict.fromkeys(owner for owner in owners if owner in walk.inputs))
    if len(used) == 1:
        return {used[0]: "input"}
    names: dict[str, str] = {}
    for onnx_name in used:
        base = NAME_CHARACTERS.sub("_", onnx_name)
        base = base if base and (base[0].isalpha() or base[0] == "_") else f"input_{base}"
        name, k = base, 1
        while name in walk.taken or name in names.values():
            k += 1
            name = f"{base}_{k}"
        names[onnx_name] = name
    return names


def _inputs(walk: Walk, names: dict[str, str]) -> tuple[dict[str, Any], list[str], list[str], list[str]]:
    """The config's inputs as shapes, batch first; header lines; the inputs the graph takes time-major and
    those it takes batch first."""
    labels = walk.ctx.labels
    inputs: dict[str, Any] = {}
    lines, time_major, batch_first = [], [], []
    for onnx_name, name in names.items():
        given: GraphInput = walk.inputs[onnx_name]
        major = labels.role_of(given.labels[0]) == "time"
        time_axis = 0 if major else 1
        steps = given.dims[time_axis]
        inputs[name] = {"shape": [steps] if given.ids else [steps, given.features]}
        roles = ["timesteps", "batch"] if major else ["batch", "timesteps"]
        shape = ", ".join(roles + ([] if given.ids else [str(given.features)]))
        what = "ids" if given.ids else "floats"
        line = f"ONNX input {onnx_name!r} ({shape}) of {what}: {name}, here batch first"
        if major:
            line += "; --input arrays are read time-major, as onnxruntime takes them"
            time_major.append(name)
        else:
            batch_first.append(name)
        lines.append(line + ".")
    return inputs, lines, time_major, batch_first


def _entry(walk: Walk, layer: Layer, flags: dict[str, Any], refs: _Refs, position: int) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": layer.kind, "name": layer.name, **layer.entry}
    reads = refs(layer.reads)
    previous = list(walk.layers.values())[position - 1].name if position else None
    only_input = position == 0 and len(refs.names) == 1 and layer.reads.owner in refs.names
    if reads != previous and not only_input:
        entry["input"] = reads
    for key in ("return_sequences", "return_state"):
        if flags.get(key):
            entry[key] = True
    if layer.kind == "bidirectional" and flags["merge_mode"] != "concat":
        entry["merge_mode"] = flags["merge_mode"]
    if layer.kind == "dense" and "bias" not in entry:
        entry["use_bias"] = False
    states = layer.states
    if any(state is not None for state in states):
        entry["initial_state"] = [_state(state, refs, layer) for state in states]
    ordered = {key: entry[key] for key in KEY_ORDER if key in entry}
    ordered.update((key, value) for key, value in entry.items() if key not in ordered)
    return ordered


def _state(state: Any, refs: _Refs, layer: Layer) -> Any:
    if state is None:  # one of h and c from zeros, the other not: lstm-cli takes both
        return np.zeros(layer.entry["units"], dtype=layer.entry["kernel"].dtype)
    return refs(state) if isinstance(state, Source) else state
