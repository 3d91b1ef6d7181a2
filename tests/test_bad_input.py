"""Every bad input the CLI knows (issue 20, part 3): exit 2, one line naming the flag, file or
key, no traceback, no file written, and every file already there byte-identical."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from jaxrl_hybrid.cli.main import main

pytestmark = pytest.mark.xdist_group("cli")

TINY = ["--num-seeds", "2", "--hidden-dims", "16", "--batch-size", "16", "--num-eval-episodes", "1"]


def _write_hdf5(path, obs_dim=3, act_dim=1, env="gymnax:Pendulum-v1", n=400, actions_rows=None, next_obs=True):
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(n + 1, obs_dim)).astype(np.float32)
    timeouts = np.zeros(n, bool)
    timeouts[199::200] = True
    with h5py.File(path, "w") as f:
        f["observations"] = obs[:-1]
        if next_obs:
            f["next_observations"] = obs[1:]
        f["actions"] = rng.uniform(-1, 1, (actions_rows or n, act_dim)).astype(np.float32)
        f["rewards"] = rng.normal(size=n).astype(np.float32)
        f["terminals"] = np.zeros(n, bool)
        f["timeouts"] = timeouts
        f.attrs["jaxrl_hybrid_metadata"] = json.dumps({"env": env} if env else {})


def _snapshot(root):
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


# (argv with {tmp} for the test folder, what the error line must contain)
CASES = {
    "env_and_dataset_disagree": (
        ["train", "--algo", "iql", "--dataset", "{tmp}/pend.hdf5", "--env", "gymnax:CartPole-v1"],
        "{tmp}/pend.hdf5: does not fit gymnax:CartPole-v1: 'observations' have shape (3,) per row",
    ),
    "dataset_names_no_env": (["train", "--algo", "iql", "--dataset", "{tmp}/noenv.hdf5"], "pass --env NAME"),
    "dataset_shape_differs_from_env": (
        ["train", "--algo", "iql", "--dataset", "{tmp}/wide.hdf5"],
        "{tmp}/wide.hdf5: does not fit gymnax:Pendulum-v1: 'observations' have shape (4,)",
    ),
    "dataset_shape_differs_from_given_env": (
        ["train", "--algo", "iql", "--dataset", "{tmp}/noenv.hdf5", "--env", "gymnax:CartPole-v1"],
        "does not fit gymnax:CartPole-v1",
    ),
    "hdf5_short_actions": (
        ["train", "--algo", "iql", "--dataset", "{tmp}/short.hdf5"],
        "{tmp}/short.hdf5: 'actions' has 399 rows, expected 400",
    ),
    "reward_scale_not_a_scale": (
        ["train", "--algo", "iql", "--dataset", "{tmp}/pend.hdf5", "--reward-scale", "-2"],
        "--reward-scale -2: expected none, return_range or a positive number",
    ),
    "batch_size_for_ppo": (
        ["train", "--algo", "ppo", "--batch-size", "64"],
        "--batch-size and --utd are off-policy settings; --algo ppo sets its own minibatches",
    ),
    "hparam_and_grid_same_name": (
        ["train", "--hparam", "actor_lr=1e-3", "--grid", "actor_lr=3e-4"],
        "actor_lr is already set by 'actor_lr=1e-3'",
    ),
    "eval_every_0": (["train", "--eval-every", "0"], "--eval-every 0: expected an integer >= 1"),
    "total_steps_0": (["train", "--total-steps", "0"], "--total-steps 0: expected an integer >= 1"),
    "updates_0": (
        ["train", "--algo", "iql", "--dataset", "{tmp}/pend.hdf5", "--updates", "0"],
        "--updates 0: expected an integer >= 1",
    ),
    "total_steps_offline": (  # not read offline: 6,000 env steps would silently be 100,000 updates
        ["train", "--algo", "calql", "--dataset", "{tmp}/pend.hdf5", "--total-steps", "6000"],
        "--total-steps counts env steps of online training; --algo calql trains offline for --updates N",
    ),
    "updates_online": (
        ["train", "--algo", "sac", "--updates", "6000"],
        "--updates counts offline gradient updates; --algo sac trains online for --total-steps N",
    ),
    "num_seeds_0": (["train", "--num-seeds", "0"], "--num-seeds 0: expected"),
    "out_empty": (["train", "--out", ""], "--out '': expected a folder path"),
    "out_under_a_file": (["train", "--out", "{tmp}/notes.txt/sub"], "cannot be created, {tmp}/notes.txt is a file"),
    "out_not_permitted": (["train", "--out", "/proc/jaxrl_hybrid_run"], "--out /proc/jaxrl_hybrid_run: cannot create"),
    "out_is_a_file": (["train", "--out", "{tmp}/notes.txt"], "--out {tmp}/notes.txt: exists and is not a folder"),
    "out_holds_a_run": (["train", "--out", "{tmp}/run"], "--out {tmp}/run: exists and is not empty; pass --overwrite"),
    "env_typo": (["train", "--env", "gymnax:Pendulm-v1"], "did you mean 'gymnax:Pendulum-v1'"),
    "online_algo_with_dataset": (["train", "--dataset", "{tmp}/pend.hdf5"], "--dataset is for the offline algorithms"),
    "offline_algo_without_dataset": (["train", "--algo", "cql"], "pass --dataset FILE"),
    "max_parallel_word": (["train", "--max-parallel", "many"], "--max-parallel 'many'"),
    "block_size_0": (["train", "--block-size", "0"], "--block-size '0'"),
    "generate_size_0": (
        [
            "dataset",
            "generate",
            "--env",
            "gymnax:Pendulum-v1",
            "--kind",
            "random",
            "--size",
            "0",
            "--out",
            "{tmp}/d.hdf5",
        ],
        "--size 0: expected an integer >= 1",
    ),
    "generate_over_a_file": (
        [
            "dataset",
            "generate",
            "--env",
            "gymnax:Pendulum-v1",
            "--kind",
            "random",
            "--size",
            "10",
            "--out",
            "{tmp}/pend.hdf5",
        ],
        "{tmp}/pend.hdf5",
    ),
    "finetune_eval_every_0": (
        ["finetune", "--dataset", "{tmp}/pend.hdf5", "--eval-every", "0"],
        "--eval-every 0: expected an integer >= 1",
    ),
    "env_unknown": (["train", "--env", "gymnax:NoSuchEnv-v0"], "known envs: gymnax:CartPole-v1"),
    "hparam_unknown": (["train", "--hparam", "learning_rate=1e-3"], "has no field 'learning_rate'"),
    "env_override_typo": (["train", "--env-override", "gravty=3"], "no dynamics parameter 'gravty'"),
    "sticky_actions_not_a_probability": (
        ["train", "--algo", "dqn", "--env", "gymnax:CartPole-v1", "--env-override", "sticky_actions=2"],
        "sticky_actions=2.0: expected a probability in [0, 1)",
    ),
    "classification_loss_without_support": (
        ["train", "--env", "brax:hopper", "--critic-loss", "two_hot"],
        "--v-min and --v-max",
    ),
    "c51_for_an_actor_critic": (
        ["train", "--algo", "sac", "--critic-loss", "c51"],
        "--critic-loss c51 is distributional: it needs an agent that bootstraps its own next-state "
        "distribution (dqn, pqn)",
    ),
    "n_step_for_sac": (["train", "--n-step", "3"], "--n-step is a DQN setting; --algo sac"),
    "action_bins_for_iql": (
        ["train", "--algo", "iql", "--dataset", "{tmp}/pend.hdf5", "--action-bins", "7"],
        "--action-bins is an ARSQ setting; --algo iql",
    ),
    "arsq_one_bin": (
        ["train", "--algo", "arsq", "--dataset", "{tmp}/pend.hdf5", "--action-bins", "1"],
        "--action-bins 1: expected an integer >= 2",
    ),
    "arsq_classification_critic": (
        ["train", "--algo", "arsq", "--dataset", "{tmp}/pend.hdf5", "--critic-loss", "hl_gauss"],
        "its critic loss must be mse or huber, got 'hl_gauss'",
    ),
    "dqn_continuous_env": (
        ["train", "--algo", "dqn", "--env", "gymnax:Pendulum-v1"],
        "value-based agents need a discrete action space; gymnax:Pendulum-v1 is continuous",
    ),
    "dqn_envs_not_a_multiple": (
        ["train", "--algo", "dqn", "--env", "gymnax:CartPole-v1", "--num-envs", "6"],
        "num_envs=6 must be a multiple of it",
    ),
    "best_of_n_for_bc": (
        ["train", "--algo", "bc", "--dataset", "{tmp}/pend.hdf5", "--extract", "best-of-n"],
        "--extract best-of-n ranks actions by a critic; --algo bc has none",
    ),
    "best_of_n_online": (["train", "--extract", "best-of-n"], "--algo sac trains online"),
    "best_of_n_zero": (["train", "--algo", "iql", "--dataset", "{tmp}/pend.hdf5", "--n", "0"], "--n 0: expected"),
    "model_rollouts_online": (["train", "--model-rollouts"], "--model-rollouts augments offline datasets"),
    "activation_typo": (["train", "--activation", "swsh"], "unknown activation 'swsh'; known: relu, tanh, swish"),
    "host_devices_word": (["train", "--host-devices", "two"], "expected a positive integer or 'auto'"),
    "report_no_runs": (["report", "--out", "{tmp}/rep"], "no run folders given"),
    "report_over_a_run": (["report", "{tmp}/run", "--out", "{tmp}/run"], "not empty; pass --overwrite"),
}


@pytest.fixture
def user_files(tmp_path):
    _write_hdf5(tmp_path / "pend.hdf5")
    _write_hdf5(tmp_path / "noenv.hdf5", env=None)
    _write_hdf5(tmp_path / "wide.hdf5", obs_dim=4)
    _write_hdf5(tmp_path / "short.hdf5", actions_rows=399, next_obs=False)
    (tmp_path / "notes.txt").write_text("mine")
    run = tmp_path / "run"
    run.mkdir()
    for name in ("config.json", "summary.json", "metrics.jsonl"):
        (run / name).write_text("{}\n")
    return tmp_path


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_one_line_nothing_touched(user_files, capsys, monkeypatch, case):
    tmp = user_files
    monkeypatch.chdir(tmp)  # a default --out (runs/...) would land here, and be seen
    argv, expect = CASES[case]
    argv = [a.replace("{tmp}", str(tmp)) for a in argv]
    if argv[0] in ("train", "finetune") and "--out" not in argv:
        argv += ["--out", str(tmp / "new")]
    if argv[0] == "train":
        argv = ["train", *TINY, *argv[1:]]  # the case's flags come last, so they win
    before = _snapshot(tmp)
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err
    assert lines and lines[-1].startswith("jaxrl-hybrid: error: "), err
    assert expect.replace("{tmp}", str(tmp)) in lines[-1], err
    assert _snapshot(tmp) == before  # nothing written, nothing changed, no .partial folder


def test_dataset_info_reports_the_env_mismatch(user_files, capsys):
    assert main(["dataset", "info", str(user_files / "wide.hdf5"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert any("'observations' have shape (4,)" in p for p in info["env_mismatch"])
    assert main(["dataset", "info", str(user_files / "pend.hdf5"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["env_mismatch"] == []
