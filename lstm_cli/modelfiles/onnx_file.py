"""ONNX files (`.onnx`), read safely: the protobuf parsed without its external data, every tensor's size
checked against the bytes that hold it, and external data read by lstm-cli itself, only from beside the
model, only after every reference in the file has been checked.

An ONNX tensor keeps its numbers in `raw_data` (little-endian bytes), in a typed field (`float_data`,
`int64_data`, ...), or in another file (`data_location: EXTERNAL`, with `location`, `offset` and `length`
in `external_data`). A file can claim anything in them: a shape of 10^12 values with 8 bytes of data, a
location of `../../etc/passwd`, an offset past the end of the data file. Each of these is refused, naming
the tensor, before any external data is read; a tensor's array is built only from bytes that exist.

The graph itself is turned into an lstm-cli config by `onnx_read`, and a config into a graph by
`onnx_write`; this module holds what both share: the file, its tensors, and the mapping of the LSTM
op's layout onto Keras's.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lstm_cli.errors import LstmCliError
from lstm_cli.modelfiles.common import file_error, optional_module, sniff, wrong_kind

ONNX_FILE = "an ONNX model (.onnx)"
MAX_PROTO_BYTES = 2**31 - 1  # protobuf cannot parse a bigger message; bigger models keep data externally
EXTERNAL = 1  # TensorProto.DataLocation.EXTERNAL
# TensorProto.DataType → (numpy dtype of the raw little-endian bytes, the typed field that may hold them).
TENSOR_TYPES: dict[int, tuple[str, str]] = {
    1: ("<f4", "float_data"),
    2: ("u1", "int32_data"),
    3: ("i1", "int32_data"),
    4: ("<u2", "int32_data"),
    5: ("<i2", "int32_data"),
    6: ("<i4", "int32_data"),
    7: ("<i8", "int64_data"),
    9: ("?", "int32_data"),
    10: ("<f2", "int32_data"),  # float16: the typed field holds each value's 16 bits
    11: ("<f8", "double_data"),
    12: ("<u4", "uint64_data"),
    13: ("<u8", "uint64_data"),
    16: ("<u2", "int32_data"),  # bfloat16: the upper 16 bits of a float32, widened below
}
TYPE_NAMES = {
    0: "UNDEFINED",
    1: "FLOAT",
    2: "UINT8",
    3: "INT8",
    4: "UINT16",
    5: "INT16",
    6: "INT32",
    7: "INT64",
    8: "STRING",
    9: "BOOL",
    10: "FLOAT16",
    11: "DOUBLE",
    12: "UINT32",
    13: "UINT64",
    14: "COMPLEX64",
    15: "COMPLEX128",
    16: "BFLOAT16",
}
BFLOAT16 = 16
# ONNX's LSTM keeps the gate blocks of W, R and B in the order i, o, f, c; Keras in i, f, g(=c), o.
KERAS_FROM_ONNX = (0, 2, 3, 1)  # Keras block k is ONNX block KERAS_FROM_ONNX[k]
ONNX_FROM_KERAS = (0, 3, 1, 2)  # ONNX block k is Keras block ONNX_FROM_KERAS[k]


PEEPHOLE_ORDER = ("i", "o", "f")  # ONNX's P holds p_i, p_o, p_f per direction


def peepholes_from_onnx(p: np.ndarray) -> dict[str, np.ndarray]:
    """One direction's P (3*units,) as lstm-cli's `peepholes: {i, f, o}` (SPEC §8)."""
    blocks = dict(zip(PEEPHOLE_ORDER, np.split(np.asarray(p), 3), strict=True))
    return {gate: blocks[gate] for gate in ("i", "f", "o")}


def peepholes_to_onnx(peepholes: dict[str, np.ndarray]) -> np.ndarray:
    """lstm-cli's `peepholes: {i, f, o}` as one direction's P (3*units,) = [p_i, p_o, p_f]."""
    return np.concatenate([np.asarray(peepholes[gate]) for gate in PEEPHOLE_ORDER])


def type_name(data_type: int) -> str:
    return TYPE_NAMES.get(data_type, f"type {data_type}")


@dataclass
class OnnxModel:
    """A parsed .onnx file: its graph, where it lies, and its tensors' arrays as they are asked for."""

    path: Path
    proto: Any  # onnx.ModelProto, its external data not loaded
    opset: int  # the default domain's version

    @property
    def graph(self) -> Any:
        return self.proto.graph

    def error(self, message: str) -> LstmCliError:
        return file_error(self.path, message)

    def array(self, tensor: Any, where: str) -> np.ndarray:
        """A TensorProto's numbers, from bytes that were checked to exist."""
        data_type = int(tensor.data_type)
        if data_type not in TENSOR_TYPES:
            raise self.error(
                f"{where}: its data type is {type_name(data_type)}, which lstm-cli does not read"
            )
        dtype, typed = TENSOR_TYPES[data_type]
        shape = tuple(int(d) for d in tensor.dims)
        count, nbytes = _sizes(shape, np.dtype(dtype), where, self)
        if int(tensor.data_location) == EXTERNAL:
            path, offset = _external(self, tensor, where, nbytes, shape)
            with path.open("rb") as stream:
                stream.seek(offset)
                array = np.frombuffer(stream.read(nbytes), dtype=dtype)
        elif tensor.HasField("raw_data"):
            array = np.frombuffer(tensor.raw_data, dtype=dtype)
        else:
            values = getattr(tensor, typed)
            if len(values) != count:
                raise self.error(
                    f"{where}: its shape {_shape_text(shape)} holds {count} values, but {typed} has "
                    f"{len(values)}"
                )
            array = np.asarray(values, dtype=np.int64 if typed == "int32_data" else None)
            array = array.astype(np.uint16).view(dtype) if dtype == "<f2" else array.astype(dtype)
        if data_type == BFLOAT16:
            array = (array.astype(np.uint32) << 16).view(np.float32)
        return array.reshape(shape).astype(array.dtype.newbyteorder("="))


def _shape_text(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _sizes(shape: tuple[int, ...], dtype: np.dtype[Any], where: str, model: OnnxModel) -> tuple[int, int]:
    if any(d < 0 for d in shape):
        raise model.error(f"{where}: its shape {_shape_text(shape)} has a negative size")
    count = math.prod(shape)
    return count, count * dtype.itemsize


def load(path: Path) -> OnnxModel:
    """Parse `path` as an ONNX model, and check every tensor's data before any of it is read."""
    kind = sniff(path)
    if kind in ("keras", "torch-zip", "npz", "zip", "broken-zip", "hdf5", "pickle", "empty"):
        raise wrong_kind(path, ONNX_FILE, kind)
    onnx = optional_module("onnx", "reading ONNX files")
    size = path.stat().st_size
    if size > MAX_PROTO_BYTES:
        raise file_error(
            path, f"is {size} bytes; an ONNX protobuf holds at most 2 GiB (keep weights external)"
        )
    proto = onnx.ModelProto()
    try:
        proto.ParseFromString(path.read_bytes())
    except Exception:  # protobuf's DecodeError, or any failure deep in a damaged message
        raise file_error(path, f"not {ONNX_FILE}: it does not parse as an ONNX protobuf") from None
    if not proto.HasField("graph") or not proto.graph.node:
        raise file_error(path, f"not {ONNX_FILE}: it holds no graph of nodes")
    opset = max((int(o.version) for o in proto.opset_import if o.domain in ("", "ai.onnx")), default=0)
    if opset < 1:
        raise file_error(path, "names no version of the ONNX operator set (opset_import)")
    for where, value in _names(proto):
        if isinstance(value, bytes):  # protobuf gives a string field that is not UTF-8 as bytes
            raise file_error(path, f"not {ONNX_FILE}: {where} is not UTF-8 text")
    model = OnnxModel(path, proto, opset)
    for tensor, where in _tensors(proto.graph):
        _check(model, tensor, where)
    return model


def _names(proto: Any) -> list[tuple[str, Any]]:
    """Every name and text of the model that lstm-cli reads or shows."""
    graph = proto.graph
    found = [("its producer", proto.producer_name), ("its producer's version", proto.producer_version)]
    for kind, infos in (("input", graph.input), ("output", graph.output), ("initializer", graph.initializer)):
        found += [(f"the name of {kind} {k}", info.name) for k, info in enumerate(infos)]
    for tensor in graph.initializer:
        found += [(f"the external data of {tensor.name!r}", e.value) for e in tensor.external_data]
    for k, node in enumerate(graph.node):
        texts = [node.name, node.op_type, node.domain, *node.input, *node.output]
        texts += [a.name for a in node.attribute]  # a string attribute's value is bytes: decoded when read
        found += [(f"a name in node {k}", text) for text in texts]
    return found


def _tensors(graph: Any) -> list[tuple[Any, str]]:
    """Every tensor of the main graph that lstm-cli may read: initializers, and Constant and ConstantOfShape
    values."""
    found = [(t, f"initializer {t.name!r}") for t in graph.initializer]
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.HasField("t"):
                found.append((attribute.t, f"node {node.name or node.op_type!r}: attribute {attribute.name}"))
    return found


def _check(model: OnnxModel, tensor: Any, where: str) -> None:
    """A tensor's claimed size against the bytes that hold it; external data against its file."""
    data_type = int(tensor.data_type)
    if data_type not in TENSOR_TYPES:
        return  # refused when read, if it is read at all
    shape = tuple(int(d) for d in tensor.dims)
    _, nbytes = _sizes(shape, np.dtype(TENSOR_TYPES[data_type][0]), where, model)
    if int(tensor.data_location) == EXTERNAL:
        _external(model, tensor, where, nbytes, shape)
    elif tensor.HasField("raw_data") and len(tensor.raw_data) != nbytes:
        raise model.error(
            f"{where}: its shape {_shape_text(shape)} of {type_name(data_type)} needs {nbytes} bytes, but "
            f"the file holds {len(tensor.raw_data)} for it"
        )


def _external(
    model: OnnxModel, tensor: Any, where: str, nbytes: int, shape: tuple[int, ...]
) -> tuple[Path, int]:
    """Where an external tensor's bytes are: a file in the model's folder (or below it) that holds them."""
    info = {entry.key: entry.value for entry in tensor.external_data}
    location = info.get("location", "")
    if not location:
        raise model.error(f"{where}: its data is external, but no location is given")
    folder = model.path.resolve().parent
    relative = Path(location)
    target = folder / relative
    outside = relative.is_absolute() or ".." in relative.parts or "\x00" in location
    if outside or not target.resolve().is_relative_to(folder):
        raise model.error(
            f"{where}: external data {location!r} lies outside the model's folder; lstm-cli reads external "
            "data only from the model's folder and below"
        )
    if not target.is_file():
        raise model.error(f"{where}: external data {location!r} is missing (looked in {folder})")
    offset = _external_number(model, info, "offset", where, location)
    length = _external_number(model, info, "length", where, location)
    if "length" in info and length != nbytes:
        raise model.error(
            f"{where}: external data {location!r} gives length {length}, but its shape {_shape_text(shape)} "
            f"of {type_name(int(tensor.data_type))} needs {nbytes} bytes"
        )
    available = os.path.getsize(target) - offset
    if available < nbytes:
        raise model.error(
            f"{where}: external data {location!r} is truncated: the tensor needs {nbytes} bytes from offset "
            f"{offset}, and the file holds {max(available, 0)} there"
        )
    return target, offset


def _external_number(model: OnnxModel, info: dict[str, str], key: str, where: str, location: str) -> int:
    text = info.get(key, "0")
    if not text.isdigit():
        raise model.error(f"{where}: external data {location!r} has {key} {text!r}, not a whole number")
    return int(text)
