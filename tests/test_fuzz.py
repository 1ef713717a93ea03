"""Hostile and broken configs, generated: every run ends in seconds with exit 0, 1 or 2, never a traceback.

Two generators, both seeded, so CI runs the same cases every time:

- A mutation fuzzer takes every file in configs/ and breaks it at random, one to three changes at a
  time: keys deleted, duplicated and renamed; values retyped; sizes made wrong, huge, negative or zero;
  NaN and infinity; strings, nulls, lists and mappings where numbers belong; deep nesting; very long
  lines; anchors, aliases and tags; `{file: ...}` references to broken .npy/.npz files; and at the byte
  level invalid UTF-8, NUL bytes, stray punctuation and truncation.
- Hypothesis builds configs that pass validation but carry hostile numbers (up to the dtype's maximum,
  subnormals, every activation, float32 and float64), so that the engine and every renderer run on them.

Each case runs `forward`, `trace` and `summary` (and `decode` on the seq2seq configs) in-process, with a
random output format, and checks the contract of SPEC §5: exit 0, 1 or 2; exit 2 prints exactly one
`lstm-cli: error: ` line and nothing on stdout; no JSON `Infinity`/`NaN`, no CSV or table `inf`/`nan`.

`LSTM_CLI_FUZZ_SCALE=20 pytest tests/test_fuzz.py` runs twenty times as many cases, for a longer hunt.
"""

from __future__ import annotations

import io
import json
import math
import os
import random
import re
import time
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import yaml
from conftest import CONFIGS, Run, run_cli
from graph_configs import graph_configs, hostile_arrays
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.slow  # the fuzz suite: about 1,650 runs of the CLI

SCALE = int(os.environ.get("LSTM_CLI_FUZZ_SCALE", "1"))
MUTANTS_PER_CONFIG = 40 * SCALE  # per file in configs/; the mutation seed is the file's position
HYPOTHESIS_EXAMPLES = 100 * SCALE
SECONDS_PER_RUN = 10.0  # generous for a slow CI machine; a run takes ~30 ms here
CONFIG_FILES = sorted(CONFIGS.glob("*.yaml"))
DECODE_ARGS = ("--feed", "decoder_inputs", "--start", "<s>", "--stop", "</s>")

# Every run made, by command and exit code, so that docs/reliability.md can quote the counts.
TALLY: dict[str, int] = {}


# -- the contract each run must keep -------------------------------------------------------------------

_NON_FINITE = re.compile(r"(?<![\w.\-])-?(inf|nan|Infinity|NaN)(?![\w\-])")


def check(args: tuple[str, ...], config_text: str = "") -> Run:
    """Run `lstm-cli ARGS`, and hold it to SPEC §5 whatever the config said."""
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning (overflow, say) becomes an internal error
        run = run_cli(*args)
    elapsed = time.perf_counter() - start
    command = args[0]
    TALLY[command] = TALLY.get(command, 0) + 1
    TALLY[f"exit {run.exit_code}"] = TALLY.get(f"exit {run.exit_code}", 0) + 1
    where = f"lstm-cli {' '.join(args)}\nstderr: {run.stderr[:500]!r}"
    assert elapsed < SECONDS_PER_RUN, f"took {elapsed:.1f} s: {where}"
    assert run.exit_code in (0, 1, 2), f"exit {run.exit_code}: {where}"
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr, where
    assert "Warning" not in run.stderr, where
    if run.exit_code == 2:
        assert run.stdout == "", where
        lines = run.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("lstm-cli: error: "), where
        return run
    assert "lstm-cli: error" not in run.stderr, where
    output_format = _format_of(args)
    if output_format == "json":
        json.loads(run.stdout, parse_constant=_refuse_constant)  # Infinity and NaN are not JSON
    elif output_format == "yaml":
        _assert_finite(yaml.safe_load(run.stdout), where)  # YAML would write .inf and .nan
    elif output_format == "csv":
        for row in run.stdout.splitlines()[1:]:
            value = row.rsplit(",", 1)[-1]
            assert math.isfinite(float(value)), f"{row!r}: {where}"
    elif not _NON_FINITE.search(config_text):  # a layer may be *named* nan; then the table shows it
        found = _NON_FINITE.search(run.stdout)
        assert found is None, f"{found.group()!r} shown as a number: {where}"
    return run


def _format_of(args: tuple[str, ...]) -> str:
    for flag in ("--format", "-f"):
        if flag in args:
            return args[args.index(flag) + 1]
    return "table"


def _assert_finite(value: Any, where: str) -> None:
    if isinstance(value, dict):
        for item in value.values():
            _assert_finite(item, where)
    elif isinstance(value, list):
        for item in value:
            _assert_finite(item, where)
    elif isinstance(value, float):
        assert math.isfinite(value), f"{value} in YAML output: {where}"


def _refuse_constant(name: str) -> Any:
    raise AssertionError(f"{name} in JSON output")


# -- files that `{file: ...}` may point at -------------------------------------------------------------


def write_array_files(folder: Path) -> list[str]:
    """Good and broken .npy/.npz files in `folder`; returns what a config may write after `file:`."""
    np.save(folder / "good.npy", np.zeros((1, 1, 2)))
    np.save(folder / "pickled.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.save(folder / "strings.npy", np.array(["a", "b"]))
    np.save(folder / "complex.npy", np.zeros((2, 4), complex))
    np.save(folder / "nan.npy", np.full((2, 4), np.nan))
    np.save(folder / "float16.npy", np.full((2, 12), 65504, np.float16))
    np.save(folder / "scalar.npy", np.float64(1.0))
    whole = io.BytesIO()
    np.save(whole, np.zeros((300, 300)))
    (folder / "truncated.npy").write_bytes(whole.getvalue()[:1000])
    (folder / "header-only.npy").write_bytes(whole.getvalue()[:128])
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)}
    )
    (folder / "huge-header.npy").write_bytes(header.getvalue() + bytes(64))
    (folder / "text.npy").write_bytes(b"0, 0, 0, 0\n")
    (folder / "empty.npy").write_bytes(b"")
    np.savez(folder / "good.npz", x=np.zeros((2, 12)), bias=np.zeros(12))
    np.savez_compressed(folder / "compressed.npz", x=np.random.default_rng(0).random((200, 200)))
    packed = (folder / "compressed.npz").read_bytes()
    (folder / "truncated.npz").write_bytes(packed[: len(packed) // 2])
    corrupt = bytearray(packed)
    for offset in range(200, 400):
        corrupt[offset] ^= 0x55
    (folder / "corrupt.npz").write_bytes(bytes(corrupt))
    with zipfile.ZipFile(folder / "raw-member.npz", "w") as archive:
        archive.writestr("x", b"not an array")
    with zipfile.ZipFile(folder / "huge-member.npz", "w") as archive:
        archive.writestr("x.npy", header.getvalue() + bytes(64))
    np.savez(folder / "pickled.npz", x=np.array([{"a": 1}], dtype=object))
    (folder / "folder.npy").mkdir()
    names = [path.name for path in sorted(folder.iterdir()) if path.suffix in (".npy", ".npz")]
    if hasattr(os, "mkfifo"):  # opening a FIFO would wait for a writer for ever
        os.mkfifo(folder / "fifo.npy")
        names.append("fifo.npy")
    names += ["missing.npy", "missing.npz", "good.csv", "/dev/zero", "", "../" * 40 + "etc/passwd"]
    return names


# -- the mutation fuzzer -------------------------------------------------------------------------------

NUMBER = re.compile(r"(?<![\w.#])[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?(?![\w.])")
KEY = re.compile(r"^(\s*(?:- )?)([A-Za-z_][\w]*):", re.M)
VALUE = re.compile(r"^(\s*(?:- )?[A-Za-z_][\w]*: )(.+)$", re.M)
HOSTILE_VALUES = [
    *("0", "-0", "-1", "-7", "1.5", "2.0", "65536", "65537", "4294967297", "1" + "0" * 400, "9" * 5000),
    *("1e308", "-1e308", "1.8e308", "1e400", "-1e400", "5e-324", "3.5e38", "1e-45"),
    *(".nan", ".NaN", ".inf", "-.inf", "+.INF", "!!float .nan", "!!float '1e999'"),
    *("null", "~", "true", "False", "'3'", '"1e3"', "three", "0x10", "0o17", "017", "1:30", "1_000"),
    *("[]", "{}", "[1, 2]", "[[1], [1, 2]]", "[null]", "[.nan]", "{file: good.npy}", "{shape: [3, 2]}"),
    *("!!str 1", "!!int 1.5", "!!bool yes", "!!binary aGk=", "!!set {a}", "!!timestamp 2001-01-01"),
    *("!!python/object/apply:os.system ['echo owned']", "!custom 1", "*undefined", "&anchor 1"),
    *("|\n  text", ">-\n  folded", "'unterminated", '"\\x', "[unclosed", "{a: 1", "- item"),
]
KEY_NAMES = [
    *("units", "kernel", "recurrent_kernel", "bias", "type", "input", "inputs", "layers", "name"),
    *("return_sequences", "return_state", "go_backwards", "activation", "weight_ih", "bias_ih"),
    *("forward", "backward", "merge_mode", "mask_value", "initial_state", "expect", "vocab", "dtype"),
    *("outputs", "description", "Units", "unitz", "<<", "'quoted key'", "1", "~", "[a]", "{a: 1}", "? a"),
]
ARRAY_KEYS = ("input", "kernel", "recurrent_kernel", "bias", "weight_ih", "weight_hh", "bias_ih", "bias_hh")
PUNCTUATION = list(":-[]{},#&*!|>'\"%@`?\t\r\n ")
BAD_BYTES = [
    b"\xff",
    b"\xc3",
    b"\xed\xa0\x80",
    b"\xc0\xaf",
    b"\xf8\x88\x80\x80\x80",
    b"\x00",
    b"\xef\xbb\xbf",
]


class Mutator:
    """Seeded changes to a config's text; each returns the new text (or bytes, for the byte-level ones)."""

    def __init__(self, rng: random.Random, files: list[str]) -> None:
        self.rng = rng
        self.files = files

    def mutate(self, text: str) -> bytes:
        data: str | bytes = text
        for _ in range(self.rng.choice((1, 1, 1, 2, 3))):
            if isinstance(data, bytes):
                data = self.byte_level(data)
            else:
                mutation = self.rng.choice(self.TEXT_MUTATIONS)
                data = mutation(self, data)
        return data if isinstance(data, bytes) else data.encode("utf-8")

    # keys

    def delete_key(self, text: str) -> str:
        return self._edit_line(text, KEY, lambda line: "")

    def duplicate_key(self, text: str) -> str:
        return self._edit_line(text, KEY, lambda line: line + "\n" + line)

    def rename_key(self, text: str) -> str:
        matches = list(KEY.finditer(text))
        if not matches:
            return text
        found = self.rng.choice(matches)
        name = self.rng.choice([*KEY_NAMES, found.group(2)[::-1], found.group(2).upper()])
        return text[: found.start(2)] + name + text[found.end(2) :]

    def retype_value(self, text: str) -> str:
        matches = list(VALUE.finditer(text))
        if not matches:
            return text
        found = self.rng.choice(matches)
        value = self.rng.choice([*HOSTILE_VALUES, self._file_reference(), self._deep(), self._long()])
        return text[: found.start(2)] + value + text[found.end(2) :]

    # numbers and sizes

    def replace_number(self, text: str) -> str:
        matches = list(NUMBER.finditer(text))
        if not matches:
            return text
        count = self.rng.choice((1, 1, 1, 5, 50))  # sometimes many of the same kind
        value = self.rng.choice(HOSTILE_VALUES)
        for found in sorted(self.rng.sample(matches, min(count, len(matches))), key=lambda m: -m.start()):
            text = text[: found.start()] + value + text[found.end() :]
        return text

    def scale_numbers(self, text: str) -> str:
        """Every number times a huge or tiny factor: values that overflow in the run, or underflow."""
        factor = self.rng.choice(("e300", "e150", "e38", "e20", "e-300", "e-320"))

        def scaled(found: re.Match[str]) -> str:
            number = found.group()
            return number if "e" in number.lower() else number + factor

        return NUMBER.sub(scaled, text)

    def resize(self, text: str) -> str:
        """Drop or repeat one item of a list: a wrong size, a ragged array, or an empty one."""
        items = list(re.finditer(r"(, *)?" + NUMBER.pattern, text))
        if not items:
            return text
        found = self.rng.choice(items)
        if self.rng.random() < 0.5:
            return text[: found.start()] + text[found.end() :]
        return text[: found.end()] + ", " + found.group().lstrip(", ") + text[found.end() :]

    def units(self, text: str) -> str:
        size = self.rng.choice(("0", "-1", "65536", "65537", "10000000000", "2.5", "'2'", "null", "[2]", "1"))
        return re.sub(r"units: *\d+", f"units: {size}", text, count=self.rng.randint(0, 3))

    # structure

    def _deep(self) -> str:
        depth = self.rng.choice((65, 200, 10_000))
        if self.rng.random() < 0.5:
            return "[" * depth + "1" + "]" * depth
        return "{a: " * depth + "1" + "}" * depth

    def _long(self) -> str:
        count = self.rng.choice((1_000, 5_000))
        return "[" + ", ".join(["0.5"] * count) + "]"

    def nest(self, text: str) -> str:
        matches = list(NUMBER.finditer(text))
        if not matches:
            return text
        found = self.rng.choice(matches)
        return text[: found.start()] + self._deep() + text[found.end() :]

    def long_line(self, text: str) -> str:
        choice = self.rng.randrange(3)
        if choice == 0:
            return "# " + "x" * 200_000 + "\n" + text
        if choice == 1:
            return f"description: {'y' * 50_000}\n" + re.sub(r"^description:.*$", "", text, flags=re.M)
        return self._edit_line(text, VALUE, lambda line: line.split(":")[0] + ": " + self._long())

    def file_reference(self, text: str) -> str:
        pattern = re.compile(rf"^(\s*(?:- )?(?:{'|'.join(ARRAY_KEYS)}): )(.+)$", re.M)
        matches = list(pattern.finditer(text))
        if not matches:
            return text
        found = self.rng.choice(matches)
        end = found.end(2)
        while text[end : end + 1] == "\n" and re.match(r"\n +[\[\d-]", text[end : end + 40]):
            end = text.index("\n", end + 1) if "\n" in text[end + 1 :] else len(text)  # continued rows
        return text[: found.start(2)] + self._file_reference() + text[end:]

    def _file_reference(self) -> str:
        name = self.rng.choice(self.files)
        key = self.rng.choice(("", ", key: x", ", key: bias", ", key: nope", ", key: 1", ", key: null"))
        return f"{{file: {json.dumps(name)}{key}}}"

    def aliases(self, text: str) -> str:
        matches = list(VALUE.finditer(text))
        if len(matches) < 2:
            return text
        first, second = sorted(self.rng.sample(matches, 2), key=lambda m: m.start())
        kind = self.rng.randrange(4)
        if kind == 0:  # a value reused elsewhere
            return (
                text[: first.start(2)]
                + "&shared "
                + first.group(2)
                + text[first.end(2) : second.start(2)]
                + "*shared"
                + text[second.end(2) :]
            )
        if kind == 1:  # used before it is defined, or never defined
            return text[: first.start(2)] + "*shared" + text[first.end(2) :]
        if kind == 2:  # a billion laughs beside the config
            lines = ["lol0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
            lines += [f"lol{k}: &l{k} [{', '.join([f'*l{k - 1}'] * 9)}]" for k in range(1, 10)]
            return "\n".join(lines) + "\n" + text
        return text[: first.start(2)] + "&self [1, *self]" + text[first.end(2) :]  # contains itself

    def lines(self, text: str) -> str:
        rows = text.split("\n")
        k = self.rng.randrange(len(rows))
        kind = self.rng.randrange(5)
        if kind == 0:
            del rows[k]
        elif kind == 1:
            rows.insert(k, rows[k])
        elif kind == 2:
            j = self.rng.randrange(len(rows))
            rows[k], rows[j] = rows[j], rows[k]
        elif kind == 3:
            rows[k] = " " * self.rng.choice((1, 2, 3)) + rows[k]
        else:
            rows[k] = rows[k].lstrip() if self.rng.random() < 0.5 else "\t" + rows[k]
        return "\n".join(rows)

    def punctuation(self, text: str) -> str:
        k = self.rng.randrange(len(text) + 1)
        return text[:k] + self.rng.choice(PUNCTUATION) + text[k:]

    def encoding(self, text: str) -> bytes | str:
        kind = self.rng.randrange(4)
        if kind == 0:
            return text.replace("\n", "\r\n")
        if kind == 1:
            return text.encode("utf-16")
        if kind == 2:
            return text.encode("latin-1", errors="replace") + "é".encode("latin-1")
        return text.encode("utf-8")

    TEXT_MUTATIONS: ClassVar[list[Callable[[Mutator, str], Any]]] = [
        delete_key,
        duplicate_key,
        rename_key,
        retype_value,
        retype_value,
        replace_number,
        replace_number,
        scale_numbers,
        resize,
        units,
        nest,
        long_line,
        file_reference,
        aliases,
        lines,
        punctuation,
        encoding,
        lambda self, text: text.encode("utf-8"),  # go on at the byte level
    ]

    def byte_level(self, data: bytes) -> bytes:
        k = self.rng.randrange(len(data) + 1)
        kind = self.rng.randrange(3)
        if kind == 0:
            return data[:k]  # truncated
        if kind == 1:
            return data[:k] + self.rng.choice(BAD_BYTES) + data[k:]
        return data[:k] + bytes([self.rng.randrange(256)]) + data[k + 1 :]

    def _edit_line(self, text: str, pattern: re.Pattern[str], edit: Callable[[str], str]) -> str:
        matches = list(pattern.finditer(text))
        if not matches:
            return text
        found = self.rng.choice(matches)
        start = text.rfind("\n", 0, found.start()) + 1
        end = text.find("\n", found.end())
        end = len(text) if end < 0 else end
        return text[:start] + edit(text[start:end]) + text[end:]


def commands(path: Path, rng: random.Random, decodes: bool) -> list[tuple[str, ...]]:
    """The commands one mutant runs under, each with a random output format."""
    config = str(path)
    runs = [
        ("forward", config, "--format", rng.choice(("table", "json", "csv", "yaml"))),
        ("trace", config, "--format", rng.choice(("table", "json", "csv"))),
        ("summary", config, "--format", rng.choice(("table", "json", "csv"))),
    ]
    if rng.random() < 0.2:
        runs.append(("trace", config, "--explain"))
    if rng.random() < 0.2:
        runs.append(("trace", config, "--view", "heatmap"))
    if rng.random() < 0.2:
        runs.append(("forward", config, "--dtype", "float32", "--precision", str(rng.randrange(18))))
    if decodes:
        output = rng.choice(("table", "json"))
        extra = ("--trace",) if output == "table" and rng.random() < 0.3 else ()
        runs.append(
            ("decode", config, *DECODE_ARGS, "--max-steps", str(rng.randint(1, 30)), "-f", output, *extra)
        )
    return runs


@pytest.fixture(scope="module")
def array_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    folder = tmp_path_factory.mktemp("fuzz")
    return folder, write_array_files(folder)


@pytest.mark.parametrize("original", CONFIG_FILES, ids=lambda path: path.name)
def test_mutated_configs(original: Path, array_files: tuple[Path, list[str]]) -> None:
    folder, files = array_files
    rng = random.Random(CONFIG_FILES.index(original))
    mutator = Mutator(rng, files)
    text = original.read_text(encoding="utf-8")
    decodes = "vocab:" in text and "decoder_inputs" in text and "shape:" not in text
    path = folder / f"mutant-{original.name}"
    for _ in range(MUTANTS_PER_CONFIG):
        data = mutator.mutate(text)
        path.write_bytes(data)
        shown = data.decode("utf-8", errors="replace")
        for args in commands(path, rng, decodes):
            check(args, shown)


# -- Hypothesis: configs that validate, with hostile numbers -------------------------------------------


def write_generated(config: dict[str, Any], tmp_path_factory: Any, name: str) -> tuple[Path, str]:
    """A generated config as YAML in one folder that Hypothesis's examples share; its path and text."""
    folder = tmp_path_factory.getbasetemp() / "hypothesis"
    folder.mkdir(exist_ok=True)
    path = folder / name
    text = yaml.safe_dump(config, sort_keys=False, default_flow_style=None, width=200)
    path.write_text(text, encoding="utf-8")
    return path, text


@settings(
    max_examples=HYPOTHESIS_EXAMPLES,
    deadline=None,
    derandomize=True,  # a fixed seed: the same examples on every run
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(config=graph_configs(), choice=st.randoms(use_true_random=False))
def test_generated_configs(config: dict[str, Any], choice: random.Random, tmp_path_factory: Any) -> None:
    path, text = write_generated(config, tmp_path_factory, "config.yaml")
    for args in commands(path, choice, decodes=False):
        check(args, text)


SEQ2SEQ = yaml.safe_load((CONFIGS / "seq2seq.yaml").read_text(encoding="utf-8"))


@st.composite
def hostile_decoders(draw: st.DrawFn) -> dict[str, Any]:
    """configs/seq2seq.yaml with some weights and inputs replaced by hostile numbers of the same shape."""
    config = json.loads(json.dumps(SEQ2SEQ))  # a deep copy
    dtype = config["dtype"] = draw(st.sampled_from(["float64", "float32"]))
    arrays = [(config["inputs"], name) for name in config["inputs"]]
    arrays += [
        (layer, key)
        for layer in config["layers"]
        for key in ("kernel", "recurrent_kernel", "bias")
        if key in layer
    ]
    for owner, key in draw(st.lists(st.sampled_from(arrays), min_size=1, max_size=4, unique_by=id)):
        owner[key] = draw(hostile_arrays(np.shape(owner[key]), dtype))
    config["layers"][-1]["activation"] = draw(
        st.sampled_from(["softmax", "log_softmax", "linear", "sigmoid"])
    )
    return config


@settings(
    max_examples=HYPOTHESIS_EXAMPLES // 3,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(config=hostile_decoders(), choice=st.randoms(use_true_random=False))
def test_generated_decoders(config: dict[str, Any], choice: random.Random, tmp_path_factory: Any) -> None:
    path, text = write_generated(config, tmp_path_factory, "decoder.yaml")
    stop = choice.choice([("--stop", "</s>"), ("--stop", "a"), ()])
    output = choice.choice(("table", "json"))
    extra = ("--trace",) if output == "table" and choice.random() < 0.3 else ()
    steps = str(choice.choice((1, 5, 40)))
    check(
        (
            "decode",
            str(path),
            "--feed",
            "decoder_inputs",
            "--start",
            "<s>",
            *stop,
            "--max-steps",
            steps,
            "-f",
            output,
            *extra,
        ),
        text,
    )
    check(("forward", str(path), "--format", choice.choice(("table", "json"))), text)


# -- what was run --------------------------------------------------------------------------------------

FUZZ_TESTS = {f"test_mutated_configs[{path.name}]" for path in CONFIG_FILES} | {
    "test_generated_configs",
    "test_generated_decoders",
}
FINISHED: set[str] = set()


@pytest.fixture(autouse=True)
def _finished(request: pytest.FixtureRequest) -> Any:
    yield
    FINISHED.add(request.node.name)


def test_every_outcome_was_reached() -> None:
    """The fuzz cases above reach every command and exit 0, 1 and 2, not just parse errors; prints the counts
    that docs/reliability.md quotes (`pytest tests/test_fuzz.py -s -p no:xdist`)."""
    if not FUZZ_TESTS <= FINISHED:
        pytest.skip("the fuzz cases ran in another process, or not all of them ran")
    print(f"\nfuzz runs: {json.dumps(dict(sorted(TALLY.items())))}")
    for outcome in ("forward", "trace", "summary", "decode", "exit 0", "exit 1", "exit 2"):
        assert TALLY.get(outcome, 0) > 0, (outcome, TALLY)
