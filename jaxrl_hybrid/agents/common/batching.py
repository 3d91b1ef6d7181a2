"""Minibatches of a rollout, shared by the on-policy agents' epochs (PPO, PQN)."""

from __future__ import annotations

import jax


def shuffled_minibatches(key: jax.Array, data, num_minibatches: int):
    """`data` (leaves with a leading axis of n rows) shuffled by `key` and cut into
    `num_minibatches` equal minibatches: leaves (num_minibatches, n // num_minibatches, ...);
    the n % num_minibatches rows left over by the permutation are dropped."""
    n = jax.tree.leaves(data)[0].shape[0]
    size = n // num_minibatches
    perm = jax.random.permutation(key, n)[: size * num_minibatches]
    return jax.tree.map(lambda x: x[perm].reshape((num_minibatches, size, *x.shape[1:])), data)
