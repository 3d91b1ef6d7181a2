"""The offline loop: deterministic, evaluated in the data's env, driven by the CLI with normalised scores.

Every algorithm's learning, determinism and critic losses: test_offline_learning.py."""

import jax
import numpy as np
import pytest

from jaxrl_hybrid.agents import OFFLINE_AGENTS
from jaxrl_hybrid.data import from_arrays
from jaxrl_hybrid.training import TrainConfig, make_program
from jaxrl_hybrid.types import EnvSpec

SPEC = EnvSpec("gymnax:Pendulum-v1", (3,), 1, False, 200)


def tiny_dataset(n=600):
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(n + 1, 3)).astype(np.float32)
    timeouts = np.zeros(n, bool)
    timeouts[199::200] = True
    return from_arrays(
        observations=obs[:-1],
        actions=rng.uniform(-1, 1, (n, 1)).astype(np.float32),
        rewards=-rng.uniform(0, 16, n).astype(np.float32),
        next_observations=obs[1:],
        terminals=np.zeros(n, bool),
        timeouts=timeouts,
        metadata={"env": "gymnax:Pendulum-v1", "reference_returns": {"random": -1200.0, "expert": -150.0}},
    )


def test_offline_program_is_deterministic_and_evaluates_in_the_data_env():
    cls = OFFLINE_AGENTS["bc"]  # BC: the cheapest program to compile; the loop is the same for all
    config = TrainConfig(
        algo="bc",
        total_steps=200,
        eval_every=100,
        num_eval_episodes=2,
        batch_size=32,
        agent=cls.Config(hidden_dims=(8, 8)),
    )
    program = make_program(config, dataset=tiny_dataset())
    assert program.num_chunks == 2 and program.total_env_steps == 200
    train = jax.jit(jax.vmap(program.train, in_axes=(0, None)))
    keys = jax.random.split(jax.random.PRNGKey(0), 4)
    a, b = train(keys, program.default_hparams), train(keys, program.default_hparams)
    np.testing.assert_array_equal(np.asarray(a["metrics"]["eval_returns"]), np.asarray(b["metrics"]["eval_returns"]))
    returns = np.asarray(a["metrics"]["eval_returns"])
    assert returns.shape == (4, 2, 2) and np.all(returns < 0)  # Pendulum returns
    assert len({float(r) for r in returns[:, -1].mean(-1)}) == 4  # seeds differ
    # Every offline run reports the sampled batch's Monte-Carlo return-to-go beside its critics' Q.
    rtg = np.asarray(tiny_dataset().returns_to_go)
    mc = np.asarray(a["metrics"]["mc_return_mean"])
    assert mc.shape == (4, 2) and np.all((mc > rtg.min()) & (mc < rtg.max()))
    assert np.all(np.abs(mc - rtg.mean()) < 4 * rtg.std() / np.sqrt(32))
    with pytest.raises(ValueError, match="needs a dataset"):
        make_program(config)
    with pytest.raises(ValueError, match="names no env"):
        make_program(config, dataset=tiny_dataset().replace(metadata_json="{}"))


def test_cli_trains_offline_on_a_dataset_file_with_normalised_scores(tmp_path, capsys):
    import json

    from jaxrl_hybrid.cli.main import main
    from jaxrl_hybrid.data import fingerprint, save

    data = save(tiny_dataset(), tmp_path / "tiny.hdf5")
    out = tmp_path / "run"
    argv = ["train", "--algo", "bc", "--dataset", str(data), "--num-seeds", "2", "--updates", "20",
            "--eval-every", "10", "--num-eval-episodes", "2", "--hidden-dims", "8", "8", "--batch-size", "16",
            "--out", str(out)]  # fmt: skip
    assert main([*argv, "--grid", "actor_lr=1e-3,3e-4"]) == 0
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == [10, 20] and len(lines[0]["normalized_score"]) == 4
    want = [100 * (r + 1200.0) / (-150.0 + 1200.0) for r in lines[-1]["eval_return"]]
    np.testing.assert_allclose(lines[-1]["normalized_score"], want, rtol=1e-5)
    summary = json.loads((out / "summary.json").read_text())
    assert [g["hparams"] for g in summary["grid"]] == [{"actor_lr": 1e-3}, {"actor_lr": 3e-4}]
    assert all(len(g["normalized"]["final_score"]) == 2 for g in summary["grid"])
    config = json.loads((out / "config.json").read_text())
    assert config["dataset_fingerprint"] == fingerprint(tiny_dataset()) and config["train"]["dataset"] == str(data)
    capsys.readouterr()
    assert main(["train", "--algo", "iql", "--out", str(tmp_path / "x")]) == 2
    assert "pass --dataset" in capsys.readouterr().err
    assert main(["train", "--algo", "sac", "--dataset", str(data), "--out", str(tmp_path / "y")]) == 2
    assert "trains online" in capsys.readouterr().err
    bad = ["train", "--algo", "iql", "--dataset", str(data), "--num-actions", "4", "--out", str(tmp_path / "z")]
    assert main(bad) == 2
    assert "--num-actions is a CQL / Cal-QL setting" in capsys.readouterr().err
    bad = ["train", "--algo", "iql", "--dataset", str(data), "--critic-out-init", "0.01", "--out", str(tmp_path / "z")]
    assert main(bad) == 2
    assert "--critic-out-init is a SAC-family setting" in capsys.readouterr().err
    # The final agent states of all four runs are an orbax checkpoint with the config and fingerprint.
    from jaxrl_hybrid.agents import BCConfig
    from jaxrl_hybrid.checkpoint import read_metadata, restore_agent_states

    meta = read_metadata(out / "checkpoints")
    assert meta["dataset_fingerprint"] == config["dataset_fingerprint"] and meta["steps"] == 20
    program = make_program(
        TrainConfig(algo="bc", total_steps=20, eval_every=10, batch_size=16, agent=BCConfig(hidden_dims=(8, 8))),
        dataset=tiny_dataset(),
    )
    states = restore_agent_states(out / "checkpoints", program, 4)
    np.testing.assert_array_equal(np.asarray(states.step), [2 * 10] * 4)
    kernel = np.asarray(jax.tree.leaves(states.actor.params)[-1])
    assert kernel.shape[0] == 4 and np.all(np.isfinite(kernel)) and not np.allclose(kernel[0], kernel[1])
