"""The `trace` views: each timestep as a table of units (with `--explain`, every value's arithmetic), the
`expect:` mismatches explained first, and a heatmap of the gates and states over time.

Views are bounded: a long or wide trace shows its first and last steps and the units that fit the width,
says what it left out, and names the option that chooses it. `--format json` or `csv` gives every value.

One renderable a view, each in its own module:

- `view`: TraceView, which composes the others from one run (the whole view, `--step`'s pages, the heatmap);
- `table`: LayerHeading, and TraceTable, one layer's bounded steps;
- `step`: StepPage, one timestep (StepTitle, StepTable and Explanation for each sample), rows given;
- `heatmap`: Heatmap, and the HeatSeries it draws;
- `stories`: Stories, the `expect:` mismatches told;
- `lines`: Indented text and the `Left out:` line, which the others share.
"""

from .view import Page, TraceView

__all__ = ["Page", "TraceView"]
