"""`backward --explain`: every gradient's chain rule with its numbers. Each line's substituted arithmetic is
evaluated and must give the value the line ends with, to the printed precision, for every variant, masking,
a bidirectional layer and a softmax; the seed's story is golden, and the JSON agrees with the stories."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
from conftest import assert_golden, run_cli

from lstm_cli.backprop import run_backward
from lstm_cli.backprop.explain import ChainStep, explain_inputs_backward, explain_unit_backward
from lstm_cli.config import load_model
from lstm_cli.engine import stacked_steps
from lstm_cli.text import format_number

NUMBERS_ONLY = re.compile(r"^[0-9.eE+\-*() ]+$")


def _weights(rng: np.random.Generator, features: int, units: int, rows: int) -> dict[str, Any]:
    return {
        "kernel": rng.uniform(-0.9, 0.9, (features, 4 * units)).tolist(),
        "recurrent_kernel": rng.uniform(-0.9, 0.9, (rows, 4 * units)).tolist(),
        "bias": rng.uniform(-0.5, 0.5, 4 * units).tolist(),
    }


def story_config(
    options: dict[str, Any], *, masked: bool = False, bidirectional: bool = False
) -> dict[str, Any]:
    """input (2, 3, 2) → [masking] → lstm or bidirectional (2 units, `options`) → mse on its sequence."""
    rng = np.random.default_rng(7)
    units, features = 2, 2
    x = rng.normal(0, 1.2, (2, 3, features))
    layers: list[dict[str, Any]] = []
    if masked:
        x[0, 1] = 0.0  # a masked middle step
        x[1, 2] = 0.0  # and a masked last one
        layers.append({"type": "masking"})
    options = dict(options)
    proj = options.pop("proj", None)
    rows = proj or units
    recurrent: dict[str, Any] = {"units": units, "return_sequences": True, "return_state": True, **options}
    if bidirectional:
        recurrent |= {"type": "bidirectional", "name": "bi"}
        recurrent |= {half: _weights(rng, features, units, rows) for half in ("forward", "backward")}
    else:
        recurrent |= {"type": "lstm", "name": "lstm", **_weights(rng, features, units, rows)}
    if proj is not None:
        recurrent["projection"] = {"kernel": rng.uniform(-0.8, 0.8, (units, proj)).tolist()}
    layers.append(recurrent)
    width = (2 if bidirectional else 1) * rows
    target = rng.normal(0, 1, (2, 3, width)).tolist()
    output = "bi" if bidirectional else "lstm"
    return {
        "input": x.tolist(),
        "layers": layers,
        "loss": {"type": "mse", "output": output, "target": target},
    }


STORIES = {
    "plain": ({}, {}),
    "masked": ({}, {"masked": True}),
    "bidirectional-masked": ({}, {"masked": True, "bidirectional": True}),
    "softmax-and-relu": ({"activation": "softmax", "output_activation": "relu"}, {}),
    "log-softmax-gates": ({"recurrent_activation": "log_softmax"}, {}),
    "peepholes": ({"peepholes": {"i": [0.3, -0.2], "f": [-0.4, 0.1], "o": [0.25, 0.6]}}, {"masked": True}),
    "cell-clip": ({"cell_clip": 0.3}, {}),
    "activation-clip": ({"activation_clip": 0.4}, {}),
    "forget-bias-input-forget": ({"forget_bias": 1.0, "input_forget": True}, {}),
    "output-activation": ({"output_activation": "softsign"}, {}),
    "projection-clip": ({"proj": 1, "proj_clip": 0.1}, {}),
    "everything": (
        {
            "forget_bias": 0.5,
            "peepholes": {"i": [0.3, -0.2], "o": [0.25, 0.6]},
            "cell_clip": 0.5,
            "activation_clip": 0.7,
            "output_activation": "sigmoid",
            "proj": 1,
            "proj_clip": 0.2,
        },
        {},
    ),
}


def story_lines(config: dict[str, Any], places: int) -> list[str]:
    """Every line of every step's story, of every sample and unit."""
    model = load_model(config, dtype="float64")
    result = run_backward(model, record=True)

    def number(value: float) -> str:
        return format_number(value, places)

    lines = []
    for cell in result.cells:
        table = cell.gradients.table
        assert table is not None
        steps = stacked_steps(cell.forward.steps)
        for k in range(len(steps.z)):
            for b in range(steps.z.shape[1]):
                step = ChainStep(cell.forward.layer, cell.forward.weights, steps, table, k, b, number)
                for u in range(cell.forward.layer.units):
                    lines += [line.text for line in explain_unit_backward(step, u)]
                rows = range(table.dh.shape[-1])
                lines += [line.text for line in explain_inputs_backward(step, rows)]
    return lines


def top_level_parts(text: str) -> list[str]:
    """`text` split at each " = " outside parentheses (a note or a long dot product holds its own)."""
    parts, depth, start = [], 0, 0
    for position, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and text.startswith(" = ", position):
            parts.append(text[start:position])
            start = position + 3
    return [*parts, text[start:]]


def arithmetic_errors(line: str, places: int) -> tuple[int, list[str]]:
    """How many parts of `line` are numbers alone, and those that do not evaluate to the value it ends
    with, within the rounding of the numbers they are written with."""
    parts = top_level_parts(line)
    shown = float(parts[-1].split(" (")[0])
    evaluated, wrong = 0, []
    for part in parts[1:-1]:
        expression = part.replace("·", "*").replace("−", "-")
        if "…" in expression or not NUMBERS_ONLY.match(expression):
            continue  # a formula, or a long dot product shortened
        numbers = [abs(float(n)) for n in re.findall(r"\d+(?:\.\d+)?(?:e[+-]\d+)?", expression)]
        # each number is rounded by half a unit in its last place; a term multiplies up to three of them
        tolerance = 10.0**-places * (1 + len(numbers) * max(1.0, *numbers) ** 2)
        evaluated += 1
        if abs(eval(expression) - shown) > tolerance:  # digits and operators only
            wrong.append(f"{line}  [{part} evaluates to {eval(expression)!r}]")
    return evaluated, wrong


@pytest.mark.parametrize("places", [4, 12])
@pytest.mark.parametrize("name", list(STORIES))
def test_every_storys_arithmetic_gives_the_value_it_shows(name: str, places: int) -> None:
    options, shape = STORIES[name]
    lines = story_lines(story_config(options, **shape), places)
    wrong, without = [], []
    for line in lines:
        evaluated, errors = arithmetic_errors(line, places)
        wrong += errors
        arithmetic_free = "(masked" in line or "with no z_f of its own" in line
        if not evaluated and not arithmetic_free:
            without.append(line)
    assert not wrong, "\n".join(wrong[:5])
    assert not without, "\n".join(without[:5])


@pytest.mark.parametrize(
    "name", ["peepholes", "cell-clip", "activation-clip", "projection-clip", "everything"]
)
def test_the_variants_terms_are_written_where_they_enter(name: str) -> None:
    options, shape = STORIES[name]
    text = "\n".join(story_lines(story_config(options, **shape), 4))
    if "peepholes" in options:
        assert "dz_o[0]·p_o[0]" in text and "dz_i[1]·p_i[1]" in text
    if "cell_clip" in options:
        assert "dc_in[0] = dc[0]·[|f[0]·c_prev[0] + i[0]·g[0]| ≤" in text
    if "activation_clip" in options:
        assert (
            "·[|z_i[0]| ≤" in text and f"(clip(c[0], ±{format_number(options['activation_clip'])}))" in text
        )
    if "proj" in options:
        assert "(c)) @ projection| ≤" in text and "dm[1] = (dh where |(o·" in text


def test_input_forget_and_forget_bias_are_said() -> None:
    text = "\n".join(story_lines(story_config(STORIES["forget-bias-input-forget"][0]), 4))
    assert "di[0] = dc[0]·g[0] − dc[0]·c_prev[0] = " in text
    assert "dz_f[0] = 0 (input_forget: f is 1 − i, with no z_f of its own; df reached z_i through di)" in text


def test_a_masked_row_passes_its_gradients_back_unchanged() -> None:
    lines = story_lines(story_config({}, masked=True), 12)
    assert any(re.match(r"dh\[0\] = 0 \(masked: its h is not used\)", line) for line in lines)
    assert any(line.startswith("dc_prev[1] = dc_prev_next[1] = ") and "(masked" in line for line in lines)
    assert any(line.startswith("dh_prev[0] = dh_state[0] = ") and "(masked" in line for line in lines)


def test_the_seeds_story_golden() -> None:
    run = run_cli("backward", "configs/seed-backward.yaml", "--explain")
    assert run.exit_code == 0, run.stderr
    assert_golden("backward-seed-explain.txt", run.stdout)


def test_a_later_steps_dc_next_and_f_next_are_its_own() -> None:
    """dc = dh·o·tanh'(c) + dc_next·f_next, with dc_next and f_next the numbers of step t+1."""
    run = run_cli("backward", "configs/stacked.yaml", "--loss", "sum", "--explain", "--precision", "6")
    assert run.exit_code == 0, run.stderr
    assert "dc_next[0]·f_next[0]" in run.stdout and "(1 − tanh(c[0])²)" in run.stdout
