"""`backward` on model files with `--loss mse --target t.npy --input x.npy`: a PyTorch state_dict (nn.LSTM and
nn.Linear) against torch's autograd, with the PyTorch names weight_ih, weight_hh, bias_ih and bias_hh, and a
Keras 3 `.keras` archive against Keras's own gradients (torch backend). The files hold float32 weights;
lstm-cli runs them in float64 (`--dtype float64`) and the oracles run the same float32 weights in float64,
so the gradients agree to 1e-7 of the largest in each array."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli

pytestmark = [pytest.mark.slow]

torch = pytest.importorskip("torch")

RTOL = 1e-7


def _assert_close(got: list[object], want: np.ndarray, key: str) -> None:
    scale = max(1.0, float(np.abs(want).max(initial=0)))
    np.testing.assert_allclose(np.array(got), want, rtol=0, atol=RTOL * scale, err_msg=key)


def _gradients(*args: str) -> dict[str, object]:
    run = run_cli("backward", *args, "--loss", "mse", "--dtype", "float64", "--format", "json")
    assert run.exit_code == 0, run.stderr
    document: dict[str, object] = json.loads(run.stdout)
    return document


def test_a_pt_state_dict_matches_torch_autograd_with_pytorch_names(tmp_path: Path) -> None:
    torch.manual_seed(0)

    class Tagger(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = torch.nn.LSTM(3, 4, batch_first=True)
            self.head = torch.nn.Linear(4, 2)

    model = Tagger()
    torch.save(model.state_dict(), tmp_path / "tagger.pt")
    rng = np.random.default_rng(1)
    x, target = rng.normal(0, 1, (2, 5, 3)), rng.normal(0, 1, (2, 5, 2))
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "t.npy", target)
    document = _gradients(
        str(tmp_path / "tagger.pt"),
        *("--input", str(tmp_path / "x.npy"), "--batch-first", "--target", str(tmp_path / "t.npy")),
    )
    wide = Tagger().double()
    wide.load_state_dict({key: value.double() for key, value in model.state_dict().items()})
    x_leaf = torch.tensor(x, requires_grad=True)
    output, _ = wide.lstm(x_leaf)
    loss = torch.nn.functional.mse_loss(wide.head(output), torch.tensor(target))  # Keras's mse: the mean
    loss.backward()
    assert document["loss"] == pytest.approx(float(loss.detach()), rel=1e-12)
    gradients = document["gradients"]
    assert isinstance(gradients, dict)
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        parameter = getattr(wide.lstm, f"{name}_l0")
        _assert_close(gradients[f"lstm.{name}"], parameter.grad.numpy(), f"lstm.{name}")
    _assert_close(gradients["lstm.kernel"], wide.lstm.weight_ih_l0.grad.numpy().T, "lstm.kernel")
    _assert_close(gradients["head.kernel"], wide.head.weight.grad.numpy().T, "head.kernel")
    _assert_close(gradients["head.bias"], wide.head.bias.grad.numpy(), "head.bias")
    _assert_close(gradients["input"], x_leaf.grad.numpy(), "input")


def test_a_keras_archive_matches_keras_gradients(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    from keras.src.backend.common import dtypes

    keras.utils.set_random_seed(2)
    model = keras.Sequential(
        [
            keras.Input((5, 3)),
            keras.layers.LSTM(4, return_sequences=True, name="lstm"),
            keras.layers.Dense(2, activation="tanh", name="dense"),
        ]
    )
    rng = np.random.default_rng(3)
    model.set_weights([w + rng.uniform(-0.3, 0.3, w.shape).astype(w.dtype) for w in model.get_weights()])
    model.save(tmp_path / "model.keras")
    x, target = rng.normal(0, 1, (2, 5, 3)), rng.normal(0, 1, (2, 5, 2))
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "t.npy", target)
    document = _gradients(
        str(tmp_path / "model.keras"), "--input", str(tmp_path / "x.npy"), "--target", str(tmp_path / "t.npy")
    )
    # Keras again, in float64, from the archive's float32 weights; its ops keep float64 with this patch
    monkeypatch.setitem(dtypes.BIT64_TO_BIT32_DTYPE, "float64", "float64")
    lstm = keras.layers.LSTM(4, return_sequences=True, dtype="float64")
    dense = keras.layers.Dense(2, activation="tanh", dtype="float64")
    x_leaf = torch.tensor(x, requires_grad=True)
    lstm.build((2, 5, 3))
    dense.build((2, 5, 4))
    lstm.set_weights([w.astype(np.float64) for w in model.layers[0].get_weights()])
    dense.set_weights([w.astype(np.float64) for w in model.layers[1].get_weights()])
    loss = keras.losses.MeanSquaredError(dtype="float64")(torch.tensor(target), dense(lstm(x_leaf)))
    assert loss.dtype == torch.float64
    loss.backward()
    assert document["loss"] == pytest.approx(float(loss.detach()), rel=1e-12)
    gradients = document["gradients"]
    assert isinstance(gradients, dict)
    names = ["lstm.kernel", "lstm.recurrent_kernel", "lstm.bias", "dense.kernel", "dense.bias"]
    variables = [*lstm.trainable_variables, *dense.trainable_variables]
    for key, variable in zip(names, variables, strict=True):
        _assert_close(gradients[key], variable.value.grad.numpy(), key)
    _assert_close(gradients["input"], x_leaf.grad.numpy(), "input")
