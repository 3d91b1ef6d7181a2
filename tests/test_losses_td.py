"""Numpy references for TD targets, GAE, regression and the critic-loss switch."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl_hybrid.losses import CriticLoss, gae_advantages, huber, squared_error, td
from jaxrl_hybrid.losses import categorical as cat


def np_gae(r, discount, v_tm1, v_t, done, lam):
    T = len(r)
    adv = np.zeros(T)
    last = 0.0
    for t in reversed(range(T)):
        delta = r[t] + discount[t] * v_t[t] - v_tm1[t]
        last = delta + discount[t] * lam * (1.0 - done[t]) * last
        adv[t] = last
    return adv


class TDTest(chex.TestCase):
    @chex.all_variants(with_pmap=False)
    def test_td_target_and_discount(self):
        r = jnp.array([1.0, 2.0, -1.0])
        terminated = jnp.array([False, True, False])
        v = jnp.array([10.0, 10.0, 5.0])
        fn = self.variant(lambda r, term, v: td.td_target(r, td.bootstrap_discount(term, 0.9), v))
        np.testing.assert_allclose(fn(r, terminated, v), [1.0 + 9.0, 2.0, -1.0 + 4.5], rtol=1e-6)

    @chex.all_variants(with_pmap=False)
    def test_gae_matches_numpy(self):
        rng = np.random.default_rng(0)
        T, B = 12, 3
        r = rng.normal(size=(T, B)).astype(np.float32)
        term = rng.random((T, B)) < 0.1
        trunc = (rng.random((T, B)) < 0.1) & ~term
        v_tm1 = rng.normal(size=(T, B)).astype(np.float32)
        v_t = rng.normal(size=(T, B)).astype(np.float32)
        discount = 0.99 * (1.0 - term)
        done = (term | trunc).astype(np.float32)
        fn = self.variant(lambda *a: gae_advantages(*a, 0.95))
        adv, target = fn(
            jnp.asarray(r),
            jnp.asarray(discount, jnp.float32),
            jnp.asarray(v_tm1),
            jnp.asarray(v_t),
            jnp.asarray(term | trunc),
        )
        want = np.stack(
            [np_gae(r[:, b], discount[:, b], v_tm1[:, b], v_t[:, b], done[:, b], 0.95) for b in range(B)], 1
        )
        np.testing.assert_allclose(adv, want, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(target, want + v_tm1, rtol=1e-5, atol=1e-5)

    def test_truncation_bootstraps_but_termination_does_not(self):
        r = jnp.array([0.0, 0.0])
        v_t = jnp.array([5.0, 5.0])
        terminated = jnp.array([True, False])  # second step only truncated
        target = td.td_target(r, td.bootstrap_discount(terminated, 1.0), v_t)
        np.testing.assert_allclose(target, [0.0, 5.0])

    @chex.all_variants(with_pmap=False)
    def test_regression_losses_match_numpy(self):
        x = np.linspace(-3, 3, 13).astype(np.float32)
        y = np.float32(0.5)
        np.testing.assert_allclose(self.variant(squared_error)(x, y), 0.5 * (x - y) ** 2, rtol=1e-6)
        err = np.abs(x - y)
        want = np.where(err <= 1.0, 0.5 * err**2, err - 0.5)
        np.testing.assert_allclose(self.variant(huber)(x, y), want, rtol=1e-6)


@pytest.mark.parametrize("kind", ["mse", "huber", "hl_gauss", "two_hot"])
def test_critic_loss_is_minimised_at_the_target(kind):
    loss = CriticLoss(kind, num_bins=41, v_min=-10.0, v_max=10.0)
    target = jnp.array([3.3, -7.1])
    if loss.is_categorical:
        good = jnp.log(loss.target_probs(target) + 1e-12)
        bad = jnp.zeros_like(good)
        np.testing.assert_allclose(loss.values(good), target, atol=0.05)
    else:
        good, bad = target[:, None], target[:, None] + 2.0
    assert loss.loss(good, target).shape == (2,)
    assert jnp.all(loss.loss(good, target) < loss.loss(bad, target))


def test_critic_loss_gradient_stops_at_target():
    loss = CriticLoss("hl_gauss", num_bins=21, v_min=-5.0, v_max=5.0)
    g = jax.grad(lambda t: loss.loss(jnp.zeros((21,)), t))(1.0)
    assert g == 0.0


def test_critic_loss_rejects_bad_config():
    with pytest.raises(ValueError, match="not one of"):
        CriticLoss("c52")
    with pytest.raises(ValueError, match="v_max > v_min"):
        CriticLoss("two_hot", v_min=1.0, v_max=0.0)


def test_hl_gauss_loss_equals_cross_entropy_of_hl_gauss_target():
    loss = CriticLoss("hl_gauss", num_bins=11, v_min=0.0, v_max=11.0)
    logits = jax.random.normal(jax.random.PRNGKey(0), (4, 11))
    target = jnp.array([0.5, 3.0, 7.7, 20.0])
    want = cat.categorical_cross_entropy(logits, cat.hl_gauss_probs(target, 0.0, 11.0, 11, 0.75))
    np.testing.assert_allclose(loss.loss(logits, target), want, rtol=1e-6)
