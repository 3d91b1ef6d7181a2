"""IQ-Learn's loss terms against numpy, and the objective's minimiser on a one-state toy."""

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl_hybrid.losses import iq


def test_iq_terms_match_numpy():
    rng = np.random.default_rng(0)
    q = rng.normal(size=(6, 3)).astype(np.float32)
    next_q = rng.normal(size=(6, 3)).astype(np.float32)
    action = rng.integers(0, 3, 6)
    terminated = np.array([0, 0, 1, 0, 1, 0], np.float32)
    gamma, temperature, alpha = 0.9, 0.5, 0.5
    v_ref = temperature * np.log(np.exp(q / temperature).sum(-1))
    next_v_ref = temperature * np.log(np.exp(next_q / temperature).sum(-1))
    np.testing.assert_allclose(iq.soft_value_discrete(jnp.asarray(q), temperature), v_ref, rtol=1e-5)
    next_v = iq.soft_value_discrete(jnp.asarray(next_q), temperature)
    qa = q[np.arange(6), action]
    reward_ref = qa - gamma * (1 - terminated) * next_v_ref
    reward = iq.implied_reward(jnp.asarray(qa), next_v, jnp.asarray(terminated), gamma)
    np.testing.assert_allclose(reward, reward_ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        iq.expert_term(jnp.asarray(qa), next_v, jnp.asarray(terminated), gamma), -reward_ref, rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        iq.value_term(jnp.asarray(v_ref), next_v, jnp.asarray(terminated), gamma),
        v_ref - gamma * (1 - terminated) * next_v_ref,
        rtol=1e-5,
        atol=1e-6,
    )
    np.testing.assert_allclose(iq.initial_value_term(jnp.asarray(v_ref), gamma), 0.1 * v_ref, rtol=1e-5)
    np.testing.assert_allclose(iq.chi2_term(jnp.asarray(reward_ref), alpha), reward_ref**2 / 2.0, rtol=1e-5)


def test_offline_objective_matches_numpy_per_member():
    rng = np.random.default_rng(1)
    q = rng.normal(size=(2, 5)).astype(np.float32)  # two ensemble members
    v, next_v = rng.normal(size=5).astype(np.float32), rng.normal(size=5).astype(np.float32)
    terminated = np.array([0, 1, 0, 0, 1], np.float32)
    gamma, alpha = 0.99, 0.5
    y = gamma * (1 - terminated) * next_v
    want = -(q - y) + (v - y) + (q - y) ** 2 / (4 * alpha)
    got = iq.offline_objective(
        jnp.asarray(q), jnp.asarray(v), jnp.asarray(next_v), jnp.asarray(terminated), gamma, alpha
    )
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_online_objective_matches_numpy():
    rng = np.random.default_rng(2)
    q, v, next_v = (rng.normal(size=8).astype(np.float32) for _ in range(3))
    terminated = np.array([0, 0, 1, 0, 0, 1, 0, 0], np.float32)
    expert = np.arange(8) < 3  # the first 3 rows are demonstrations
    gamma, alpha = 0.99, 0.5
    y = gamma * (1 - terminated) * next_v
    r = q - y
    want = -r[expert].mean() + (v - y).mean() + (r**2).mean() / (4 * alpha)
    weight = jnp.where(jnp.asarray(expert), 8 / 3, 0.0)
    got = iq.online_objective(*map(jnp.asarray, (q, v, next_v, terminated)), gamma, alpha, weight).mean()
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_iq_objective_prefers_the_experts_action_on_a_one_state_toy():
    """One state that loops to itself, an expert that always takes action 1: minimising the
    offline IQ-Learn objective (expert rows, "value_expert" form, chi2 on expert rows) by
    gradient descent gives action 1 the highest Q and a positive implied reward, and the other
    actions a lower one."""
    gamma, temperature, alpha = 0.9, 1.0, 0.5
    terminated = jnp.zeros(())

    def loss(q):
        v = iq.soft_value_discrete(q, temperature)
        return iq.offline_objective(q[1], v, v, terminated, gamma, alpha)

    q = jnp.zeros(3)
    grad = jax.jit(jax.grad(loss))
    for _ in range(2000):
        q = q - 0.05 * grad(q)
    assert int(jnp.argmax(q)) == 1 and float(q[1] - q[0]) > 1.0
    v = iq.soft_value_discrete(q, temperature)
    rewards = np.asarray(iq.implied_reward(q, v, terminated, gamma))
    assert rewards[1] > 0 and rewards[1] > rewards[0] + 1.0 and rewards[1] > rewards[2] + 1.0
