"""The README's "Why do my two models differ?": its Keras model and PyTorch port run as written, and each
`lstm-cli compare` line after them does what its comment says."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shlex
from pathlib import Path

import pytest
from conftest import ROOT, run_cli

pytestmark = pytest.mark.slow  # an oracle: a real Keras model against a real PyTorch port

SECTION = re.search(
    r"^## Why do my two models differ\?\n(.*?)^## ",
    (ROOT / "README.md").read_text(encoding="utf-8"),
    re.S | re.M,
)


def _block(fence: str) -> str:
    assert SECTION is not None, "README.md has no '## Why do my two models differ?' section"
    (block,) = re.findall(rf"```{fence}\n(.*?)```", SECTION.group(1), re.S)
    return str(block)


def test_the_keras_model_and_its_pytorch_port_are_compared_as_the_readme_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keras = pytest.importorskip("keras")
    pytest.importorskip("h5py")
    pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)
    keras.backend.clear_session()
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(_block("py"), "README.md", "exec"), {"__name__": "readme"})
    commands = [shlex.split(line.split("  #")[0])[1:] for line in _block("bash").splitlines() if line.strip()]
    explain, fix, fixed, numbers = (run_cli(*argv) for argv in commands)
    assert explain.exit_code == 1, explain.stderr
    assert "In layer 'lstm', B adds the bias twice" in explain.stdout
    assert (
        "Layers matched (A = B):\n  lstm = lstm  (LSTM, 4 units)\n  dense = linear  (Dense, 1 units)"
        in explain.stdout
    )
    assert fix.exit_code == 1 and Path("fixed.pt").exists()
    assert fixed.exit_code == 0 and "A and B agree" in fixed.stdout
    assert numbers.exit_code == 1
    document = json.loads(run_cli(*commands[3], "--format", "json").stdout)
    assert document["diagnosis"][0]["hypothesis"] == "bias:twice" and document["diagnosis"][0]["agrees"]
    assert document["layers"] == []  # B as numbers: only its output is known
