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


def test_debug_shows_the_traceback_and_keeps_the_exit_code() -> None:
    run = run_cli("forward", "no/such.yaml", "--debug")
    assert run.exit_code == 2  # a bare re-raise exited 1, which means that values under expect: differ
    assert run.stderr.startswith("Traceback (most recent call last):\n")
    assert run.stderr.endswith("lstm_cli.errors.LstmCliError: no/such.yaml: no such file\n")


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


# -- the layout: one command built at a time, one table of option rules ------------------------------------


@pytest.mark.parametrize("name", COMMANDS)
def test_the_app_built_for_one_command_shows_the_same_help(name: str) -> None:
    """`main` builds only the command being run; what it shows is what the whole app shows."""
    from typer.testing import CliRunner

    from lstm_cli.cli import app_for

    alone = app_for([name, "--help"])
    assert alone is not app and [command.callback for command in alone.registered_commands] == [
        command.callback
        for command in app.registered_commands
        if command.callback.__name__ == name  # type: ignore[union-attr]
    ]
    environment = {"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"}
    shown = CliRunner().invoke(alone, [name, "--help"], env=environment)
    assert (shown.exit_code, shown.stdout) == (0, run_cli(name, "--help").stdout)


@pytest.mark.parametrize("args", [[], ["--help"], ["--version"], ["forwad"], ["-h", "forward"]])
def test_anything_but_a_command_name_gets_the_whole_app(args: list[str]) -> None:
    from lstm_cli.cli import app_for

    assert app_for(args) is app


def test_every_option_a_rule_names_is_one_a_command_has() -> None:
    """A rule over an option that was renamed would never fire: RULES must name options as declared."""
    from typer.main import get_command

    from lstm_cli.cli.rules import RULES, Conflict, Formats, written

    group = get_command(app)
    offered = {
        name: {written(param) for param in command.params}
        for name, command in group.commands.items()  # type: ignore[attr-defined]
    }
    for rule in RULES:
        if isinstance(rule, Formats):
            names = [rule.option]
        elif isinstance(rule, Conflict):
            names = [rule.option, *rule.others]
        else:
            names = [*rule.options, rule.needed]
        commands = rule.commands or list(offered)
        for name in names:
            option = name.split(" ")[0]  # `--view heatmap` is --view given heatmap
            assert any(option in offered[command] for command in commands), (rule, option)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["forward", "-f", "json", "--save-html", "x.html"], "--save-html saves the table view"),
        (["trace", "-f", "csv", "--explain"], "--explain shows the table format"),
        (
            ["decode", "seq2seq.yaml", "--feed", "x", "--start", "a", "-f", "json", "--trace"],
            "--trace shows the table format",
        ),
        (
            ["summary", "--units", "3", "--features", "2", "--detail", "-f", "csv"],
            "--detail belongs to the table format",
        ),
    ],
)
def test_an_option_for_the_table_alone_is_refused_in_one_sentence(args: list[str], message: str) -> None:
    run = run_cli(*args)
    output_format = args[args.index("-f") + 1]
    assert (run.exit_code, run.stdout) == (2, "")
    assert run.stderr == f"lstm-cli: error: {message}; it does not apply to --format {output_format}\n"


def test_the_startup_benchmark_runs() -> None:
    """benchmarks/startup.py at one pair: a smoke test, no timing is asserted."""
    import importlib.util

    from conftest import ROOT

    spec = importlib.util.spec_from_file_location("startup", ROOT / "benchmarks" / "startup.py")
    assert spec is not None and spec.loader is not None
    startup = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(startup)
    result = startup.measure("source", 1, importtime_runs=1)
    assert result["command_ms"] > 0 and result["floor_ms"] > 0 and result["ratio"] > 0
    assert result["lstm_cli_self_ms"] > 0  # the importtime listing names lstm-cli's modules
    assert "ratio" in startup.report("source", result)
