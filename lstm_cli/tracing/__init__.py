"""`trace` as data: the forward pass one timestep at a time, and the arithmetic of each value
(docs/output.md#trace-json).

Everything here reads the engine's per-step records (`run_model(record=...)`) and never recomputes a step,
so trace and forward cannot disagree. Pure: no printing and no Rich. By job:

- `selection`: what to show (`--layer`, `--timestep`, `--sample`, `--units`), checked against the model;
- `run`: the run with its per-step records, and its JSON document and CSV rows;
- `explain`: the arithmetic of one unit at one step, term by term;
- `stories`: why a value under `expect:` differs, and where a hand calculation parts from the run;
- `ranges`: the ranges activations map onto, and what counts as a saturated gate.
"""

from .explain import Arithmetic, Number, explain_unit
from .ranges import RECURRENT_GATES, SATURATED_ABOVE, SATURATED_BELOW, SIGMOID_LIKE, TANH_LIKE, fixed_range
from .run import QUANTITIES, Block, TraceRun, run_trace, trace_document, trace_rows
from .selection import Chosen, Selection, choose, parse_span
from .stories import Site, Story, explain_mismatches, locate

__all__ = [
    "QUANTITIES",
    "RECURRENT_GATES",
    "SATURATED_ABOVE",
    "SATURATED_BELOW",
    "SIGMOID_LIKE",
    "TANH_LIKE",
    "Arithmetic",
    "Block",
    "Chosen",
    "Number",
    "Selection",
    "Site",
    "Story",
    "TraceRun",
    "choose",
    "explain_mismatches",
    "explain_unit",
    "fixed_range",
    "locate",
    "parse_span",
    "run_trace",
    "trace_document",
    "trace_rows",
]
