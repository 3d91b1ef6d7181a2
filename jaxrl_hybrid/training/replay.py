"""A device-resident, vmappable replay buffer.

Our own rather than flashbax: it is a flat pytree of preallocated arrays plus two counters,
so it vmaps over seeds and hyperparameters, checkpoints as plain arrays, and samples by the
same index gather as the offline `Dataset` (one sampling path for offline, online and mixed
batches). It is ~50 lines we control across JAX versions.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from jaxrl_hybrid.types import Transition


@struct.dataclass
class ReplayBuffer:
    """Ring buffer of transitions; `data` leaves have a leading `capacity` axis."""

    data: Transition
    position: jax.Array
    size: jax.Array

    @property
    def capacity(self) -> int:
        return jax.tree.leaves(self.data)[0].shape[0]


def init_buffer(capacity: int, example: Transition) -> ReplayBuffer:
    """Empty buffer shaped like `example` (one unbatched transition)."""
    if capacity < 1:
        raise ValueError(f"replay buffer capacity must be >= 1, got {capacity}")
    data = jax.tree.map(lambda x: jnp.zeros((capacity, *jnp.shape(x)), jnp.asarray(x).dtype), example)
    return ReplayBuffer(data=data, position=jnp.zeros((), jnp.int32), size=jnp.zeros((), jnp.int32))


def add_batch(buffer: ReplayBuffer, transitions: Transition) -> ReplayBuffer:
    """Append transitions with a leading batch axis, overwriting the oldest when full."""
    n = jax.tree.leaves(transitions)[0].shape[0]
    idx = (buffer.position + jnp.arange(n)) % buffer.capacity
    data = jax.tree.map(lambda d, x: d.at[idx].set(x.astype(d.dtype)), buffer.data, transitions)
    return buffer.replace(
        data=data,
        position=(buffer.position + n) % buffer.capacity,
        size=jnp.minimum(buffer.size + n, buffer.capacity),
    )


def sample(buffer: ReplayBuffer, key: jax.Array, shape: tuple[int, ...]) -> Transition:
    """Uniform sample (with replacement) of `shape` transitions among those stored."""
    idx = jax.random.randint(key, shape, 0, jnp.maximum(buffer.size, 1))
    return jax.tree.map(lambda d: d[idx], buffer.data)


def offline_rows(batch_size: int, offline_fraction: float) -> int:
    """How many of `batch_size` rows a mixed batch takes from the offline data (static)."""
    if not 0.0 <= offline_fraction <= 1.0:
        raise ValueError(f"offline_fraction must be in [0, 1], got {offline_fraction}")
    return int(round(batch_size * offline_fraction))


def sample_mixed(dataset, buffer: ReplayBuffer, key: jax.Array, shape: tuple[int, ...], offline_fraction: float):
    """RLPD-style symmetric sampling: each minibatch (last axis of `shape`) holds
    `offline_rows(shape[-1], offline_fraction)` uniform rows of the offline `dataset` followed by
    uniform rows of the online `buffer`.

    Offline-only fields (`next_action`, `mc_return`) are dropped so both halves share one
    structure; the fraction is static, so the split is exact in every batch.
    """
    from jaxrl_hybrid.data import sample as sample_dataset

    *lead, batch_size = shape
    n_off = offline_rows(batch_size, offline_fraction)
    key_off, key_on = jax.random.split(key)
    offline = sample_dataset(dataset, key_off, (*lead, n_off)).replace(next_action=None, mc_return=None)
    online = sample(buffer, key_on, (*lead, batch_size - n_off))
    axis = len(lead)  # every leaf is (*lead, rows, *feature)
    return jax.tree.map(lambda a, b: jnp.concatenate([a.astype(b.dtype), b], axis=axis), offline, online)
