"""The README cannot fall behind: two Quickstart lines, and every `$ lstm-cli` example runs as shown."""

import re
import shlex

import pytest
from conftest import ROOT, run_cli

README = (ROOT / "README.md").read_text(encoding="utf-8")


def console_examples() -> list[tuple[str, str]]:
    """(command, the output shown after it) for each `$ ` line in the README's console blocks."""
    examples = []
    for block in re.findall(r"```console\n(.*?)```", README, re.S):
        for chunk in re.split(r"^(?=\$ )", block, flags=re.M):
            if chunk.startswith("$ "):
                command, _, shown = chunk.partition("\n")
                examples.append((command[2:], shown))
    return examples


def test_quickstart_block_holds_exactly_two_commands() -> None:
    block = re.search(r"^## Quickstart\s*\n+```[a-z]*\n(.*?)```", README, re.S | re.M)
    assert block is not None
    lines = [line for line in block.group(1).splitlines() if line.strip()]
    assert len(lines) == 2
    assert lines[0].startswith("pip install . && lstm-cli forward")
    assert "pytest" in lines[1]


@pytest.mark.parametrize(("command", "shown"), console_examples(), ids=lambda value: value[:60])
def test_console_example_runs_as_shown(command: str, shown: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    argv = shlex.split(command)
    assert argv[0] == "lstm-cli", "console examples run lstm-cli only"
    run = run_cli(*argv[1:])
    assert run.exit_code in (0, 1), run.stderr
    actual = [line.rstrip() for line in run.stdout.splitlines()]
    assert actual == shown.splitlines()


def test_python_examples_run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(ROOT)
    for block in re.findall(r"```python\n(.*?)```", README, re.S):
        exec(compile(block, "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "[[0. 4. 0.]]" in printed


def test_every_command_is_documented() -> None:
    from lstm_cli.cli import app

    for command in app.registered_commands:
        name = command.name or command.callback.__name__  # type: ignore[union-attr]
        assert f"### `lstm-cli {name}" in README, f"README has no section for `{name}`"
