"""H2O and the hybrid loop: the critic's weights and penalty against numpy, a tiny end-to-end
run with determinism, every hybrid method traced, and the data checks."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import heavy_pole_real_data

from jaxrl_hybrid.agents import SACConfig
from jaxrl_hybrid.agents.h2o import H2O, H2OConfig
from jaxrl_hybrid.agents.h2o.losses import gap_penalty
from jaxrl_hybrid.envs import make_pair
from jaxrl_hybrid.models.dynamics import DynamicsConfig
from jaxrl_hybrid.models.gap import DiscriminatorConfig
from jaxrl_hybrid.training.hybrid import HybridConfig, make_hybrid_program
from jaxrl_hybrid.types import Transition

TINY_H2O = H2OConfig(
    hidden_dims=(16, 16),
    discriminator=DiscriminatorConfig(hidden_dims=(16, 16)),
    dynamics=DynamicsConfig(num_members=2, hidden_dims=(16,), max_epochs=2, batch_size=64),
)


def _config(**kw):
    base = dict(
        method="h2o",
        total_steps=300,
        learning_starts=100,
        eval_every=100,
        num_eval_episodes=1,
        buffer_size=300,
        batch_size=32,
        agent=TINY_H2O,
    )
    return HybridConfig(**{**base, **kw})


def _minibatch(n=8, seed=0):
    rng = np.random.default_rng(seed)
    return Transition(
        obs=jnp.asarray(rng.normal(size=(n, 3)), jnp.float32),
        action=jnp.asarray(rng.uniform(-1, 1, (n, 1)), jnp.float32),
        reward=jnp.zeros(n),
        next_obs=jnp.asarray(rng.normal(size=(n, 3)), jnp.float32),
        terminated=jnp.zeros(n, bool),
        truncated=jnp.zeros(n, bool),
    )


def test_h2o_weights_and_penalty_match_numpy():
    for gap in ("discriminator", "model"):
        _check_weights_and_penalty(gap)


def _check_weights_and_penalty(gap):
    """Batch of 8 with 2 real rows: weights 8/2 on real rows and w * 8/6 on sim rows; the
    penalty is beta * 0.5 * (logsumexp_sim(Q + log(u / sum u)) - mean_real Q) per critic member
    (beta in the reference code's units, whose TD loss is (Q - y)^2: `CriticLoss.penalty_weight`)."""
    spec = make_pair("pendulum-heavy-pole").env.spec
    agent = H2O(dataclasses.replace(TINY_H2O, real_fraction=0.25, gap=gap), spec)
    data = heavy_pole_real_data(n=200)
    n_real, key = 2, jax.random.PRNGKey(3)
    hparams = agent.default_hparams(h2o_beta=0.5)
    batch = _minibatch()
    sim = jax.tree.map(lambda x: x[n_real:], batch)
    noise = 0.1 * jax.random.normal(key, (10, 6, 3))

    @jax.jit
    def pieces():
        from jaxrl_hybrid.models.dynamics import fit

        dynamics = fit(jax.random.PRNGKey(1), data, TINY_H2O.dynamics)[0] if gap == "model" else None
        state = agent.init(jax.random.PRNGKey(0), dynamics=dynamics)
        log_ratio = agent.log_ratio_fn(state)
        copies = jax.vmap(lambda e: log_ratio(sim.obs, sim.action, sim.next_obs + e))(noise)
        penalty, _ = gap_penalty(agent, state, batch, key, hparams)(state.critic.params)
        q = agent.nets.critic.apply(state.critic.params, batch.obs, batch.action)[..., 0]
        return (
            log_ratio(sim.obs, sim.action, sim.next_obs),
            copies,
            agent.weights(state, batch),
            agent.gap(state, key, sim.obs, sim.action, sim.next_obs),
            penalty,
            q,
        )

    log_ratio, copies, weights, u, penalty, q = map(np.asarray, pieces())
    w = np.clip(np.exp(log_ratio), 1e-5, 1.0)
    np.testing.assert_allclose(weights, np.concatenate([np.full(2, 8 / 2), w * 8 / 6]), rtol=1e-6)
    # u: -log_ratio averaged over 10 copies of s' + N(0, 0.1^2) (discriminator), or at s' itself (model).
    expected_u = -copies.mean(axis=0) if gap == "discriminator" else -log_ratio
    np.testing.assert_allclose(u, np.clip(expected_u, 1e-10, 10.0), rtol=1e-5, atol=1e-6)
    log_omega = np.log(u) - np.log(u.sum())
    z = q[:, n_real:] + log_omega
    lse = z.max(1) + np.log(np.exp(z - z.max(1, keepdims=True)).sum(1))
    np.testing.assert_allclose(penalty, 0.5 * 0.5 * (lse - q[:, :n_real].mean(1)), rtol=1e-5)


@pytest.mark.slow
def test_h2o_runs_end_to_end_and_is_deterministic():
    """The discriminator variant runs (the model variant's pieces are checked above and its
    program is traced below): two seeds, twice, bit-identical."""
    program = make_hybrid_program(_config(), heavy_pole_real_data())
    assert program.num_chunks == 2 and program.reference_returns == (-1200.0, -150.0)
    keys = jax.random.split(jax.random.PRNGKey(0), 2)
    train = jax.jit(jax.vmap(program.train))
    first, second = train(keys), train(keys)
    for a, b in zip(jax.tree.leaves(first), jax.tree.leaves(second), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    metrics = jax.device_get(first["metrics"])
    assert metrics["eval_returns"].shape == (2, 2, 1)
    assert np.all(np.isfinite(metrics["td_loss"])) and np.all(np.isfinite(metrics["eval_returns"]))
    assert np.all((metrics["h2o_weight"] > 0) & (metrics["h2o_weight"] <= 1))
    assert np.all(metrics["h2o_gap_u"] > 0)
    runner = first["runner"]
    # The simulator filled the buffer: warm-up plus 200 steps, on the sim side of the pair.
    assert np.all(np.asarray(runner.buffer.size) == 300)
    assert runner.agent_state.dynamics is None and np.all(np.isfinite(metrics["d_sas_loss"]))
    # The two seeds differ.
    assert not np.array_equal(
        np.asarray(runner.agent_state.actor.params["params"]["Dense_0"]["kernel"])[0],
        np.asarray(runner.agent_state.actor.params["params"]["Dense_0"]["kernel"])[1],
    )


@pytest.mark.parametrize(
    "method, gap, agent, batch_size",
    [("h2o", "model", TINY_H2O, 32), ("sac-mix", "", SACConfig(hidden_dims=(16,)), 16), ("sac-sim", "", None, 32)],
)
def test_other_methods_trace(method, gap, agent, batch_size):
    config = _config(method=method, gap=gap or "discriminator", agent=agent, batch_size=batch_size)
    out = jax.eval_shape(make_hybrid_program(config, heavy_pole_real_data()).train, jax.random.PRNGKey(0))
    assert out["metrics"]["eval_returns"].shape == (2, 1)
    if gap == "model":
        assert out["runner"].agent_state.disc is None and out["runner"].agent_state.dynamics is not None


def test_hybrid_refuses_data_from_the_wrong_side():
    with pytest.raises(ValueError, match="not the real side"):
        make_hybrid_program(_config(), heavy_pole_real_data(dynamics={"mass": 1.0}))
    with pytest.raises(ValueError, match="is for gymnax:CartPole-v1"):
        make_hybrid_program(_config(shift="cartpole-heavy-pole"), heavy_pole_real_data())
    with pytest.raises(ValueError, match="method must be one of"):
        HybridConfig(method="h2o+")
    with pytest.raises(ValueError, match="gap must be one of"):
        H2OConfig(gap="oracle")
    with pytest.raises(ValueError, match="needs a fitted real-dynamics model"):
        H2O(dataclasses.replace(TINY_H2O, gap="model"), make_pair("pendulum-heavy-pole").env.spec).init(
            jax.random.PRNGKey(0)
        )
