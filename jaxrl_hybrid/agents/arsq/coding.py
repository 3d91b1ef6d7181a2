"""Coarse-to-fine action coding: a continuous action in [-1, 1]^D as L levels of B bins per dimension.

Level 0 splits [-1, 1] into B equal intervals; level l splits the interval chosen at level l - 1
into B again, so L levels resolve an action to 2 / B^L (Seo et al., 2024's coarse-to-fine
discretisation, which ARSQ adopts). An action's code is its bins, (..., L, D) integers; its
decoded value is the centre of the finest interval.

ARSQ chooses the code one (level, dimension) pair at a time, level-major: step k = l * D + d
picks level l of dimension d, knowing every earlier step's choice. Its context is the current
*partial action*: per dimension, the centre of the finest interval chosen so far (levels
0..l for dimensions before d, 0..l-1 for d and after; 0, the centre of [-1, 1], before any).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp


def num_steps(levels: int, action_dim: int) -> int:
    """Decision steps per action: one per (level, dimension)."""
    return levels * action_dim


def encode(action: jax.Array, levels: int, bins: int) -> jax.Array:
    """The code of actions (..., D) in [-1, 1]: bins (..., L, D), int32. Values outside [-1, 1]
    take the nearest end interval; an action on a boundary takes the upper interval (the top end,
    1, the last)."""
    lo = jnp.full(action.shape, -1.0, jnp.float32)
    width = jnp.full(action.shape, 2.0, jnp.float32)
    codes = []
    for _ in range(levels):
        width = width / bins
        index = jnp.clip(jnp.floor((action - lo) / width), 0, bins - 1)
        codes.append(index.astype(jnp.int32))
        lo = lo + index * width
    return jnp.stack(codes, axis=-2)


def centres(codes: jax.Array, chosen: jax.Array, bins: int) -> jax.Array:
    """Per dimension, the centre of the interval after its first `chosen` levels ((..., D) counts,
    0..L): codes (..., L, D) -> (..., D). `chosen` = L everywhere decodes the action."""
    levels = codes.shape[-2]
    widths = 2.0 / jnp.asarray(bins, jnp.float32) ** jnp.arange(1, levels + 1, dtype=jnp.float32)  # (L,)
    used = jnp.arange(levels)[:, None] < chosen[..., None, :]  # (..., L, D)
    lo = -1.0 + jnp.sum(jnp.where(used, codes * widths[:, None], 0.0), axis=-2)
    last = 2.0 / jnp.asarray(bins, jnp.float32) ** chosen.astype(jnp.float32)  # width of the finest chosen
    return lo + 0.5 * last


def decode(codes: jax.Array, bins: int) -> jax.Array:
    """The action a code stands for: the centre of its finest intervals, (..., L, D) -> (..., D)."""
    levels = codes.shape[-2]
    return centres(codes, jnp.full(codes.shape[:-2] + codes.shape[-1:], levels, jnp.int32), bins)


def chosen_before(step: int | jax.Array, levels: int, action_dim: int) -> jax.Array:
    """Levels chosen per dimension before step k = l * D + d: (D,) counts (l + 1 for d' < d, l after)."""
    level, dim = step // action_dim, step % action_dim
    return jnp.where(jnp.arange(action_dim) < dim, level + 1, level).astype(jnp.int32)


def step_contexts(codes: jax.Array, bins: int) -> jax.Array:
    """The partial action before every step of a given code (teacher forcing): (..., L, D) ->
    (..., K, D), K = L * D."""
    levels, action_dim = codes.shape[-2:]
    steps = jnp.arange(num_steps(levels, action_dim))
    chosen = jax.vmap(lambda k: chosen_before(k, levels, action_dim))(steps)  # (K, D)
    return jax.vmap(lambda c: centres(codes, c, bins), out_axes=-2)(chosen)


def step_choices(codes: jax.Array) -> jax.Array:
    """The bin chosen at every step, in step order: (..., L, D) -> (..., K)."""
    return codes.reshape(codes.shape[:-2] + (-1,))


def autoregressive_decode(
    scores: Callable[[jax.Array, jax.Array], jax.Array],
    batch_shape: tuple[int, ...],
    levels: int,
    action_dim: int,
    bins: int,
    key: jax.Array | None = None,
    temperature: jax.Array | float = 1.0,
) -> jax.Array:
    """Choose a code step by step: `scores(context (*batch, D), step) -> (*batch, B)` scores the
    bins of step k given the partial action so far; the greedy decode takes each step's best bin,
    a `key` samples each from softmax(scores / temperature) instead. Returns codes (*batch, L, D)."""
    codes = jnp.zeros((*batch_shape, levels, action_dim), jnp.int32)
    total = num_steps(levels, action_dim)
    keys = jax.random.split(key, total) if key is not None else jnp.zeros((total,), jnp.uint32)

    def step(codes, xs):
        k, step_key = xs
        context = centres(codes, chosen_before(k, levels, action_dim), bins)
        z = scores(context, k)
        if key is None:
            choice = jnp.argmax(z, axis=-1)
        else:
            choice = jax.random.categorical(step_key, z / temperature, axis=-1)
        level, dim = k // action_dim, k % action_dim
        codes = codes.at[..., level, dim].set(choice.astype(jnp.int32))
        return codes, None

    codes, _ = jax.lax.scan(step, codes, (jnp.arange(total), keys))
    return codes
