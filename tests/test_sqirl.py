"""SQIRL (effective-horizon paper): learns a deterministic chain exactly, and runs from the CLI."""

import json

import jax
import numpy as np

from jaxrl_hybrid.agents.sqirl import SQIRL, SQIRLConfig
from jaxrl_hybrid.envs.toy import Chain
from jaxrl_hybrid.training import TrainConfig
from jaxrl_hybrid.training.sqirl import make_sqirl_program, mc_returns, rollout


def test_sqirl_learns_a_chain_exactly():
    """Greedy on the random policy's Q (k = 1) is optimal on a chain: after 5 stages every
    timestep's policy steps right, reaching the end in exactly length - 1 steps."""
    env = Chain(length=6, max_steps=10)
    agent = SQIRL(SQIRLConfig(hidden_dims=(32,), horizon=10, planning_depth=1, updates_per_stage=200), env.spec)
    config = TrainConfig(
        algo="sqirl", total_steps=5 * 16 * 10, num_envs=16, eval_every=5 * 16 * 10, num_eval_episodes=2, batch_size=64
    )
    program = make_sqirl_program(agent, env, env.default_params, config)
    out = jax.jit(jax.vmap(program.train, in_axes=(0, None)))(jax.random.split(jax.random.PRNGKey(0), 4), None)
    assert np.all(np.asarray(out["metrics"]["eval_returns"]) == 1.0)
    for seed in range(4):
        state = jax.tree.map(lambda x, i=seed: x[i], out["runner"].agent_state)
        assert int(state.num_frozen) == 5
        rows, alive = rollout(agent, env, env.default_params, state, jax.random.PRNGKey(1), 1, np.int32(99))
        actions, ended = np.asarray(rows.action[:, 0]), np.asarray(rows.terminated[:, 0])
        assert list(actions[:5]) == [1] * 5 and ended[4] and not ended[:4].any()  # right, right, ... goal


def test_mc_returns_stop_at_each_episode_end():
    rewards = np.array([[1.0], [2.0], [3.0], [4.0]], np.float32)
    done = np.array([[False], [True], [False], [False]])
    from jaxrl_hybrid.types import Transition

    rows = Transition(None, None, rewards, None, done, np.zeros_like(done))
    alive = np.array([[True], [True], [False], [False]])
    np.testing.assert_allclose(mc_returns(rows, alive, 0.5)[:, 0], [2.0, 2.0, 0.0, 0.0])


def test_sqirl_trains_from_the_cli(tmp_path):
    from jaxrl_hybrid.cli.main import main

    out = tmp_path / "sqirl"
    argv = ["train", "--algo", "sqirl", "--env", "gymnax:CartPole-v1", "--num-seeds", "2", "--num-envs", "2"]
    argv += ["--total-steps", "2000", "--eval-every", "1000", "--hidden-dims", "16", "--num-eval-episodes", "2"]
    assert main([*argv, "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["total_env_steps"] == 2000 and len(summary["final_return"]) == 2
