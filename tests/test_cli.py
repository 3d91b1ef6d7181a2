"""The command line: a run folder with config, metrics, summary and report; refusal and overwrite."""

import json

import pytest

from jaxrl_hybrid.cli.main import main
from jaxrl_hybrid.engine.host import host_settings

# One worker runs these: most share TINY's compiled program through the compilation cache.
pytestmark = pytest.mark.xdist_group("cli")

TINY = [
    "train",
    "--algo",
    "sac",
    "--env",
    "gymnax:Pendulum-v1",
    "--num-seeds",
    "3",
    "--total-steps",
    "300",
    "--learning-starts",
    "100",
    "--eval-every",
    "100",
    "--hidden-dims",
    "16",
    "16",
    "--batch-size",
    "32",
    "--buffer-size",
    "1000",
    "--num-eval-episodes",
    "2",
    "--seed",
    "0",
]


def test_train_writes_run_folder(tmp_path, capsys):
    # TINY as the rerun test below runs it: one compiled program (cache) serves both. The
    # classification critics are trained by test_learning / test_loss_kinds; here only the flag.
    from jaxrl_hybrid.cli.train import Train, build_config

    hl = build_config(Train(critic_loss="hl_gauss", hidden_dims=(16,)))
    assert hl.agent.critic_loss.kind == "hl_gauss" and hl.agent.critic_loss.v_min == -1700.0
    out = tmp_path / "run"
    # 350 steps do not fill a third chunk of 100: the run says so at the start and runs 300.
    assert main([*TINY, "--total-steps", "350", "--out", str(out)]) == 0
    assert {p.name for p in out.iterdir()} >= {"config.json", "metrics.jsonl", "summary.json", "report.md"}
    config = json.loads((out / "config.json").read_text())
    assert config["train"]["agent"]["critic_loss"]["kind"] == "mse"
    # What the numbers may depend on is on record: 3 runs in one block of min(4, 3), pool of 8.
    layout = config["layout"]
    assert layout["platform"] == "cpu" and layout["block_size"] == 3 and layout["intra_op_threads"] == 8
    assert layout["jax"] == config["jax_version"] and layout["devices"] >= 1
    assert layout["cpu_isa"] == host_settings()["cpu_isa"]  # the instruction set XLA compiled for
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == [200, 300]
    assert all(len(x["eval_return"]) == 3 for x in lines)
    summary = json.loads((out / "summary.json").read_text())
    assert len(summary["final_return"]) == 3
    assert summary["final_return"] == lines[-1]["eval_return"]
    assert summary["ci95"][0] <= summary["iqm"] <= summary["ci95"][1]
    err = capsys.readouterr().err
    assert "steps/s" in err and "ETA" in err and "mean return" in err
    assert "note: 350 env steps requested, 300 will run (100 warm-up + 2 chunks of 100" in err
    assert json.loads((out / "summary.json").read_text())["total_env_steps"] == 300
    assert not list(tmp_path.glob("*.partial"))


def test_rerun_repeats_every_number_and_refuses_without_overwrite(tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    assert main([*TINY, "--out", str(a)]) == 0
    assert main([*TINY, "--out", str(b)]) == 0
    assert (a / "metrics.jsonl").read_text() == (b / "metrics.jsonl").read_text()
    before = (a / "summary.json").read_text()
    assert main([*TINY, "--seed", "1", "--out", str(a)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (a / "summary.json").read_text() == before
    assert main([*TINY, "--seed", "1", "--out", str(a), "--overwrite"]) == 0
    assert (a / "summary.json").read_text() != before


def test_failed_run_leaves_existing_folder_intact(tmp_path, monkeypatch):
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("precious")

    def broken_report(*args, **kwargs):
        raise RuntimeError("disk full while writing the report")

    import jaxrl_hybrid.report.render

    monkeypatch.setattr(jaxrl_hybrid.report.render, "write_report", broken_report)
    with pytest.raises(RuntimeError, match="disk full"):
        main([*TINY, "--out", str(out), "--overwrite"])
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    staged = list(tmp_path.glob("run.partial"))
    assert len(staged) == 1 and (staged[0] / "metrics.jsonl").exists()


def test_hparam_grid_runs_in_one_program(tmp_path):
    # 3 settings x 1 seed: the same 3-run program as TINY's 3 seeds (hparams are traced), so the
    # compilation cache of this xdist group serves it.
    out = tmp_path / "grid"
    grid = ["--num-seeds", "1", "--hparam", "actor_lr=1e-4,3e-4,1e-3", "--hparam", "gamma=0.9"]
    assert main([*TINY, "--out", str(out), *grid]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert [g["hparams"] for g in summary["grid"]] == [
        {"actor_lr": 1e-4, "gamma": 0.9},
        {"actor_lr": 3e-4, "gamma": 0.9},
        {"actor_lr": 1e-3, "gamma": 0.9},
    ]
    assert all(len(g["final_return"]) == 1 for g in summary["grid"])
    assert len({g["final_return"][0] for g in summary["grid"]}) == 3  # the settings really differ
