"""Temporal-difference targets and advantages, with terminations and truncations kept apart.

Only `terminated_t` zeroes the bootstrap. A truncated step (time limit) still bootstraps from
the true final observation, which the auto-reset wrapper keeps as `next_obs`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def bootstrap_discount(terminated_t: jax.Array, gamma: jax.Array | float) -> jax.Array:
    """Per-step discount: gamma unless the episode terminated (truncation does not count)."""
    return gamma * (1.0 - terminated_t.astype(jnp.float32))


def td_target(r_t: jax.Array, discount_t: jax.Array, v_t: jax.Array) -> jax.Array:
    """One-step target r_t + discount_t * v_t, wrapped in a stop-gradient."""
    return jax.lax.stop_gradient(r_t + discount_t * v_t)


def gae_advantages(
    r_t: jax.Array,
    discount_t: jax.Array,
    v_tm1: jax.Array,
    v_t: jax.Array,
    done_t: jax.Array,
    lambda_: jax.Array | float,
) -> tuple[jax.Array, jax.Array]:
    """Generalised advantage estimation over a time-major rollout (axis 0 is time).

    `v_t` is the value of the true next observation of each step (the final observation
    on truncation), `discount_t` is zero only on termination, and `done_t` (terminated or
    truncated) cuts the lambda-trace so advantages never leak across episodes.
    Returns (advantages, value targets = advantages + v_tm1), both stop-gradiented.
    """
    delta = r_t + discount_t * v_t - v_tm1
    trace_t = discount_t * lambda_ * (1.0 - done_t.astype(jnp.float32))

    def backward(carry, xs):
        delta_t, trace = xs
        adv = delta_t + trace * carry
        return adv, adv

    _, adv = jax.lax.scan(backward, jnp.zeros_like(delta[0]), (delta, trace_t), reverse=True)
    adv = jax.lax.stop_gradient(adv)
    return adv, jax.lax.stop_gradient(adv + v_tm1)
