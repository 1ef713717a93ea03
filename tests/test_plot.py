"""`lstm-cli plot`: the figure's panels, axes, titles and masked shading, checked on the figure object; one
SVG checked for its structure (not its bytes); and the command without matplotlib."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from lstm_cli.config import load_model
from lstm_cli.plotting import Panel, gate_figure, masked_spans
from lstm_cli.series import run_series, step_tokens_of
from tests.conftest import CONFIGS, ROOT, assert_golden, run_cli

BIDIRECTIONAL = str(CONFIGS / "bidirectional-masking.yaml")
SEQ2SEQ = str(CONFIGS / "seq2seq.yaml")


def figure_of(config: str, quantities: list[str], kind: str = "lines", sample: int = 0, **chosen: Any) -> Any:
    pytest.importorskip("matplotlib")
    model = load_model(config)
    series = run_series(model, samples=(sample,), command="plot", **chosen)
    panels = [Panel(layer, step_tokens_of(model, layer, 0)) for layer in series]
    return gate_figure(panels, quantities, kind, f"{Path(config).name}, sample {sample}")


def spans_shaded(axes: Any) -> list[tuple[float, float]]:
    """The x extent of each hatched patch: the masked steps' shading."""
    return [(patch.get_x(), patch.get_x() + patch.get_width()) for patch in axes.patches if patch.get_hatch()]


def test_one_panel_per_quantity_and_the_halves_side_by_side() -> None:
    figure = figure_of(BIDIRECTIONAL, ["i", "f", "g", "o", "c", "h"])
    grid = [axes for axes in figure.axes if axes.get_label() != "<colorbar>"]
    assert len(grid) == 12  # 6 quantities x 2 halves, row by row
    titles = [axes.get_title(loc="left") for axes in grid]
    assert titles[:4] == [
        "encoder, forward half: input gate i",
        "encoder, backward half: input gate i",
        "encoder, forward half: forget gate f",
        "encoder, backward half: forget gate f",
    ]
    assert titles[-1] == "encoder, backward half: hidden state h"
    assert figure.get_suptitle() == "bidirectional-masking.yaml, sample 0"
    assert [axes.get_ylabel() for axes in grid[::2]] == ["i", "f", "g", "o", "c", "h"]
    assert {axes.get_xlabel() for axes in grid} == {"t"}


def test_gates_on_a_fixed_scale_c_and_h_symmetric() -> None:
    figure = figure_of(BIDIRECTIONAL, ["f", "c"], kind="heatmap")
    images = [image for axes in figure.axes for image in axes.get_images()]
    gate, cell = images[0], images[2]  # forward halves: f, then c
    assert gate.get_clim() == (0.0, 1.0)
    low, high = cell.get_clim()
    assert low == -high and high > 0
    assert gate.get_array().shape == (2, 4)  # units x timesteps


def test_masked_steps_are_shaded_in_both_halves() -> None:
    # sample 1: its first two steps are masked; sample 0: its last
    first, second = figure_of(BIDIRECTIONAL, ["h"], sample=1).axes[:2]
    assert spans_shaded(first) == [(-0.5, 1.5)]
    assert spans_shaded(second) == [(-0.5, 1.5)]  # the backward half on the same time axis, t
    (shaded,) = [patch for patch in first.patches if patch.get_hatch()]
    assert shaded.get_label() == "masked"
    last = figure_of(BIDIRECTIONAL, ["h"], sample=0).axes[0]
    assert spans_shaded(last) == [(2.5, 3.5)]


def test_masked_spans_join_neighbouring_steps() -> None:
    import numpy as np

    ordered = np.arange(6)  # t in input order, as draw_panel sorts it
    assert masked_spans(ordered, np.array([True, True, False, False, True, True])) == [
        (-0.5, 1.5),
        (3.5, 5.5),
    ]
    assert masked_spans(ordered, np.zeros(6, bool)) == []


def test_tokens_on_the_time_axis() -> None:
    figure = figure_of(SEQ2SEQ, ["i"], layers=("decoder_lstm",))
    (axes,) = figure.axes
    assert [label.get_text() for label in axes.get_xticklabels()] == ["<s>", "d", "c", "b", "a"]
    assert axes.get_xlabel() == "t (token)"
    assert axes.get_title(loc="left") == "decoder_lstm: input gate i"


def test_plot_writes_each_format(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    magic = {".png": b"\x89PNG", ".svg": b"<?xml", ".pdf": b"%PDF"}
    for suffix, start in magic.items():
        path = tmp_path / f"gates{suffix}"
        result = run_cli("plot", BIDIRECTIONAL, "--kind", "heatmap", "-o", str(path))
        assert result.exit_code == 0, result.stderr
        assert result.stderr == f"lstm-cli: wrote {path}\n"
        assert path.read_bytes().startswith(start)


def svg_structure(path: Path) -> str:
    """What the SVG holds, without its drawing: per panel its texts (title, axis labels, legend) and how
    many lines and hatched (masked) patches it has. matplotlib writes each text as a comment."""
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True))
    root = ET.parse(path, parser).getroot()
    svg = "{http://www.w3.org/2000/svg}"

    def texts(group: ET.Element) -> list[str]:
        return [str(node.text).strip() for node in group.iter(ET.Comment)]

    def joined(groups: list[ET.Element], separator: str) -> str:
        return separator.join(text for group in groups for text in texts(group))

    (figure,) = [group for group in root.iter(f"{svg}g") if group.get("id") == "figure_1"]
    lines = [
        f"title: {' '.join(texts(child)[0] for child in figure if child.get('id', '').startswith('text_'))}"
    ]
    for group in figure:
        name = group.get("id", "")
        if name.startswith("axes_"):
            children = {child.get("id", ""): child for child in group}
            title = [child for key, child in children.items() if key.startswith("text_")]
            legend = [child for key, child in children.items() if key.startswith("legend_")]
            labels = [
                texts(child)[-1] for key, child in children.items() if key.startswith("matplotlib.axis")
            ]
            patches = {key: child for key, child in children.items() if key.startswith("patch_")}
            hatched = [key for key, child in patches.items() if "url(#h" in ET.tostring(child, "unicode")]
            drawn = [key for key in children if key.startswith("line2d_")]
            lines.append(f"{name}: {joined(title, ' ')} | axes {', '.join(labels)}")
            lines.append(f"  lines {len(drawn)}, hatched {len(hatched)}, legend {joined(legend, ', ')}")
    return "\n".join(lines) + "\n"


def test_golden_svg_structure(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    path = tmp_path / "gates.svg"
    result = run_cli("plot", BIDIRECTIONAL, "--quantity", "f,h", "-o", str(path))
    assert result.exit_code == 0, result.stderr
    assert_golden("plot-bidirectional-f-h.txt", svg_structure(path))


def test_bad_destinations_are_refused_before_anything_runs(tmp_path: Path) -> None:
    jpeg = tmp_path / "gates.jpg"
    result = run_cli("plot", BIDIRECTIONAL, "-o", str(jpeg))
    assert (result.exit_code, result.stderr) == (
        2,
        f"lstm-cli: error: -o {jpeg}: the picture's format is its suffix: .png, .svg or .pdf\n",
    )
    missing = tmp_path / "no" / "gates.png"
    result = run_cli("plot", BIDIRECTIONAL, "-o", str(missing))
    assert result.stderr == f"lstm-cli: error: -o {missing}: the folder {missing.parent} does not exist\n"
    result = run_cli("plot", BIDIRECTIONAL, "--quantity", "f,z", "-o", str(tmp_path / "g.png"))
    assert result.stderr == "lstm-cli: error: --quantity 'z': expected some of i, f, g, o, c, h\n"
    result = run_cli("plot", BIDIRECTIONAL, "--sample", "2", "-o", str(tmp_path / "g.png"))
    assert result.stderr == "lstm-cli: error: --sample 2: out of range; the batch has 2 samples (0 to 1)\n"


def test_without_matplotlib_the_command_names_the_extra(tmp_path: Path) -> None:
    # A subprocess in which matplotlib cannot be imported, whether or not it is installed
    script = (
        "import sys; sys.modules['matplotlib'] = None; sys.argv = ['lstm-cli', 'plot', "
        f"{BIDIRECTIONAL!r}, '-o', {str(tmp_path / 'g.png')!r}]; from lstm_cli.cli import main; main()"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 2
    assert result.stderr == "lstm-cli: error: plot needs matplotlib: pip install 'lstm-cli[plot]'\n"
    assert not (tmp_path / "g.png").exists()


@pytest.mark.slow
def test_start_up_does_not_import_matplotlib() -> None:
    for args in (["--help"], ["plot", "--help"], ["forward", str(CONFIGS / "seed.yaml")]):
        result = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "lstm_cli", *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        assert result.returncode == 0
        imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if "|" in line}
        assert "matplotlib" not in imported and "h5py" not in imported, args


def test_the_readme_shows_the_picture_its_command_makes() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = "lstm-cli plot configs/seq2seq.yaml --layer decoder_lstm -o docs/plot-seq2seq-decoder.png"
    assert command in readme
    assert "](docs/plot-seq2seq-decoder.png)" in readme
    assert (ROOT / "docs" / "plot-seq2seq-decoder.png").read_bytes().startswith(b"\x89PNG")
