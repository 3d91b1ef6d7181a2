"""`jaxrl-hybrid sweep FILE`: traced grids vmapped in one program, static options one program each."""

import json
from pathlib import Path

import pytest

from jaxrl_hybrid.cli.main import main
from jaxrl_hybrid.cli.sweep import plan_sweep, read_sweep_file

pytestmark = pytest.mark.xdist_group("engine")

# The engine tests' tiny SAC settings: with --block-size 1 and 2 seeds x 2 actor_lr values, the
# 16x16 program is the one test_engine compiled (same xdist group, so its cache serves it).
TOML = """
command = "train"
num_seeds = 2
seed = 3

[options]
algo = "sac"
env = "gymnax:Pendulum-v1"
total_steps = 600
learning_starts = 100
eval_every = 100
batch_size = 32
buffer_size = 1000
num_eval_episodes = 2

[grid]
actor_lr = [1e-3, 3e-4]
hidden_dims = [[16, 16], [8]]
"""


def test_sweep_runs_one_program_per_static_value_and_reports(tmp_path, capsys):
    file = tmp_path / "sac.toml"
    file.write_text(TOML)
    out = tmp_path / "sweep"
    assert main(["sweep", str(file), "--out", str(out), "--block-size", "1"]) == 0
    record = json.loads((out / "sweep.json").read_text())
    assert record["programs"] == 2 and record["traced_settings"] == 2
    folders = [Path(f).name for f in record["runs"]]
    assert folders == ["hidden_dims=16x16", "hidden_dims=8"]
    for name, dims in zip(folders, ([16, 16], [8]), strict=True):
        config = json.loads((out / name / "config.json").read_text())
        assert config["train"]["agent"]["hidden_dims"] == dims and config["seed"] == 3
        summary = json.loads((out / name / "summary.json").read_text())
        assert [g["hparams"] for g in summary["grid"]] == [{"actor_lr": 1e-3}, {"actor_lr": 3e-4}]
        assert all(len(g["final_return"]) == 2 for g in summary["grid"])
    comparison = json.loads((out / "report" / "comparison.json").read_text())
    assert len(comparison["aggregates"]) == 4  # 2 programs x 2 traced settings
    capsys.readouterr()
    # finished folders are kept
    assert main(["sweep", str(file), "--out", str(out), "--block-size", "1", "--resume"]) == 0
    assert capsys.readouterr().err.count("finished before, kept") == 2


def test_sweep_file_errors_name_the_file_and_key(tmp_path):
    yaml_file = tmp_path / "s.yaml"
    yaml_file.write_text("command: train\noptions: {algo: td3}\ngrid: {critic_lr: [1.0e-3, 3.0e-4], utd: [1, 2]}\n")
    cls, combos, traced, static = plan_sweep(read_sweep_file(yaml_file), yaml_file)
    assert cls.__name__ == "Train" and traced == {"critic_lr": [1e-3, 3e-4]} and static == ["utd"]
    assert [c["utd"] for c in combos] == [1, 2] and all(c["algo"] == "td3" for c in combos)
    cases = {
        "grid = {nope = [1]}": "grid.nope is neither a traced hyperparameter",
        'options = {colour = "red"}': "options.colour is not an option of `train`",
        'command = "gap"': "a sweep runs one of",
        "grid = {actor_lr = 1e-3}": "grid.actor_lr must be a non-empty list",
        "seeds = 3": "unknown top-level keys ['seeds']",
    }
    for text, message in cases.items():
        bad = tmp_path / "bad.toml"
        bad.write_text(text + "\n")
        with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")) as info:
            plan_sweep(read_sweep_file(bad), bad)
        assert str(bad) in str(info.value)
