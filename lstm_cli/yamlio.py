"""Strict YAML reading: YAML 1.2 numbers, no duplicate keys, bounded size, and a position for every value.

PyYAML resolves scalars by YAML 1.1 (`1e-3` is a string, `017` is 15, `1:30` is 90), so plain scalars are
resolved here by the YAML 1.2 core schema instead. Every node's position is kept by key path, so that a
problem found long after parsing (a wrong shape, say) still points at its line and column.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import LstmCliError

KeyPath = tuple[str | int, ...]

MAX_BYTES = 64 * 2**20  # YAML is for arrays a person can read; big arrays belong in .npy files
MAX_DEPTH = 64  # a config nests about 6 deep; 10,000-deep documents must not reach the recursive composer
MAX_REPEATED = 250_000  # values that aliases may repeat, in all: a "billion laughs" stops here, unbuilt
MAX_ALIASES = 1_000

_PLAIN = "lstm-cli:plain"  # a plain scalar, resolved below by the YAML 1.2 core schema
_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"

_NULL = re.compile(r"~|null|Null|NULL|")
_TRUE = re.compile(r"true|True|TRUE")
_FALSE = re.compile(r"false|False|FALSE")
_INT = re.compile(r"[-+]?[0-9]+")
_OCT = re.compile(r"0o[0-7]+")
_HEX = re.compile(r"0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_INF = re.compile(r"[-+]?\.(inf|Inf|INF)")
_NAN = re.compile(r"\.(nan|NaN|NAN)")


@dataclass(frozen=True)
class Mark:
    """Where a value stands in its file (1-based), and its source text when it is a scalar."""

    line: int
    column: int
    text: str | None = None


def format_key_path(path: KeyPath) -> str:
    """`("layers", 0, "kernel")` → `layers[0].kernel`; keys that are not plain names are quoted."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out


@dataclass
class Document:
    """A parsed config: plain Python data plus the position of every value, by key path."""

    data: Any
    source: str  # as the user named it, for messages
    folder: Path  # where relative `{file: ...}` paths start
    marks: dict[KeyPath, Mark] = field(default_factory=dict)

    def mark(self, path: KeyPath) -> Mark | None:
        """The position of `path`, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            found = self.marks.get(path[:end])
            if found is not None:
                return found
        return None

    def error(self, path: KeyPath, message: str) -> LstmCliError:
        mark = self.mark(path)
        return LstmCliError(
            message,
            source=self.source,
            line=mark.line if mark else None,
            column=mark.column if mark else None,
            key_path=format_key_path(path) or None,
        )


def read_config_file(path: Path, source: str | None = None) -> Document:
    """Read and parse a config file, refusing anything that is not one readable YAML mapping."""
    shown = source if source is not None else str(path)

    def fail(message: str) -> LstmCliError:
        return LstmCliError(message, source=shown)

    if path.is_dir():
        raise fail("is a directory, not a config file")
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise fail("no such file") from None
    except OSError as exc:
        raise fail(f"cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_BYTES:
        raise fail(
            f"larger than {MAX_BYTES // 2**20} MB; put big arrays in .npy files and use {{file: PATH}}"
        )
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise _at_byte(raw, nul, shown, "not a text file (it contains a NUL byte)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start : exc.start + 1].hex()
        raise _at_byte(raw, exc.start, shown, f"not UTF-8 text (byte 0x{bad})") from None
    return parse_yaml(text, shown, path.parent)


def _at_byte(raw: bytes, offset: int, source: str, message: str) -> LstmCliError:
    """An error at a byte offset, as line and column (1-based, counting bytes on the line)."""
    line_start = raw.rfind(b"\n", 0, offset) + 1
    return LstmCliError(
        message, source=source, line=raw.count(b"\n", 0, offset) + 1, column=offset - line_start + 1
    )


def parse_yaml(text: str, source: str, folder: Path) -> Document:
    document = Document(data=None, source=source, folder=folder)
    try:
        root = yaml.compose(text, Loader=_StrictLoader)
        if isinstance(root, yaml.MappingNode):
            _Measure()(root)  # before building, so that an alias bomb costs nothing
    except _Refused as exc:
        raise LstmCliError(exc.message, source=source, line=exc.line, column=exc.column) from None
    except yaml.reader.ReaderError as exc:  # a character YAML forbids; PyYAML's message spans two lines
        line_start = text.rfind("\n", 0, exc.position) + 1
        raise LstmCliError(
            f"not valid YAML: a control character (U+{exc.character:04X}) is not allowed in a YAML file",
            source=source,
            line=text.count("\n", 0, exc.position) + 1,
            column=exc.position - line_start + 1,
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise LstmCliError(
            f"not valid YAML: {_yaml_problem(exc)}",
            source=source,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        ) from None
    except yaml.YAMLError as exc:
        raise LstmCliError(f"not valid YAML: {' '.join(str(exc).split())}", source=source) from None
    except RecursionError:
        raise LstmCliError(f"nested deeper than {MAX_DEPTH} levels", source=source) from None
    if root is None:
        what = "the file is empty" if not text.strip() else "the file holds only comments"
        raise LstmCliError(f"{what}; a config is a mapping with `input` and `layers`", source=source)
    if not isinstance(root, yaml.MappingNode):
        kind = "a list" if isinstance(root, yaml.SequenceNode) else "a single value"
        raise LstmCliError(
            f"a config must be a mapping of keys (input, layers, ...), not {kind}",
            source=source,
            line=root.start_mark.line + 1,
            column=root.start_mark.column + 1,
        )
    document.marks[()] = Mark(root.start_mark.line + 1, root.start_mark.column + 1)
    document.data = _Builder(document).build(root, ())
    return document


# PyYAML's token names, in words a user knows.
_YAML_WORDS = {
    "'<stream end>'": "the end of the file",
    "end of stream": "end of the file",
    "'<scalar>'": "a value",
    "<block end>": "the end of the indented block",
    "found '?'": "found a key",
    "'<document start>'": "the end of the file",
}
_OPENERS = {
    "while parsing a flow sequence": "the '[' at line {line}, column {column} is still open",
    "while parsing a flow mapping": "the '{{' at line {line}, column {column} is still open",
    "while scanning a quoted scalar": "in the quoted text that starts at line {line}, column {column}",
    "while scanning a double-quoted scalar": "in the quoted text that starts at line {line}, column {column}",
}


def _yaml_problem(exc: yaml.MarkedYAMLError) -> str:
    """PyYAML's complaint, said plainly: what was found, and which open bracket or quote it belongs to."""
    problem = exc.problem or exc.context or "cannot parse"
    context = exc.context or ""
    if exc.problem and context and not context.startswith("while"):
        problem = f"{context}, {problem}"  # "expected a single document in the stream, but found another"
    for token, words in _YAML_WORDS.items():
        problem = problem.replace(token, words)
    opener = _OPENERS.get(context)
    if opener and exc.context_mark is not None:
        mark = exc.context_mark
        problem += f" ({opener.format(line=mark.line + 1, column=mark.column + 1)})"
    if problem == "mapping values are not allowed here":
        problem += "; check the indentation, or quote a value that holds ': '"
    if problem == "found character '\\t' that cannot start any token":
        problem = _tab_problem(exc)
    return problem


def _tab_problem(exc: yaml.MarkedYAMLError) -> str:
    """A tab where PyYAML expected a token: in the indentation, or between a key and its value."""
    mark = exc.problem_mark
    buffer = getattr(mark, "buffer", None)
    if mark is not None and isinstance(buffer, str):
        line_start = buffer.rfind("\n", 0, mark.pointer) + 1
        if buffer[line_start : mark.pointer].strip(" \t"):  # something before it on its line
            return "YAML does not allow a tab here; separate with spaces"
    return "YAML does not allow tabs for indentation; indent with spaces"


class _Measure:
    """Bounds a composed document before it is built: its depth, and the values that aliases repeat.

    Aliases make the composed document a graph whose expansion can be exponential (a "billion laughs"),
    so sizes are memoised per node and the walk takes time linear in the file. A node reached a second
    time is reached through an alias; the values it holds count against MAX_REPEATED.
    """

    def __init__(self) -> None:
        self.sizes: dict[int, tuple[int, int]] = {}  # id(node) → (values, height); height -1 while open
        self.repeated = 0

    def __call__(self, node: Any, depth: int = 0) -> tuple[int, int]:
        if depth > MAX_DEPTH:
            raise _Refused(
                f"nested deeper than {MAX_DEPTH} levels (counting through aliases)", node.start_mark
            )
        known = self.sizes.get(id(node))
        if known is not None:
            if known[1] < 0:
                raise _Refused("an alias refers to the list or mapping that contains it", node.start_mark)
            if depth + known[1] > MAX_DEPTH:
                message = f"nested deeper than {MAX_DEPTH} levels (counting through aliases)"
                raise _Refused(message, node.start_mark)
            self.repeated += known[0]
            if self.repeated > MAX_REPEATED:
                message = f"aliases repeat more than {MAX_REPEATED:,} values; put big arrays in .npy files"
                raise _Refused(message, node.start_mark)
            return known
        if isinstance(node, yaml.ScalarNode):
            return 1, 0
        self.sizes[id(node)] = (0, -1)  # open: meeting it again below is a cycle
        children = node.value if isinstance(node, yaml.SequenceNode) else [v for _, v in node.value]
        count, height = 1, 0
        for child in children:
            child_count, child_height = self(child, depth + 1)
            count += child_count
            height = max(height, child_height + 1)
        self.sizes[id(node)] = (count, height)
        return count, height


def document_from_mapping(config: Mapping[str, Any], folder: Path | None = None) -> Document:
    """A config given as data (the Python API): no positions, file paths relative to the working folder."""
    return Document(data=config, source="<config>", folder=folder or Path.cwd())


class _Refused(Exception):
    def __init__(self, message: str, mark: Any) -> None:
        super().__init__(message)
        self.message = message
        self.line = mark.line + 1
        self.column = mark.column + 1


class _StrictLoader(yaml.SafeLoader):
    """Composes nodes only: depth and aliases are bounded, and plain scalars keep their text."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise _Refused(f"more than {MAX_ALIASES} aliases", event.start_mark)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _Refused(f"nested deeper than {MAX_DEPTH} levels", event.start_mark)
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def fetch_flow_collection_start(self, token_class: Any) -> None:
        # The scanner reads ahead up to 1,024 characters past an open '[' or '{' (it might start a key), and
        # its bookkeeping is quadratic in the brackets open: `[[[[...` must stop here, before the composer.
        if self.flow_level >= MAX_DEPTH - 1:  # a flow collection in a config mapping is one level deeper
            raise _Refused(f"nested deeper than {MAX_DEPTH} levels", self.get_mark())
        super().fetch_flow_collection_start(token_class)

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is yaml.ScalarNode:
            return _PLAIN if implicit[0] else _STR
        return super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]


def resolve_plain_scalar(text: str) -> Any:
    """A plain scalar by the YAML 1.2 core schema."""
    if _NULL.fullmatch(text):
        return None
    if _TRUE.fullmatch(text):
        return True
    if _FALSE.fullmatch(text):
        return False
    if _INT.fullmatch(text):
        return int(text, 10)
    if _OCT.fullmatch(text):
        return int(text[2:], 8)
    if _HEX.fullmatch(text):
        return int(text[2:], 16)
    if _FLOAT.fullmatch(text):
        return float(text)
    if _INF.fullmatch(text):
        return -math.inf if text.startswith("-") else math.inf
    if _NAN.fullmatch(text):
        return math.nan
    return text


_CORE_TAGS = {
    "tag:yaml.org,2002:null": type(None),
    "tag:yaml.org,2002:bool": bool,
    "tag:yaml.org,2002:int": int,
    "tag:yaml.org,2002:float": float,
}


class _Builder:
    """Turns composed nodes into dicts, lists and scalars, recording each one's position."""

    def __init__(self, document: Document) -> None:
        self.document = document

    def build(self, node: Any, path: KeyPath) -> Any:
        """Plain data from a node that `_Measure` has bounded (so the recursion is bounded too)."""
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, path)
        if node.tag not in (_SEQ, _MAP):
            raise self._at(path, f"unsupported tag {node.tag!r}; write plain lists and mappings")
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                self._remember(path + (index,), item)
                items.append(self.build(item, path + (index,)))
            return items
        mapping: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise self._at(path, "a key must be a plain name, not a list or mapping", key_node)
            key = key_node.value
            if key in mapping:
                first = self.document.marks[path + (key,)]
                message = f"duplicate key (first given on line {first.line})"
                raise self._at(path + (key,), message, key_node)
            self._remember(path + (key,), key_node, value_node)
            mapping[key] = self.build(value_node, path + (key,))
        return mapping

    def _scalar(self, node: Any, path: KeyPath) -> Any:
        if node.tag == _STR:
            return node.value
        wanted = _CORE_TAGS.get(node.tag)
        try:
            value = resolve_plain_scalar(node.value) if node.tag == _PLAIN or wanted else None
        except ValueError:  # Python refuses to read whole numbers of more than 4,300 digits
            raise self._at(path, f"a {len(node.value):,}-digit number is out of range") from None
        if node.tag == _PLAIN:
            return value
        if wanted is None or type(value) is not wanted:
            if wanted is float and type(value) is int:
                return float(value)
            raise self._at(path, f"unsupported tag {node.tag!r} on {node.value!r}")
        return value

    def _remember(self, path: KeyPath, node: Any, value_node: Any = None) -> None:
        scalar = value_node if value_node is not None else node
        text = scalar.value if isinstance(scalar, yaml.ScalarNode) else None
        self.document.marks[path] = Mark(node.start_mark.line + 1, node.start_mark.column + 1, text)

    def _at(self, path: KeyPath, message: str, node: Any = None) -> LstmCliError:
        """An error at `node`, or where `path` was written (a mapping entry's key)."""
        if node is not None:
            mark = Mark(node.start_mark.line + 1, node.start_mark.column + 1)
            return LstmCliError(
                message,
                source=self.document.source,
                line=mark.line,
                column=mark.column,
                key_path=format_key_path(path) or None,
            )
        return self.document.error(path, message)
