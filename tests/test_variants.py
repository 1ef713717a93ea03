"""The LSTM variant options (docs/config.md#lstm-variants): hand-worked steps, the config's rules, and the
libraries that define each option as oracles (PyTorch's proj_size, onnxruntime's LSTM, TF1's LSTMCell)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import lstm_cli
from lstm_cli.config import load_model
from lstm_cli.errors import LstmCliError

# -- hand-worked ------------------------------------------------------------------------------------------


def peephole_config(**options: Any) -> dict[str, Any]:
    # One unit, one feature, one step, x = 1, h_prev = 0, c_prev = 1. Gate columns i, f, g, o:
    #   kernel = [1, 0, 2, -1]   recurrent_kernel = [0, 1, 0, 2]   bias = [0, 1, 0, 1]
    #   forget_bias = 1, peepholes p_i = 0.5, p_f = -1, p_o = 2
    layer = {
        "type": "lstm",
        "units": 1,
        "return_state": True,
        "kernel": [[1, 0, 2, -1]],
        "recurrent_kernel": [[0, 1, 0, 2]],
        "bias": [0, 1, 0, 1],
        "forget_bias": 1,
        "peepholes": {"i": [0.5], "f": [-1], "o": [2]},
        "initial_state": {"h": [0], "c": [1]},
        **options,
    }
    return {"input": [[[1.0]]], "layers": [layer]}


def test_forget_bias_and_peepholes_by_hand() -> None:
    # z = 1·[1, 0, 2, -1] + 0 + [0, 1, 0, 1] = [1, 1, 2, 0]
    # z_f = 1 + forget_bias 1 = 2;   z_i += p_i·c_prev = 1 + 0.5·1 = 1.5;   z_f += p_f·c_prev = 2 + (-1)·1 = 1
    # i = σ(1.5) = 0.8175745   f = σ(1) = 0.7310586   g = tanh(2) = 0.9640276
    # c = f·c_prev + i·g = 0.7310586·1 + 0.8175745·0.9640276 = 1.5192229
    # z_o = 0 + p_o·c = 2·1.5192229 = 3.0384458   o = σ(3.0384458) = 0.9542811
    # h = o·tanh(c) = 0.9542811·0.9085621 = 0.8670237
    out = lstm_cli.forward(peephole_config())
    np.testing.assert_allclose(out["lstm.c"], [[1.5192229]], atol=1e-7)
    np.testing.assert_allclose(out["lstm.h"], [[0.8670237]], atol=1e-7)


def test_cell_clip_clips_the_carried_state_and_o_peeks_at_the_clipped_one() -> None:
    # As above, c = 1.5192229 is clipped to cell_clip 1.2, which is carried:
    # z_o = 2·1.2 = 2.4   o = σ(2.4) = 0.9168273   h = o·tanh(1.2) = 0.9168273·0.8336546 = 0.7643173
    # (o peeking at the unclipped c would give 0.8670237·tanh(1.2)/tanh(1.5192229) instead)
    out = lstm_cli.forward(peephole_config(cell_clip=1.2))
    np.testing.assert_allclose(out["lstm.c"], [[1.2]], atol=1e-7)
    np.testing.assert_allclose(out["lstm.h"], [[0.7643173]], atol=1e-7)


def test_input_forget_and_output_activation_by_hand() -> None:
    # input_forget: f = 1 - i = 1 - 0.8175745 = 0.1824255 (the f peephole and forget_bias play no part)
    # c = 0.1824255·1 + 0.8175745·0.9640276 = 0.9705899;  z_o = 2·0.9705899 = 1.9411797, o = 0.8744817
    # output_activation linear: h = o·c = 0.8744817·0.9705899 = 0.8487631
    out = lstm_cli.forward(peephole_config(input_forget=True, output_activation="linear"))
    i = 1 / (1 + np.exp(-1.5))
    c = (1 - i) * 1 + i * np.tanh(2)
    o = 1 / (1 + np.exp(-2 * c))
    np.testing.assert_allclose(out["lstm.c"], [[c]], atol=1e-7)
    np.testing.assert_allclose(out["lstm.h"], [[o * c]], atol=1e-7)
    np.testing.assert_allclose([c, o * c], [0.9705899, 0.8487631], atol=1e-7)


def projection_config(**options: Any) -> dict[str, Any]:
    # Two units, one feature, a projection to 1: h is (batch, 1), c (batch, 2).
    # x = 1, h_prev = 0.5, c_prev = 0.
    # Columns i0 i1 | f0 f1 | g0 g1 | o0 o1:
    #   kernel           = [1, 0, 0, 1, 1, -1, 0, 1]
    #   recurrent_kernel = [0, 2, 0, 0, 2, 0, 0, 0]    (proj, 4*units) = (1, 8)
    #   projection.kernel = [[2], [-1]]                 (units, proj) = (2, 1)
    layer = {
        "type": "lstm",
        "units": 2,
        "return_state": True,
        "use_bias": False,
        "kernel": [[1, 0, 0, 1, 1, -1, 0, 1]],
        "recurrent_kernel": [[0, 2, 0, 0, 2, 0, 0, 0]],
        "projection": {"kernel": [[2], [-1]]},
        "initial_state": {"h": [0.5], "c": [0, 0]},
        **options,
    }
    return {"input": [[[1.0]]], "layers": [layer]}


def test_a_projection_by_hand() -> None:
    # z = 1·kernel + 0.5·recurrent_kernel = [1, 1 | 0, 1 | 2, -1 | 0, 1]
    # i = σ([1, 1]) = [0.7310586, 0.7310586]   g = tanh([2, -1]) = [0.9640276, -0.7615942]
    # o = σ([0, 1]) = [0.5, 0.7310586]          c = i·g = [0.7047606, -0.5567699]
    # o·tanh(c) = [0.5·0.6073808, 0.7310586·(-0.5055769)] = [0.3036904, -0.3696064]
    # h = (o·tanh(c)) @ [[2], [-1]] = 0.6073808 + 0.3696064 = 0.9769872
    out = lstm_cli.forward(projection_config())
    np.testing.assert_allclose(out["lstm.c"], [[0.7047606, -0.5567699]], atol=1e-7)
    np.testing.assert_allclose(out["lstm.h"], [[0.9769872]], atol=1e-7)
    np.testing.assert_allclose(out["lstm"], [[0.9769872]], atol=1e-7)
    clipped = lstm_cli.forward(projection_config(proj_clip=0.5))  # proj_clip clips the projected h
    np.testing.assert_allclose(clipped["lstm.h"], [[0.5]], atol=0)


# -- the config's rules ------------------------------------------------------------------------------------


def refused(source: dict[str, Any]) -> tuple[str | None, str]:
    with pytest.raises(LstmCliError) as info:
        load_model(source)
    return info.value.key_path, info.value.message


def layer_of(config: dict[str, Any]) -> dict[str, Any]:
    layer: dict[str, Any] = config["layers"][0]
    return layer


@pytest.mark.parametrize(
    ("change", "where", "message"),
    [
        ({"cell_clip": -1}, "cell_clip", "expected a number, 0 or more, got -1"),
        (
            {"activation_clip": 0},
            "activation_clip",
            "expected a number above 0 (the values are clipped to ±activation_clip), got 0",
        ),
        ({"forget_bias": "one"}, "forget_bias", "expected a finite number, got a string 'one'"),
        ({"input_forget": 1}, "input_forget", "expected true or false, got 1"),
        (
            {"proj_clip": 1},
            "proj_clip",
            "proj_clip clips the projection, but the layer has none (projection:)",
        ),
        (
            {"input_forget": True, "recurrent_activation": "relu"},
            "input_forget",
            "input_forget makes f = 1 - i, a gate only with a recurrent_activation in [0, 1] "
            "(sigmoid, hard_sigmoid); got relu",
        ),
        ({"peepholes": {"i": [1, 2]}}, "peepholes.i", "expected shape (1,) = (units,), got (2,)"),
        ({"peepholes": {"c": [1]}}, "peepholes.c", "unknown key 'c'"),
        ({"output_activation": "tanhh"}, "output_activation", None),
    ],
)
def test_each_option_is_checked(change: dict[str, Any], where: str, message: str | None) -> None:
    config = peephole_config()
    layer_of(config).update(change)
    key_path, said = refused(config)
    assert key_path == f"layers[0].{where}"
    if message is not None:
        assert said == message
    else:
        assert said.startswith("unknown output_activation 'tanhh'; did you mean 'tanh'?")


def test_projection_shapes_are_checked_with_their_formulas() -> None:
    config = projection_config()
    layer_of(config)["projection"] = {"kernel": [[2, 1, 0]]}
    assert refused(config) == (
        "layers[0].projection.kernel",
        "expected shape (2, proj) = (units, proj), got (1, 3)",
    )
    config = projection_config()
    layer_of(config)["recurrent_kernel"] = np.zeros((2, 8)).tolist()
    assert refused(config) == (
        "layers[0].recurrent_kernel",
        "expected shape (1, 8) = (proj, 4*units), got (2, 8)",
    )
    config = projection_config()
    layer_of(config)["initial_state"] = {"h": [0, 0], "c": [0, 0]}
    assert refused(config) == (
        "layers[0].initial_state.h",
        "expected shape (1, 1) = (batch, proj) or (1,) = (proj,), got (2,)",
    )


def test_pytorch_layout_takes_weight_hr_and_refuses_projection() -> None:
    config = projection_config()
    layer = layer_of(config)
    layer["weight_ih"] = np.asarray(layer.pop("kernel")).T.tolist()
    layer["weight_hh"] = np.asarray(layer.pop("recurrent_kernel")).T.tolist()
    layer["weight_hr"] = np.asarray(layer.pop("projection")["kernel"]).T.tolist()
    np.testing.assert_allclose(lstm_cli.forward(config)["lstm.h"], [[0.9769872]], atol=1e-7)
    layer["weight_hr"] = [[2, -1, 0]]
    assert refused(config) == ("layers[0].weight_hr", "expected shape (proj, 2) = (proj, units), got (1, 3)")
    layer["projection"] = {"kernel": [[2], [-1]]}
    del layer["weight_hr"]
    assert refused(config) == (
        "layers[0].projection",
        "PyTorch's layout gives the projection as weight_hr: (proj, units)",
    )


# -- oracles: PyTorch, onnxruntime, TF1 ---------------------------------------------------------------------

RNG_SEED = 7
F, H, B, T = 3, 4, 2, 5
OFFSETS = {"i": 0.3, "f": -0.6, "g": 0.9, "o": -0.2}  # distinct per gate, so a swapped pair cannot pass


def rand(rng: np.random.Generator, *shape: int, scale: float = 0.6) -> np.ndarray:
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def run_config(layer: dict[str, Any], x: np.ndarray, h0: np.ndarray, c0: np.ndarray) -> dict[str, np.ndarray]:
    config = {
        "dtype": "float32",
        "input": x,
        "layers": [
            {
                "type": "lstm",
                "return_sequences": True,
                "return_state": True,
                "initial_state": {"h": h0, "c": c0},
                **layer,
            }
        ],
    }
    return lstm_cli.forward(config)


@pytest.mark.parametrize("layout", ["keras", "pytorch"])
def test_projection_equals_torch_proj_size(layout: str) -> None:
    torch = pytest.importorskip("torch")
    proj = 2
    torch.manual_seed(RNG_SEED)
    module = torch.nn.LSTM(F, H, batch_first=True, proj_size=proj)
    state = {key: value.detach().numpy() for key, value in module.state_dict().items()}
    rng = np.random.default_rng(RNG_SEED)
    x, h0, c0 = rand(rng, B, T, F, scale=1.5), rand(rng, B, proj), rand(rng, B, H)
    with torch.no_grad():
        y, (h, c) = module(torch.from_numpy(x), (torch.from_numpy(h0[None]), torch.from_numpy(c0[None])))
    if layout == "pytorch":
        weights = {
            key: state[f"{key}_l0"] for key in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")
        }
    else:
        weights = {
            "kernel": state["weight_ih_l0"].T,
            "recurrent_kernel": state["weight_hh_l0"].T,  # (proj, 4*units)
            "bias": state["bias_ih_l0"] + state["bias_hh_l0"],
            "projection": {"kernel": state["weight_hr_l0"].T},  # (units, proj)
        }
    out = run_config({"units": H, **weights}, x, h0, c0)
    np.testing.assert_allclose(out["lstm"], y.numpy(), atol=1e-6)
    np.testing.assert_allclose(out["lstm.h"], h.numpy()[0], atol=1e-6)
    np.testing.assert_allclose(out["lstm.c"], c.numpy()[0], atol=1e-6)


def _onnx_blocks(a: np.ndarray, axis: int = -1) -> np.ndarray:
    """ONNX's gate order i, o, f, c along `axis`, as Keras's i, f, g, o."""
    i, o, f, c = np.split(a, 4, axis=axis)
    return np.concatenate([i, f, c, o], axis=axis)


def _onnx_lstm(
    x: np.ndarray,
    h0: np.ndarray,
    c0: np.ndarray,
    W: np.ndarray,
    R: np.ndarray,
    Bb: np.ndarray,
    P: np.ndarray | None,
    **attrs: Any,
) -> list[np.ndarray]:
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper, numpy_helper

    names = ["X", "W", "R", "B", "", "h0", "c0", "P" if P is not None else ""]
    while names[-1] == "":
        names.pop()
    inits = [
        numpy_helper.from_array(a, n) for a, n in ((W, "W"), (R, "R"), (Bb, "B"), (P, "P")) if a is not None
    ]
    inputs = [
        helper.make_tensor_value_info(n, TensorProto.FLOAT, list(a.shape))
        for n, a in (("X", x), ("h0", h0), ("c0", c0))
    ]
    outputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("Y", "Y_h", "Y_c")]
    node = helper.make_node("LSTM", names, ["Y", "Y_h", "Y_c"], hidden_size=H, **attrs)
    graph = helper.make_graph([node], "lstm", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    result: list[np.ndarray] = session.run(None, {"X": x, "h0": h0, "c0": c0})
    return result


ONNX_CASES = {
    "peepholes": ({}, {}),
    "activation_clip": ({"clip": 5.0}, {"activation_clip": 5.0}),
    "input_forget": ({"input_forget": 1}, {"input_forget": True}),
    "output_activation": (
        {"activations": ["Sigmoid", "Tanh", "Relu"]},
        {"output_activation": "relu"},
    ),
    "all": (
        {"clip": 5.0, "input_forget": 1, "activations": ["Sigmoid", "Tanh", "Softsign"]},
        {"activation_clip": 5.0, "input_forget": True, "output_activation": "softsign"},
    ),
}


@pytest.mark.parametrize("case", sorted(ONNX_CASES))
def test_onnx_options_equal_onnxruntime(case: str) -> None:
    # onnxruntime 1.32 does not clip c_t inside h's activation (onnxruntime#27224), where lstm-cli does as the
    # operator says: these weights keep |c_t| well below the clip 5, so that both agree here. A clip that
    # matters is still tested: z's reach beyond ±5 (scale 3 below).
    attrs, options = ONNX_CASES[case]
    rng = np.random.default_rng(RNG_SEED)
    scale = 3.0 if "clip" in attrs else 0.6
    W, R = rand(rng, 1, 4 * H, F, scale=scale), rand(rng, 1, 4 * H, H, scale=scale)
    offsets = np.concatenate([np.full(H, OFFSETS[g], np.float32) for g in "iofg"])  # ONNX's order
    Bb = np.concatenate([rand(rng, 1, 4 * H, scale=0.3) + offsets, rand(rng, 1, 4 * H, scale=0.3)], axis=1)
    P = rand(rng, 1, 3 * H, scale=0.8)  # p_i, p_o, p_f
    x, h0, c0 = rand(rng, T, B, F, scale=1.5), rand(rng, 1, B, H), rand(rng, 1, B, H)
    y, y_h, y_c = _onnx_lstm(x, h0, c0, W, R, Bb, P, **attrs)
    if "clip" in attrs:
        assert np.abs(y_c).max() < 5 and np.abs(x).max() > 0  # the premise above
    p_i, p_o, p_f = np.split(P[0], 3)
    layer = {
        "units": H,
        "kernel": _onnx_blocks(W[0].T),
        "recurrent_kernel": _onnx_blocks(R[0].T),
        "bias": _onnx_blocks(Bb[0, : 4 * H] + Bb[0, 4 * H :]),
        "peepholes": {"i": p_i, "f": p_f, "o": p_o},
        **options,
    }
    out = run_config(layer, x.transpose(1, 0, 2), h0[0], c0[0])
    np.testing.assert_allclose(out["lstm"], y[:, 0].transpose(1, 0, 2), atol=1e-6)
    np.testing.assert_allclose(out["lstm.h"], y_h[0], atol=1e-6)
    np.testing.assert_allclose(out["lstm.c"], y_c[0], atol=1e-6)


@pytest.mark.parametrize(
    ("forget_bias", "cell_clip", "peepholes"),
    [(1.0, None, False), (1.0, None, True), (0.5, 0.8, True), (1.0, 3.0, False)],
)
def test_tf1_options_equal_lstm_block_cell(
    forget_bias: float, cell_clip: float | None, peepholes: bool
) -> None:
    tf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(RNG_SEED)
    w = rand(rng, F + H, 4 * H)  # LSTMBlockCell: [x, h] @ w, gates i, g(=cs), f, o
    offsets = np.concatenate([np.full(H, OFFSETS[g], np.float32) for g in "igfo"])
    b = rand(rng, 4 * H, scale=0.3) + offsets
    wci, wcf, wco = (rand(rng, H, scale=0.8) if peepholes else np.zeros(H, np.float32) for _ in range(3))
    x, h0, c0 = rand(rng, T, B, F, scale=1.5), rand(rng, B, H), rand(rng, B, H, scale=1.0)
    h, c = h0, c0
    for t in range(T):
        outs = tf.raw_ops.LSTMBlockCell(
            x=x[t],
            cs_prev=c,
            h_prev=h,
            w=w,
            wci=wci,
            wcf=wcf,
            wco=wco,
            b=b,
            forget_bias=forget_bias,
            cell_clip=-1.0 if cell_clip is None else cell_clip,
            use_peephole=peepholes,
        )
        c, h = outs[1].numpy(), outs[6].numpy()

    def keras_order(a: np.ndarray) -> np.ndarray:
        i, g, f, o = np.split(a, 4, axis=-1)
        return np.concatenate([i, f, g, o], axis=-1)

    layer: dict[str, Any] = {
        "units": H,
        "kernel": keras_order(w[:F]),
        "recurrent_kernel": keras_order(w[F:]),
        "bias": keras_order(b),
        "forget_bias": forget_bias,
    }
    if cell_clip is not None:
        layer["cell_clip"] = cell_clip
    if peepholes:
        layer["peepholes"] = {"i": wci, "f": wcf, "o": wco}
    out = run_config(layer, x.transpose(1, 0, 2), h0, c0)
    np.testing.assert_allclose(out["lstm.h"], h, atol=1e-6)
    np.testing.assert_allclose(out["lstm.c"], c, atol=1e-6)
    if cell_clip is not None and cell_clip < 1:
        assert np.abs(out["lstm.c"]).max() == pytest.approx(cell_clip)  # the clip mattered


def test_convert_refuses_a_weights_file_that_would_drop_an_option(tmp_path: Any) -> None:
    import yaml

    from lstm_cli.modelfiles.convert import convert

    source = tmp_path / "peepholes.yaml"
    source.write_text(yaml.safe_dump(peephole_config()), encoding="utf-8")
    for name in ("out.npz", "out.weights.h5"):
        with pytest.raises(LstmCliError) as info:
            convert(source, tmp_path / name)
        assert "layer 'lstm' uses LSTM variant options" in info.value.message
    with pytest.raises(LstmCliError) as info:  # nn.LSTM(proj_size) takes a projection, and nothing else
        convert(source, tmp_path / "out.pt")
    assert (
        info.value.message
        == "layer 'lstm' cannot be an nn.LSTM: it has peepholes, which nn.LSTM does not compute"
    )
    projected = tmp_path / "projection.yaml"
    projected.write_text(yaml.safe_dump(projection_config()), encoding="utf-8")
    for name in ("out.npz", "out.weights.h5"):  # Keras's LSTM has no projection
        with pytest.raises(LstmCliError) as info:
            convert(projected, tmp_path / name)
        assert "layer 'lstm' uses LSTM variant options" in info.value.message
    convert(source, tmp_path / "again.yaml")  # a config keeps them
    np.testing.assert_allclose(lstm_cli.forward(tmp_path / "again.yaml")["lstm.h"], [[0.8670237]], atol=1e-7)


def test_trace_explain_writes_each_option_out() -> None:
    from pathlib import Path

    from conftest import run_cli

    example = Path(lstm_cli.__file__).parent / "examples" / "tf1-peepholes.yaml"
    run = run_cli("trace", str(example), "--explain", "--units", "0", env={"COLUMNS": "300"})
    assert run.exit_code == 0, run.stderr
    lines = [line.strip() for line in run.stdout.splitlines()]
    assert (
        "z_f[0] = x·W_f[:,0] + h_prev·U_f[:,0] + b_f[0] + forget_bias 1 + p_f[0]·c_prev[0] = 1·0.2000 + "
        "0·(-0.4000) + (0·0.3000 + 0·0.1000) + 0 + 1 + 0.5000·0 = 1.2000"
    ) in lines
    assert (
        "z_o[0] = x·W_o[:,0] + h_prev·U_o[:,0] + b_o[0] + p_o[0]·c[0] = 1·0.1000 + 0·0.5000 + "
        "(0·(-0.3000) + 0·0.2000) + 0 + (-0.4000)·0.6113 = -0.1445"
    ) in lines
    assert any(
        line.startswith("c[0] = clip(f[0]·c_prev[0] + i[0]·g[0], ±1) = clip(") and line.endswith(") = 1")
        for line in lines
    )


def test_summary_counts_the_peepholes_and_the_projection() -> None:
    from pathlib import Path

    from conftest import run_cli

    examples = Path(lstm_cli.__file__).parent / "examples"
    run = run_cli("summary", str(examples / "tf1-peepholes.yaml"), "--detail", env={"COLUMNS": "200"})
    lines = [line.strip() for line in run.stdout.splitlines()]
    assert "Total params: 46 (184.00 B)" in lines  # 4·2·(2 + 2 + 1) + 3·2
    assert any(line.startswith("peepholes.o") and line.endswith("2") for line in lines)
    assert "Keras          4·units·(features + units + 1) + 3·units = 4·2·(2 + 2 + 1) + 3·2 = 46" in lines
    run = run_cli("summary", str(examples / "pytorch-projection.yaml"), "--detail", env={"COLUMNS": "200"})
    lines = [line.strip() for line in run.stdout.splitlines()]
    assert "Total params: 34 (136.00 B)" in lines  # 4·2·(2 + 1 + 1) + 2·1: recurrent_kernel (1, 8)
    assert "recurrent_kernel   (1, 8)  = (proj, 4*units)       8" in lines
    assert "Keras          4·units·(features + proj + 1) + units·proj = 4·2·(2 + 1 + 1) + 2·1 = 34" in lines


def test_the_heatmap_draws_no_h_past_a_projections_width() -> None:
    # h has proj = 1 column and c units = 2: unit 1's h does not exist, and was once drawn as the lowest
    # glyph, which reads as h = -1.
    from conftest import CONFIGS, run_cli

    run = run_cli("trace", str(CONFIGS / "pytorch-projection.yaml"), "--view", "heatmap")
    unit_0, unit_1 = (
        [cell for cell in line.split(" ")[1:] if cell]
        for line in run.stdout.splitlines()
        if line[:2] in ("0 ", "1 ")
    )
    assert [len(cells) for cells in (unit_0, unit_1)] == [6, 5]  # i, f, g, o, c, h; unit 1 has no h
    assert all(len(cells) == 3 for cells in unit_0)  # one glyph per timestep


def test_activation_clip_clips_every_activations_input_and_c_inside_h_worked_by_hand() -> None:
    # One unit, linear activations, x = 2 and every kernel entry 1, so z = [2, 2, 2, 2] (i, f, g, o).
    # activation_clip 1.5 clips each z: i = f = g = o = 1.5. c = f·0 + i·g = 2.25, carried unclipped (the
    # state is not clipped). h = o·linear(clip(c, ±1.5)) = 1.5·1.5 = 2.25; onnxruntime 1.32, which leaves c
    # unclipped inside h (onnxruntime#27224), would give 1.5·2.25 = 3.375.
    config = {
        "input": [[[2.0]]],
        "layers": [
            {
                "type": "lstm",
                "units": 1,
                "activation": None,
                "recurrent_activation": None,
                "activation_clip": 1.5,
                "return_state": True,
                "kernel": [[1, 1, 1, 1]],
                "recurrent_kernel": [[0, 0, 0, 0]],
                "bias": [0, 0, 0, 0],
            }
        ],
    }
    out = lstm_cli.forward(config)
    assert out["lstm.c"].tolist() == [[2.25]]
    assert out["lstm.h"].tolist() == [[2.25]]
