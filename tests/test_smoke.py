import json

from conftest import CONFIGS, run_cli


def test_seed_json_through_cli() -> None:
    run = run_cli("forward", str(CONFIGS / "seed.yaml"), "--format", "json")
    assert run.exit_code == 0, run.stderr
    outputs = json.loads(run.stdout)["outputs"]
    assert outputs["lstm.h"] == [[0.0, 4.0, 0.0]]
    assert outputs["lstm.c"] == [[0.0, 4.0, 1.0]]
