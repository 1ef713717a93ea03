"""`forward --save-lstmvis DIR`: the files read back with h5py and YAML, checked against the layout that
LSTMVis's lstmdata/data_handler.py reads (dataset names, shapes, dtypes, the dict's `word id` lines)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from tests.conftest import CONFIGS, ROOT, run_cli

BIDIRECTIONAL = str(CONFIGS / "bidirectional-masking.yaml")
SEQ2SEQ = str(CONFIGS / "seq2seq.yaml")


def export(config: str, directory: Path, *extra: str) -> Any:
    result = run_cli("forward", config, "--save-lstmvis", str(directory), "--format", "json", *extra)
    assert result.exit_code == 0, result.stderr
    return result


def read_dict(path: Path) -> dict[int, str]:
    """As data_handler reads it: each line split on whitespace into exactly a word and an id."""
    words = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        word, index = line.split()
        words[int(index)] = word
    return words


def traced_states(config: str, layer: str, direction: str, quantity: str) -> np.ndarray:
    """(batch * timesteps, units) from `trace --format json`, each sample's steps in input order."""
    document = json.loads(run_cli("trace", config, "--format", "json").stdout)
    (entry,) = [e for e in document["layers"] if (e["name"], e["direction"]) == (layer, direction)]
    by_t = {step["t"]: np.array(step[quantity]) for step in entry["steps"]}  # each (batch, units)
    stacked = np.stack([by_t[t] for t in sorted(by_t)], axis=1)  # (batch, timesteps, units)
    return stacked.reshape(-1, stacked.shape[-1])


def test_the_project_files_as_lstmvis_reads_them(tmp_path: Path) -> None:
    h5py = pytest.importorskip("h5py")
    project = tmp_path / "bi"
    result = export(BIDIRECTIONAL, project)
    assert sorted(path.name for path in project.iterdir()) == [
        "lstm.yml",
        "states.h5",
        "words.dict",
        "words.h5",
    ]
    assert result.stderr.splitlines() == [
        f"lstm-cli: wrote {project / name}" for name in ("lstm.yml", "states.h5", "words.h5", "words.dict")
    ]
    config = yaml.safe_load((project / "lstm.yml").read_text())
    assert config["name"] == "bidirectional-masking"
    assert config["files"] == {"states": "states.h5", "word_ids": "words.h5", "words": "words.dict"}
    assert config["word_sequence"] == {"file": "word_ids", "path": "word_ids", "dict_file": "words"}
    assert config["states"]["file"] == "states"
    assert config["states"]["types"] == [
        {"type": "state", "layer": 1, "path": "states1"},
        {"type": "output", "layer": 1, "path": "output1", "transform": "none"},  # h under tanh: in [-1, 1]
        {"type": "state", "layer": 1, "path": "states1_backward"},
        {"type": "output", "layer": 1, "path": "output1_backward", "transform": "none"},
    ]
    with h5py.File(project / "states.h5", "r") as states:
        assert sorted(states) == ["output1", "output1_backward", "states1", "states1_backward"]
        for name in states:
            assert (states[name].shape, states[name].dtype) == ((8, 2), np.float32)  # 2 samples x 4 steps
        # positions are sample 0's steps, then sample 1's, in input order: the backward half too
        for path, direction, quantity in (("output1", "forward", "h"), ("states1_backward", "backward", "c")):
            expected = traced_states(BIDIRECTIONAL, "encoder", direction, quantity).astype(np.float32)
            assert np.array_equal(states[path][:], expected), path
    with h5py.File(project / "words.h5", "r") as words:
        assert (words["word_ids"].shape, words["word_ids"].dtype) == ((8,), np.int64)
        ids = words["word_ids"][:].tolist()
    words_by_id = read_dict(project / "words.dict")
    # numbers, not tokens: each step is its t; the masked steps (sample 0's last, sample 1's first two)
    assert [words_by_id[i] for i in ids] == ["t0", "t1", "t2", "<masked>", "<masked>", "<masked>", "t2", "t3"]


def test_tokens_are_the_words_and_keep_their_vocab_ids(tmp_path: Path) -> None:
    h5py = pytest.importorskip("h5py")
    result = export(SEQ2SEQ, tmp_path / "s2s")
    # the decoder reads another sequence, which LSTMVis cannot show beside the encoder's
    assert result.stderr.splitlines()[0] == (
        "lstm-cli: note: --save-lstmvis: LSTMVis shows one word sequence per project; layer 'decoder_lstm' "
        "reads 'decoder_inputs', not 'encoder_inputs', and is left out"
    )
    words_by_id = read_dict(tmp_path / "s2s" / "words.dict")
    assert words_by_id == {0: "<s>", 1: "</s>", 2: "a", 3: "b", 4: "c", 5: "d"}
    with h5py.File(tmp_path / "s2s" / "words.h5", "r") as words:
        assert words["word_ids"][:].tolist() == [2, 3, 4, 5]  # "abcd"
    with h5py.File(tmp_path / "s2s" / "states.h5", "r") as states:
        assert sorted(states) == ["output1", "states1"]
        assert states["states1"].shape == (4, 4)


def test_a_word_holds_no_whitespace(tmp_path: Path) -> None:
    pytest.importorskip("h5py")
    config = tmp_path / "spaces.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "vocab": ["a b", " ", "c"],
                "input": [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0]],  # the last row is no token
                "layers": [
                    {
                        "type": "lstm",
                        "units": 1,
                        "kernel": np.full((3, 4), 0.5).tolist(),
                        "recurrent_kernel": [[0.1] * 4],
                        "use_bias": False,
                    }
                ],
            }
        )
    )
    export(str(config), tmp_path / "out")
    lines = (tmp_path / "out" / "words.dict").read_text(encoding="utf-8").splitlines()
    assert lines == ["'a\\u0020b' 0", "'\\u0020' 1", "c 2", "<none> 3"]


def test_without_h5py_the_export_names_the_extra(tmp_path: Path) -> None:
    script = (
        "import sys; sys.modules['h5py'] = None; sys.argv = ['lstm-cli', 'forward', "
        f"{BIDIRECTIONAL!r}, '--save-lstmvis', {str(tmp_path / 'lv')!r}]\n"
        "from lstm_cli.cli import main; main()"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 2
    assert result.stderr == (
        "lstm-cli: error: --save-lstmvis needs h5py, which is not installed; install it with: "
        "pip install h5py (lstm-cli's keras extra)\n"
    )
    assert result.stdout == ""
    assert not (tmp_path / "lv").exists()


def test_the_folder_above_must_exist(tmp_path: Path) -> None:
    pytest.importorskip("h5py")
    target = tmp_path / "no" / "lv"
    result = run_cli("forward", BIDIRECTIONAL, "--save-lstmvis", str(target))
    assert (result.exit_code, result.stderr) == (
        2,
        f"lstm-cli: error: --save-lstmvis {target}: the folder {target.parent} does not exist\n",
    )
