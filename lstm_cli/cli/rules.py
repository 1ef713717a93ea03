"""The rules that span several options, in one table (`RULES`), and `check`, which applies them.

Typer checks each option alone: its type, its range, its choices. What depends on another option is
written here, once: which formats an option applies to, which options cannot go together, and which
need another. `check` runs before a command reads or computes anything, so no command checks its own
options again; a new command is held to the rules by declaring its options under the same names.

An option is named as users write it: `--step`; `--view heatmap` for --view given that word (an option
given any word is named with it too); an argument by its metavar, CONFIG. A command's --format is its
`output_format` parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple, TypeAlias

from lstm_cli.errors import LstmCliError

if TYPE_CHECKING:
    import typer
    from typer._click.core import Parameter  # Typer's own click, which it does not re-export


class Given(NamedTuple):
    """What one command line gave, named as above, and what its command offers."""

    command: str
    options: frozenset[str]
    offered: frozenset[str]  # every option and argument the command has, given or not
    output_format: str | None  # None for a command without --format

    def among(self, names: Sequence[str]) -> list[str]:
        """The names given, in the order listed."""
        return [name for name in names if name in self.options]

    def within(self, commands: Sequence[str]) -> bool:
        """Whether a rule for `commands` (every command, if none are named) holds here."""
        return not commands or self.command in commands


class Formats(NamedTuple):
    """`option` applies to `formats` alone; with another --format it is refused, saying what it `does`."""

    option: str
    formats: tuple[str, ...]
    does: str  # "shows the table format"
    commands: tuple[str, ...] = ()

    def error(self, given: Given) -> str | None:
        if self.option not in given.options or given.output_format in (None, *self.formats):
            return None
        if not given.within(self.commands):
            return None
        return f"{self.option} {self.does}; it does not apply to --format {given.output_format}"


class Conflict(NamedTuple):
    """`option` cannot go with any of `others`. The message names {other}, the first of them given (in the
    order listed), or {others}, all of them."""

    option: str
    others: tuple[str, ...]
    message: str
    commands: tuple[str, ...] = ()

    def error(self, given: Given) -> str | None:
        clash = given.among(self.others)
        if self.option not in given.options or not clash or not given.within(self.commands):
            return None
        return self.message.format(other=clash[0], others=", ".join(clash))


class Needs(NamedTuple):
    """Each of `options` needs `needed`, in the commands named or else wherever `needed` is offered. The
    message names {option}, the first of them given."""

    options: tuple[str, ...]
    needed: str
    message: str
    commands: tuple[str, ...] = ()

    def error(self, given: Given) -> str | None:
        lacking = given.among(self.options)
        applies = given.within(self.commands) if self.commands else self.needed in given.offered
        if not lacking or not applies or self.needed in given.options:
            return None
        return self.message.format(option=lacking[0])


Rule: TypeAlias = Formats | Conflict | Needs

TABLE = ("table",)
# How a model file is read, and the data given beside it: they go with a CONFIG or model file.
SOURCE = ("--input", "--time-major", "--batch-first", "--config", "--prefix")
# Flags that describe a model to `summary` in place of a CONFIG.
MODEL_FLAGS = ("--units", "--features", "--timesteps", "--return-sequences", "--bidirectional", "--dense")
# What `init` makes a config from; --example writes a built-in one as it is.
INIT_MODEL = (
    "--units",
    "--features",
    "--timesteps",
    "--batch",
    "--return-sequences",
    "--dense",
    "--seed",
    "--init",
    "--precision",
)

# Checked in this order; the first rule broken is the error. A rule with no commands named holds in every
# command that has its options (and only there can they be given).
RULES: tuple[Rule, ...] = (
    # which formats an option applies to
    Formats("--step", TABLE, "shows the table format"),
    Formats("--explain", TABLE, "shows the table format"),
    Formats("--view heatmap", TABLE, "shows the table format"),
    Formats("--trace", TABLE, "shows the table format"),
    Formats("--style legacy", TABLE, "belongs to the table format"),
    Formats("--detail", ("table", "json"), "belongs to the table format"),  # json carries the detail too
    Formats("--save-svg", TABLE, "saves the table view"),
    Needs(("--force",), "--fix", "--force overwrites the --fix FILE; give --fix FILE", ("compare",)),
    Formats("--save-html", TABLE, "saves the table view"),
    Formats("--check", ("table", "json"), "adds a table (and json's `check`)", ("backward",)),
    # what cannot go together, and what needs what
    Conflict("--view heatmap", ("--step", "--explain"), "{other} shows the table view, not --view heatmap"),
    Conflict(
        "CONFIG",
        MODEL_FLAGS,
        "give a CONFIG or flags that describe a model ({others}), not both",
        ("summary",),
    ),
    Conflict(
        "--units", SOURCE, "{other} goes with a CONFIG or model file, not flags; name one", ("summary",)
    ),
    Needs(("--units",), "--features", "--units needs --features F, the input's width", ("summary",)),
    Needs(
        MODEL_FLAGS[1:],
        "--units",
        "{option} describes a model together with --units N (or give a CONFIG)",
        ("summary",),
    ),
    Needs(SOURCE, "CONFIG", "{option} goes with a CONFIG or model file, not the built-in example; name one"),
    Needs(("--sgd",), "--output", "--sgd writes the config after one step: give -o FILE", ("backward",)),
    Needs(("--output",), "--sgd", "-o FILE is where --sgd writes; give --sgd LR", ("backward",)),
    Needs(("--force",), "--sgd", "--force overwrites the --sgd FILE; give --sgd LR -o FILE", ("backward",)),
    Needs(("--target",), "--loss", "--target goes with --loss TYPE", ("backward",)),
    Needs(("--from-logits",), "--loss", "--from-logits goes with --loss TYPE", ("backward",)),
    Conflict(
        "--time-major", ("--batch-first",), "--time-major and --batch-first contradict each other; give one"
    ),
    Conflict(
        "--example", INIT_MODEL, "--example writes a built-in example as it is; drop {others}", ("init",)
    ),
    Conflict(
        "--example list",
        ("--output", "--force"),
        "--example list prints the examples' names; drop -o and --force",
        ("init",),
    ),
)


def check(ctx: typer.Context) -> None:
    """Refuse the first rule in RULES that the command line breaks."""
    given = given_in(ctx)
    for rule in RULES:
        message = rule.error(given)
        if message is not None:
            raise LstmCliError(message)


def given_in(ctx: typer.Context) -> Given:
    """The options set on the command line (not left at their defaults), named as users write them."""
    options: set[str] = set()
    offered: set[str] = set()
    for param in ctx.command.params:
        if param.name is None:
            continue
        name = written(param)
        offered.add(name)
        source = ctx.get_parameter_source(param.name)
        if source is not None and source.name == "COMMANDLINE":
            options.add(name)
            value = ctx.params.get(param.name)
            if isinstance(value, str):  # --view heatmap, --format json, --example list
                options.add(f"{name} {value}")
    output_format = ctx.params.get("output_format")
    return Given(
        ctx.command.name or "",
        frozenset(options),
        frozenset(offered),
        None if output_format is None else str(output_format),
    )


def written(param: Parameter) -> str:
    """How users write a parameter: an option by its long name (--format for -f), an argument by its
    metavar (CONFIG)."""
    if param.param_type_name == "argument":
        return param.human_readable_name
    return next((opt for opt in param.opts if opt.startswith("--")), param.opts[0])
