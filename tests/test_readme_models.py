"""The README's "From your own model": its Keras and PyTorch snippets run as written, every `lstm-cli` line
after them works on the files they save, and the numbers equal the frameworks' own."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shlex
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, run_cli

pytestmark = pytest.mark.slow  # an oracle: the README's Keras and PyTorch models, built and run

SECTION = re.search(
    r"^## From your own model\n(.*?)^## ", (ROOT / "README.md").read_text(encoding="utf-8"), re.S | re.M
)


def _blocks(fence: str) -> list[str]:
    assert SECTION is not None, "README.md has no '## From your own model' section"
    return re.findall(rf"```{fence}\n(.*?)```", SECTION.group(1), re.S)


def _commands(block: str) -> list[list[str]]:
    """The `lstm-cli ...` lines of a bash block, comments left out."""
    lines = [line.split("  #")[0].strip() for line in block.splitlines()]
    return [shlex.split(line)[1:] for line in lines if line.startswith("lstm-cli ")]


def _run_snippet(code: str) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(code, "README.md", "exec"), {"__name__": "readme"})


def test_the_section_shows_a_keras_and_a_pytorch_model_each_with_its_commands() -> None:
    snippets, commands = _blocks("py"), _blocks("bash")
    assert len(snippets) == 2
    assert "model.save(" in snippets[0] and "torch.save(" in snippets[1]
    assert len(commands) == 3  # the install line, then one block per model
    assert all(argv for block in commands[1:] for argv in _commands(block))


def test_the_keras_example_runs_as_written_and_agrees_with_keras(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keras = pytest.importorskip("keras")
    pytest.importorskip("h5py")
    monkeypatch.chdir(tmp_path)
    keras.backend.clear_session()  # Keras names layers by a count per process: the README's start afresh
    _run_snippet(_blocks("py")[0])
    for argv in _commands(_blocks("bash")[1]):
        run = run_cli(*argv)
        assert run.exit_code == 0, (argv, run.stderr)
    model = keras.saving.load_model("imdb.keras")
    expected = keras.ops.convert_to_numpy(model(np.load("ids.npy")))
    run = run_cli("forward", "imdb.keras", "--input", "ids.npy", "--format", "json")
    actual = np.array(json.loads(run.stdout)["outputs"]["dense"])
    assert np.abs(actual - expected).max() <= 1e-6
    assert "dropout (Dropout)" in run_cli("summary", "imdb.keras").stdout


def test_the_pytorch_example_runs_as_written_and_tags_as_the_tutorial_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    torch = pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "readme"}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(_blocks("py")[1], "README.md", "exec"), namespace)
    for argv in _commands(_blocks("bash")[2]):
        run = run_cli(*argv)
        assert run.exit_code == 0, (argv, run.stderr)
    # As the README says: without a layout flag the run refuses; with log_softmax set, the scores agree.
    assert run_cli("forward", "tagger.pt", "--input", "sentence.npy").exit_code == 2
    config = Path("tagger.yaml")
    config.write_text(config.read_text().replace("activation: linear", "activation: log_softmax"))
    run = run_cli("forward", "tagger.yaml", "--format", "json")
    actual = np.array(json.loads(run.stdout)["outputs"]["hidden2tag"])[0]  # (timesteps, tags)
    with torch.no_grad():
        expected = namespace["tagger"](namespace["sentence"]).numpy()  # type: ignore[operator]
    assert np.abs(actual - expected).max() <= 1e-6
