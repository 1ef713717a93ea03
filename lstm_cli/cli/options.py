"""The options more than one command takes, declared once: their names, types, metavars and help.

Declarations only. The rules between options (what applies to which format, what conflicts) are in
rules.py; what an option does is in the bodies that read it.
"""

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

# -- choices -------------------------------------------------------------------------------------------


class Format(StrEnum):
    table = "table"
    json = "json"
    yaml = "yaml"
    csv = "csv"


class TableJsonCsv(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


class TableJson(StrEnum):
    table = "table"
    json = "json"


class DType(StrEnum):
    float32 = "float32"
    float64 = "float64"


class View(StrEnum):
    table = "table"
    heatmap = "heatmap"


class PlotKind(StrEnum):
    lines = "lines"
    heatmap = "heatmap"


class SummaryStyle(StrEnum):
    keras = "keras"
    legacy = "legacy"


class InitScheme(StrEnum):
    keras = "keras"
    pytorch = "pytorch"


def _format_option(choices: type[StrEnum]) -> Any:
    """--format/-f. Its help lists the choices ('table, json or csv'), so that FORMAT keeps help short."""
    names = [choice.value for choice in choices]
    help_text = f"Output format: {', '.join(names[:-1])} or {names[-1]}."
    return typer.Option("--format", "-f", metavar="FORMAT", help=help_text)


FormatOption = Annotated[Format, _format_option(Format)]
TableJsonCsvOption = Annotated[TableJsonCsv, _format_option(TableJsonCsv)]
TableJsonOption = Annotated[TableJson, _format_option(TableJson)]

# -- the model file, and the data given beside it --------------------------------------------------------

ConfigArgument = Annotated[
    Path | None,
    typer.Argument(
        metavar="CONFIG",
        help="YAML config or model file; without it, the `seed` example runs.",
        show_default=False,
    ),
]
InputOption = Annotated[
    list[str] | None,
    typer.Option(
        "--input", metavar="[NAME=]FILE", help="Input data: .npy, .npz:KEY, .csv or .tsv; repeatable."
    ),
]
TimeMajorOption = Annotated[
    bool, typer.Option("--time-major", help="--input arrays are (timesteps, batch, features).")
]
BatchFirstOption = Annotated[
    bool, typer.Option("--batch-first", help="--input arrays are (batch, timesteps, features).")
]
ArchitectureOption = Annotated[
    Path | None,
    typer.Option(
        "--config", metavar="ARCH.yaml", help="Architecture of a weights file: .weights.h5, .npz, .pt."
    ),
]
PrefixOption = Annotated[
    str | None,
    typer.Option(
        metavar="NAME",
        help="A state_dict's module, read or written: rnn for rnn.weight_ih_l0.",
    ),
]
DTypeOption = Annotated[
    DType | None,
    typer.Option(metavar="DTYPE", help="float32 or float64; overrides the config's dtype."),
]

# -- what is shown --------------------------------------------------------------------------------------

PrecisionOption = Annotated[
    int | None,
    typer.Option(
        metavar="N", min=0, max=17, help="Decimal places shown (default: 4 in tables, every digit otherwise)."
    ),
]
SaveSvgOption = Annotated[
    Path | None,
    typer.Option(
        "--save-svg", metavar="FILE", dir_okay=False, help="Also save what is shown, in colour, as SVG."
    ),
]
SaveHtmlOption = Annotated[
    Path | None,
    typer.Option(
        "--save-html", metavar="FILE", dir_okay=False, help="Also save what is shown as an HTML page."
    ),
]
SaveLstmvisOption = Annotated[
    Path | None,
    typer.Option(
        "--save-lstmvis",
        metavar="DIR",
        file_okay=False,
        help="Also write the states as an LSTMVis project (lstm.yml, .h5, .dict).",
    ),
]
DebugOption = Annotated[bool, typer.Option("--debug", help="Show the traceback of an error.")]

# -- which steps a trace shows ---------------------------------------------------------------------------

TimestepOption = Annotated[
    list[str] | None,
    typer.Option(metavar="T", help="Only timestep T (3, -1) or a range (2:5 is 2, 3, 4); repeatable."),
]
LayerOption = Annotated[
    list[str] | None, typer.Option(metavar="NAME", help="Only this LSTM layer; repeatable.")
]
SampleOption = Annotated[
    list[int] | None, typer.Option(metavar="B", min=0, help="Only sample B of the batch; repeatable.")
]
UnitRangeOption = Annotated[
    str | None, typer.Option(metavar="A:B", help="The units to show: a range such as 0:8, or one unit.")
]
ExplainOption = Annotated[
    bool, typer.Option("--explain", help="Write out each value's arithmetic with its numbers.")
]

# -- a model described by flags (summary, init) ----------------------------------------------------------

UnitsOption = Annotated[
    list[int] | None,
    typer.Option(
        "--units", metavar="N", min=1, max=65_536, help="An LSTM layer of N units; repeat to stack layers."
    ),
]
DenseOption = Annotated[
    list[int] | None,
    typer.Option(
        "--dense",
        metavar="N",
        min=1,
        max=65_536,
        help="A Dense layer of N units after the LSTMs; repeatable.",
    ),
]
ReturnSequencesOption = Annotated[
    bool, typer.Option("--return-sequences", help="The last LSTM layer returns its whole sequence.")
]
