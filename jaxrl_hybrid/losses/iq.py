"""IQ-Learn's objective (Garg et al., 2021, "IQ-Learn: Inverse soft-Q Learning for Imitation")
as pure, unreduced terms (numpy references in tests/test_iq_losses.py).

IQ-Learn learns a soft Q-function whose implied reward r(s, a) = Q(s, a) - gamma V(s') explains
the demonstrations; V is the soft value of Q under the current policy. With the chi-squared
divergence its loss is, per minibatch,

    - mean_expert[r(s, a)]                 (the expert's implied reward, maximised)
    + mean_rho[V(s) - gamma V(s')]         (`value_term`: rho = expert rows offline
                                            ("value_expert"), expert and policy rows online)
      or (1 - gamma) mean[V(s0)]           (`initial_value_term`, the "v0" form)
    + mean[r(s, a)^2] / (4 alpha)          (`chi2_term`, on expert rows, or on all rows)

V(s') does not bootstrap past a terminal step (`losses.td.bootstrap_discount`). Terms are
per example; callers choose the rows and reduce. `soft_value_discrete` is V for discrete
actions; continuous-action agents use Q(s, a~pi) - temperature * log pi(a|s).
"""

from __future__ import annotations

import jax

from jaxrl_hybrid.losses.td import bootstrap_discount


def soft_value_discrete(q: jax.Array, temperature: jax.Array | float) -> jax.Array:
    """V(s) = temperature * log sum_a exp(Q(s, a) / temperature): (..., A) -> (...)."""
    return temperature * jax.nn.logsumexp(q / temperature, axis=-1)


def implied_reward(q: jax.Array, next_v: jax.Array, terminated: jax.Array, gamma: jax.Array | float) -> jax.Array:
    """The reward Q explains: Q(s, a) - gamma (1 - terminated) V(s'). Also the recovered reward
    IQ-Learn exports (with V(s') of the learned policy)."""
    return q - bootstrap_discount(terminated, gamma) * next_v


def expert_term(q: jax.Array, next_v: jax.Array, terminated: jax.Array, gamma: jax.Array | float) -> jax.Array:
    """-r(s, a) on expert rows: minimising it raises the expert's implied reward."""
    return -implied_reward(q, next_v, terminated, gamma)


def value_term(v: jax.Array, next_v: jax.Array, terminated: jax.Array, gamma: jax.Array | float) -> jax.Array:
    """V(s) - gamma (1 - terminated) V(s'): the telescoped (1 - gamma) E[V(s0)] on any rows'
    transitions ("value" / "value_expert")."""
    return v - bootstrap_discount(terminated, gamma) * next_v


def initial_value_term(v0: jax.Array, gamma: jax.Array | float) -> jax.Array:
    """(1 - gamma) V(s0) on initial states (the "v0" form)."""
    return (1.0 - gamma) * v0


def chi2_term(reward: jax.Array, alpha: jax.Array | float) -> jax.Array:
    """The chi-squared regulariser reward^2 / (4 alpha) (alpha 0.5 by the paper's default)."""
    return reward**2 / (4.0 * alpha)


def offline_objective(
    q: jax.Array,
    v: jax.Array,
    next_v: jax.Array,
    terminated: jax.Array,
    gamma: jax.Array | float,
    alpha: jax.Array | float,
) -> jax.Array:
    """IQ-Learn's per-example loss on expert rows with the chi-squared regulariser on the same
    rows (the paper's offline "value_expert" form): -r + (V(s) - gamma V(s')) + r^2 / (4 alpha),
    r = Q(s, a) - gamma (1 - terminated) V(s'). Broadcasts: `q` may carry a leading axis of
    ensemble members, each trained on its own implied reward as IQ-Learn's double-Q critic is."""
    return online_objective(q, v, next_v, terminated, gamma, alpha, 1.0)


def online_objective(
    q: jax.Array,
    v: jax.Array,
    next_v: jax.Array,
    terminated: jax.Array,
    gamma: jax.Array | float,
    alpha: jax.Array | float,
    expert_weight: jax.Array | float,
) -> jax.Array:
    """IQ-Learn's online per-example loss on a batch of expert and policy rows (the paper's
    "value" form with the chi-squared regulariser on every row): its batch mean is

        -mean_expert[r] + mean_all[V(s) - gamma V(s')] + mean_all[r^2] / (4 alpha)

    `expert_weight` is 1 / (share of expert rows) on expert rows and 0 on the policy's, so the
    mean of the weighted expert term is the mean over expert rows."""
    reward = implied_reward(q, next_v, terminated, gamma)
    return -expert_weight * reward + value_term(v, next_v, terminated, gamma) + chi2_term(reward, alpha)
