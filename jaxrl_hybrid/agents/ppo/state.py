"""PPO training state and rollout layout."""

from __future__ import annotations

import jax
from flax import struct

from jaxrl_hybrid.optim import ModelState


@struct.dataclass
class PPOState:
    model: ModelState  # params = {"actor": ..., "critic": ...}, one optimiser
    step: jax.Array


@struct.dataclass
class Rollout:
    """Time-major (num_steps, num_envs) on-policy data.

    `next_obs` is the true next observation (the final one on truncation), so the value of
    a truncated step's successor is bootstrapped rather than taken as zero.
    """

    obs: jax.Array
    action: jax.Array
    log_prob: jax.Array
    reward: jax.Array
    next_obs: jax.Array
    terminated: jax.Array
    truncated: jax.Array
