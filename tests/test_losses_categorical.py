"""Numpy references for the categorical value losses, under every chex variant."""

import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
from absl.testing import parameterized

from jaxrl_hybrid.losses import categorical as cat


def np_centres(v_min, v_max, n):
    w = (v_max - v_min) / n
    return np.array([v_min + w * (i + 0.5) for i in range(n)])


def np_hl_gauss(y, v_min, v_max, n, sigma):
    y = min(max(y, v_min), v_max)
    edges = [v_min + i * (v_max - v_min) / n for i in range(n + 1)]
    cdf = [0.5 * (1 + math.erf((e - y) / (math.sqrt(2) * sigma))) for e in edges]
    p = np.array([cdf[i + 1] - cdf[i] for i in range(n)])
    return p / (cdf[-1] - cdf[0])


def np_two_hot(y, v_min, v_max, n):
    c = np_centres(v_min, v_max, n)
    y = min(max(y, c[0]), c[-1])
    p = np.zeros(n)
    j = int(np.searchsorted(c, y, side="right")) - 1
    j = min(max(j, 0), n - 2)
    frac = (y - c[j]) / (c[j + 1] - c[j])
    p[j] += 1 - frac
    p[j + 1] += frac
    return p


def np_c51(r, discount, probs, v_min, v_max):
    c = np_centres(v_min, v_max, len(probs))
    out = np.zeros(len(probs))
    for pj, zj in zip(probs, c, strict=True):
        out += pj * np_two_hot(r + discount * zj, v_min, v_max, len(probs))
    return out


class CategoricalTest(chex.TestCase):
    V_MIN, V_MAX, N = -10.0, 10.0, 21

    def setUp(self):
        super().setUp()
        rng = np.random.default_rng(0)
        # Targets inside, on the edges of and outside the support.
        self.targets = np.concatenate([rng.uniform(-12, 12, size=(3, 5)).ravel(), [-10.0, 10.0, -50.0, 50.0, 0.0]])
        self.targets = self.targets.astype(np.float32).reshape(4, 5)

    @chex.all_variants(with_pmap=False)
    def test_hl_gauss_matches_numpy(self):
        sigma = 0.75 * (self.V_MAX - self.V_MIN) / self.N
        fn = self.variant(lambda y: cat.hl_gauss_probs(y, self.V_MIN, self.V_MAX, self.N, sigma))
        got = np.asarray(fn(jnp.asarray(self.targets)))
        self.assertEqual(got.shape, (4, 5, self.N))
        want = np.array([np_hl_gauss(y, self.V_MIN, self.V_MAX, self.N, sigma) for y in self.targets.ravel()])
        np.testing.assert_allclose(got.reshape(-1, self.N), want, atol=1e-5)
        np.testing.assert_allclose(got.sum(-1), 1.0, atol=1e-5)

    @chex.all_variants(with_pmap=False)
    def test_hl_gauss_default_sigma_is_three_quarters_of_a_bin(self):
        fn = self.variant(lambda y: cat.hl_gauss_probs(y, self.V_MIN, self.V_MAX, self.N))
        got = np.asarray(fn(jnp.asarray(self.targets)))
        want = np.array([np_hl_gauss(y, self.V_MIN, self.V_MAX, self.N, 0.75 * 20 / 21) for y in self.targets.ravel()])
        np.testing.assert_allclose(got.reshape(-1, self.N), want, atol=1e-5)

    @chex.all_variants(with_pmap=False)
    def test_two_hot_matches_numpy(self):
        fn = self.variant(lambda y: cat.two_hot_probs(y, self.V_MIN, self.V_MAX, self.N))
        got = np.asarray(fn(jnp.asarray(self.targets)))
        self.assertEqual(got.shape, (4, 5, self.N))
        want = np.array([np_two_hot(y, self.V_MIN, self.V_MAX, self.N) for y in self.targets.ravel()])
        np.testing.assert_allclose(got.reshape(-1, self.N), want, atol=1e-5)
        np.testing.assert_allclose(got.sum(-1), 1.0, atol=1e-5)

    @chex.all_variants(with_pmap=False)
    def test_two_hot_expectation_recovers_target_inside_support(self):
        inside = jnp.linspace(-9.5, 9.5, 17)
        fn = self.variant(lambda y: cat.two_hot_probs(y, self.V_MIN, self.V_MAX, self.N))
        value = (np.asarray(fn(inside)) * np_centres(self.V_MIN, self.V_MAX, self.N)).sum(-1)
        np.testing.assert_allclose(value, np.asarray(inside), atol=1e-4)

    @chex.all_variants(with_pmap=False)
    def test_c51_project_matches_numpy(self):
        rng = np.random.default_rng(1)
        probs = rng.dirichlet(np.ones(self.N), size=6).astype(np.float32)
        r = rng.uniform(-3, 3, size=6).astype(np.float32)
        discount = np.array([0.99, 0.9, 0.0, 0.5, 0.99, 1.0], np.float32)
        fn = self.variant(lambda r, d, p: cat.c51_project(r, d, p, self.V_MIN, self.V_MAX))
        got = np.asarray(fn(jnp.asarray(r), jnp.asarray(discount), jnp.asarray(probs)))
        want = np.array([np_c51(r[i], discount[i], probs[i], self.V_MIN, self.V_MAX) for i in range(6)])
        np.testing.assert_allclose(got, want, atol=1e-5)
        np.testing.assert_allclose(got.sum(-1), 1.0, atol=1e-5)

    @chex.all_variants(with_pmap=False)
    def test_logits_to_value_matches_numpy(self):
        rng = np.random.default_rng(2)
        logits = rng.normal(size=(3, 4, self.N)).astype(np.float32)
        got = np.asarray(self.variant(lambda x: cat.logits_to_value(x, self.V_MIN, self.V_MAX))(jnp.asarray(logits)))
        p = np.exp(logits - logits.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        np.testing.assert_allclose(got, (p * np_centres(self.V_MIN, self.V_MAX, self.N)).sum(-1), rtol=1e-5, atol=1e-5)

    @chex.all_variants(with_pmap=False)
    def test_cross_entropy_matches_numpy(self):
        rng = np.random.default_rng(3)
        logits = rng.normal(size=(7, self.N)).astype(np.float32)
        target = rng.dirichlet(np.ones(self.N), size=7).astype(np.float32)
        got = np.asarray(self.variant(cat.categorical_cross_entropy)(jnp.asarray(logits), jnp.asarray(target)))
        log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
        np.testing.assert_allclose(got, -(target * log_p).sum(-1), rtol=1e-5)

    @chex.all_variants(with_pmap=False)
    def test_cross_entropy_gradient_is_softmax_minus_target(self):
        rng = np.random.default_rng(4)
        logits = (10 * rng.normal(size=(5, self.N))).astype(np.float32)  # large logits: the stable path
        target = rng.dirichlet(np.ones(self.N), size=5).astype(np.float32)
        grad = jax.grad(lambda z: cat.categorical_cross_entropy(z, jnp.asarray(target)).sum())
        got = np.asarray(self.variant(grad)(jnp.asarray(logits)))
        p = np.exp(logits - logits.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        np.testing.assert_allclose(got, p - target, atol=1e-5)

    @parameterized.parameters(5, 51, 101)
    def test_centres_span_support(self, n):
        c = np.asarray(cat.bin_centres(-1.0, 3.0, n))
        np.testing.assert_allclose(c, np_centres(-1.0, 3.0, n), atol=1e-6)


def test_value_scale_is_the_spread_of_the_target_and_sets_the_cross_entropys_curvature():
    """CriticLoss.value_scale^2 is the target distribution's variance over the bin centres
    (HL-Gauss: sigma^2 + w^2 / 12; two-hot: w^2 / 6 averaged across a bin), and tilting the
    optimal logits along the bin values moves Q by dQ at a cost of dQ^2 / (2 value_scale^2)
    nats: the cross-entropy is MSE / value_scale^2, which `penalty_scale` undoes."""
    from jaxrl_hybrid.losses.critic import CriticLoss

    v_min, v_max, n = -1700.0, 100.0, 101
    z = np_centres(v_min, v_max, n)
    w = (v_max - v_min) / n
    hl = CriticLoss("hl_gauss", num_bins=n, v_min=v_min, v_max=v_max)
    p = np_hl_gauss(-523.3, v_min, v_max, n, 0.75 * w)
    var = (p * z**2).sum() - (p * z).sum() ** 2
    np.testing.assert_allclose(hl.value_scale**2, var, rtol=1e-3)
    for lam in (1e-4, 1e-3):  # tilt log p by lam * z: Q moves by ~lam Var, the CE by ~lam^2 Var / 2
        q = p * np.exp(lam * (z - z.mean()))
        q /= q.sum()
        s = p > 0  # 0 log 0 = 0
        d_ce = (p[s] * (np.log(p[s]) - np.log(q[s]))).sum()
        d_q = (q * z).sum() - (p * z).sum()
        np.testing.assert_allclose(d_ce / (0.5 * d_q**2), 1.0 / var, rtol=0.05)
    np.testing.assert_allclose(hl.penalty_scale, 1.0 / var, rtol=1e-3)

    two = CriticLoss("two_hot", num_bins=n, v_min=v_min, v_max=v_max)
    inside = z[40] + w * (np.arange(1000) + 0.5) / 1000  # targets uniformly across one bin
    variances = []
    for y in inside:
        p = np_two_hot(y, v_min, v_max, n)
        variances.append((p * z**2).sum() - (p * z).sum() ** 2)
    np.testing.assert_allclose(two.value_scale**2, np.mean(variances), rtol=1e-3)
    for kind in ("mse", "huber"):
        assert CriticLoss(kind).penalty_scale == 1.0


def test_penalty_weight_is_one_over_the_predicted_variance_floored_at_the_targets():
    """penalty_weight(outputs (members, batch, bins)) = 0.5 / max(batch mean of Var_softmax(z),
    value_scale^2) per member, with no gradient through it; 0.5 for the regression kinds (the
    reference code's TD loss is (Q - y)^2, ours 0.5 (Q - y)^2)."""
    from jaxrl_hybrid.losses.critic import CriticLoss

    hl = CriticLoss("hl_gauss", num_bins=11, v_min=-5.0, v_max=5.0)
    z = np_centres(-5.0, 5.0, 11)
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, 4, 11)) * np.array([0.1, 1.0, 30.0])[:, None, None]  # wide, mid, near one-hot
    p = np.exp(logits - logits.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    var = ((p * z**2).sum(-1) - (p * z).sum(-1) ** 2).mean(-1)
    want = 0.5 / np.maximum(var, hl.value_scale**2)
    assert var[0] > hl.value_scale**2 > var[2]  # both sides of the floor are exercised
    outputs = jnp.asarray(logits, jnp.float32)
    np.testing.assert_allclose(hl.penalty_weight(outputs), want, rtol=1e-5)
    grad = jax.grad(lambda o: jnp.sum(hl.penalty_weight(o) * o.sum(axis=(1, 2))))(outputs)
    np.testing.assert_allclose(grad, np.broadcast_to(want[:, None, None], logits.shape), rtol=1e-5)
    for kind in ("mse", "huber"):
        np.testing.assert_array_equal(CriticLoss(kind).penalty_weight(jnp.ones((3, 4, 1))), np.full(3, 0.5))


def test_predicted_variance_weight_shifts_the_cross_entropys_optimum_by_alpha_as_mse():
    """The optimum that a penalty -alpha * Q (CQL's push on the data's actions) moves a critic to,
    when the TD targets at one input vary (here three, 60 apart, as sampled next actions make them).

    MSE: min E_y 0.5 (Q - y)^2 - alpha Q is at E[y] + alpha, whatever the spread. Cross-entropy
    with HL-Gauss targets, the logits descended on CE(mean_y p_y, softmax) - c * E[z]: with
    c = alpha * penalty_weight (1 / the predicted variance, recomputed each step under a
    stop-gradient) Q settles at alpha above the targets' mean, as MSE's; with c = alpha *
    penalty_scale (1 / one target's variance, the former factor) it settles far above, by about
    alpha times the mixture's variance over one target's (13 here)."""
    v_min, v_max, n = -1700.0, 100.0, 101
    z = np_centres(v_min, v_max, n)
    w = (v_max - v_min) / n
    var_target = (0.75 * w) ** 2 + w**2 / 12
    p_bar = np.mean([np_hl_gauss(y, v_min, v_max, n, 0.75 * w) for y in (-560.0, -500.0, -440.0)], axis=0)
    q_bar, alpha = (p_bar * z).sum(), 5.0

    def settle(weight):
        logits = np.log(p_bar + 1e-30)
        for _ in range(20000):
            p = np.exp(logits - logits.max())
            p /= p.sum()
            q = (p * z).sum()
            c = alpha * weight((p * z**2).sum() - q**2)
            logits -= (p - p_bar) - c * p * (z - q)  # the gradient, c held fixed
        return q - q_bar

    np.testing.assert_allclose(settle(lambda var: 1.0 / max(var, var_target)), alpha, rtol=0.02)
    assert settle(lambda var: 1.0 / var_target) > 10 * alpha
