"""`lstm-cli convert SRC -o DST`: any model file in, any model file out, through one validated config.

Every source is first turned into an lstm-cli config (a mapping, arrays as numpy arrays) and checked by
`config.load_model`, exactly as a YAML config is, so a converted file can only be written if `forward`
would accept it. Destinations are written from that config and its validated `Model`.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lstm_cli.arrayfiles import read_array_file
from lstm_cli.config import embedded_inputs, has_weights, load_model
from lstm_cli.errors import LstmCliError
from lstm_cli.layers import WEIGHT_KEYS
from lstm_cli.model import (
    BidirectionalLayer,
    EmbeddingLayer,
    Layer,
    LstmLayer,
    MaskingLayer,
    Model,
    NoOpLayer,
)
from lstm_cli.modelfiles import keras3, legacy_h5, npz, onnx_read, onnx_write, torch_state
from lstm_cli.modelfiles.common import file_error, weights_dtype
from lstm_cli.modelfiles.keras_config import Skeleton, WeightedLayer
from lstm_cli.modelfiles.npz import array_fields, get, put
from lstm_cli.sources import NO_INPUTS, TORCH_SUFFIXES, Inputs, attach
from lstm_cli.yamlwriter import Flow, FlowList, dump_yaml

DEFAULT_INLINE_LIMIT = 10_000  # values a YAML config holds inline; more go to an .npz beside it
SOURCES = ".keras, .weights.h5, .h5, .pt, .pth, .npz, .onnx, .yaml"
DESTINATIONS = ".yaml (or - for stdout), .weights.h5, .pt, .pth, .npz, .onnx"
STDOUT = "-"


@dataclass
class Converted:
    """A source read as a config, and that config validated."""

    mapping: dict[str, Any]
    model: Model
    notes: list[str] = field(default_factory=list)
    torch: bool = False  # the source was a PyTorch state_dict
    header: list[str] = field(default_factory=list)  # for the YAML header: how its names were chosen
    origin: str | None = None  # the YAML header's first line, when not written by convert


@dataclass
class Report:
    written: list[Path] = field(default_factory=list)
    text: str | None = None  # the YAML, when the destination is stdout
    notes: list[str] = field(default_factory=list)


def convert(
    source: Path,
    destination: Path,
    *,
    config: Path | None = None,
    prefix: str | None = None,
    layer: str | None = None,
    inputs: Inputs = NO_INPUTS,
    inline_limit: int = DEFAULT_INLINE_LIMIT,
    force: bool = False,
) -> Report:
    """Read `source` (architecture from `config` for weights-only files), write `destination`.
    `prefix` names the nn.LSTM in a PyTorch state_dict read, and goes in front of the keys of one written;
    `layer` writes that layer alone to a state_dict."""
    torch_in = source.suffix.lower() in (*TORCH_SUFFIXES, ".npz")
    torch_out = destination.suffix.lower() in TORCH_SUFFIXES
    if prefix is not None and not (torch_in or torch_out):
        raise LstmCliError(
            "--prefix names an nn.LSTM in a PyTorch state_dict; give a .pt source or destination"
        )
    if layer is not None and not torch_out:
        raise LstmCliError(
            f"--layer writes one layer as a PyTorch state_dict; {destination} is not a .pt or .pth file"
        )
    writer = _writer(destination, prefix if torch_out else None, layer)
    converted = read_source(source, config=config, prefix=prefix if torch_in else None, inputs=inputs)
    return _write(writer, converted, source, destination, inline_limit, force)


def write_converted(converted: Converted, source: Path, destination: Path, *, force: bool = False) -> Report:
    """A model read by `read_source` (and perhaps changed since) written to `destination` as convert
    writes it."""
    writer = _writer(destination, None)
    return _write(writer, converted, source, destination, DEFAULT_INLINE_LIMIT, force)


def _write(
    writer: Writer, converted: Converted, source: Path, destination: Path, inline_limit: int, force: bool
) -> Report:
    torch_out = destination.suffix.lower() in TORCH_SUFFIXES
    if writer is not _write_yaml and writer is not _write_onnx and not torch_out:  # onnx, .pt: each by name
        _refuse_variants(converted.model, destination)
    report = writer(converted, source, destination, inline_limit, force)
    report.notes[:0] = converted.notes
    model = converted.model
    training = [
        key
        for key, given in (
            ("loss:", model.loss is not None),
            ("expect_gradients:", bool(model.expect_gradients)),
        )
        if given
    ]
    if writer is not _write_yaml and training:  # a model file holds the model, not what to train it on
        report.notes.append(
            f"{destination.name} holds the model alone: the config's {' and '.join(training)} are left out"
        )
    return report


# -- sources -------------------------------------------------------------------------------------------


def read_source(
    source: Path,
    *,
    config: Path | None = None,
    prefix: str | None = None,
    inputs: Inputs = NO_INPUTS,
    dtype: str | None = None,
) -> Converted:
    """A model file as a validated lstm-cli config, with the data and vocab that `inputs` give."""
    suffix = source.suffix.lower()
    torch_source = suffix in TORCH_SUFFIXES
    if prefix is not None and not torch_source and suffix != ".npz":
        raise LstmCliError(f"--prefix picks an nn.LSTM in a PyTorch state_dict; {source} is not one")
    notes: list[str] = []
    header: list[str] = []
    if suffix in (".yaml", ".yml"):
        _no_config(config, source)
        model = load_model(source)
        mapping = _resolved(model)
    elif suffix == ".keras":
        _no_config(config, source)
        mapping = keras3.read_keras_archive(source).mapping
    elif suffix in (".h5", ".hdf5"):
        skeleton = _skeleton(config) if config is not None else None
        mapping = legacy_h5.read_h5(source, skeleton).mapping
    elif torch_source:
        mapping, notes, header = _read_state_dict(torch_state.read_torch_file(source), source, config, prefix)
    elif suffix == ".onnx":
        _no_config(config, source)
        mapping, notes, header, inputs = onnx_read.read_onnx_source(source, inputs)
    elif suffix == ".npz":
        arrays = npz.read_npz(source)
        torch_keys = bool(torch_state.lstm_prefixes(arrays)) and not any(
            k.startswith("layers/") for k in arrays
        )
        if torch_keys or prefix is not None:
            mapping, notes, header = _read_state_dict(arrays, source, config, prefix)
            torch_source = True
        elif config is None:
            raise file_error(
                source,
                "an .npz holds arrays without the architecture; give it with --config ARCH.yaml",
            )
        else:
            architecture = load_model(config)
            mapping = _resolved(architecture)
            npz.fill_from_npz(mapping, architecture, arrays, source)
    else:
        raise LstmCliError(f"{source}: unknown kind of model file; lstm-cli reads {SOURCES}")
    yaml_source = suffix in (".yaml", ".yml")
    if not yaml_source and "dtype" not in mapping:
        mapping = _with_dtype(mapping)
    notes += attach(mapping, inputs, torch_source=torch_source, yaml_source=yaml_source)
    where = os.fspath(source)
    return Converted(
        mapping, load_model(mapping, dtype=dtype, source=where), notes, torch=torch_source, header=header
    )


def _read_state_dict(
    arrays: Mapping[str, np.ndarray], source: Path, config: Path | None, prefix: str | None
) -> tuple[dict[str, Any], list[str], list[str]]:
    """A state_dict's chain of modules; or, with --config, the architecture's layers, each reading its
    weights from the module of its name (a seq2seq's graph is not in a state_dict)."""
    if config is None:
        return torch_state.state_dict_config(arrays, source, prefix)
    architecture = load_model(config)
    mapping = _resolved(architecture)
    notes = torch_state.fill_from_state_dict(mapping, architecture, arrays, source, prefix)
    return mapping, notes, [f"The weights are {source.name}'s, each layer's from the module of its name."]


def _with_dtype(mapping: dict[str, Any]) -> dict[str, Any]:
    """`dtype: float32` for float32 weights (what the framework computed in), after the description."""
    positions = [str(index) for index in range(len(mapping["layers"]))]
    fields = array_fields(mapping, positions)
    arrays = [a for path, _ in fields if isinstance(a := get(mapping, path), np.ndarray)]
    result = {key: value for key, value in mapping.items() if key == "description"}
    result["dtype"] = weights_dtype(arrays)
    result.update((key, value) for key, value in mapping.items() if key != "description")
    return result


def _no_config(config: Path | None, source: Path) -> None:
    if config is not None:
        raise LstmCliError(
            f"--config gives the architecture of a weights-only file (.weights.h5, .npz, .pt); {source} "
            "holds its own"
        )


def _skeleton(config: Path) -> Skeleton:
    """The config given with --config, its weights to be replaced, and Keras 3's group for each layer."""
    model = load_model(config)
    mapping = _resolved(model)
    weighted = []
    entries = {layer.name: entry for layer, entry in zip(model.layers, mapping["layers"], strict=True)}
    for layer, group in keras3.weight_groups(model):
        entry = entries[layer.name]
        if isinstance(layer, MaskingLayer | NoOpLayer):  # no weights
            continue
        for key in WEIGHT_KEYS:
            entry.pop(key, None)
        if isinstance(layer, EmbeddingLayer):
            use_bias = False
        else:
            use_bias = layer.forward.use_bias if isinstance(layer, BidirectionalLayer) else layer.use_bias
        weighted.append(WeightedLayer(entry, layer.type, layer.name, group, use_bias))
    return Skeleton(mapping, weighted)


def _resolved(model: Model) -> dict[str, Any]:
    """A YAML config's data with every `{file: ...}` array read in, so that it can move elsewhere. An
    input that an embedding reads becomes its ids, as validated (tokens of the vocab, or whole numbers)."""
    folder = model.document.folder

    def walk(value: Any) -> Any:
        if isinstance(value, Mapping):
            if "file" in value and set(value) <= {"file", "key"}:
                return _load_array(folder / str(value["file"]), value.get("key"))
            return {key: walk(item) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item) for item in value]
        return value

    result = walk(model.document.data)
    assert isinstance(result, dict)  # load_model accepted it: a mapping
    for name in embedded_inputs(result):
        data = model.inputs[name].data
        if data is not None:
            (result if "input" in result else result["inputs"])[name] = data
    return result


def _load_array(path: Path, key: Any) -> np.ndarray:
    """An array that load_model has already read once (so it exists and holds numbers)."""

    def fail(part: str, message: str) -> LstmCliError:  # it read once: only a file changed since fails
        return LstmCliError(message)

    return read_array_file(path, None if key is None else str(key), fail, name=str(path))


# -- destinations --------------------------------------------------------------------------------------

Writer = Callable[[Converted, Path, Path, int, bool], Report]


def _refuse_variants(model: Model, destination: Path) -> None:
    """A file of Keras's or nn.LSTM's weights has no place for the variant options
    (docs/config.md#lstm-variants); writing it without them would change the numbers."""
    for layer in model.layers:
        cells = [layer.forward] if isinstance(layer, BidirectionalLayer) else [layer]
        if any(isinstance(cell, LstmLayer) and not cell.plain for cell in cells):
            raise LstmCliError(
                f"{destination}: layer {layer.name!r} uses LSTM variant options (peepholes, projection, "
                "clips, forget_bias, input_forget, output_activation), which this file cannot hold; "
                "write a .yaml config"
            )


def _writer(destination: Path, prefix: str | None, layer: str | None = None) -> Writer:
    name = destination.name.lower()
    if str(destination) == STDOUT or name.endswith((".yaml", ".yml")):
        chosen: Writer = _write_yaml
    elif name.endswith(".weights.h5"):
        chosen = _write_keras_weights
    elif name.endswith((".h5", ".hdf5")):
        raise LstmCliError(
            f"{destination}: lstm-cli writes Keras 3 weights; name the file *.weights.h5 "
            "(tf.keras 2 .h5 files are read, not written)"
        )
    elif name.endswith(".keras"):
        raise LstmCliError(
            f"{destination}: lstm-cli does not write .keras archives; write .weights.h5 and load it into "
            "the same model with model.load_weights"
        )
    elif name.endswith(TORCH_SUFFIXES):
        return lambda converted, src, dst, limit, force: _write_torch(converted, dst, force, prefix, layer)
    elif name.endswith(".npz"):
        chosen = _write_npz
    elif name.endswith(".onnx"):
        chosen = _write_onnx
    else:
        raise LstmCliError(f"{destination}: unknown kind of model file; lstm-cli writes {DESTINATIONS}")
    return chosen


def _names(model: Model) -> list[str]:
    return [layer.name for layer in model.layers]


def _require_weights(layers: Sequence[Layer], what: str) -> None:
    for layer in layers:
        if not has_weights(layer):
            raise LstmCliError(f"layer {layer.name!r} has no weights, so there is nothing to write to {what}")


def _write_yaml(converted: Converted, source: Path, destination: Path, limit: int, force: bool) -> Report:
    mapping = copy.deepcopy(converted.mapping)
    fields = list(array_fields(mapping, _names(converted.model)))
    values = sum(np.size(get(mapping, path)) for path, _ in fields)
    sidecar = destination.with_suffix(".npz")
    to_stdout = str(destination) == STDOUT
    external = not to_stdout and values > limit
    arrays = {}
    if external:
        for path, key in fields:
            arrays[key] = np.asarray(get(mapping, path))
            put(mapping, path, Flow(file=sidecar.name, key=key))
    _flow_shapes(mapping)
    text = _header(converted, source, destination, external) + dump_yaml(mapping)
    if to_stdout:
        return Report(text=text)
    targets = [destination, sidecar] if external else [destination]
    _check_free(targets, force)
    if external:
        _atomic(sidecar, lambda tmp: _savez(tmp, arrays))
    _atomic(destination, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return Report(written=targets)


def _flow_shapes(mapping: dict[str, Any]) -> None:
    """`{shape: [null, 3]}`, `outputs: [head]` and `initial_state: [encoder.h, encoder.c]` on one line,
    as a person writes them."""
    if isinstance(mapping.get("outputs"), list):
        mapping["outputs"] = FlowList(mapping["outputs"])
    for entry in mapping["layers"]:
        state = entry.get("initial_state")
        if isinstance(state, list) and all(isinstance(item, str) for item in state):
            entry["initial_state"] = FlowList(state)
    if isinstance(mapping.get("input"), Mapping) and "shape" in mapping["input"]:
        mapping["input"] = Flow(mapping["input"])
    for name, value in (mapping.get("inputs") or {}).items():
        if isinstance(value, Mapping) and "shape" in value:
            mapping["inputs"][name] = Flow(value)


def _header(converted: Converted, source: Path, destination: Path, external: bool) -> str:
    if converted.origin is not None:
        lines = [converted.origin]
    elif str(destination) == STDOUT:
        lines = [f"Converted from {source.name} by `lstm-cli convert`."]
    else:
        lines = [f"Converted by `lstm-cli convert {source.name} -o {destination.name}`."]
    lines += converted.header
    if external:
        lines.append(f"The arrays are in {destination.with_suffix('.npz').name}, beside this file.")
    missing = [spec.name for spec in converted.model.inputs.values() if spec.data is None]
    if missing and "input" in converted.mapping:  # the one, unnamed input
        lines.append(
            "The input has a shape but no data: put data there (or convert with --input FILE.npy) to run it."
        )
    elif missing:
        inputs = f"Input {missing[0]} has" if len(missing) == 1 else f"Inputs {', '.join(missing)} have"
        lines.append(
            f"{inputs} a shape but no data: put data there (or convert with --input NAME=FILE.npy) to run it."
        )
    lines += _layer_notes(converted.model)
    return "".join(f"# {line}\n" for line in lines)


def _layer_notes(model: Model) -> list[str]:
    """What a reader of the YAML would otherwise wonder about: layers that do nothing when it runs, and
    LSTMs that run without their input's mask."""
    lines = []
    no_ops = [f"{layer.name} ({layer.keras_class})" for layer in model.layers if isinstance(layer, NoOpLayer)]
    if no_ops:
        lines.append(
            "Skipped when run (the identity at inference, as in Keras), kept so that `summary` lists them: "
            f"{', '.join(no_ops)}."
        )
    for layer in model.layers:
        if isinstance(layer, LstmLayer) and not layer.use_mask:
            why = ", as Keras 3 runs an LSTM given initial_state tensors" if layer.initial_state else ""
            lines.append(f"{layer.name} runs without its input's mask (use_mask: false){why}.")
    return lines


def _write_keras_weights(
    converted: Converted, source: Path, destination: Path, limit: int, force: bool
) -> Report:
    _require_weights(converted.model.layers, "a .weights.h5")
    _check_free([destination], force)
    _atomic(destination, lambda tmp: keras3.write_weights(converted.model, tmp))
    return Report(written=[destination])


def _write_torch(
    converted: Converted, destination: Path, force: bool, prefix: str | None, layer: str | None
) -> Report:
    model = converted.model
    _require_weights(model.layers if layer is None else [torch_state.layer_named(model, layer)], "a .pt")
    arrays, notes = torch_state.torch_arrays(model, converted.mapping, prefix, layer)
    _check_free([destination], force)
    _atomic(destination, lambda tmp: torch_state.write_torch_file(arrays, tmp))
    return Report(written=[destination], notes=notes)


def _write_onnx(converted: Converted, source: Path, destination: Path, limit: int, force: bool) -> Report:
    _require_weights(converted.model.layers, "an .onnx")
    notes = onnx_write.check_writable(converted.model)
    _check_free([destination], force)
    _atomic(destination, lambda tmp: onnx_write.write_onnx(converted.model, tmp))
    return Report(written=[destination], notes=notes)


def _write_npz(converted: Converted, source: Path, destination: Path, limit: int, force: bool) -> Report:
    mapping = converted.mapping
    arrays = {
        key: np.asarray(get(mapping, path)) for path, key in array_fields(mapping, _names(converted.model))
    }
    if not arrays:
        raise LstmCliError("the config holds no arrays, so there is nothing to write to an .npz")
    _check_free([destination], force)
    _atomic(destination, lambda tmp: _savez(tmp, arrays))
    return Report(written=[destination])


def _savez(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    with path.open("wb") as stream:
        np.savez(stream, **arrays)  # type: ignore[arg-type]  # to a stream: numpy would add .npz to a name


def _check_free(paths: Sequence[Path], force: bool) -> None:
    for path in paths:
        if path.is_dir():
            raise LstmCliError(f"{path}: is a directory")
        if path.exists() and not force:
            raise LstmCliError(f"{path}: already exists; add --force to overwrite it")
        if not path.parent.is_dir():
            raise LstmCliError(f"{path}: the folder {path.parent} does not exist")


def _atomic(path: Path, write: Callable[[Path], Any]) -> None:
    """Write to a temporary file beside `path`, then move it into place: never half a model file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        raise LstmCliError(f"{path}: cannot write: {exc.strerror or exc}") from None
    finally:
        if tmp.exists():
            tmp.unlink()
