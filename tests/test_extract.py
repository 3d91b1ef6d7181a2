"""Best-of-N policy extraction (Digi-Q): re-ranking N policy samples by the critic."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import toy_pendulum_dataset

from jaxrl_hybrid.agents import OFFLINE_AGENTS
from jaxrl_hybrid.agents.common.critic import q_values
from jaxrl_hybrid.agents.common.extract import BestOfN
from jaxrl_hybrid.training import TrainConfig, make_program
from jaxrl_hybrid.types import EnvSpec

SPEC = EnvSpec("gymnax:Pendulum-v1", (3,), 1, False, 200)


@pytest.mark.parametrize("algo", ["iql", "td3bc"])  # a sampled actor, a noisy deterministic one
def test_best_of_one_is_the_sampled_policy_and_best_of_n_takes_the_highest_q(algo):
    cls = OFFLINE_AGENTS[algo]
    agent = cls(cls.Config(hidden_dims=(16, 16)), SPEC)
    state = agent.init(jax.random.PRNGKey(0))
    obs = jax.random.normal(jax.random.PRNGKey(1), (32, 3))
    key = jax.random.PRNGKey(2)
    one = BestOfN(agent, 1).act(state, obs, key, True)
    np.testing.assert_array_equal(one, agent.act(state, obs, jax.random.split(key, 1)[0], False))

    best = BestOfN(agent, 16)
    chosen = best.act(state, obs, key, True)
    candidates = best.candidates(state, obs, key)  # (16, 32, 1)
    q = np.stack([np.asarray(q_values(agent, state.critic.params, obs, a).min(0)) for a in candidates])
    q_chosen = np.asarray(q_values(agent, state.critic.params, obs, chosen).min(0))
    np.testing.assert_allclose(q_chosen, q.max(0), rtol=1e-6)  # the best candidate of each row
    assert chosen.shape == (32, 1) and np.all(np.abs(np.asarray(chosen)) <= 1.0)
    # it is a candidate of its own row
    assert np.all(np.min(np.abs(np.asarray(candidates)[..., 0] - np.asarray(chosen)[None, :, 0]), axis=0) == 0)


def test_best_of_n_refuses_an_agent_without_a_critic():
    cls = OFFLINE_AGENTS["bc"]
    with pytest.raises(ValueError, match="ranks actions by a critic; bc has none"):
        BestOfN(cls(cls.Config(hidden_dims=(8,)), SPEC), 4)


@pytest.mark.slow
def test_offline_program_evaluates_the_extracted_policy():
    """Training is the same; only the evaluated policy changes (and the normaliser wraps it)."""
    dataset = toy_pendulum_dataset(600)
    common = dict(algo="riql", total_steps=100, eval_every=50, num_eval_episodes=2, batch_size=32)
    agent = OFFLINE_AGENTS["riql"].Config(hidden_dims=(8, 8))
    plain = make_program(TrainConfig(**common, agent=agent), dataset=dataset)
    extracted = make_program(TrainConfig(**common, agent=agent, extract="best-of-n", extract_n=4), dataset=dataset)
    keys = jax.random.split(jax.random.PRNGKey(0), 2)
    a = jax.jit(jax.vmap(plain.train, in_axes=(0, None)))(keys, plain.default_hparams)
    b = jax.jit(jax.vmap(extracted.train, in_axes=(0, None)))(keys, extracted.default_hparams)
    leaves = zip(jax.tree.leaves(a["runner"].agent_state), jax.tree.leaves(b["runner"].agent_state), strict=True)
    assert all(np.array_equal(x, y) for x, y in leaves)  # the same agent trained
    assert not np.array_equal(a["metrics"]["eval_returns"], b["metrics"]["eval_returns"])  # another policy scored
    assert jnp.all(jnp.isfinite(b["metrics"]["eval_returns"]))
