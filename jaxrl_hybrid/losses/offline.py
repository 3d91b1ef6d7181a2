"""Pure, unreduced losses of the offline algorithms: CQL / Cal-QL, IQL / RIQL, TD3+BC / ReBRAC, BC.

Every function returns per-example values; callers reduce. Shapes: a leading ensemble axis
where noted, then the batch axis.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def expectile_loss(diff: jax.Array, expectile: jax.Array | float) -> jax.Array:
    """|tau - 1(diff < 0)| * diff^2 with diff = target - prediction (IQL's value loss)."""
    weight = jnp.where(diff < 0, 1.0 - expectile, expectile)
    return weight * jnp.square(diff)


def ensemble_quantile(values: jax.Array, quantile: jax.Array | float) -> jax.Array:
    """The `quantile` of an ensemble's values over axis 0, linearly interpolated (RIQL's Q estimate).

    quantile 0 is the ensemble minimum, 0.5 the median, 1 the maximum.
    """
    k = values.shape[0]
    ordered = jnp.sort(values, axis=0)
    pos = jnp.clip(quantile, 0.0, 1.0) * (k - 1)
    lo = jnp.clip(jnp.floor(pos).astype(jnp.int32), 0, k - 1)
    hi = jnp.clip(lo + 1, 0, k - 1)
    frac = pos - lo
    return (1.0 - frac) * ordered[lo] + frac * ordered[hi]


def cql_logsumexp(
    q_random: jax.Array,
    q_policy: jax.Array,
    q_next_policy: jax.Array,
    log_prob_policy: jax.Array,
    log_prob_next_policy: jax.Array,
    action_dim: int,
    temperature: jax.Array | float = 1.0,
) -> jax.Array:
    """Importance-sampled temperature * logsumexp_a Q(s, a) / temperature (CQL(H), Kumar et al. 2020).

    Q-values have shape (..., num_samples, batch) for actions drawn uniformly in [-1, 1]^d
    (`q_random`), from pi(.|s) (`q_policy`) and from pi(.|s') (`q_next_policy`), all evaluated
    at s. Each is divided by its proposal density: uniform 0.5^d, and the policy log-probs
    (shape (num_samples, batch)). Returns (..., batch).
    """
    log_uniform = action_dim * jnp.log(0.5)
    cat = jnp.concatenate(
        [
            q_random - log_uniform,
            q_policy - jax.lax.stop_gradient(log_prob_policy),
            q_next_policy - jax.lax.stop_gradient(log_prob_next_policy),
        ],
        axis=-2,
    )
    return temperature * jax.nn.logsumexp(cat / temperature, axis=-2)


def calql_lower_bound(q_policy: jax.Array, mc_return: jax.Array) -> jax.Array:
    """Cal-QL: max(Q(s, a_pi), V_mc(s)), the Monte-Carlo return of the data's own trajectory."""
    return jnp.maximum(q_policy, mc_return)


def awr_weights(advantage: jax.Array, temperature: jax.Array | float, max_weight: float = 100.0) -> jax.Array:
    """exp(temperature * A), clipped at `max_weight` (IQL's advantage-weighted regression)."""
    return jnp.minimum(jnp.exp(temperature * advantage), max_weight)


def behaviour_cloning_error(action: jax.Array, data_action: jax.Array) -> jax.Array:
    """Squared distance ||pi(s) - a||^2 summed over action dims (TD3+BC, ReBRAC, BC)."""
    return jnp.sum(jnp.square(action - data_action), axis=-1)


def gaussian_log_prob(mean: jax.Array, log_std: jax.Array, action: jax.Array) -> jax.Array:
    """log N(action; mean, exp(log_std)^2), summed over action dims."""
    z = (action - mean) * jnp.exp(-log_std)
    return jnp.sum(-0.5 * jnp.square(z) - log_std - 0.5 * jnp.log(2.0 * jnp.pi), axis=-1)
