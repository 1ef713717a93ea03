"""Vocabularies from files (`decode --vocab`), and text split into a vocabulary's tokens (`decode --text`).

A vocab file holds one token per line, token k being one-hot position k. A line is its token exactly as
written (a space in it counts), or, quoted, a Python string literal: `'\\n'`, `' '`, `''` are the tokens
that lstm-cli's tables show that way.

Text is split longest match first: at each position the longest token that the text continues with is
taken, so a vocab of single characters splits text into characters, and `<s>` stays one token beside
`<`. Where no token holds whitespace, whitespace only separates tokens and is not fed.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from pathlib import Path

from .errors import LstmCliError
from .text import did_you_mean

MAX_LISTED_TOKENS = 12  # an error lists the vocab up to this many tokens


def read_vocab(path: Path) -> tuple[str, ...]:
    """The tokens of a vocab file, one a line; errors at FILE:LINE:1."""
    source = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise LstmCliError("no such file", source=source) from None
    except IsADirectoryError:
        raise LstmCliError("is a directory, not a vocab file", source=source) from None
    except OSError as exc:
        raise LstmCliError(f"cannot read: {exc.strerror or exc}", source=source) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad = f"not UTF-8 text (byte 0x{raw[exc.start]:02x})"
        raise LstmCliError(bad, source=source, line=raw.count(b"\n", 0, exc.start) + 1, column=1) from None
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the newline that ends the last line
    tokens: list[str] = []
    first_line: dict[str, int] = {}
    for number, written in enumerate(lines, 1):
        line = written.removesuffix("\r")
        if "\x00" in line:
            nul = "not a text file (it contains a NUL byte)"
            raise LstmCliError(nul, source=source, line=number, column=1)
        if not line:
            raise LstmCliError(
                "an empty line; each line is one token (write '' for an empty token, ' ' for a space)",
                source=source,
                line=number,
                column=1,
            )
        token = _quoted(line)
        if token in first_line:
            raise LstmCliError(
                f"token {token!r} appears twice (first on line {first_line[token]})",
                source=source,
                line=number,
                column=1,
            )
        first_line[token] = number
        tokens.append(token)
    if not tokens:
        raise LstmCliError("holds no tokens; write one token per line", source=source)
    return tuple(tokens)


def _quoted(line: str) -> str:
    """A line that is a quoted Python string is that string; any other line is itself."""
    if len(line) >= 2 and line[0] == line[-1] and line[0] in "'\"":
        try:
            value = ast.literal_eval(line)
        except (SyntaxError, ValueError):
            return line
        if isinstance(value, str):
            return value
    return line


def split_text(text: str, vocab: Sequence[str], option: str) -> list[int]:
    """The vocab indices of `text`, longest match first; `option` (`--text NAME=TEXT`) names it in errors."""
    index = {token: position for position, token in enumerate(vocab)}
    lengths = sorted({len(token) for token in vocab if token}, reverse=True)
    spaced = not any(char.isspace() for token in vocab for char in token)

    def match(at: int) -> str | None:
        for length in lengths:
            if text[at : at + length] in index:
                return text[at : at + length]
        return None

    indices: list[int] = []
    at = 0
    while at < len(text):
        if spaced and text[at].isspace():
            at += 1
            continue
        token = match(at)
        if token is None:
            end = at + 1
            while end < len(text) and match(end) is None and not (spaced and text[end].isspace()):
                end += 1
            piece = text[at:end]
            hint = did_you_mean(piece, vocab)
            raise LstmCliError(
                f"{option}: {piece!r} (at character {at + 1}) is not a token of the vocab{hint}"
                f" (the vocab: {listed_vocab(vocab)})"
            )
        indices.append(index[token])
        at += len(token)
    if not indices:
        raise LstmCliError(f"{option}: no tokens in the text")
    return indices


def listed_vocab(vocab: Sequence[str]) -> str:
    """The vocab in a one-line message: its first tokens, and how many there are when that is not all."""
    shown = ", ".join(repr(token) for token in vocab[:MAX_LISTED_TOKENS])
    if len(vocab) > MAX_LISTED_TOKENS:
        shown += f", ... ({len(vocab)} tokens)"
    return shown
