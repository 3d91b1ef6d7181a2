"""Offline losses against numpy references: expectile, ensemble quantile, CQL logsumexp, Cal-QL bound, AWR, BC."""

import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl_hybrid.losses.offline import (
    awr_weights,
    behaviour_cloning_error,
    calql_lower_bound,
    cql_logsumexp,
    ensemble_quantile,
    expectile_loss,
    gaussian_log_prob,
)
from jaxrl_hybrid.losses.regression import huber

rng = np.random.default_rng(0)


@pytest.mark.parametrize("tau", [0.5, 0.7, 0.9])
def test_expectile_loss_matches_numpy_and_its_minimiser_is_the_expectile(tau):
    diff = rng.normal(size=64).astype(np.float32)
    want = np.abs(tau - (diff < 0).astype(np.float32)) * diff**2
    np.testing.assert_allclose(np.asarray(expectile_loss(jnp.asarray(diff), tau)), want, rtol=1e-6)
    # The minimiser of E[loss(x - v)] over v is the tau-expectile of x: above the mean for tau > 0.5.
    x = rng.normal(size=2000)
    grid = np.linspace(-1, 1, 2001)
    losses = [np.asarray(expectile_loss(jnp.asarray(x - v), tau)).mean() for v in grid]
    v_star = grid[int(np.argmin(losses))]
    lhs = tau * np.clip(x - v_star, 0, None).sum()
    rhs = (1 - tau) * np.clip(v_star - x, 0, None).sum()
    assert abs(lhs - rhs) / len(x) < 2e-3  # the expectile's first-order condition
    assert (v_star > x.mean()) == (tau > 0.5)


@pytest.mark.parametrize("q", [0.0, 0.1, 0.25, 0.5, 0.9, 1.0])
def test_ensemble_quantile_matches_numpy_linear_quantile(q):
    values = rng.normal(size=(5, 32)).astype(np.float32)
    np.testing.assert_allclose(
        np.asarray(ensemble_quantile(jnp.asarray(values), q)), np.quantile(values, q, axis=0), rtol=1e-5, atol=1e-6
    )


def numpy_cql_logsumexp(q_rand, q_pi, q_next, lp_pi, lp_next, action_dim, temp):
    cat = np.concatenate([q_rand - action_dim * np.log(0.5), q_pi - lp_pi, q_next - lp_next], axis=-2) / temp
    m = cat.max(axis=-2, keepdims=True)
    return temp * (m[..., 0, :] + np.log(np.exp(cat - m).sum(axis=-2)))


@pytest.mark.parametrize("temp", [1.0, 0.5])
def test_cql_logsumexp_with_importance_weights_matches_numpy(temp):
    members, n, b, d = 2, 10, 7, 3
    q_rand, q_pi, q_next = (rng.normal(size=(members, n, b)).astype(np.float32) * 5 for _ in range(3))
    lp_pi, lp_next = (rng.normal(size=(n, b)).astype(np.float32) for _ in range(2))
    got = cql_logsumexp(*(jnp.asarray(x) for x in (q_rand, q_pi, q_next, lp_pi, lp_next)), d, temp)
    want = numpy_cql_logsumexp(q_rand, q_pi, q_next, lp_pi, lp_next, d, temp)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5)
    assert got.shape == (members, b)
    # With equal Q everywhere the estimate is Q + log of the summed inverse densities.
    const = cql_logsumexp(*(jnp.zeros((1, n, b)),) * 3, jnp.zeros((n, b)), jnp.zeros((n, b)), d, 1.0)
    np.testing.assert_allclose(np.asarray(const), np.log(n * 2.0**d + 2 * n), rtol=1e-6)


def test_calql_bound_awr_bc_gaussian_and_huber_match_numpy():
    q = rng.normal(size=(2, 10, 6)).astype(np.float32)
    mc = rng.normal(size=6).astype(np.float32)
    np.testing.assert_array_equal(np.asarray(calql_lower_bound(jnp.asarray(q), jnp.asarray(mc))), np.maximum(q, mc))

    adv = np.array([-3.0, 0.0, 0.5, 2.0, 10.0], np.float32)
    np.testing.assert_allclose(np.asarray(awr_weights(jnp.asarray(adv), 3.0)), np.minimum(np.exp(3 * adv), 100.0))

    a, b = rng.uniform(-1, 1, (8, 3)).astype(np.float32), rng.uniform(-1, 1, (8, 3)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(behaviour_cloning_error(jnp.asarray(a), jnp.asarray(b))),
                               ((a - b) ** 2).sum(-1), rtol=1e-6)  # fmt: skip

    mean, log_std = rng.normal(size=(8, 3)).astype(np.float32), rng.normal(size=(8, 3)).astype(np.float32) * 0.3
    std = np.exp(log_std)
    want = (-0.5 * ((b - mean) / std) ** 2 - np.log(std) - 0.5 * np.log(2 * np.pi)).sum(-1)
    got = gaussian_log_prob(jnp.asarray(mean), jnp.asarray(log_std), jnp.asarray(b))
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5)

    x = np.array([-3.0, -1.0, -0.5, 0.0, 0.5, 2.0], np.float32)
    want = np.where(np.abs(x) <= 1.0, 0.5 * x**2, np.abs(x) - 0.5)
    np.testing.assert_allclose(np.asarray(huber(jnp.asarray(x), jnp.zeros_like(x))), want, rtol=1e-6)
