"""Elementwise regression losses, unreduced."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def squared_error(prediction: jax.Array, target: jax.Array) -> jax.Array:
    """0.5 * (prediction - target)^2."""
    return 0.5 * jnp.square(prediction - target)


def huber(prediction: jax.Array, target: jax.Array, delta: float = 1.0) -> jax.Array:
    """Huber loss: quadratic within `delta` of the target, linear beyond it."""
    abs_err = jnp.abs(prediction - target)
    quad = jnp.minimum(abs_err, delta)
    return 0.5 * jnp.square(quad) + delta * (abs_err - quad)
