"""Execution: resume after SIGKILL, layouts (groups, devices, hosts) that give identical runs,
diverging seeds, refusals. Every run here is the same tiny SAC program with --block-size 1, so
a run's numbers may not depend on how runs are laid out. 4 runs everywhere: the reference and
the resumed run share one compiled program, the 2-device and 2-process runs another."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import subprocess_env

from jaxrl_hybrid.cli.main import main
from jaxrl_hybrid.engine.core import first_divergence, plan_layout

pytestmark = pytest.mark.xdist_group("engine")

ARGS = [
    "train",
    "--algo",
    "sac",
    "--env",
    "gymnax:Pendulum-v1",
    "--num-seeds",
    "4",
    "--total-steps",
    "600",
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
    "--block-size",
    "1",
]


def cli(*extra) -> list[str]:
    return [sys.executable, "-m", "jaxrl_hybrid.cli.main", *ARGS, *extra]


def lines(folder: Path) -> list[dict]:
    return [json.loads(x) for x in (folder / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted run (one process, one device, all runs at once), also logging to
    TensorBoard and W&B (offline)."""
    out = tmp_path_factory.mktemp("engine") / "reference"
    assert main([*ARGS, "--out", str(out), "--tensorboard", "--wandb"]) == 0
    return out


def test_reference_run_logs_to_tensorboard_and_wandb(reference):
    assert list((reference / "tensorboard").glob("events.out.tfevents.*"))
    assert list((reference / "wandb").glob("offline-run-*"))
    summary = json.loads((reference / "summary.json").read_text())
    assert summary["diverged"] == [] and summary["layout"]["num_groups"] == 1
    assert not (reference / "resume").exists()


def test_sigkill_then_resume_on_two_devices_in_two_groups_is_bit_identical(reference, tmp_path, capsys):
    """Killed mid-run (2 host devices, 2 groups of 2 runs) and resumed: the one-device,
    one-program run's numbers, byte for byte. A changed config, or no --resume, is refused."""
    out = tmp_path / "run"
    latest = tmp_path / "run.partial" / "resume" / "train" / "LATEST"
    flags = os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2"
    layout = ["--out", str(out), "--checkpoint-every", "1", "--max-parallel", "2"]
    proc = subprocess.Popen(
        cli(*layout), env=subprocess_env(XLA_FLAGS=flags), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.time() + 600
        while not latest.exists() and proc.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    assert not out.exists() and latest.exists()

    # A different config, or no --resume, is refused and leaves the partial run as it was.
    before = sorted(p.name for p in latest.parent.iterdir())
    assert main([*ARGS, *layout, "--num-eval-episodes", "3", "--resume"]) == 2
    err = capsys.readouterr().err
    assert "differs from the run it would continue" in err and "num_eval_episodes: 2 -> 3" in err
    assert main([*ARGS, *layout]) == 2
    assert "--resume" in capsys.readouterr().err
    assert sorted(p.name for p in latest.parent.iterdir()) == before

    done = subprocess.run(cli(*layout, "--resume"), env=subprocess_env(XLA_FLAGS=flags), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "resumed from" in done.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["layout"]["num_devices"], summary["layout"]["num_groups"]) == (2, 2)
    assert (out / "metrics.jsonl").read_text() == (reference / "metrics.jsonl").read_text()
    assert summary["final_return"] == json.loads((reference / "summary.json").read_text())["final_return"]
    assert not (out / "resume").exists() and not (tmp_path / "run.partial").exists()


def test_two_processes_on_localhost_repeat_the_one_process_run(reference, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "multihost"
    hosts = ["--coordinator", f"127.0.0.1:{port}", "--num-processes", "2"]
    procs = [
        subprocess.Popen(
            cli("--out", str(out), *hosts, "--process-id", str(i)),
            env=subprocess_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i in range(2)
    ]
    logs = [p.communicate(timeout=600)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], logs
    assert "process 1: its runs are done" in logs[1]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["layout"]["num_processes"] == 2 and summary["layout"]["per_process"] == 2
    assert (out / "metrics.jsonl").read_text() == (reference / "metrics.jsonl").read_text()


def test_a_diverging_setting_is_flagged_and_the_other_runs_are_unaffected(reference, tmp_path):
    out = tmp_path / "nan"
    with pytest.warns(RuntimeWarning, match="diverged"):
        # 2 seeds x 2 settings: the reference's 4-run program
        assert main([*ARGS, "--out", str(out), "--num-seeds", "2", "--hparam", "critic_lr=3e-4,1e30"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    healthy, broken = summary["grid"]
    ref = json.loads((reference / "summary.json").read_text())
    assert healthy["final_return"] == ref["final_return"][:2]  # same seeds, same numbers
    assert healthy["num_runs"] == 2
    flagged = summary["diverged"]
    assert [d["run"] for d in flagged] == [2, 3]
    assert all(d["hparams"] == {"critic_lr": 1e30} and 200 <= d["step"] <= 600 for d in flagged)
    assert broken["num_runs"] == 0 and broken["iqm"] is None
    assert "diverged" in (out / "report.md").read_text()

    def refuse(constant):  # strict JSON: a NaN or infinity is written as null, never bare
        raise AssertionError(f"bare {constant} in a written file")

    for line in (out / "metrics.jsonl").read_text().splitlines():
        json.loads(line, parse_constant=refuse)
    json.loads((out / "summary.json").read_text(), parse_constant=refuse)
    assert "null" in (out / "metrics.jsonl").read_text()  # the diverged runs' losses


def test_resume_refuses_a_changed_dataset(tmp_path):
    from jaxrl_hybrid.experiment.record import open_run_dir

    record = {"train": {"algo": "iql"}, "dataset_fingerprint": "aaa"}
    open_run_dir(str(tmp_path / "run"), False, False, record, "aaa", "run")  # an interrupted run's folder
    with pytest.raises(ValueError, match="the dataset differs.*aaa -> bbb"):
        open_run_dir(str(tmp_path / "run"), False, True, {**record, "dataset_fingerprint": "bbb"}, "bbb", "run")
    with pytest.raises(ValueError, match=r"train.algo: 'iql' -> 'cql'"):
        open_run_dir(str(tmp_path / "run"), False, True, {**record, "train": {"algo": "cql"}}, "aaa", "run")


def test_resume_refuses_a_layout_that_changes_the_numbers(tmp_path):
    """A jax upgrade or another block size between the kill and --resume is refused by name;
    the device count is not (it leaves the numbers unchanged) unless the block is 'share'."""
    from jaxrl_hybrid.engine.core import layout_differences
    from jaxrl_hybrid.experiment.record import open_run_dir

    layout = {"platform": "cpu", "jax": "0.10.2", "jaxlib": "0.10.2", "block_size": 4, "devices": 2, "processes": 1}
    record = {"train": {"algo": "sac"}, "layout": layout}
    open_run_dir(str(tmp_path / "run"), False, False, record, None, "run")
    for change, message in [
        ({"jax": "0.11.0"}, r"layout.jax: '0.10.2' -> '0.11.0'"),
        ({"block_size": 8}, r"layout.block_size: 4 -> 8"),
        ({"platform": "gpu"}, r"layout.platform: 'cpu' -> 'gpu'"),
    ]:
        with pytest.raises(ValueError, match=message):
            open_run_dir(str(tmp_path / "run"), False, True, {**record, "layout": {**layout, **change}}, None, "run")
    assert layout_differences(layout, {**layout, "devices": 8}) == []
    assert layout_differences({**layout, "block_size": "share"}, {**layout, "block_size": "share", "devices": 8}) == [
        "layout.devices: 2 -> 8"
    ]
    assert layout_differences(None, layout) == []  # a run folder from before the record


def test_layout_pads_to_whole_blocks_and_divergence_names_the_first_bad_step():
    assert plan_layout(3, None, 1, 1) == {
        "num_runs": 3,
        "num_processes": 1,
        "per_process": 3,
        "group_size": 3,
        "num_groups": 1,
        "num_devices": 1,
        "block_size": 3,
    }
    layout = plan_layout(10, 4, 2, 2, block_size=1)  # 5 runs per process, groups of at most 4 on 2 devices
    assert (layout["per_process"], layout["group_size"], layout["num_groups"], layout["block_size"]) == (8, 4, 2, 1)
    history = {
        "eval_returns": np.array([[[1.0], [1.0]], [[1.0], [np.nan]], [[np.inf], [np.nan]]]),
        "critic_loss": np.array([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]),
        "params_finite": np.array([[1.0, 1.0], [1.0, 1.0], [1.0, 0.0]]),
        "train_episode_return": np.full((3, 2), np.nan),  # NaN when no episode ended: not divergence
    }
    assert first_divergence(history, [100, 200, 300]).tolist() == [300, 200]


def test_resume_check_reads_an_option_added_later_and_left_unset_as_the_same_run():
    """A run started before a CLI option existed resumes when the option is left unset (None);
    giving it a value, or changing any other setting, is still a difference."""
    from jaxrl_hybrid.engine.store import config_differences

    saved = {"cli": {"algo": "cql", "updates": 20000}}
    assert config_differences(saved, {"cli": {"algo": "cql", "updates": 20000, "action_bins": None}}) == []
    assert config_differences(saved, {"cli": {"algo": "cql", "updates": 20000, "action_bins": 7}}) == [
        "cli.action_bins: absent -> 7"
    ]
    assert config_differences({"a": None}, {"a": 1}) == ["a: None -> 1"]
    assert config_differences({"a": 0}, {}) == ["a: 0 -> absent"]
