"""Data containers shared by every layer: transitions, batches and environment specs."""

from __future__ import annotations

import dataclasses

import jax
from flax import struct


@dataclasses.dataclass(frozen=True)
class EnvSpec:
    """Static description of an environment: what the agent's networks are built for.

    For a discrete env `action_dim` is the number of actions and actions are integers;
    for a continuous env actions are float vectors of length `action_dim` in [-1, 1].
    """

    name: str
    obs_shape: tuple[int, ...]
    action_dim: int
    discrete: bool
    max_episode_steps: int

    @property
    def action_shape(self) -> tuple[int, ...]:
        return () if self.discrete else (self.action_dim,)


@struct.dataclass
class Transition:
    """One environment step, time-suffixed as the losses expect.

    `next_obs` is the true next observation, also when the episode was truncated and the
    env auto-reset: the TD target bootstraps from it unless `terminated` is set.
    Batches drawn from an offline `Dataset` also carry the data's `next_action` (ReBRAC's
    critic penalty) and the discounted Monte-Carlo return-to-go `mc_return` (Cal-QL's bound);
    online transitions leave them None.
    """

    obs: jax.Array
    action: jax.Array
    reward: jax.Array
    next_obs: jax.Array
    terminated: jax.Array
    truncated: jax.Array
    next_action: jax.Array | None = None
    mc_return: jax.Array | None = None


# A batch sampled from a replay buffer or dataset has the same fields as a transition,
# with a leading batch axis.
Batch = Transition
