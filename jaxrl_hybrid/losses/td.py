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


def n_step_return(
    r_t: jax.Array, terminated_t: jax.Array, truncated_t: jax.Array, gamma: jax.Array | float
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """The n-step return of windows of consecutive steps (last axis: the n steps).

    Sums `gamma^k r_k` up to the window's first terminated or truncated step (inclusive) or its
    last step, and returns (return, bootstrap discount, index of that last step): the target is
    `return + discount * V(next_obs[index])`, with discount `gamma^(index + 1)`, or 0 when the
    episode terminated there (a truncation still bootstraps from its true final observation).
    """
    n = r_t.shape[-1]
    done = jnp.logical_or(terminated_t, truncated_t)
    # Steps after the first done one belong to the next episode: cut them.
    done_before = jnp.cumsum(done.astype(jnp.int32), axis=-1) - done.astype(jnp.int32)
    valid = done_before == 0
    powers = gamma ** jnp.arange(n, dtype=jnp.float32)
    ret = jnp.sum(jnp.where(valid, powers * r_t, 0.0), axis=-1)
    last = jnp.sum(valid.astype(jnp.int32), axis=-1) - 1
    ended_terminated = jnp.take_along_axis(terminated_t, last[..., None], axis=-1)[..., 0]
    discount = jnp.where(ended_terminated, 0.0, gamma ** (last + 1).astype(jnp.float32))
    return jax.lax.stop_gradient(ret), discount, last


def lambda_returns(
    r_t: jax.Array,
    discount_t: jax.Array,
    bootstrap_t: jax.Array,
    done_t: jax.Array,
    lambda_: jax.Array | float,
    backup=None,
    mix=None,
) -> jax.Array:
    """Peng's Q(lambda) returns over a time-major rollout (axis 0 is time), as PQN trains on.

    G_t = r_t + discount_t [(1 - lambda) B_{t+1} + lambda G_{t+1}], with B_{t+1} the bootstrap
    (max_a Q(s_{t+1}, a)) of the true next observation; the trace is cut where the episode ended
    (`done_t`: terminated or truncated), where G_t = r_t + discount_t B_{t+1}, and at the
    rollout's end. `backup(r, discount, target)` and `mix(w, a, b)` default to scalar arithmetic;
    `CriticLoss.backup` / `.mix` give the same recursion for C51's distributions (the projection
    is linear, so the mixture of projections is the projection of the mixture).
    """
    backup = backup or (lambda r, d, x: r + d * x)
    mix = mix or (lambda w, a, b: w * a + (1.0 - w) * b)
    trace = lambda_ * (1.0 - done_t.astype(jnp.float32))

    def backward(g_next, xs):
        r, discount, boot, w = xs
        g = backup(r, discount, mix(1.0 - w, boot, g_next))
        return g, g

    last = backup(r_t[-1], discount_t[-1], bootstrap_t[-1])
    _, g = jax.lax.scan(backward, last, (r_t[:-1], discount_t[:-1], bootstrap_t[:-1], trace[:-1]), reverse=True)
    return jax.lax.stop_gradient(jnp.concatenate([g, last[None]], axis=0))


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
