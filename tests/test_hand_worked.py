"""Cases worked out by hand, numbers to 7 significant digits in the comments; no framework involved."""

import numpy as np
import pytest

import lstm_cli


def one_unit_config() -> dict:
    # One unit, one feature, default activations (tanh, sigmoid), two timesteps x = 1 then 2.
    # Gate columns i, f, g, o:
    #   kernel           = [1, 0, 2, -1]
    #   recurrent_kernel = [0, 1, 0, 2]
    #   bias             = [0, 1, 0, 1]
    return {
        "input": [[[1.0], [2.0]]],
        "layers": [
            {
                "type": "lstm",
                "units": 1,
                "return_sequences": True,
                "return_state": True,
                "kernel": [[1, 0, 2, -1]],
                "recurrent_kernel": [[0, 1, 0, 2]],
                "bias": [0, 1, 0, 1],
            }
        ],
    }


def test_one_unit_two_steps_by_hand() -> None:
    # t = 0: h_prev = c_prev = 0
    #   z = 1·[1, 0, 2, -1] + 0·[0, 1, 0, 2] + [0, 1, 0, 1] = [1, 1, 2, 0]
    #   i = σ(1) = 0.7310586   f = σ(1) = 0.7310586   g = tanh(2) = 0.9640276   o = σ(0) = 0.5
    #   c = f·0 + i·g = 0.7310586 · 0.9640276 = 0.7047606
    #   h = o·tanh(c) = 0.5 · tanh(0.7047606) = 0.5 · 0.6073808 = 0.3036904
    # t = 1: x = 2
    #   z_i = 2·1  + 0.3036904·0 + 0 = 2           → i = σ(2)          = 0.8807971
    #   z_f = 2·0  + 0.3036904·1 + 1 = 1.3036904   → f = σ(1.3036904)  = 0.7864554
    #   z_g = 2·2  + 0.3036904·0 + 0 = 4           → g = tanh(4)       = 0.9993293
    #   z_o = 2·-1 + 0.3036904·2 + 1 = -0.3926192  → o = σ(-0.3926192) = 0.4030870
    #   c = f·c_prev + i·g = 0.7864554·0.7047606 + 0.8807971·0.9993293 = 1.4344691
    #   h = o·tanh(c) = 0.4030870 · tanh(1.4344691) = 0.3597869
    out = lstm_cli.forward(one_unit_config())
    np.testing.assert_allclose(out["lstm"], [[[0.3036904], [0.3597869]]], atol=1e-7)
    np.testing.assert_allclose(out["lstm.h"], [[0.3597869]], atol=1e-7)
    np.testing.assert_allclose(out["lstm.c"], [[1.4344691]], atol=1e-7)


def test_go_backwards_processes_the_last_step_first() -> None:
    # The same layer reading x = 2 first, then 1. Step x = 2 from zero state:
    #   z = [2, 1, 4, -1]: i = σ(2) = 0.8807971, f = σ(1), g = tanh(4) = 0.9993293, o = σ(-1) = 0.2689414
    #   c = 0.8807971 · 0.9993293 = 0.8802063
    #   h = 0.2689414 · tanh(0.8802063) = 0.2689414 · 0.7065227 = 0.1900132
    # The sequence output stays in processing order, so its first row is this step (Keras 3 semantics).
    config = one_unit_config()
    config["layers"][0]["go_backwards"] = True
    out = lstm_cli.forward(config)
    np.testing.assert_allclose(out["lstm"][0, 0], [0.1900132], atol=1e-7)
    np.testing.assert_allclose(out["lstm.h"], out["lstm"][:, -1], atol=0)


def test_seed_by_hand() -> None:
    # The blog's step with identity activations: x = [1, 0], zero state, so z = kernel[0] + bias:
    #   z_i = [2, 1, 1] + [3, 1, 0] = [5, 2, 1]     z_f = [0, 0, 0] + [1, 1, 0] = [1, 1, 0]
    #   z_g = [0, 1, 1] + [0, 1, 0] = [0, 2, 1]     z_o = [0, 1, 0] + [2, 0, 0] = [2, 1, 0]
    #   c = f·0 + i·g = [5·0, 2·2, 1·1] = [0, 4, 1]
    #   h = o·c = [2·0, 1·4, 0·1] = [0, 4, 0]       (the blog wrote h[2] = 1, forgetting o[2] = 0)
    out = lstm_cli.forward("configs/seed.yaml")
    assert out["lstm.h"].tolist() == [[0, 4, 0]]
    assert out["lstm.c"].tolist() == [[0, 4, 1]]
    assert out["lstm"].tolist() == [[[0, 4, 0]]]


def test_dense_head_by_hand() -> None:
    # Dense(2) on h = [0, 4, 0] with kernel [[1, 0], [0.5, -1], [2, 2]] and bias [1, 1]:
    #   y = [0·1 + 4·0.5 + 0·2 + 1, 0·0 + 4·-1 + 0·2 + 1] = [3, -3]; relu → [3, 0]
    config = lstm_cli_seed_mapping()
    config["layers"].append(
        {
            "type": "dense",
            "units": 2,
            "activation": "relu",
            "kernel": [[1, 0], [0.5, -1], [2, 2]],
            "bias": [1, 1],
        }
    )
    out = lstm_cli.forward(config)
    assert out["dense"].tolist() == [[[3, 0]]]


def test_layers_may_read_a_state_or_a_half_by_hand() -> None:
    # The seed's layer (return_state) gives h = [0, 4, 0] and c = [0, 4, 1]. A Dense on each state, with
    # kernel [[1], [2], [3]] and bias [0.5]:  on h: 0 + 8 + 0 + 0.5 = [8.5];  on c: 0 + 8 + 3 + 0.5 = [11.5].
    # A bidirectional layer with merge_mode null (both halves the seed's weights, identity activations, one
    # step) gives bi.forward = bi.backward = [[[0, 4, 0]]]; a Dense on bi.backward: [[[8.5]]].
    config = lstm_cli_seed_mapping()
    seed_layer = config["layers"][0]
    dense = {"type": "dense", "units": 1, "kernel": [[1], [2], [3]], "bias": [0.5]}
    halves = {key: seed_layer[key] for key in ("kernel", "recurrent_kernel", "bias")}
    config["layers"] += [
        {**dense, "name": "on_h", "input": "lstm.h"},
        {**dense, "name": "on_c", "input": "lstm.c"},
        {
            "type": "bidirectional",
            "name": "bi",
            "input": "input",
            "units": 3,
            "activation": None,
            "recurrent_activation": None,
            "return_sequences": True,
            "merge_mode": None,
            "forward": halves,
            "backward": halves,
        },
        {**dense, "name": "on_backward", "input": "bi.backward"},
    ]
    out = lstm_cli.forward(config)
    assert out["on_h"].tolist() == [[8.5]]
    assert out["on_c"].tolist() == [[11.5]]
    assert out["bi.forward"].tolist() == out["bi.backward"].tolist() == [[[0, 4, 0]]]
    assert out["on_backward"].tolist() == [[[8.5]]]


def lstm_cli_seed_mapping() -> dict:
    import yaml

    with open("configs/seed.yaml", encoding="utf-8") as stream:
        return yaml.safe_load(stream)


@pytest.fixture(autouse=True)
def _at_repo_root(monkeypatch: pytest.MonkeyPatch) -> None:
    from conftest import ROOT

    monkeypatch.chdir(ROOT)
