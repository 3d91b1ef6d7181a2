"""Dataset statistics: observation normalisation, reward scaling, D4RL-style normalised scores."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from jaxrl_hybrid.data.dataset import Dataset


@struct.dataclass
class ObsNormalizer:
    """Per-dimension mean and std of the dataset's observations."""

    mean: jax.Array
    std: jax.Array

    def __call__(self, obs: jax.Array) -> jax.Array:
        return (obs - self.mean) / self.std


def obs_normalizer(dataset: Dataset, eps: float = 1e-3) -> ObsNormalizer:
    """Statistics over `observations`; std is floored at `eps` so constant dims stay finite."""
    return ObsNormalizer(mean=dataset.observations.mean(axis=0), std=jnp.maximum(dataset.observations.std(axis=0), eps))


def normalize_observations(dataset: Dataset, normalizer: ObsNormalizer) -> Dataset:
    """The dataset with observations and next observations normalised."""
    return dataset.replace(
        observations=normalizer(dataset.observations), next_observations=normalizer(dataset.next_observations)
    )


def scale_rewards(dataset: Dataset, scale: float = 1.0, shift: float = 0.0) -> Dataset:
    """rewards <- scale * rewards + shift; returns-to-go are recomputed to match."""
    from jaxrl_hybrid.data.dataset import discounted_returns_to_go

    rewards = scale * dataset.rewards + shift
    rtg = discounted_returns_to_go(rewards, dataset.terminals, dataset.timeouts, dataset.gamma)
    return dataset.replace(rewards=rewards, returns_to_go=jnp.asarray(rtg))


def normalized_score(returns, random_return: float, expert_return: float):
    """D4RL's 100 * (R - R_random) / (R_expert - R_random)."""
    if expert_return == random_return:
        raise ValueError(f"expert and random reference returns are equal ({expert_return}); the score is undefined")
    return 100.0 * (returns - random_return) / (expert_return - random_return)
