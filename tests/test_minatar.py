"""Image observations (MinAtar, bsuite): networks flatten them, and the agents train on them.

gymnax's MinAtar games once failed here with an AssertionError inside their own `lax.select`:
the policy's dense layers acted on the channel axis of the (10, 10, C) observation, so one
"action" per pixel reached the env. These tests keep that fixed for every discrete agent.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl_hybrid.agents import PPOConfig
from jaxrl_hybrid.agents.dqn import DQNConfig
from jaxrl_hybrid.agents.pqn import PQNConfig
from jaxrl_hybrid.losses import CriticLoss
from jaxrl_hybrid.networks import CategoricalPolicy, DiscreteQNetwork, ValueNetwork
from jaxrl_hybrid.training import TrainConfig, make_program

pytestmark = pytest.mark.xdist_group("minatar")


def test_networks_flatten_image_observations():
    obs = jnp.zeros((5, 10, 10, 4))
    key = jax.random.PRNGKey(0)
    policy = CategoricalPolicy((8,), 3, obs_ndim=3)
    assert policy.apply(policy.init(key, obs), obs).shape == (5, 3)
    value = ValueNetwork((8,), 1, obs_ndim=3)
    assert value.apply(value.init(key, obs), obs).shape == (5, 1)
    for torso in ("mlp", "cnn"):
        q = DiscreteQNetwork((8,), 3, out_dim=11, layer_norm=True, torso=torso, obs_ndim=3)
        params = q.init(key, obs)
        assert q.apply(params, obs).shape == (5, 3, 11)
        assert q.apply(params, jnp.zeros((2, 5, 10, 10, 4))).shape == (2, 5, 3, 11)  # any leading axes


# One short run per discrete agent, each on another game, through the whole loop and evaluation.
CASES = {
    "ppo": ("gymnax:Breakout-MinAtar", PPOConfig(hidden_dims=(32,), num_steps=16), 4),
    "dqn": (
        "gymnax:SpaceInvaders-MinAtar",
        DQNConfig(hidden_dims=(32,), critic_loss=CriticLoss("c51", 11, -10.0, 100.0)),
        4,
    ),
    "pqn": ("gymnax:Asterix-MinAtar", PQNConfig(hidden_dims=(32,), num_steps=8, num_minibatches=2, update_epochs=1), 8),
}


@pytest.mark.parametrize("algo", sorted(CASES))
def test_discrete_agents_train_on_minatar(algo):
    env, agent, num_envs = CASES[algo]
    config = TrainConfig(
        algo=algo,
        env=env,
        total_steps=512,
        num_envs=num_envs,
        learning_starts=0 if algo != "dqn" else 64,
        eval_every=256,
        num_eval_episodes=1,
        batch_size=16 if algo == "dqn" else None,
        buffer_size=1_000,
        agent=agent,
    )
    program = make_program(config)
    out = jax.jit(program.train)(jax.random.PRNGKey(0))
    returns = np.asarray(out["metrics"]["eval_returns"])
    assert returns.shape[0] == program.num_chunks and np.isfinite(returns).all()
    leaves = jax.tree.leaves(out["runner"].agent_state)
    assert all(np.isfinite(np.asarray(x)).all() for x in leaves if jnp.issubdtype(jnp.asarray(x).dtype, jnp.floating))
