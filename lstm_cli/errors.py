"""The one exception type users see, and the exit codes (docs/errors.md#exit-codes).

Errors stay values until the command-line edge: library code raises `LstmCliError` with the place the
problem lives; only `cli.py` turns it into a line on stderr and an exit code.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    MISMATCH = 1  # the run worked, but values under `expect:` differ (as `diff` does)
    USAGE = 2  # a usage error or a bad config or input; nothing is computed
    INTERRUPTED = 130


class LstmCliError(Exception):
    """A problem with the user's input, located as `FILE:LINE:COL: KEY.PATH: message`."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        column: int | None = None,
        key_path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.source = source
        self.line = line
        self.column = column
        self.key_path = key_path

    def __str__(self) -> str:
        parts = []
        if self.source is not None:
            where = self.source
            if self.line is not None:
                where += f":{self.line}:{self.column}"
            parts.append(where)
        if self.key_path:
            parts.append(self.key_path)
        parts.append(self.message)
        return ": ".join(parts)
