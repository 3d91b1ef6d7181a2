"""A device-resident, vmappable replay buffer.

Our own rather than flashbax: it is a flat pytree of preallocated arrays plus two counters,
so it vmaps over seeds and hyperparameters, checkpoints as plain arrays, and samples by the
same index gather as the offline `Dataset` (one sampling path for offline, online and mixed
batches). It is ~50 lines we control across JAX versions.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
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


def sample_windows(buffer: ReplayBuffer, key: jax.Array, shape: tuple[int, ...], length: int, num_envs: int):
    """Uniform sample of `shape` windows of `length` consecutive steps of one env each (n-step
    returns): leaves of shape (*shape, length, ...).

    Every env step writes one row per env (`add_batch` of `num_envs` transitions), so an env's
    next step is `num_envs` rows later, around the ring. Windows start only at rows whose
    `length - 1` successors are already written; a window may run past its episode's end, which
    the n-step return cuts at the first terminated or truncated step (`losses.td.n_step_return`).
    """
    stride = (length - 1) * num_envs
    newest = jnp.minimum(stride, jnp.maximum(buffer.size - 1, 0))  # youngest admissible start, by age
    age = jax.random.randint(key, shape, newest, jnp.maximum(buffer.size, newest + 1))
    start = (buffer.position - 1 - age) % buffer.capacity
    idx = (start[..., None] + num_envs * jnp.arange(length)) % buffer.capacity
    return jax.tree.map(lambda d: d[idx], buffer.data)


@struct.dataclass
class EpisodeTracker:
    """Where each env's current episode began in the buffer, and how long it is so far."""

    start: jax.Array  # (num_envs,) buffer position of the episode's first transition
    length: jax.Array  # (num_envs,) transitions stored so far


def init_episode_tracker(num_envs: int) -> EpisodeTracker:
    return EpisodeTracker(start=jnp.zeros((num_envs,), jnp.int32), length=jnp.zeros((num_envs,), jnp.int32))


def _discount_matrix(max_len: int, gamma: float) -> np.ndarray:
    """M[k, j] = gamma^(j - k) for j >= k, else 0 (float64 on the host, then float32)."""
    k = np.arange(max_len)
    power = k[None, :] - k[:, None]
    return np.where(power >= 0, float(gamma) ** np.maximum(power, 0), 0.0).astype(np.float32)


def track_mc_returns(
    buffer: ReplayBuffer, episodes: EpisodeTracker, position: jax.Array, done: jax.Array, gamma: float, max_len: int
) -> tuple[ReplayBuffer, EpisodeTracker]:
    """Bookkeeping after `add_batch` wrote one transition per env at `position + env`.

    For every env whose episode ended (`done`), the discounted returns-to-go of its
    transitions, G_k = sum_{j >= k} gamma^(j-k) r_j (no bootstrap after a truncation, as the
    offline `Dataset` computes them), are written into `buffer.data.mc_return`. An env's
    episode occupies every `num_envs`-th row from its start; episodes are at most `max_len`
    steps (the env's time limit).
    """
    num_envs = episodes.length.shape[0]
    capacity = buffer.capacity
    own = (position + jnp.arange(num_envs)) % capacity
    start = jnp.where(episodes.length == 0, own, episodes.start)
    length = episodes.length + 1
    k = jnp.arange(max_len)
    idx = (start[:, None] + k[None, :] * num_envs) % capacity  # (envs, max_len)
    valid = (k[None, :] < length[:, None]) & done[:, None]
    rewards = jnp.where(valid, buffer.data.reward[idx], 0.0)
    returns = rewards @ jnp.asarray(_discount_matrix(max_len, gamma)).T  # G[e, k] = sum_j M[k, j] r[e, j]
    write = jnp.where(valid, idx, capacity)  # rows past the episode or of running episodes: dropped
    mc = buffer.data.mc_return.at[write].set(returns.astype(buffer.data.mc_return.dtype), mode="drop")
    buffer = buffer.replace(data=buffer.data.replace(mc_return=mc))
    return buffer, EpisodeTracker(start=start, length=jnp.where(done, 0, length))


def offline_rows(batch_size: int, offline_fraction: float) -> int:
    """How many of `batch_size` rows a mixed batch takes from the offline data (static)."""
    if not 0.0 <= offline_fraction <= 1.0:
        raise ValueError(f"offline_fraction must be in [0, 1], got {offline_fraction}")
    return int(round(batch_size * offline_fraction))


def sample_mixed(dataset, buffer: ReplayBuffer, key: jax.Array, shape: tuple[int, ...], offline_fraction: float):
    """RLPD-style symmetric sampling: each minibatch (last axis of `shape`) holds
    `offline_rows(shape[-1], offline_fraction)` uniform rows of the offline `dataset` followed by
    uniform rows of the online `buffer`.

    Offline-only fields (`next_action`, and `mc_return` unless the buffer tracks it) are
    dropped so both halves share one structure; the fraction is static, so the split is exact
    in every batch.
    """
    from jaxrl_hybrid.data import sample as sample_dataset

    *lead, batch_size = shape
    n_off = offline_rows(batch_size, offline_fraction)
    key_off, key_on = jax.random.split(key)
    offline = sample_dataset(dataset, key_off, (*lead, n_off)).replace(next_action=None)
    if buffer.data.mc_return is None:
        offline = offline.replace(mc_return=None)
    online = sample(buffer, key_on, (*lead, batch_size - n_off))
    axis = len(lead)  # every leaf is (*lead, rows, *feature)
    return jax.tree.map(lambda a, b: jnp.concatenate([a.astype(b.dtype), b], axis=axis), offline, online)
