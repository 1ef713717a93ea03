"""Generated configs for the fuzz suite and the oracles: layer graphs that pass validation, with hostile
numbers (values up to the dtype's maximum, subnormals, mixtures) or plain ones."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import strategies as st

from lstm_cli.activations import ACTIVATIONS

EXTREMES = {
    "float64": [1.7976931348623157e308, 1e300, 1e154, 1e20, 5e-324, 2.2250738585072014e-308],
    "float32": [3.4028234e38, 1e38, 1e19, 1e-45, 1.1754944e-38],
}
ACTIVATION_NAMES = [*ACTIVATIONS, None]
NO_OPS = [  # layers that do nothing at inference, with options Keras accepts
    {"type": "dropout", "rate": 0.5},
    {"type": "spatial_dropout1d", "rate": 0.25},  # reads sequences only
    {"type": "gaussian_noise", "stddev": 0.1},
    {"type": "gaussian_dropout", "rate": 0.2},
    {"type": "alpha_dropout", "rate": 0.1},
    {"type": "activity_regularization", "l1": 0.01},
]


@st.composite
def hostile_arrays(draw: st.DrawFn, shape: tuple[int, ...], dtype: str) -> list[Any]:
    """An array of `shape`: ordinary values, values up to the dtype's maximum, or a mix."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["normal", "large", "extreme", "mixed", "zeros", "tiny"]))
    if kind == "normal":
        values = rng.normal(0, draw(st.sampled_from([0.5, 2.0, 10.0])), shape)
    elif kind == "large":
        values = rng.normal(0, 1, shape) * draw(st.sampled_from([1e10, 1e100, 1e200]))
    elif kind == "extreme":
        values = rng.choice([-1, 1], shape) * draw(st.sampled_from(EXTREMES[dtype]))
    elif kind == "mixed":
        values = rng.normal(0, 1, shape) * rng.choice(
            [1.0, 1e30, 1e300 if dtype == "float64" else 1e38], shape
        )
    elif kind == "zeros":
        values = np.zeros(shape)
    else:
        values = rng.normal(0, 1, shape) * 1e-310
    return values.tolist()  # type: ignore[no-any-return]


@st.composite
def plain_arrays(draw: st.DrawFn, shape: tuple[int, ...], dtype: str) -> list[Any]:
    """An array of `shape` with values in (-0.8, 0.8): the numbers an oracle compares at float32 tolerance."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return rng.uniform(-0.8, 0.8, shape).astype(dtype).tolist()  # type: ignore[no-any-return]


@st.composite
def graph_configs(
    draw: st.DrawFn,
    arrays: Callable[[tuple[int, ...], str], st.SearchStrategy[list[Any]]] = hostile_arrays,
    dtypes: tuple[str, ...] = ("float64", "float32"),
) -> dict[str, Any]:
    """A config that passes validation: 1 to 3 layers of every kind (the no-op ones too), consistent shapes,
    numbers from `arrays` (hostile ones by default).
    A layer reads the last layer's output or, now and then, any earlier reference: a state (NAME.h), a
    bidirectional layer's unmerged half (NAME.forward), the input."""
    dtype = draw(st.sampled_from(dtypes))
    batch, timesteps, features = draw(st.integers(1, 3)), draw(st.integers(1, 8)), draw(st.integers(1, 3))
    config: dict[str, Any] = {"dtype": dtype}
    config["input"] = draw(arrays((batch, timesteps, features), dtype))
    layers: list[dict[str, Any]] = []
    references = [("input", features, True)]  # every reference so far: (ref, width, is a sequence)
    outputs = references  # the last layer's
    for position in range(draw(st.integers(1, 3))):
        last = position == 2
        source, width, sequence = draw(st.sampled_from(references)) if draw(st.booleans()) else outputs[0]
        kinds = ["lstm", "bidirectional", "masking", "dense", "no-op"] if sequence else ["dense", "no-op"]
        kind = draw(st.sampled_from(kinds))
        no_op = (
            draw(st.sampled_from(NO_OPS if sequence else NO_OPS[:1] + NO_OPS[2:])) if kind == "no-op" else {}
        )
        kind = no_op.get("type", kind)
        name = f"{kind}{position}"
        layer: dict[str, Any] = {"type": kind, "name": name, "input": source}
        if no_op:
            layer.update((key, value) for key, value in no_op.items() if key != "type")
            outputs = [(name, width, sequence)]
        elif kind == "masking":
            layer["mask_value"] = draw(st.sampled_from([0.0, 0.5, -1.0]))
            outputs = [(name, width, True)]
        elif kind == "dense":
            units = draw(st.integers(1, 4))
            layer.update(units=units, activation=draw(st.sampled_from(ACTIVATION_NAMES)))
            layer["kernel"] = draw(arrays((width, units), dtype))
            layer["bias"] = draw(arrays((units,), dtype))
            outputs = [(name, units, sequence)]
        else:
            units = draw(st.integers(1, 3))
            returns = draw(st.booleans()) or (not last and draw(st.booleans()))
            layer.update(
                units=units,
                activation=draw(st.sampled_from(ACTIVATION_NAMES)),
                recurrent_activation=draw(st.sampled_from(ACTIVATION_NAMES)),
                return_sequences=returns,
                return_state=draw(st.booleans()),
            )
            halves = ["forward", "backward"] if kind == "bidirectional" else [None]
            for half in halves:
                weights = layer if half is None else layer.setdefault(half, {})
                if draw(st.booleans()):
                    weights["kernel"] = draw(arrays((width, 4 * units), dtype))
                    weights["recurrent_kernel"] = draw(arrays((units, 4 * units), dtype))
                    weights["bias"] = draw(arrays((4 * units,), dtype))
                else:
                    weights["weight_ih"] = draw(arrays((4 * units, width), dtype))
                    weights["weight_hh"] = draw(arrays((4 * units, units), dtype))
                    weights["bias_ih"] = draw(arrays((4 * units,), dtype))
                    weights["bias_hh"] = draw(arrays((4 * units,), dtype))  # PyTorch has both or neither
            if kind == "bidirectional":
                states = [f"{name}.{half}.{state}" for half in halves for state in "hc"]
                merge_mode = layer["merge_mode"] = draw(
                    st.sampled_from(["concat", "sum", "mul", "ave", None])
                )
                merged_width = 2 * units if merge_mode == "concat" else units
                outputs = (
                    [(f"{name}.{half}", units, returns) for half in halves]
                    if merge_mode is None
                    else [(name, merged_width, returns)]
                )
            else:
                layer["go_backwards"] = draw(st.booleans())
                states = [f"{name}.h", f"{name}.c"]
                outputs = [(name, units, returns)]
            if layer["return_state"]:
                outputs = outputs + [(state, units, False) for state in states]
        layers.append(layer)
        references = references + outputs
    config["layers"] = layers
    if draw(st.booleans()):  # a hand value to check: exit 1 when it differs
        ref, width, sequence = draw(st.sampled_from(outputs))
        shape = (batch, timesteps, width) if sequence else (batch, width)
        config["expect"] = {ref: draw(arrays(shape, dtype))}
    return config
