"""Regression tests for hostile input: YAML bombs, numeric edges, broken array files, signals and pipes.

Each test pins one input that once hung, crashed, or showed a wrong number as right, or that could. The
fuzz suite (test_fuzz.py) hunts for new ones; what it finds lands here with its exact message.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
import tracemalloc
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import CONFIGS, run_cli

from lstm_cli.activations import ACTIVATIONS
from lstm_cli.config import load_model
from lstm_cli.errors import LstmCliError

LSTM_CLI = [sys.executable, "-m", "lstm_cli"]


def write(folder: Path, content: str | bytes, name: str = "config.yaml") -> Path:
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def assert_refused(path: Path, expected: str, *args: str, command: str = "forward") -> None:
    """`COMMAND PATH` exits 2 with exactly `lstm-cli: error: PATH:EXPECTED` and nothing on stdout."""
    run = run_cli(command, str(path), *args)
    assert run.stderr == f"lstm-cli: error: {path}:{expected}\n"
    assert run.stdout == ""
    assert run.exit_code == 2


def lstm_config(
    input: str = "[[[1, 0]]]",
    kernel: str = "[[0, 0, 0, 0], [0, 0, 0, 0]]",
    options: str = "",
    tail: str = "",
) -> str:
    """One LSTM unit reading two features; `kernel` is on line 5, and `options` go after the bias."""
    return (
        f"input: {input}\n"
        "layers:\n"
        "  - type: lstm\n"
        "    units: 1\n"
        f"    kernel: {kernel}\n"
        "    recurrent_kernel: [[0, 0, 0, 0]]\n"
        "    bias: [0, 0, 0, 0]\n"
        f"{options}{tail}"
    )


# -- YAML bombs: refused before they expand, in well under a second and 100 MB ----------------------------

BILLION_LAUGHS = "\n".join(
    ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [
        f"{chr(ord('a') + k)}: &{chr(ord('a') + k)} [" + ", ".join([f"*{chr(ord('a') + k - 1)}"] * 9) + "]"
        for k in range(1, 10)
    ]
)
BOMBS = {
    "billion laughs": (
        BILLION_LAUGHS,
        "5:4: aliases repeat more than 250,000 values; put big arrays in .npy files",
    ),
    "10,000 open brackets": ("input: " + "[" * 10_000 + "]" * 10_000, "1:71: nested deeper than 64 levels"),
    "10,000 open braces": (
        "input: " + "{a: " * 10_000 + "1" + "}" * 10_000,
        "1:257: nested deeper than 64 levels",
    ),
    "10,000 open brackets, never closed": ("input: " + "[" * 10_000, "1:71: nested deeper than 64 levels"),
    "10,000 nested block lists": ("input:\n" + "- " * 10_000 + "1", "2:127: nested deeper than 64 levels"),
    "aliases nested 40 deep, twice": (
        "a: &a " + "[" * 40 + "1" + "]" * 40 + "\nb: " + "[" * 30 + "*a" + "]" * 30,
        "1:4: nested deeper than 64 levels (counting through aliases)",
    ),
}


@pytest.mark.parametrize("name", BOMBS)
def test_yaml_bomb_is_refused_quickly_and_small(tmp_path: Path, name: str) -> None:
    text, expected = BOMBS[name]
    path = write(tmp_path, text + "\n")
    start = time.perf_counter()
    assert_refused(path, expected)
    assert time.perf_counter() - start < 0.5
    tracemalloc.start()
    try:
        with pytest.raises(LstmCliError):
            load_model(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 100 * 2**20, f"peak {peak / 2**20:.0f} MB"


def test_bracket_flood_costs_no_more_than_a_few_brackets(tmp_path: Path) -> None:
    # PyYAML's scanner looks up to 1,024 characters past every open '[' and did quadratic work there:
    # 10,000 brackets took 0.8 s. Refused at the 64th now, the flood costs what 64 brackets cost.
    path = write(tmp_path, "input: " + "[" * 100_000 + "\n")
    start = time.perf_counter()
    assert_refused(path, "1:71: nested deeper than 64 levels")
    assert time.perf_counter() - start < 0.3


def test_a_control_character_is_one_line_with_its_place(tmp_path: Path) -> None:
    # PyYAML's ReaderError spans two lines and gives a character offset, not a line.
    path = write(tmp_path, "input: [[[1, 0]]]\nlayers: \x02[]\n")
    assert_refused(path, "2:9: not valid YAML: a control character (U+0002) is not allowed in a YAML file")


def test_a_very_long_line_is_read(tmp_path: Path) -> None:
    text = lstm_config(tail="description: " + "long " * 200_000 + "\n")  # one 1 MB line
    run = run_cli("forward", str(write(tmp_path, text)), "--format", "json")
    assert run.exit_code == 0, run.stderr


# -- numbers at the edge of the dtype ------------------------------------------------------------------

# Where the true value lies beyond the dtype's maximum, the result is ±inf (as in Keras): selu(max) is
# 1.05·max, exp(max) has no finite value, and log_softmax([max, -max]) is about -2·max. The engine reports it.
UNBOUNDED = {"selu", "exponential", "log_softmax"}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activations_never_warn_up_to_the_dtype_maximum(name: str, dtype: type[np.floating]) -> None:
    info = np.finfo(dtype)
    edges = [info.max, info.max / 2, 1e4, 710.0, 89.0, 1.0, info.tiny, info.smallest_subnormal, 0.0]
    z = np.array([[sign * value for value in edges for sign in (1, -1)]], dtype)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        result = ACTIVATIONS[name](z.copy())
    assert result.dtype == dtype
    assert not np.isnan(result).any()
    if name not in UNBOUNDED:
        assert np.isfinite(result).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_softplus_and_exp_at_the_dtype_maximum(dtype: type[np.floating]) -> None:
    big = np.finfo(dtype).max
    z = np.array([-big, big], dtype)
    with np.errstate(over="raise", invalid="raise"):
        assert ACTIVATIONS["sigmoid"](z).tolist() == [0.0, 1.0]
        assert ACTIVATIONS["softplus"](z).tolist() == [0.0, float(big)]
        assert ACTIVATIONS["softmax"](z).tolist() == [0.0, 1.0]
        # exp(max) has no finite value: it is inf, without a warning, and the engine reports it.
        assert ACTIVATIONS["exponential"](z).tolist() == [0.0, float("inf")]


LINEAR_GROWTH = (
    "input: [[[1], [1], [1], [1], [1], [1], [1], [1], [1], [1], [1], [1], [1], [1], [1], [1]]]\n"
    "layers:\n"
    "  - type: lstm\n"
    "    units: 1\n"
    "    activation: null\n"
    "    recurrent_activation: null\n"
    "    return_sequences: true\n"
    "    kernel: [[10, 10, 10, 10]]\n"
    "    recurrent_kernel: [[10, 10, 10, 10]]\n"
    "    bias: [0, 0, 0, 0]\n"
)
OVERFLOW = "layer 'lstm' overflowed to inf or NaN at timestep {t}; " + (
    "its values grow without bound (a linear activation?)"
)


@pytest.mark.parametrize(
    "args",
    [(), ("-f", "json"), ("-f", "csv"), ("-f", "yaml")],
    ids=["table", "json", "csv", "yaml"],
)
def test_overflow_in_a_run_names_the_layer_and_step(tmp_path: Path, args: tuple[str, ...]) -> None:
    # h roughly cubes at every step: 10**(3**t). float64 holds 10**308, so step 4 (10**729) overflows.
    path = write(tmp_path, LINEAR_GROWTH)
    assert_refused(path, "3:5: layers[0]: " + OVERFLOW.format(t=4), *args)
    if "yaml" not in args:  # trace has no yaml format
        assert_refused(path, "3:5: layers[0]: " + OVERFLOW.format(t=4), *args, command="trace")


def test_float32_overflows_sooner(tmp_path: Path) -> None:
    path = write(tmp_path, LINEAR_GROWTH)
    assert_refused(path, "3:5: layers[0]: " + OVERFLOW.format(t=2), "--dtype", "float32")


def test_overflow_under_go_backwards_names_the_input_timestep(tmp_path: Path) -> None:
    path = write(tmp_path, LINEAR_GROWTH + "    go_backwards: true\n")
    assert_refused(path, "3:5: layers[0]: " + OVERFLOW.format(t=11))  # the 5th step processed is t=11


def test_dense_overflow_is_reported(tmp_path: Path) -> None:
    text = "input: [[[800]]]\nlayers:\n  - type: dense\n    units: 1\n    activation: exponential\n"
    path = write(tmp_path, text + "    kernel: [[1]]\n    bias: [0]\n")
    message = "layer 'dense' overflowed to inf or NaN; its values grow without bound (a linear activation?)"
    assert_refused(path, f"3:5: layers[0]: {message}")


BIDIRECTIONAL = """\
input: [[[{x}]]]
layers:
  - type: bidirectional
    units: 1
    activation: null
    recurrent_activation: null
    merge_mode: {mode}
    forward: {{kernel: [[1, 1, 1, 1]], recurrent_kernel: [[0, 0, 0, 0]], bias: [0, 0, 0, 0]}}
    backward: {{kernel: [[1, 1, 1, 1]], recurrent_kernel: [[0, 0, 0, 0]], bias: [0, 0, 0, 0]}}
"""


@pytest.mark.parametrize(("mode", "x"), [("mul", "1.0e100"), ("sum", "5.0e102"), ("ave", "5.0e102")])
def test_halves_that_overflow_as_they_merge_are_reported(tmp_path: Path, mode: str, x: str) -> None:
    # Each half computes c = i*g = x**2 and h = o*c = x**3: 1e300 and 1.25e308, finite. Merged, they are
    # not (Keras's ave adds before it halves). These were shown as a row of inf, and crashed JSON output.
    path = write(tmp_path, BIDIRECTIONAL.format(mode=mode, x=x))
    message = f"layer 'bidirectional' overflowed to inf or NaN as merge_mode {mode} joined its halves"
    expected = f"3:5: layers[0]: {message}; its values grow without bound (a linear activation?)"
    assert_refused(path, expected)
    assert_refused(path, expected, "-f", "json")


def test_saturated_gates_keep_forward_finite_but_trace_will_not_show_an_infinite_z(tmp_path: Path) -> None:
    # z overflows float64, sigmoid and tanh saturate to exactly 0 or 1: h and c are right, z is not a number.
    text = lstm_config(input="[[[1.0e300, 1.0e300]]]", kernel="[[1e10, 1e10, 1e10, 1e10], [1, 1, 1, 1]]")
    path = write(tmp_path, text)
    run = run_cli("forward", str(path), "-f", "json")
    assert run.exit_code == 0, run.stderr
    assert json.loads(run.stdout)["outputs"] == {"lstm": [[0.7615941559557649]]}  # tanh(1)
    message = (
        "layer 'lstm': the pre-activation z overflowed to inf at timestep 0; "
        "the gates saturate, so `forward` can show the outputs, but `trace` cannot show z"
    )
    for args in ((), ("-f", "json"), ("-f", "csv"), ("--explain",)):
        assert_refused(path, f"3:5: layers[0]: {message}", *args, command="trace")


def test_values_near_the_maximum_that_stay_finite_are_shown(tmp_path: Path) -> None:
    # The largest float64 through a Dense layer: finite, so it is a number, shown whole in JSON.
    layer = "{type: dense, units: 1, kernel: [[1]], bias: [0]}"
    text = f"input: [[[1.7976931348623157e308]]]\nlayers:\n  - {layer}\n"
    run = run_cli("forward", str(write(tmp_path, text)), "-f", "json")
    assert run.exit_code == 0, run.stderr
    assert json.loads(run.stdout)["outputs"]["dense"] == [[[1.7976931348623157e308]]]


HEATMAP = """\
input: [[[5.0e102], [0]]]
layers:
  - type: lstm
    units: 2
    activation: null
    recurrent_activation: null
    kernel: [[1, 1, 0, 0, 1, 1, 1, -1]]
    recurrent_kernel: [[0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0]]
    bias: [0, 0, 0, 0, 0, 0, 0, 0]
"""


def test_heatmap_of_values_near_the_maximum(tmp_path: Path) -> None:
    # h is +1.25e308 in one unit and -1.25e308 in the other: finite, but `value - low` is not. The glyphs
    # were computed from NaN (an IndexError: an internal error).
    run = run_cli("trace", str(write(tmp_path, HEATMAP)), "--view", "heatmap")
    assert run.exit_code == 0, run.stderr
    assert "█" in run.stdout and "▁" in run.stdout  # the top and the bottom of the scale
    assert "inf" not in run.stdout


def test_explaining_a_mismatch_never_divides_into_inf(tmp_path: Path) -> None:
    # o is subnormal (1e-311 of a weight): "h would need act(c) = hand / o" was shown as `= inf`.
    text = (
        "input: [[[1]]]\nlayers:\n  - type: lstm\n    units: 1\n    activation: null\n"
        "    recurrent_activation: null\n    kernel: [[1.0e-311, 1.0e-311, 1.0e-311, 1.0e-311]]\n"
        "    recurrent_kernel: [[0, 0, 0, 0]]\n    bias: [0, 0, 0, 0]\nexpect: {lstm: [[0.5]]}\n"
    )
    run = run_cli("trace", str(write(tmp_path, text)))
    assert run.exit_code == 1, run.stderr
    assert "linear(c[0]) = a value beyond the largest float" in " ".join(run.stdout.split())
    assert not re.search(r"\binf\b", run.stdout)


def test_a_thousand_layers_are_the_limit(tmp_path: Path) -> None:
    # 20,000 masking layers are 400 KB of YAML, and `summary` took minutes over them.
    layers = "".join("  - {type: masking}\n" for _ in range(1_001))
    path = write(tmp_path, "input: [[[1, 0]]]\nlayers:\n" + layers)
    assert_refused(path, "2:1: layers: expected at most 1,000 layers, got 1,001", command="summary")
    path = write(tmp_path, "input: [[[1, 0]]]\nlayers:\n" + layers[: -len("  - {type: masking}\n")])
    start = time.perf_counter()
    assert run_cli("summary", str(path), "-f", "json").exit_code == 0
    assert time.perf_counter() - start < 5


def test_out_of_memory_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def exhausted(*args: object, **kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr("lstm_cli.engine.run_model", exhausted)
    run = run_cli("forward", str(CONFIGS / "seed.yaml"))
    assert run.exit_code == 2
    assert (
        run.stderr == "lstm-cli: error: out of memory: the model or its input is too large for this machine\n"
    )
    assert run.stdout == ""


# -- arrays from files: refused with the config line that named them -----------------------------------


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def lying_header(shape: tuple[int, ...]) -> bytes:
    """A .npy header that declares `shape` of float64, followed by 64 bytes."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f8", "fortran_order": False, "shape": shape})
    return buffer.getvalue() + bytes(64)


def refuse_kernel_file(tmp_path: Path, reference: str, expected: str) -> None:
    assert_refused(write(tmp_path, lstm_config(kernel=reference)), expected)


def test_truncated_npy(tmp_path: Path) -> None:
    (tmp_path / "kernel.npy").write_bytes(npy_bytes(np.zeros((2, 4)))[:150])
    refuse_kernel_file(
        tmp_path,
        "{file: kernel.npy}",
        "5:14: layers[0].kernel.file: kernel.npy: truncated: its header declares shape (2, 4) of float64 "
        "(64 bytes), but only 22 bytes follow",
    )


def test_npy_whose_header_declares_terabytes(tmp_path: Path) -> None:
    # numpy would try to allocate 8 TB before finding the data short (a MemoryError, an internal error).
    (tmp_path / "kernel.npy").write_bytes(lying_header((10**6, 10**6)))
    refuse_kernel_file(
        tmp_path,
        "{file: kernel.npy}",
        "5:14: layers[0].kernel.file: kernel.npy: truncated: its header declares shape (1000000, 1000000) "
        "of float64 (8,000,000,000,000 bytes), but only 64 bytes follow",
    )


def test_npz_member_whose_header_declares_terabytes(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "w.npz", "w") as archive:
        archive.writestr("kernel.npy", lying_header((10**6, 10**6)))
    refuse_kernel_file(
        tmp_path,
        "{file: w.npz, key: kernel}",
        "5:14: layers[0].kernel.file: w.npz: truncated: its header declares shape (1000000, 1000000) "
        "of float64 (8,000,000,000,000 bytes), but only 64 bytes follow",
    )


def test_pickled_npz_is_refused(tmp_path: Path) -> None:
    np.savez(tmp_path / "w.npz", kernel=np.array([{"a": 1}], dtype=object))
    refuse_kernel_file(
        tmp_path,
        "{file: w.npz, key: kernel}",
        "5:14: layers[0].kernel.file: w.npz: cannot load: it holds pickled objects, which are refused",
    )


def test_npz_member_that_is_not_an_array(tmp_path: Path) -> None:
    # numpy hands back the raw bytes of a member not named *.npy (it had no dtype: an internal error).
    with zipfile.ZipFile(tmp_path / "w.npz", "w") as archive:
        archive.writestr("kernel", b"0, 0, 0, 0")
    refuse_kernel_file(
        tmp_path,
        "{file: w.npz, key: kernel}",
        "5:27: layers[0].kernel.key: w.npz: 'kernel' is not an array saved by numpy",
    )


def test_corrupt_compressed_npz(tmp_path: Path) -> None:
    # zlib's error was not caught (an internal error); the file handle numpy opened was leaked.
    np.savez_compressed(tmp_path / "w.npz", kernel=np.random.default_rng(0).random((2, 4000)))
    packed = bytearray((tmp_path / "w.npz").read_bytes())
    for offset in range(200, 400):
        packed[offset] ^= 0x55
    (tmp_path / "w.npz").write_bytes(bytes(packed))
    path = write(tmp_path, lstm_config(kernel="{file: w.npz, key: kernel}"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an unclosed file is a ResourceWarning
        run = run_cli("forward", str(path))
    assert run.exit_code == 2
    assert run.stderr.startswith(f"lstm-cli: error: {path}:5:14: layers[0].kernel.file: w.npz: cannot load: ")
    assert run.stderr.count("\n") == 1


def test_truncated_npz(tmp_path: Path) -> None:
    np.savez(tmp_path / "w.npz", kernel=np.zeros((2, 4)))
    whole = (tmp_path / "w.npz").read_bytes()
    (tmp_path / "w.npz").write_bytes(whole[: len(whole) // 2])
    refuse_kernel_file(
        tmp_path,
        "{file: w.npz, key: kernel}",
        "5:14: layers[0].kernel.file: w.npz: cannot load: File is not a zip file",
    )


@pytest.mark.parametrize(
    ("array", "dtype"),
    [
        (np.zeros((2, 4), complex), "complex128"),
        (np.zeros((2, 4), bool), "bool"),
        (np.zeros((2, 4), "M8[s]"), "datetime64[s]"),
    ],
)
def test_npy_of_the_wrong_dtype(tmp_path: Path, array: np.ndarray, dtype: str) -> None:
    np.save(tmp_path / "kernel.npy", array)
    refuse_kernel_file(
        tmp_path,
        "{file: kernel.npy}",
        f"5:14: layers[0].kernel.file: kernel.npy: expected numbers, got dtype {dtype}",
    )


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_is_refused_not_waited_on(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "kernel.npy")  # opening it would wait for a writer for ever
    refuse_kernel_file(
        tmp_path, "{file: kernel.npy}", "5:14: layers[0].kernel.file: kernel.npy: not a regular file"
    )


def test_file_name_with_a_nul_byte(tmp_path: Path) -> None:
    refuse_kernel_file(
        tmp_path,
        '{file: "a\\0b.npy"}',
        "5:14: layers[0].kernel.file: a\\x00b.npy: cannot load: embedded null byte",
    )


def test_newlines_and_escapes_in_user_text_stay_on_one_line(tmp_path: Path) -> None:
    # A file name is printed as given; its newline or terminal escape must neither break the line nor
    # drive the terminal.
    refuse_kernel_file(
        tmp_path,
        '{file: "a\\nb\\e[31m.npy"}',
        f"5:14: layers[0].kernel.file: a\\nb\\x1b[31m.npy: no such file (looked in {tmp_path})",
    )


def test_a_description_with_terminal_escapes_is_refused(tmp_path: Path) -> None:
    # The tables print the description as text: an escape sequence in it would retitle or recolour the
    # terminal (Rich drops \\r and \\a, but passes ESC through).
    text = lstm_config(tail='description: "\\e]0;owned\\a\\e[31mred"\n')
    assert_refused(
        write(tmp_path, text), "8:1: description: a control character (U+001B) is not allowed in text"
    )


def test_a_description_may_span_lines(tmp_path: Path) -> None:
    text = lstm_config(tail="description: |\n  two\n  lines\twith a tab\n")
    run = run_cli("forward", str(write(tmp_path, text)))
    assert run.exit_code == 0, run.stderr
    assert run.stdout.startswith("two\nlines   with a tab\n")  # Rich expands the tab


# -- signals and pipes (real processes) ----------------------------------------------------------------


def long_config(folder: Path, timesteps: int) -> Path:
    np.save(folder / "long.npy", np.random.default_rng(0).normal(size=(1, timesteps, 1)))
    text = lstm_config(input="{file: long.npy}", kernel="[[0.1, 0.2, 0.3, 0.4]]")
    return write(folder, text)


def cpu_seconds(pid: int) -> float:
    """CPU time a process has used (Linux); 0 where /proc is not there."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.slow  # real processes, interrupted
@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child is POSIX")
@pytest.mark.parametrize(
    ("command", "timesteps"),
    [(["forward", "-f", "json"], 2_000_000), (["trace"], 200_000)],
    ids=["forward", "trace"],
)
def test_ctrl_c_during_a_long_run_exits_130_quietly(
    tmp_path: Path, command: list[str], timesteps: int
) -> None:
    path = long_config(tmp_path, timesteps)  # 15 to 30 s of stepping
    process = subprocess.Popen(
        [*LSTM_CLI, command[0], str(path), *command[1:]], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 30
    while cpu_seconds(process.pid) < 1.5 and time.monotonic() < deadline:  # past the imports, stepping
        time.sleep(0.05)
    if not Path(f"/proc/{process.pid}/stat").exists():
        time.sleep(3)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert stderr == b"" and stdout == b""


@pytest.mark.slow  # a real process, interrupted
@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child is POSIX")
def test_ctrl_c_at_a_step_prompt_exits_130_quietly() -> None:
    process = subprocess.Popen(
        [*LSTM_CLI, "trace", str(CONFIGS / "stacked.yaml"), "--step"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stderr is not None
    prompt = b""
    while b"Enter" not in prompt:  # waiting for the answer to the first prompt
        prompt += process.stderr.read1(1024)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130
    assert b"Traceback" not in stderr and b"KeyboardInterrupt" not in stderr


BIG = ["--units", "32", "--features", "8", "--timesteps", "400", "--seed", "1"]


@pytest.mark.slow  # real processes and pipes
@pytest.mark.parametrize(
    "args",
    [
        ["trace"],
        ["trace", "-f", "json"],
        ["trace", "-f", "csv"],
        ["forward", "-f", "csv"],
        ["trace", "--explain"],
    ],
    ids=" ".join,
)
def test_a_reader_that_stops_early_ends_the_run_quietly(tmp_path: Path, args: list[str]) -> None:
    # `lstm-cli trace big.yaml | head -n 3`: the pipe closes while the output is still being written.
    path = tmp_path / "big.yaml"
    subprocess.run([*LSTM_CLI, "init", *BIG, "-o", str(path)], check=True, capture_output=True)
    process = subprocess.Popen(
        [*LSTM_CLI, args[0], str(path), *args[1:]], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None and process.stderr is not None
    for _ in range(3):
        process.stdout.readline()
    process.stdout.close()  # as `head` does when it has its lines
    stderr = process.stderr.read()
    process.wait(timeout=60)
    assert process.returncode == 0
    assert stderr == b"", stderr.decode(errors="replace")
