"""Hostile and broken .onnx files: refused with a located one-line message, before anything is read.

An .onnx may keep tensors in other files (external data) and claims each tensor's size itself. A location
outside the model's folder, a missing or truncated data file, or a shape that claims more bytes than the
file holds is refused, naming the tensor, before any external data is read. Then a fuzz: a few hundred
seeded mutations of .onnx files that lstm-cli wrote (bytes flipped, cut and inserted; ops, inputs,
shapes, types, attributes and external locations changed), each run through `forward`, `summary` and
`convert` in-process: exit 0 or 2, one `lstm-cli: error:` line, no traceback, no warning, in seconds.
`LSTM_CLI_FUZZ_SCALE=20` runs twenty times as many.
"""

from __future__ import annotations

import os
import pathlib
import random
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import run_cli

onnx = pytest.importorskip("onnx")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from onnx_cases import lstm_graph, save, torch_style_graph  # noqa: E402

from lstm_cli.config import load_model  # noqa: E402
from lstm_cli.modelfiles.onnx_write import write_onnx  # noqa: E402

SCALE = int(os.environ.get("LSTM_CLI_FUZZ_SCALE", "1"))
MUTANTS_PER_MODEL = 60 * SCALE
SECONDS_PER_RUN = 10.0


def refusal(path: Path, *args: str) -> str:
    """`forward PATH` exits 2 with one line; the message after `lstm-cli: error: PATH: `."""
    run = run_cli("forward", str(path), *args)
    assert (run.exit_code, run.stdout) == (2, ""), run.stderr
    lines = run.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"lstm-cli: error: {path}: "), run.stderr
    return lines[0].removeprefix(f"lstm-cli: error: {path}: ")


def externalise(model: Any, name: str, location: str, **info: str) -> Any:
    """Initializer `name` with its data in another file, as onnx.save_model(save_as_external_data) writes."""
    tensor = next(t for t in model.graph.initializer if t.name == name)
    tensor.ClearField("raw_data")
    tensor.ClearField("float_data")
    tensor.data_location = TensorProto.EXTERNAL
    del tensor.external_data[:]
    for key, value in {"location": location, **info}.items():
        entry = tensor.external_data.add()
        entry.key, entry.value = key, value
    return model


W_BYTES = 1 * 12 * 2 * 4  # W of lstm_graph(): (1, 4*3, 2) float32


# -- external data ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("location", ["../../etc/passwd", "/etc/passwd", "sub/../../w.bin"])
def test_external_data_outside_the_models_folder_is_refused(tmp_path: Path, location: str) -> None:
    path = save(externalise(lstm_graph(), "W", location), tmp_path / "m.onnx")
    assert refusal(path) == (
        f"initializer 'W': external data {location!r} lies outside the model's folder; lstm-cli reads "
        "external data only from the model's folder and below"
    )


def test_external_data_through_a_link_that_leads_outside_is_refused(tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    (tmp_path / "secret.bin").write_bytes(bytes(W_BYTES))
    (tmp_path / "model" / "w.bin").symlink_to(tmp_path / "secret.bin")
    path = save(externalise(lstm_graph(), "W", "w.bin"), tmp_path / "model" / "m.onnx")
    assert refusal(path).startswith("initializer 'W': external data 'w.bin' lies outside the model's folder")


def test_missing_truncated_and_mismeasured_external_data_is_refused(tmp_path: Path) -> None:
    path = save(externalise(lstm_graph(), "W", "w.bin"), tmp_path / "m.onnx")
    assert refusal(path) == f"initializer 'W': external data 'w.bin' is missing (looked in {tmp_path})"
    (tmp_path / "w.bin").write_bytes(bytes(W_BYTES - 4))
    assert refusal(path) == (
        f"initializer 'W': external data 'w.bin' is truncated: the tensor needs {W_BYTES} bytes from offset "
        f"0, and the file holds {W_BYTES - 4} there"
    )
    (tmp_path / "w.bin").write_bytes(bytes(W_BYTES + 8))
    save(externalise(lstm_graph(), "W", "w.bin", offset="16"), path)
    assert refusal(path) == (
        f"initializer 'W': external data 'w.bin' is truncated: the tensor needs {W_BYTES} bytes from offset "
        f"16, and the file holds {W_BYTES - 8} there"
    )
    save(externalise(lstm_graph(), "W", "w.bin", length="8"), path)
    assert refusal(path) == (
        f"initializer 'W': external data 'w.bin' gives length 8, but its shape (1, 12, 2) of FLOAT needs "
        f"{W_BYTES} bytes"
    )
    save(externalise(lstm_graph(), "W", "w.bin", offset="-4"), path)
    assert refusal(path) == "initializer 'W': external data 'w.bin' has offset '-4', not a whole number"


def test_external_data_in_the_models_folder_is_read(tmp_path: Path) -> None:
    model = lstm_graph()
    weights = numpy_helper.to_array(next(t for t in model.graph.initializer if t.name == "W"))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "w.bin").write_bytes(bytes(8) + weights.tobytes())
    path = save(externalise(model, "W", "data/w.bin", offset="8", length=str(W_BYTES)), tmp_path / "m.onnx")
    run = run_cli("convert", str(path), "-o", str(tmp_path / "m.yaml"))
    assert run.exit_code == 0, run.stderr
    inline = save(lstm_graph(), tmp_path / "inline.onnx")
    run_cli("convert", str(inline), "-o", str(tmp_path / "inline.yaml"))
    numbers = [(tmp_path / name).read_text().split("\nlayers:")[1] for name in ("m.yaml", "inline.yaml")]
    assert numbers[0] == numbers[1]


def test_every_external_reference_is_checked_before_any_is_read(tmp_path: Path, monkeypatch: Any) -> None:
    model = externalise(externalise(lstm_graph(), "W", "w.bin"), "R", "../r.bin")
    (tmp_path / "w.bin").write_bytes(bytes(W_BYTES))
    path = save(model, tmp_path / "m.onnx")
    opened: list[str] = []
    real_open = pathlib.Path.open

    def spy(self: Path, *args: Any, **kwargs: Any) -> Any:
        opened.append(self.name)
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "open", spy)
    assert refusal(path).startswith("initializer 'R': external data '../r.bin' lies outside")
    assert "w.bin" not in opened


# -- sizes the file does not hold --------------------------------------------------------------------------


def _with_tensor(edit: Any) -> Any:
    model = lstm_graph()
    edit(next(t for t in model.graph.initializer if t.name == "W"))
    return model


def _claim_dims(*dims: int) -> Any:
    def edit(tensor: Any) -> None:
        del tensor.dims[:]
        tensor.dims.extend(dims)

    return _with_tensor(edit)


def _typed(tensor: Any) -> None:
    values = numpy_helper.to_array(tensor).reshape(-1)
    tensor.ClearField("raw_data")
    tensor.float_data.extend(values[:-1].tolist())


def _string(tensor: Any) -> None:
    tensor.data_type = TensorProto.STRING


SIZES = {
    "a shape of a trillion values": (
        lambda: _claim_dims(10**12),
        "initializer 'W': its shape (1000000000000,) of FLOAT needs 4000000000000 bytes, but the file holds "
        "96 "
        "for it",
    ),
    "a negative size": (
        lambda: _claim_dims(1, -12, 2),
        "initializer 'W': its shape (1, -12, 2) has a negative size",
    ),
    "a typed field one short": (
        lambda: _with_tensor(_typed),
        "initializer 'W': its shape (1, 12, 2) holds 24 values, but float_data has 23",
    ),
}


@pytest.mark.parametrize("case", list(SIZES))
def test_a_tensor_that_claims_more_than_the_file_holds_is_refused(tmp_path: Path, case: str) -> None:
    build, message = SIZES[case]
    assert refusal(save(build(), tmp_path / "m.onnx")) == message


def test_a_tensor_of_strings_is_refused_by_its_type(tmp_path: Path) -> None:
    path = save(_with_tensor(_string), tmp_path / "m.onnx")
    assert refusal(path) == "initializer 'W': its data type is STRING, which lstm-cli does not read"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not an ONNX model (.onnx): it looks like an empty file"),
        (b"PK\x03\x04junk", "not an ONNX model (.onnx): it looks like a damaged or truncated zip archive"),
        (b"\x89HDF\r\n\x1a\n", "not an ONNX model (.onnx): it looks like an HDF5 file (.h5)"),
        (b"\xff\xff\xff\xff", "not an ONNX model (.onnx): it does not parse as an ONNX protobuf"),
        (b"\x08\x08", "not an ONNX model (.onnx): it holds no graph of nodes"),
    ],
    ids=["empty", "zip", "hdf5", "garbage", "no graph"],
)
def test_files_that_are_not_onnx_models_are_named_as_what_they_are(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "m.onnx"
    path.write_bytes(content)
    assert refusal(path) == message


def test_names_that_are_not_utf8_are_refused(tmp_path: Path) -> None:
    model = lstm_graph()
    model.graph.node[0].output[1] = "Y_hX"
    model.graph.output[1].name = "Y_hX"
    path = tmp_path / "m.onnx"
    path.write_bytes(model.SerializeToString().replace(b"Y_hX", b"Y_h\xff"))
    assert refusal(path) == "not an ONNX model (.onnx): the name of output 1 is not UTF-8 text"


def test_a_node_that_reads_a_value_nothing_gives_is_refused(tmp_path: Path) -> None:
    model = lstm_graph()
    model.graph.node[0].input[1] = "nowhere"
    assert refusal(save(model, tmp_path / "m.onnx")) == (
        "node 'encoder': reads 'nowhere', which no input, initializer or earlier node gives"
    )


# -- the fuzz: mutated .onnx files ---------------------------------------------------------------------------

RNG = np.random.default_rng(0)


def _weights(*shape: int) -> np.ndarray:
    return (RNG.standard_normal(shape) * 0.5).astype(np.float32)


def _lstm(name: str, features: int, units: int, **options: Any) -> dict[str, Any]:
    return {
        "type": "lstm",
        "name": name,
        "units": units,
        "kernel": _weights(features, 4 * units),
        "recurrent_kernel": _weights(units, 4 * units),
        "bias": _weights(4 * units),
        **options,
    }


def _half() -> dict[str, np.ndarray]:
    return {"kernel": _weights(3, 8), "recurrent_kernel": _weights(2, 8), "bias": _weights(8)}


BASES: dict[str, dict[str, Any]] = {
    "stacked, states, go_backwards": {
        "input": {"shape": [None, 3]},
        "layers": [
            _lstm(
                "first",
                3,
                2,
                return_sequences=True,
                go_backwards=True,
                initial_state=[_weights(2), _weights(2)],
            ),
            _lstm("second", 2, 2, return_state=True),
            {
                "type": "dense",
                "name": "head",
                "units": 2,
                "activation": "softmax",
                "kernel": _weights(2, 2),
                "bias": _weights(2),
            },
        ],
        "outputs": ["head", "second.c"],
    },
    "bidirectional": {
        "input": {"shape": [None, 3]},
        "layers": [
            {
                "type": "bidirectional",
                "name": "bi",
                "units": 2,
                "return_sequences": True,
                "forward": _half(),
                "backward": _half(),
            },
            {
                "type": "bidirectional",
                "name": "bi2",
                "units": 2,
                "merge_mode": None,
                "return_state": True,
                "forward": {
                    "kernel": _weights(4, 8),
                    "recurrent_kernel": _weights(2, 8),
                    "bias": _weights(8),
                },
                "backward": {
                    "kernel": _weights(4, 8),
                    "recurrent_kernel": _weights(2, 8),
                    "bias": _weights(8),
                },
            },
        ],
        "outputs": ["bi2.forward", "bi2.backward.c"],
    },
    "embedding": {
        "input": {"shape": [None]},
        "layers": [
            {
                "type": "embedding",
                "name": "embed",
                "input_dim": 5,
                "output_dim": 3,
                "embeddings": _weights(5, 3),
            },
            _lstm("lstm", 3, 2, return_sequences=True),
            {
                "type": "dense",
                "name": "tags",
                "units": 4,
                "activation": "relu6",
                "kernel": _weights(2, 4),
                "use_bias": False,
            },
        ],
    },
}
INPUTS = {
    "stacked, states, go_backwards": _weights(2, 4, 3),
    "bidirectional": _weights(1, 5, 3),
    "embedding": np.array([[1, 4, 0], [2, 2, 3]]),
    "torch.onnx.export's glue": np.array([[1, 4], [0, 2], [2, 3]]),  # (time, batch)
}
OPS = [
    "LSTM",
    "Transpose",
    "Squeeze",
    "Unsqueeze",
    "Slice",
    "Gather",
    "Concat",
    "Reshape",
    "Identity",
    "Shape",
    "Expand",
    "MatMul",
    "Add",
    "Gemm",
    "Softmax",
    "Relu",
    "Conv",
    "Loop",
    "If",
    "ReduceSum",
    "",
]
LOCATIONS = ["../../etc/passwd", "/etc/passwd", "missing.bin", "data.bin", "", "a\x00b", "."]


class Mutator:
    """Seeded changes to an .onnx file: at the byte level, or to one field of its protobuf."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def mutate(self, data: bytes) -> bytes:
        if self.rng.random() < 0.3:
            return self.bytes(data)
        model = onnx.ModelProto()
        model.ParseFromString(data)
        for _ in range(self.rng.randint(1, 3)):
            getattr(
                self,
                self.rng.choice(
                    [
                        "op",
                        "drop",
                        "wire",
                        "dims",
                        "raw",
                        "dtype",
                        "external",
                        "attribute",
                        "graph_input",
                        "opset",
                        "cycle",
                    ]
                ),
            )(model)
        return model.SerializeToString()

    def bytes(self, data: bytes) -> bytes:
        rng, buffer = self.rng, bytearray(data)
        kind = rng.choice(["flip", "cut", "insert", "zero"])
        at = rng.randrange(len(buffer))
        if kind == "flip":
            for _ in range(rng.randint(1, 5)):
                buffer[rng.randrange(len(buffer))] = rng.randrange(256)
        elif kind == "cut":
            del buffer[at:]
        elif kind == "insert":
            buffer[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        else:
            buffer[at : at + rng.randint(1, 64)] = bytes(min(64, len(buffer) - at))
        return bytes(buffer)

    def _node(self, model: Any) -> Any:
        return self.rng.choice(list(model.graph.node))

    def _tensor(self, model: Any) -> Any:
        return self.rng.choice(list(model.graph.initializer))

    def op(self, model: Any) -> None:
        self._node(model).op_type = self.rng.choice(OPS)

    def drop(self, model: Any) -> None:
        del model.graph.node[self.rng.randrange(len(model.graph.node))]

    def wire(self, model: Any) -> None:
        node = self._node(model)
        if node.input:
            names = [n for other in model.graph.node for n in other.output] + ["", "nope", "input"]
            node.input[self.rng.randrange(len(node.input))] = self.rng.choice(names)

    def dims(self, model: Any) -> None:
        tensor = self._tensor(model)
        if tensor.dims:
            tensor.dims[self.rng.randrange(len(tensor.dims))] = self.rng.choice(
                [0, 1, 2, 3, -1, 10**12, 2**62]
            )

    def raw(self, model: Any) -> None:
        tensor = self._tensor(model)
        raw = tensor.raw_data
        tensor.raw_data = self.rng.choice(
            [raw[: len(raw) // 2], raw + raw, b"\xff" * len(raw), b"\x00\x00\x80\x7f" * (len(raw) // 4)]
        )

    def dtype(self, model: Any) -> None:
        self._tensor(model).data_type = self.rng.randrange(0, 24)

    def external(self, model: Any) -> None:
        tensor = self._tensor(model)
        tensor.ClearField("raw_data")
        tensor.data_location = TensorProto.EXTERNAL
        for key, value in (
            ("location", self.rng.choice(LOCATIONS)),
            ("offset", self.rng.choice(["0", "8", "-1", "x", "99999999"])),
        ):
            entry = tensor.external_data.add()
            entry.key, entry.value = key, value

    def attribute(self, model: Any) -> None:
        node = self._node(model)
        choices: list[Any] = [
            helper.make_attribute(
                "direction", self.rng.choice(["forward", "reverse", "bidirectional", "up"])
            ),
            helper.make_attribute("hidden_size", self.rng.choice([0, 1, 2, 5, -3])),
            helper.make_attribute("layout", self.rng.choice([0, 1, 2])),
            helper.make_attribute("clip", self.rng.choice([0.0, 1.0, float("nan")])),
            helper.make_attribute("axis", self.rng.choice([-9, -1, 0, 1, 2, 9])),
            helper.make_attribute("perm", self.rng.sample(range(4), self.rng.randint(0, 4)), attr_type=7),
            helper.make_attribute(
                "activations",
                self.rng.choice([["Sigmoid", "Tanh", "Tanh"], ["Relu"], ["Nope", "Tanh", "Tanh"]]),
            ),
            helper.make_attribute("axis", "text"),
        ]
        attribute = self.rng.choice(choices)
        kept = [a for a in node.attribute if a.name != attribute.name]
        del node.attribute[:]
        node.attribute.extend([*kept, attribute])

    def graph_input(self, model: Any) -> None:
        tensor_type = model.graph.input[0].type.tensor_type
        if self.rng.random() < 0.5:
            tensor_type.elem_type = self.rng.choice([1, 6, 7, 8, 11, 0])
        elif tensor_type.shape.dim:
            tensor_type.shape.dim[self.rng.randrange(len(tensor_type.shape.dim))].dim_value = self.rng.choice(
                [0, 1, 4, 9]
            )

    def opset(self, model: Any) -> None:
        model.opset_import[0].version = self.rng.choice([0, 1, 7, 9, 12, 13, 18, 1000])

    def cycle(self, model: Any) -> None:
        node = self._node(model)
        if node.input and node.output:
            node.input[0] = node.output[0]


def check(args: tuple[str, ...]) -> None:
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning (overflow, say) becomes an internal error
        run = run_cli(*args)
    where = f"lstm-cli {' '.join(args)}\nstderr: {run.stderr[:500]!r}"
    assert time.perf_counter() - start < SECONDS_PER_RUN, where
    assert run.exit_code in (0, 2), where
    assert (
        "Traceback" not in run.stderr and "internal error" not in run.stderr and "Warning" not in run.stderr
    ), where
    if run.exit_code == 2:
        lines = run.stderr.splitlines()
        assert run.stdout == "" and len(lines) == 1 and lines[0].startswith("lstm-cli: error: "), where


@pytest.mark.parametrize("base", list(INPUTS))
def test_mutated_onnx_files_end_in_one_line_or_a_result(tmp_path: Path, base: str) -> None:
    original = tmp_path / "original.onnx"
    if base in BASES:
        write_onnx(load_model({"dtype": "float32", **BASES[base]}), original)
    else:
        save(torch_style_graph(), original)
    np.save(tmp_path / "x.npy", INPUTS[base])
    (tmp_path / "data.bin").write_bytes(bytes(64))
    rng = random.Random(list(INPUTS).index(base))
    mutator = Mutator(rng)
    data = original.read_bytes()
    path = tmp_path / "mutant.onnx"
    for _ in range(MUTANTS_PER_MODEL):
        path.write_bytes(mutator.mutate(data))
        check(
            (
                "forward",
                str(path),
                "--input",
                str(tmp_path / "x.npy"),
                "--format",
                rng.choice(["table", "json"]),
            )
        )
        second = rng.choice(
            [
                ("summary", str(path)),
                ("convert", str(path), "-o", "-"),
                ("trace", str(path), "--input", str(tmp_path / "x.npy")),
            ]
        )
        check(second)
