"""Offline agents: every algorithm and critic loss updates under vmap; the offline loop is deterministic."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import PENDULUM_SUPPORT

from jaxrl_hybrid.agents import OFFLINE_AGENTS
from jaxrl_hybrid.data import from_arrays, sample
from jaxrl_hybrid.losses import CriticLoss
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


CASES = [("bc", None), ("cql", "mse"), ("calql", "hl_gauss"), ("iql", "mse"), ("riql", "hl_gauss"),
         ("td3bc", "two_hot"), ("rebrac", "mse")]  # fmt: skip


@pytest.mark.parametrize("algo, loss", CASES)
def test_offline_agent_updates_under_vmap_with_its_critic_loss(algo, loss):
    cls = OFFLINE_AGENTS[algo]
    kw = {"hidden_dims": (8, 8), "batch_size": 16}
    if loss is not None:
        kw["critic_loss"] = CriticLoss(loss, **PENDULUM_SUPPORT)
    agent = cls(cls.Config(**kw), SPEC)
    dataset = tiny_dataset()
    hparams = agent.default_hparams()

    def run(key):
        state = agent.init(key)

        def step(state, k):
            k_sample, k_update = jax.random.split(k)
            batch = sample(dataset, k_sample, (1, 16))
            return agent.update(state, batch, k_update, hparams)

        new, metrics = jax.lax.scan(step, state, jax.random.split(key, 3))
        return state, new, metrics

    before, after, metrics = jax.jit(jax.vmap(run))(jax.random.split(jax.random.PRNGKey(0), 2))
    for name, value in metrics.items():
        assert np.all(np.isfinite(np.asarray(value))), name
    # Every network that learns has moved (AWR actors may not move yet: exp(beta * A) ~ 0 at init).
    trained = before.actor.params if algo == "bc" else before.critic.params
    moved = after.actor.params if algo == "bc" else after.critic.params
    pairs = zip(jax.tree.leaves(trained), jax.tree.leaves(moved), strict=True)
    assert any(not np.allclose(np.asarray(x), np.asarray(y)) for x, y in pairs)
    first_seed = jax.tree.map(lambda x: x[0], after)
    action = agent.act(first_seed, jnp.zeros((4, 3)), jax.random.PRNGKey(1), True)
    assert action.shape == (4, 1) and np.all(np.abs(np.asarray(action)) <= 1.0)
    if algo in ("cql", "calql"):
        assert "cql_gap" in metrics


def test_offline_program_is_deterministic_and_evaluates_in_the_data_env():
    cls = OFFLINE_AGENTS["td3bc"]
    config = TrainConfig(
        algo="td3bc",
        total_steps=200,
        eval_every=100,
        num_eval_episodes=2,
        agent=cls.Config(hidden_dims=(8, 8), batch_size=32),
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
    with pytest.raises(ValueError, match="needs a dataset"):
        make_program(config)
    with pytest.raises(ValueError, match="names no env"):
        make_program(config, dataset=tiny_dataset().replace(metadata_json="{}"))
