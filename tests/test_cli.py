"""The command line's outer surface: help, version, `python -m`, usage errors, exit codes."""

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CONFIGS, run_cli

from lstm_cli.cli import app

COMMANDS = [command.name or command.callback.__name__ for command in app.registered_commands]  # type: ignore[union-attr]


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_one_screen_help_with_an_example(name: str) -> None:
    run = run_cli(name, "--help", env={"COLUMNS": "80"})
    assert run.exit_code == 0
    assert "Example" in run.stdout
    assert f"lstm-cli {name}" in run.stdout
    lines = run.stdout.splitlines()
    assert len(lines) <= 40  # one screen of an 80-column terminal
    assert all(len(line) <= 80 for line in lines)
    # examples are kept as written, one command to a line (or continued with \), never broken mid-word
    examples = lines[lines.index("  Example:") + 1 :]
    commands = [line.strip() for line in examples[: examples.index("")]]
    assert commands and all(command.startswith(("lstm-cli ", "--")) for command in commands), commands


def test_usage_lines_name_arguments_without_braces() -> None:
    usage = {
        name: run_cli(name, "--help").stdout.splitlines()[0] for name in ("decode", "convert", "forward")
    }
    assert usage == {
        "decode": "Usage: lstm-cli decode [OPTIONS] CONFIG",
        "convert": "Usage: lstm-cli convert [OPTIONS] SRC",
        "forward": "Usage: lstm-cli forward [OPTIONS] [CONFIG]",
    }
    assert run_cli("decode").stderr == "lstm-cli: error: Missing argument 'CONFIG'.\n"


def test_top_level_help_lists_the_commands() -> None:
    run = run_cli("--help")
    assert run.exit_code == 0
    for name in COMMANDS:
        assert name in run.stdout


def test_version_comes_from_package_metadata() -> None:
    from importlib.metadata import version

    run = run_cli("--version")
    assert run.exit_code == 0
    assert run.stdout == f"lstm-cli {version('lstm-cli')}\n"


def test_python_dash_m_works() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "lstm_cli", "forward", str(CONFIGS / "seed.yaml"), "-f", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert '"lstm.h": [[0.0, 4.0, 0.0]]' in done.stdout


def test_unknown_option_is_one_line_exit_2() -> None:
    run = run_cli("forward", "--colour")
    assert run.exit_code == 2
    assert run.stdout == ""
    assert run.stderr.count("\n") == 1
    assert run.stderr.startswith("lstm-cli: error: ")
    assert "--colour" in run.stderr


def test_bad_format_choice_is_one_line_exit_2() -> None:
    run = run_cli("forward", "--format", "xml")
    assert run.exit_code == 2
    assert run.stderr.startswith("lstm-cli: error: ")
    assert run.stderr.count("\n") == 1


def test_missing_file_is_one_line_exit_2() -> None:
    run = run_cli("forward", "no/such.yaml")
    assert (run.exit_code, run.stdout, run.stderr) == (2, "", "lstm-cli: error: no/such.yaml: no such file\n")


def test_debug_shows_the_traceback() -> None:
    from lstm_cli.errors import LstmCliError

    with pytest.raises(LstmCliError):
        run_cli("forward", "no/such.yaml", "--debug")


def test_console_script_errors_without_traceback() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "lstm_cli", "forward", "no/such.yaml"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr == "lstm-cli: error: no/such.yaml: no such file\n"
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("args", [["--help"], ["summary", "--units", "3", "--features", "2"]])
def test_help_and_summary_from_flags_import_neither_numpy_nor_yaml(args: list[str]) -> None:
    """Issue #7: start-up pays only for what it uses. `python -X importtime` lists every module imported."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "lstm_cli", *args], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    assert "lstm_cli.cli" in imported  # the listing is real
    assert not imported & {"numpy", "yaml", "pydantic"}


def test_a_missing_config_named_like_an_example_says_how_to_get_it(tmp_path: Path) -> None:
    # `configs/seed.yaml` outside the repository (or `seed` alone): the examples ship in the package.
    for given in ("seed", "configs/seed.yaml"):
        run = run_cli("forward", str(tmp_path / given))
        assert (run.exit_code, run.stdout) == (2, "")
        assert run.stderr == (
            f"lstm-cli: error: {tmp_path / given}: no such file; 'seed' is a built-in example, which "
            "`lstm-cli init --example seed -o seed.yaml` writes\n"
        )
    assert run_cli("summary", str(tmp_path / "nope.yaml")).stderr.endswith("nope.yaml: no such file\n")
