"""lstm-cli: a command-line LSTM calculator that shows every gate, exactly as Keras 3 computes it.

The Python API (docs/output.md#python-api) mirrors the commands: `forward` returns every reference's value as
numpy arrays, `trace` the per-step records behind `lstm-cli trace --format json`, and `backward` the loss
and every gradient."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import DTypeLike

    from .config import ConfigSource
    from .model import Model

__all__ = ["LstmCliError", "backward", "compare", "forward", "trace"]

from .errors import LstmCliError


def forward(config: ConfigSource, *, dtype: DTypeLike | None = None) -> dict[str, np.ndarray]:
    """Run a config (a YAML path, or a mapping with the same schema; arrays may be numpy arrays).

    `dtype` ("float32", numpy.float32, ...) overrides the config's, as `--dtype` does.

    Returns every reference the run produced (`lstm`, `lstm.h`, `lstm.c`, ...) as numpy arrays.
    Raises `LstmCliError` for a bad config, with its file, line, column and key path.
    """
    from .config import load_model, require_data
    from .engine import run_model

    model = load_model(config, dtype=_dtype_name(dtype))
    require_data(model)
    return run_model(model).values


def trace(config: ConfigSource, *, dtype: DTypeLike | None = None) -> dict[str, Any]:
    """The data behind `lstm-cli trace --format json`: the same document, as Python lists and numbers.

    `{"dtype", "outputs", "mismatches" (only with expect:), "layers": [{"name", "direction", "steps": [
    {"t", "masked", "x", "h_prev", "c_prev", "z": {"i", "f", "g", "o"}, "gates": {...}, "c", "h"}]}]}`;
    every per-step array is (batch, units), except x (batch, features).
    """
    from .config import load_model, require_data
    from .formats import plain
    from .tracing import run_trace, trace_document

    model = load_model(config, dtype=_dtype_name(dtype))
    require_data(model)
    return dict(plain(trace_document(run_trace(model))))


def compare(
    a: ConfigSource,
    b: ConfigSource | Mapping[str, np.ndarray] | np.ndarray,
    *,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    seed: int = 0,
    dtype: DTypeLike | None = None,
) -> dict[str, Any]:
    """The data behind `lstm-cli compare A B --format json` (docs/output.md#compare-json), as Python lists and
    numbers: A and B run on the same input, side by side, and the known porting mistakes that explain a
    difference.

    A and B are YAML paths, model files (.keras, .pt, .onnx, ...) or config mappings. B may instead be
    numbers another runtime produced: a mapping of A's references to arrays, or one array for A's one
    output. Without input data in A, both run on a seeded random input (`seed`).
    """
    from pathlib import Path

    import numpy as np

    from .comparison import run_comparison
    from .config import load_model
    from .formats import plain
    from .sources import open_model

    def model(source: ConfigSource) -> Model:
        name = _dtype_name(dtype)
        if isinstance(source, Mapping):
            return load_model(source, dtype=name)
        return open_model(Path(source), dtype=name)[0]

    model_a = model(a)
    numbers: Mapping[str, np.ndarray] | None = None
    if isinstance(b, np.ndarray):
        numbers = {model_a.outputs[0]: b} if len(model_a.outputs) == 1 else None
        if numbers is None:
            raise LstmCliError(f"A has {len(model_a.outputs)} outputs: give B as a mapping by reference")
    elif isinstance(b, Mapping) and "layers" not in b:
        numbers = {str(ref): np.asarray(value, np.float64) for ref, value in b.items()}
    model_b = numbers if numbers is not None else model(cast("ConfigSource", b))
    comparison, _ = run_comparison(model_a, model_b, rtol=rtol, atol=atol, seed=seed)
    return dict(plain(comparison.document()))


def backward(config: ConfigSource, *, dtype: DTypeLike | None = None) -> dict[str, np.ndarray]:
    """Backpropagate the config's `loss:` (docs/config.md#the-loss) through the model.

    Returns `"loss"` (a 0-d array) and the gradient of every weight, input and initial state given as an
    array, keyed as the config names them: `lstm.kernel`, `bi.forward.recurrent_kernel`, `emb.embeddings`,
    `input`, ...; a layer given in PyTorch's layout also has `NAME.weight_ih`, `weight_hh`, `bias_ih` and
    `bias_hh`. Raises `LstmCliError` for a bad config, or one without a loss.
    """
    from .backprop import run_backward
    from .config import load_model, require_data

    model = load_model(config, dtype=_dtype_name(dtype))
    require_data(model)
    result = run_backward(model)
    return {"loss": result.loss, **result.gradients}


def _dtype_name(dtype: DTypeLike | None) -> str | None:
    """numpy's name for a dtype ("float32", "f4", numpy.float32, ...); load_model checks the name."""
    if dtype is None:
        return None
    import numpy as np

    try:
        return np.dtype(dtype).name
    except TypeError:
        return dtype if isinstance(dtype, str) else repr(dtype)


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import version

        return version("lstm-cli")
    raise AttributeError(name)
