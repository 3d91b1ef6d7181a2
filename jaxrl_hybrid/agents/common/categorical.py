"""Categorical-policy pieces shared by the on-policy agents (PPO, LPG)."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def categorical_log_prob(log_p: jax.Array, action: jax.Array) -> jax.Array:
    """log pi(a|s) from log-probabilities (..., A) and integer actions (...)."""
    return jnp.take_along_axis(log_p, action[..., None].astype(jnp.int32), -1)[..., 0]


def categorical_sample(logits: jax.Array, key: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(action, log pi(action)) drawn from logits (..., A)."""
    action = jax.random.categorical(key, logits)
    return action, categorical_log_prob(jax.nn.log_softmax(logits), action)


def categorical_act(logits: jax.Array, key: jax.Array, deterministic: bool) -> jax.Array:
    """The greedy action, or a sampled one."""
    return jnp.argmax(logits, -1) if deterministic else jax.random.categorical(key, logits)
