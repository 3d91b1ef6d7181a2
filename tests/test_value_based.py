"""Value-based pieces (DQN, PQN) against numpy references: n-step returns, Q(lambda) returns
(scalar and C51's distributional ones), replay windows, double-Q targets, exploration."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from test_losses_categorical import np_c51

from jaxrl_hybrid.agents.common.qlearning import epsilon_greedy, linear_epsilon, taken
from jaxrl_hybrid.agents.dqn.losses import n_step_target, n_step_window
from jaxrl_hybrid.losses import CriticLoss
from jaxrl_hybrid.losses.td import lambda_returns, n_step_return
from jaxrl_hybrid.training import replay
from jaxrl_hybrid.types import Transition


def np_n_step(r, term, trunc, gamma):
    """Loop reference: sum to the first done step; (return, bootstrap discount, last index)."""
    g, k = 0.0, 0
    for k in range(len(r)):
        g += gamma**k * r[k]
        if term[k] or trunc[k]:
            break
    discount = 0.0 if term[k] else gamma ** (k + 1)
    return g, discount, k


def _windows(rng, shape, n):
    r = rng.normal(size=(*shape, n)).astype(np.float32)
    term = rng.random((*shape, n)) < 0.15
    trunc = (rng.random((*shape, n)) < 0.15) & ~term
    return r, term, trunc


def test_n_step_return_matches_numpy():
    rng = np.random.default_rng(0)
    r, term, trunc = _windows(rng, (64,), 5)
    ret, disc, last = jax.jit(n_step_return)(r, term, trunc, 0.9)
    for i in range(64):
        g, d, k = np_n_step(r[i], term[i], trunc[i], 0.9)
        np.testing.assert_allclose(ret[i], g, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(disc[i], d, rtol=1e-6)
        assert int(last[i]) == k
    # a window cut by a truncation bootstraps, one cut by a termination does not
    ret, disc, last = n_step_return(
        jnp.ones((2, 3)), jnp.array([[0, 1, 0], [0, 0, 0]], bool), jnp.array([[0, 0, 0], [1, 0, 0]], bool), 0.5
    )
    np.testing.assert_allclose(ret, [1.5, 1.0])
    np.testing.assert_allclose(disc, [0.0, 0.5])
    np.testing.assert_array_equal(last, [1, 0])


def np_lambda(r, discount, boot, done, lam):
    T = len(r)
    g = np.zeros(T)
    g[-1] = r[-1] + discount[-1] * boot[-1]
    for t in range(T - 2, -1, -1):
        trace = lam * (1.0 - done[t])
        g[t] = r[t] + discount[t] * ((1 - trace) * boot[t] + trace * g[t + 1])
    return g


def test_lambda_returns_match_numpy():
    rng = np.random.default_rng(1)
    T, E = 12, 3
    r = rng.normal(size=(T, E)).astype(np.float32)
    term = rng.random((T, E)) < 0.1
    done = term | (rng.random((T, E)) < 0.1)
    discount = 0.97 * (1.0 - term)
    boot = rng.normal(size=(T, E)).astype(np.float32)
    got = jax.jit(lambda_returns)(r, discount.astype(np.float32), boot, done, 0.8)
    for e in range(E):
        np.testing.assert_allclose(
            got[:, e], np_lambda(r[:, e], discount[:, e], boot[:, e], done[:, e], 0.8), rtol=1e-5, atol=1e-5
        )
    # lambda 0 is one-step Q-learning; lambda 1 without dones is the Monte-Carlo return to the last bootstrap
    one_step = lambda_returns(r, discount.astype(np.float32), boot, done, 0.0)
    np.testing.assert_allclose(one_step, r + discount * boot, rtol=1e-5, atol=1e-5)


def test_c51_lambda_returns_match_numpy():
    """Distributional Q(lambda): at each step the projection of r + gamma * ((1 - lambda) p_boot + lambda G)."""
    loss = CriticLoss("c51", num_bins=11, v_min=-5.0, v_max=5.0)
    rng = np.random.default_rng(2)
    T, n = 6, 11
    r = rng.normal(size=(T,)).astype(np.float32)
    done = np.array([0, 0, 1, 0, 0, 0], bool)
    discount = np.full(T, 0.9, np.float32)
    boot = rng.dirichlet(np.ones(n), size=T).astype(np.float32)
    got = np.asarray(lambda_returns(r, discount, boot, done, 0.7, backup=loss.backup, mix=loss.mix))
    want = np.zeros((T, n))
    want[-1] = np_c51(r[-1], discount[-1], boot[-1], -5.0, 5.0)
    for t in range(T - 2, -1, -1):
        trace = 0.7 * (1.0 - done[t])
        want[t] = np_c51(r[t], discount[t], (1 - trace) * boot[t] + trace * want[t + 1], -5.0, 5.0)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got.sum(-1), 1.0, rtol=1e-5)


def test_c51_refuses_scalar_targets_and_backs_up_distributions():
    loss = CriticLoss("c51", num_bins=11, v_min=-5.0, v_max=5.0)
    with pytest.raises(ValueError, match="c51.*dqn, pqn"):
        loss.loss(jnp.zeros((4, 11)), jnp.zeros(4))
    probs = jax.nn.softmax(jnp.arange(11.0))
    target = loss.backup(jnp.array(1.0), jnp.array(0.5), probs)
    np.testing.assert_allclose(target, np_c51(1.0, 0.5, np.asarray(probs), -5.0, 5.0), rtol=1e-5, atol=1e-7)
    logits = jnp.linspace(-1, 1, 11)
    want = -(np.asarray(target) * np.asarray(jax.nn.log_softmax(logits))).sum()
    np.testing.assert_allclose(loss.loss_to(logits, target), want, rtol=1e-5)
    # the scalar kinds' backup is plain arithmetic on values
    mse = CriticLoss("mse")
    np.testing.assert_allclose(mse.backup(jnp.array(1.0), jnp.array(0.5), mse.bootstrap(jnp.array([4.0]))), 3.0)


def test_sample_windows_are_consecutive_steps_of_one_env():
    num_envs, capacity = 3, 20  # not a multiple: windows wrap around the ring
    example = Transition(
        jnp.zeros(()), jnp.zeros((), jnp.int32), jnp.zeros(()), jnp.zeros(()), jnp.zeros((), bool), jnp.zeros((), bool)
    )
    buffer = replay.init_buffer(capacity, example)
    for t in range(11):  # 33 rows written: the ring wrapped; obs = 100 * env + t
        obs = jnp.array([100.0 * e + t for e in range(num_envs)])
        buffer = replay.add_batch(
            buffer,
            example.replace(
                obs=obs,
                action=jnp.zeros(num_envs, jnp.int32),
                reward=obs,
                next_obs=obs + 1,
                terminated=jnp.zeros(num_envs, bool),
                truncated=jnp.zeros(num_envs, bool),
            ),
        )
    windows = replay.sample_windows(buffer, jax.random.PRNGKey(0), (2000,), 4, num_envs)
    obs = np.asarray(windows.obs)
    env, t0 = obs[:, 0] // 100, obs[:, 0] % 100
    np.testing.assert_array_equal(obs, (100 * env + t0)[:, None] + np.arange(4))  # one env, consecutive
    assert t0.max() == 10 - 3  # never past the newest step
    assert t0.min() == 4  # every start still stored: rows 13..32 are kept, row 13 is t=4 of env 1
    # a window of length 1 is the uniform sample of the stored rows
    single = np.asarray(replay.sample_windows(buffer, jax.random.PRNGKey(1), (4000,), 1, num_envs).obs[:, 0])
    assert len(np.unique(single)) == capacity


def test_double_dqn_target_matches_numpy():
    """n-step double-DQN target: the window's bootstrap observation is the next obs of its first
    done step (or last step); the online net selects there, the target net evaluates."""
    rng = np.random.default_rng(3)
    B, n, A = 32, 3, 4
    r, term, trunc = _windows(rng, (B,), n)
    next_obs = rng.normal(size=(B, n, 2)).astype(np.float32)
    window = Transition(None, None, r, next_obs, term, trunc)
    ret, discount, boot_obs = n_step_window(window, 0.9)
    online = rng.normal(size=(B, A, 1)).astype(np.float32)
    target_q = rng.normal(size=(B, A, 1)).astype(np.float32)
    loss = CriticLoss("mse")
    for double in (True, False):
        got = n_step_target(loss, ret, discount, online if double else target_q, target_q, double)
        for i in range(B):
            g, d, k = np_n_step(r[i], term[i], trunc[i], 0.9)
            np.testing.assert_array_equal(boot_obs[i], next_obs[i, k])
            select = online[i, :, 0] if double else target_q[i, :, 0]
            want = g + d * target_q[i, np.argmax(select), 0]
            np.testing.assert_allclose(got[i], want, rtol=1e-5, atol=1e-5)


def test_taken_and_exploration():
    outputs = jnp.arange(2 * 3 * 2, dtype=jnp.float32).reshape(2, 3, 2)
    np.testing.assert_array_equal(taken(outputs, jnp.array([2, 0])), [[4.0, 5.0], [6.0, 7.0]])
    np.testing.assert_allclose(
        linear_epsilon(jnp.array([0.0, 50.0, 100.0, 500.0]), 1.0, 0.1, 100.0), [1.0, 0.55, 0.1, 0.1], rtol=1e-6
    )
    q = jnp.tile(jnp.array([0.0, 1.0, 0.0, 0.0]), (20_000, 1))
    greedy = epsilon_greedy(jax.random.PRNGKey(0), q, 0.0)
    assert (np.asarray(greedy) == 1).all()
    explored = np.asarray(epsilon_greedy(jax.random.PRNGKey(0), q, 0.4))
    # greedy with probability 0.6 + 0.4 / 4
    assert abs((explored == 1).mean() - 0.7) < 0.02
    assert abs((explored == 3).mean() - 0.1) < 0.02
