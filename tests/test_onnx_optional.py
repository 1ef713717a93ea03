"""Without the onnx package, .onnx files in and out name the extra that installs it (no onnx needed here)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import CONFIGS, run_cli


def test_without_onnx_the_error_names_the_install_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)
    (tmp_path / "m.onnx").write_bytes(b"\x08\x09\x12\x07pytorch")
    read = run_cli("forward", str(tmp_path / "m.onnx"))
    assert (read.exit_code, read.stderr) == (
        2,
        "lstm-cli: error: reading ONNX files needs onnx, which is not installed; install it with: "
        "pip install onnx (lstm-cli's onnx extra)\n",
    )
    written = run_cli("convert", str(CONFIGS / "seed.yaml"), "-o", str(tmp_path / "seed.onnx"))
    assert (written.exit_code, written.stderr) == (
        2,
        "lstm-cli: error: writing ONNX files needs onnx, which is not installed; install it with: "
        "pip install onnx (lstm-cli's onnx extra)\n",
    )
    assert not (tmp_path / "seed.onnx").exists()
