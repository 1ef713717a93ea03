"""`trace --step`: the table view a timestep at a time, paused for a key (Enter, e or q) between steps."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any

from lstm_cli.cli.edge import PROG


def walk(console: Any, trace_view: Any) -> None:
    """Each timestep, then a pause. Enter goes on, e explains the step, q stops; at the end of input the rest
    runs without pausing."""
    for part in trace_view.intro():
        console.print(part)
    last = len(trace_view.run.blocks) - 1
    choices = "q: stop" if trace_view.explain else "e: explain, q: stop"
    for position, page in enumerate(trace_view.pages()):
        console.print(page.view)
        enter = "Enter: finish" if position == last else "Enter: next step"
        answer = _ask(f"{page.label}. {enter}, {choices} ")
        while answer == "e" and not trace_view.explain:
            console.print(trace_view.explanation(page.block))
            answer = _ask(f"{page.label}. {enter}, q: stop ")
        if answer is None:
            if position < last:
                console.print(trace_view.rest(position))
            break
        if answer in ("q", "quit"):
            if position < last:
                sys.stderr.write(f"{PROG}: stopped after {page.label}\n")
            break


def _ask(prompt: str) -> str | None:
    """One answer from stdin after a prompt on stderr; None at the end of input. From a terminal, a key is
    an answer as it is pressed (Enter, e, q); from a pipe, a line is."""
    sys.stdout.flush()
    sys.stderr.write(prompt)
    sys.stderr.flush()
    if sys.stdin is not None and sys.stdin.isatty():
        with contextlib.suppress(_NoKeys):
            key = _key()
            sys.stderr.write(f"{key or ''}\n")  # the terminal does not echo a key read this way
            return key
    line = sys.stdin.readline() if sys.stdin is not None else ""
    if not line or not sys.stdin.isatty():
        sys.stderr.write("\n")  # a terminal echoes the Enter; a pipe does not
    return line.strip().lower() if line else None


class _NoKeys(Exception):
    """The terminal cannot give single keys (not POSIX): read lines instead."""


def _key() -> str | None:
    """One key from the terminal, without waiting for Enter: "" for Enter, "e" or "q" (other keys are
    ignored), None for Ctrl-D. Ctrl-C still interrupts, and the terminal's settings are restored whatever
    happens."""
    try:
        import termios
        import tty
    except ImportError:
        raise _NoKeys from None
    fd = sys.stdin.fileno()
    try:
        saved = termios.tcgetattr(fd)
    except termios.error:
        raise _NoKeys from None
    try:
        tty.setcbreak(fd)  # no line buffering and no echo; signals stay on
        while True:
            key = os.read(fd, 1).decode("ascii", "replace").lower()
            if key in ("", "\x04"):  # the end of input, or Ctrl-D
                return None
            if key in ("\n", "\r"):
                return ""
            if key in ("e", "q"):
                return key
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
