"""Oracle: `lstm-cli convert` against `torch.nn.LSTM`, both ways, and the refusal of booby-trapped files.

In: state_dicts saved by torch inside each test (a bare nn.LSTM, or one inside a Module), converted,
run with `lstm_cli.forward` in float32 and compared with torch's `output`, `h_n` and `c_n` under the
documented naming: layer k is `lstm`, `lstm_1`, ... (`bidirectional`, `bidirectional_1`, ...), and
`h_n[k*D + d]` is layer k's `.h` (`.forward.h`, `.backward.h`). Out: configs go to `.pt`, which
`nn.LSTM.load_state_dict` reads, and torch predicts as lstm-cli does.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import ROOT, run_cli

torch = pytest.importorskip("torch")

import lstm_cli  # noqa: E402

pytestmark = pytest.mark.slow  # an oracle: files for torch, loaded by torch

TOLERANCE = 2e-5  # float32 against float32 (see tests/oracle_cases.py)


def assert_close(actual: np.ndarray, expected: Any, what: str) -> None:
    expected = expected.detach().numpy() if isinstance(expected, torch.Tensor) else np.asarray(expected)
    scale = max(1.0, float(np.abs(expected).max()))
    assert actual.shape == expected.shape, what
    np.testing.assert_allclose(actual, expected, rtol=0, atol=TOLERANCE * scale, err_msg=what)


def convert(*args: str) -> str:
    run = run_cli("convert", *args)
    assert run.exit_code == 0, run.stderr
    return run.stderr


def data(seed: int, *shape: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def layer_names(num_layers: int, bidirectional: bool) -> list[str]:
    kind = "bidirectional" if bidirectional else "lstm"
    return [kind if k == 0 else f"{kind}_{k}" for k in range(num_layers)]


@pytest.mark.parametrize(
    ("num_layers", "bidirectional", "bias"),
    [(1, False, True), (2, False, False), (1, True, True), (3, True, False)],
)
def test_nn_lstm_state_dict_converts_and_predicts_as_torch(
    tmp_path: Path, num_layers: int, bidirectional: bool, bias: bool
) -> None:
    torch.manual_seed(num_layers)
    lstm = torch.nn.LSTM(
        3, 4, num_layers=num_layers, bias=bias, bidirectional=bidirectional, batch_first=True
    )
    torch.save(lstm.state_dict(), tmp_path / "lstm.pt")
    x = data(1, 2, 5, 3)
    np.save(tmp_path / "x.npy", x)
    lstm_pt, x_npy = str(tmp_path / "lstm.pt"), str(tmp_path / "x.npy")
    convert(lstm_pt, "-o", str(tmp_path / "lstm.yaml"), "--input", x_npy, "--batch-first")
    out = lstm_cli.forward(tmp_path / "lstm.yaml")
    with torch.no_grad():
        output, (h_n, c_n) = lstm(torch.from_numpy(x))
    names = layer_names(num_layers, bidirectional)
    assert_close(out[names[-1]], output, "output")
    for k, name in enumerate(names):
        halves = [(f"{name}.forward", 0), (f"{name}.backward", 1)] if bidirectional else [(name, 0)]
        for ref, d in halves:
            index = k * (2 if bidirectional else 1) + d
            assert_close(out[f"{ref}.h"], h_n[index], f"h_n[{index}]")
            assert_close(out[f"{ref}.c"], c_n[index], f"c_n[{index}]")


def test_inter_layer_dropout_is_the_eval_model(tmp_path: Path) -> None:
    torch.manual_seed(4)
    lstm = torch.nn.LSTM(3, 4, num_layers=2, dropout=0.3, batch_first=True).eval()
    torch.save(lstm.state_dict(), tmp_path / "drop.pt")  # dropout is not in a state_dict
    x = data(5, 2, 7, 3)
    np.save(tmp_path / "x.npy", x)
    convert(
        str(tmp_path / "drop.pt"),
        "-o",
        str(tmp_path / "d.yaml"),
        "--input",
        str(tmp_path / "x.npy"),
        "--batch-first",
    )
    text = (tmp_path / "d.yaml").read_text()
    assert (
        "# Inter-layer dropout (nn.LSTM's dropout=p), if the model had any, is not applied here, as in"
        in text
    )
    with torch.no_grad():
        output, (h_n, c_n) = lstm(torch.from_numpy(x))
    out = lstm_cli.forward(tmp_path / "d.yaml")
    np.testing.assert_allclose(out["lstm_1"], output.numpy(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(out["lstm.h"], h_n[0].numpy(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(out["lstm_1.c"], c_n[1].numpy(), rtol=0, atol=1e-6)
    torch.save(torch.nn.LSTM(3, 4).state_dict(), tmp_path / "one.pt")  # one layer: no dropout to speak of
    convert(str(tmp_path / "one.pt"), "-o", str(tmp_path / "one.yaml"))
    assert "dropout" not in (tmp_path / "one.yaml").read_text()


class Tagger(torch.nn.Module):
    """A Module holding an nn.LSTM beside other layers, as a real model does."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = torch.nn.Linear(5, 3)
        self.rnn = torch.nn.LSTM(3, 4, batch_first=True)
        self.head = torch.nn.Linear(4, 2)


def test_prefix_reads_the_nn_lstm_alone_and_the_rest_is_noted(tmp_path: Path) -> None:
    torch.manual_seed(0)
    module = Tagger()
    torch.save(module.state_dict(), tmp_path / "tagger.pt")
    x = data(2, 1, 4, 3)
    np.save(tmp_path / "x.npy", x)
    notes = convert(
        str(tmp_path / "tagger.pt"),
        "--prefix",
        "rnn",
        "-o",
        str(tmp_path / "t.yaml"),
        "--input",
        str(tmp_path / "x.npy"),
        "--batch-first",
    )
    assert notes.splitlines()[0] == (
        "lstm-cli: note: left out 4 arrays that are not this nn.LSTM's: embed.weight, embed.bias, "
        "head.weight, head.bias"
    )
    with torch.no_grad():
        output, _ = module.rnn(torch.from_numpy(x))
    assert_close(lstm_cli.forward(tmp_path / "t.yaml")["lstm"], output, "output")
    assert "nn.LSTM(input_size=3, hidden_size=4, num_layers=1) at 'rnn'" in (tmp_path / "t.yaml").read_text()


def test_several_lstms_need_a_prefix(tmp_path: Path) -> None:
    module = torch.nn.ModuleDict({"encoder": torch.nn.LSTM(3, 4), "decoder": torch.nn.LSTM(2, 4)})
    torch.save(module.state_dict(), tmp_path / "s2s.pt")
    run = run_cli("convert", str(tmp_path / "s2s.pt"), "-o", str(tmp_path / "s2s.yaml"))
    assert run.exit_code == 2
    assert run.stderr == (
        f"lstm-cli: error: {tmp_path / 's2s.pt'}: it holds several nn.LSTM modules ('decoder', 'encoder'); "
        "a state_dict does not say how they connect (stacked, or an encoder whose state starts a decoder): "
        "choose one with --prefix, or give the architecture with --config ARCH.yaml\n"
    )
    convert(str(tmp_path / "s2s.pt"), "--prefix", "decoder", "-o", str(tmp_path / "s2s.yaml"))
    assert "input: {shape: [null, 2]}" in (tmp_path / "s2s.yaml").read_text()
    run = run_cli("convert", str(tmp_path / "s2s.pt"), "--prefix", "nope", "-o", str(tmp_path / "x.yaml"))
    assert run.stderr.endswith("no nn.LSTM at --prefix 'nope' (found: 'decoder', 'encoder')\n")


PROJ_TOLERANCE = 1e-6  # float32 against float32, for nn.LSTM(proj_size)


@pytest.mark.parametrize(("num_layers", "bidirectional"), [(1, False), (2, False), (2, True)])
def test_nn_lstm_proj_size_converts_and_predicts_as_torch(
    tmp_path: Path, num_layers: int, bidirectional: bool
) -> None:
    torch.manual_seed(7 + num_layers)
    lstm = torch.nn.LSTM(
        3, 5, num_layers=num_layers, bidirectional=bidirectional, proj_size=2, batch_first=True
    )
    torch.save(lstm.state_dict(), tmp_path / "proj.pt")
    x = data(8, 2, 6, 3)
    np.save(tmp_path / "x.npy", x)
    convert(
        str(tmp_path / "proj.pt"),
        "-o",
        str(tmp_path / "p.yaml"),
        "--input",
        str(tmp_path / "x.npy"),
        "--batch-first",
    )
    assert f"hidden_size=5, num_layers={num_layers}, proj_size=2" in (tmp_path / "p.yaml").read_text()
    out = lstm_cli.forward(tmp_path / "p.yaml")
    with torch.no_grad():
        output, (h_n, c_n) = lstm(torch.from_numpy(x))
    names = layer_names(num_layers, bidirectional)
    np.testing.assert_allclose(out[names[-1]], output.numpy(), rtol=0, atol=PROJ_TOLERANCE)
    for k, name in enumerate(names):
        halves = [(f"{name}.forward", 0), (f"{name}.backward", 1)] if bidirectional else [(name, 0)]
        for ref, d in halves:
            index = k * (2 if bidirectional else 1) + d
            assert out[f"{ref}.h"].shape == (2, 2) and out[f"{ref}.c"].shape == (2, 5)  # h is P wide, c H
            np.testing.assert_allclose(out[f"{ref}.h"], h_n[index].numpy(), rtol=0, atol=PROJ_TOLERANCE)
            np.testing.assert_allclose(out[f"{ref}.c"], c_n[index].numpy(), rtol=0, atol=PROJ_TOLERANCE)


def test_proj_size_shapes_are_checked_with_their_formulas(tmp_path: Path) -> None:
    state = torch.nn.LSTM(3, 5, num_layers=2, proj_size=2).state_dict()
    state["weight_ih_l1"] = torch.zeros(20, 5)  # layer 1 reads proj_size = 2 features, not hidden_size
    torch.save(state, tmp_path / "bad.pt")
    run = run_cli("convert", str(tmp_path / "bad.pt"), "-o", str(tmp_path / "bad.yaml"))
    assert run.exit_code == 2
    assert run.stderr == (
        f"lstm-cli: error: {tmp_path / 'bad.pt'}: weight_ih_l1: expected shape (20, 2) = "
        "(4*hidden_size, proj_size), got (20, 5)\n"
    )
    state = torch.nn.LSTM(3, 5, proj_size=2).state_dict()
    state["weight_hh_l0"] = torch.zeros(20, 5)
    torch.save(state, tmp_path / "bad.pt")
    run = run_cli("convert", str(tmp_path / "bad.pt"), "-o", str(tmp_path / "bad.yaml"))
    assert run.stderr.endswith(
        "weight_hh_l0: expected shape (20, 2) = (4*hidden_size, proj_size), got (20, 5)\n"
    )


def projected_config(bidirectional: bool, **options: Any) -> dict[str, Any]:
    """Two stacked LSTM layers in Keras's layout, 5 units projected to 2, as nn.LSTM(3, 5, num_layers=2,
    proj_size=2) computes them: layer 1 reads 2 features (4 bidirectional)."""
    rng = np.random.default_rng(11)

    def cell(features: int) -> dict[str, Any]:
        return {
            "kernel": (rng.standard_normal((features, 20)) * 0.5).tolist(),
            "recurrent_kernel": (rng.standard_normal((2, 20)) * 0.5).tolist(),
            "bias": (rng.standard_normal(20) * 0.5).tolist(),
            "projection": {"kernel": (rng.standard_normal((5, 2)) * 0.5).tolist()},
            **options,
        }

    layers = []
    for k, features in enumerate((3, 4 if bidirectional else 2)):
        kind = "bidirectional" if bidirectional else "lstm"
        entry: dict[str, Any] = {"type": kind, "name": kind if k == 0 else f"{kind}_1", "units": 5}
        entry.update({"return_sequences": True, "return_state": True})
        if bidirectional:
            entry.update({"forward": cell(features), "backward": cell(features)})
        else:
            entry.update(cell(features))
        layers.append(entry)
    return {"input": {"shape": [None, 3]}, "dtype": "float32", "layers": layers}


@pytest.mark.parametrize("bidirectional", [False, True])
def test_a_projection_goes_to_pt_as_nn_lstm_proj_size(tmp_path: Path, bidirectional: bool) -> None:
    import yaml

    config = tmp_path / "proj.yaml"
    config.write_text(yaml.safe_dump(projected_config(bidirectional)), encoding="utf-8")
    convert(str(config), "-o", str(tmp_path / "proj.pt"))
    target = torch.nn.LSTM(3, 5, num_layers=2, bidirectional=bidirectional, proj_size=2, batch_first=True)
    state = torch.load(tmp_path / "proj.pt", weights_only=True)
    assert list(state) == list(target.state_dict())  # nn.LSTM's keys, in its order
    target.load_state_dict(state, strict=True)
    x = data(12, 2, 6, 3)
    np.save(tmp_path / "x.npy", x)
    with torch.no_grad():
        output, (h_n, c_n) = target(torch.from_numpy(x))
    convert(
        str(tmp_path / "proj.pt"),
        "-o",
        str(tmp_path / "back.yaml"),
        "--input",
        str(tmp_path / "x.npy"),
        "--batch-first",
    )
    out = lstm_cli.forward(tmp_path / "back.yaml")
    last = "bidirectional_1" if bidirectional else "lstm_1"
    np.testing.assert_allclose(out[last], output.numpy(), rtol=0, atol=PROJ_TOLERANCE)
    h = f"{last}.backward.h" if bidirectional else f"{last}.h"
    np.testing.assert_allclose(out[h], h_n[-1].numpy(), rtol=0, atol=PROJ_TOLERANCE)
    c = f"{last}.backward.c" if bidirectional else f"{last}.c"
    np.testing.assert_allclose(out[c], c_n[-1].numpy(), rtol=0, atol=PROJ_TOLERANCE)


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (
            {"proj_clip": 0.5},
            "it has proj_clip 0.5, which nn.LSTM does not compute (nn.LSTM(proj_size) does not clip its "
            "projection)",
        ),
        ({"cell_clip": 3}, "it has cell_clip 3, which nn.LSTM does not compute"),
        ({"forget_bias": 1}, "it has forget_bias 1, which nn.LSTM does not compute"),
        ({"input_forget": True}, "it has input_forget, which nn.LSTM does not compute"),
        ({"peepholes": {"i": [0.1] * 5}}, "it has peepholes, which nn.LSTM does not compute"),
    ],
)
def test_options_nn_lstm_lacks_are_refused_by_name(
    tmp_path: Path, option: dict[str, Any], message: str
) -> None:
    import yaml

    config = tmp_path / "opt.yaml"
    config.write_text(yaml.safe_dump(projected_config(False, **option)), encoding="utf-8")
    run = run_cli("convert", str(config), "-o", str(tmp_path / "opt.pt"))
    assert run.exit_code == 2
    assert run.stderr == f"lstm-cli: error: layer 'lstm' cannot be an nn.LSTM: {message}\n"
    assert not (tmp_path / "opt.pt").exists()


def test_a_training_checkpoint_and_a_torch_style_npz_read_too(tmp_path: Path) -> None:
    torch.manual_seed(3)
    lstm = torch.nn.LSTM(3, 2, batch_first=True)
    torch.save({"epoch": 7, "state_dict": lstm.state_dict()}, tmp_path / "ckpt.pth")
    np.savez(tmp_path / "sd.npz", **{k: v.numpy() for k, v in lstm.state_dict().items()})
    convert(str(tmp_path / "ckpt.pth"), "-o", str(tmp_path / "a.yaml"))
    convert(str(tmp_path / "sd.npz"), "-o", str(tmp_path / "b.yaml"))
    text_a = (tmp_path / "a.yaml").read_text().split("\n", 4)[4]
    text_b = (tmp_path / "b.yaml").read_text().split("\n", 4)[4]
    assert text_a.replace("ckpt.pth", "X") == text_b.replace("sd.npz", "X")


# -- out: YAML to .pt, into nn.LSTM ---------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["keras", "torch"])
def test_yaml_to_pt_loads_into_nn_lstm_and_predicts_as_lstm_cli(tmp_path: Path, layout: str) -> None:
    torch.manual_seed(5)
    source = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True)
    torch.save(source.state_dict(), tmp_path / "src.pt")
    x = data(6, 2, 5, 3)
    np.save(tmp_path / "x.npy", x)
    convert(
        str(tmp_path / "src.pt"),
        "-o",
        str(tmp_path / "m.yaml"),
        "--input",
        str(tmp_path / "x.npy"),
        "--batch-first",
    )
    config = tmp_path / "m.yaml"
    if layout == "keras":  # through the Keras layout: kernel, recurrent_kernel, bias
        convert(str(config), "-o", str(tmp_path / "m.weights.h5"))
        convert(str(tmp_path / "m.weights.h5"), "--config", str(config), "-o", str(tmp_path / "k.yaml"))
        config = tmp_path / "k.yaml"
        assert "weight_ih" not in config.read_text()
    convert(str(config), "-o", str(tmp_path / "back.pt"))
    target = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True)
    target.load_state_dict(torch.load(tmp_path / "back.pt", weights_only=True))
    with torch.no_grad():
        output, (h_n, _) = target(torch.from_numpy(x))
    out = lstm_cli.forward(config)
    assert_close(out["bidirectional_1"], output, "output")
    assert_close(out["bidirectional_1.backward.h"], h_n[3], "h_n[3]")


def test_pytorch_layout_example_to_pt_keeps_the_bias_split(tmp_path: Path) -> None:
    config = ROOT / "configs" / "pytorch-layout.yaml"
    convert(str(config), "-o", str(tmp_path / "m.pt"), "--prefix", "rnn")
    state = torch.load(tmp_path / "m.pt", weights_only=True)
    assert list(state) == ["rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0"]
    assert state["rnn.bias_hh_l0"].tolist()[:2] == pytest.approx([-0.06, 0.1])
    lstm = torch.nn.LSTM(3, 2, batch_first=True, dtype=torch.float64)
    lstm.load_state_dict({key.removeprefix("rnn."): value for key, value in state.items()})
    model = lstm_cli.forward(config)
    x = torch.tensor([[[1.0, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]]], dtype=torch.float64)
    with torch.no_grad():
        _, (h_n, c_n) = lstm(x)
    np.testing.assert_allclose(model["lstm.h"], h_n[0].numpy(), atol=1e-12)
    np.testing.assert_allclose(model["lstm.c"], c_n[0].numpy(), atol=1e-12)


# -- files that must not run code ------------------------------------------------------------------------


class Trap:
    """Unpickling this creates a file: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("legacy", [False, True], ids=["torch-zip", "raw-pickle"])
def test_a_booby_trapped_pt_is_refused_and_runs_nothing(tmp_path: Path, legacy: bool) -> None:
    marker = tmp_path / "PWNED"
    state = {"payload": Trap(marker), "weight_ih_l0": torch.zeros(8, 3)}
    path = tmp_path / "evil.pt"
    if legacy:
        with path.open("wb") as stream:
            pickle.dump(state, stream, protocol=2)
    else:
        torch.save(state, path)
    assert not marker.exists()
    run = run_cli("convert", str(path), "-o", str(tmp_path / "evil.yaml"))
    assert run.exit_code == 2
    assert not marker.exists(), "unpickling ran code"
    assert run.stderr == (
        f"lstm-cli: error: {path}: refused: unpickling it would call getattr, which a state_dict never "
        "needs; lstm-cli reads tensors only, as saved by torch.save(model.state_dict(), PATH)\n"
    )
    assert not (tmp_path / "evil.yaml").exists()
    if legacy:  # the trap is armed: trusting the file runs it
        pickle.loads(path.read_bytes())
    else:
        torch.load(path, weights_only=False)
    assert marker.exists()


def test_a_whole_pickled_module_is_refused(tmp_path: Path) -> None:
    torch.save(torch.nn.LSTM(3, 2), tmp_path / "module.pt")
    run = run_cli("convert", str(tmp_path / "module.pt"), "-o", str(tmp_path / "m.yaml"))
    assert run.exit_code == 2
    assert "refused" in run.stderr and "torch.save(model.state_dict(), PATH)" in run.stderr


def test_a_truncated_pt_gives_one_line(tmp_path: Path) -> None:
    torch.save(torch.nn.LSTM(3, 2).state_dict(), tmp_path / "whole.pt")
    raw = (tmp_path / "whole.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(raw[: len(raw) // 2])
    run = run_cli("convert", str(tmp_path / "cut.pt"), "-o", str(tmp_path / "m.yaml"))
    assert run.exit_code == 2
    assert run.stderr.startswith(f"lstm-cli: error: {tmp_path / 'cut.pt'}: ")
    assert run.stderr.count("\n") == 1
