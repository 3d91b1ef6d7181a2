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


REWARD_SCALES = ("none", "return_range")


def check_reward_scale(scale) -> None:
    """A reward scale is "none", "return_range" or a positive number; anything else is refused."""
    if isinstance(scale, (int, float)) and not isinstance(scale, bool):
        if not scale > 0:
            raise ValueError(f"reward_scale must be > 0, got {scale}")
    elif scale not in REWARD_SCALES:
        raise ValueError(f"reward_scale must be 'none', 'return_range' or a positive number, got {scale!r}")


def reward_scale_factor(dataset: Dataset, scale: str | float) -> float:
    """The factor a dataset's rewards are multiplied by before training.

    "none": 1. "return_range": 1000 / (max - min) of the dataset's episode returns, IQL's
    scaling of the locomotion datasets (Kostrikov et al., 2022, appendix B; CORL's IQL), which
    puts every task's per-step advantages on one scale for the AWR temperature. A number: that
    factor. Evaluation returns and normalised scores are always in the env's own rewards.
    """
    check_reward_scale(scale)
    if scale == "none":
        return 1.0
    if scale == "return_range":
        import numpy as np

        from jaxrl_hybrid.data.dataset import episode_returns

        returns = episode_returns(dataset)
        spread = float(np.max(returns) - np.min(returns))
        if not spread > 0:
            raise ValueError(
                f"reward_scale 'return_range' needs episodes with different returns; the dataset's "
                f"{len(returns)} episode(s) all return {float(returns[0]):.4g}"
            )
        return 1000.0 / spread
    return float(scale)


def normalized_score(returns, random_return: float, expert_return: float):
    """D4RL's 100 * (R - R_random) / (R_expert - R_random)."""
    if expert_return == random_return:
        raise ValueError(f"expert and random reference returns are equal ({expert_return}); the score is undefined")
    return 100.0 * (returns - random_return) / (expert_return - random_return)


def unit_bounds(bounds) -> bool:
    """Whether action bounds (scalars or per-dimension lists) are [-1, 1] in every dimension."""
    import numpy as np

    low, high = (np.asarray(b, np.float64) for b in bounds)
    return bool(np.all(low == -1.0) and np.all(high == 1.0))


def unit_actions(dataset: Dataset, bounds) -> Dataset:
    """Actions recorded in an env's own bounds `(low, high)` mapped onto the agents' [-1, 1]
    (a = 2 (a_env - low) / (high - low) - 1; the env maps them back when it steps). The
    metadata records the new bounds and the recorded ones (`recorded_action_bounds`)."""
    import json

    import numpy as np

    low, high = (np.asarray(b, np.float64) for b in bounds)
    if np.any(high <= low):
        raise ValueError(f"action bounds {low.tolist()}..{high.tolist()}: every high must exceed its low")

    def unit(a):
        return jnp.asarray((2.0 * (np.asarray(a, np.float64) - low) / (high - low) - 1.0).astype(np.float32))

    metadata = {
        **dataset.metadata,
        "action_bounds": [-1.0, 1.0],
        "recorded_action_bounds": [np.broadcast_to(low, dataset.actions.shape[1:]).tolist(),
                                   np.broadcast_to(high, dataset.actions.shape[1:]).tolist()],
    }  # fmt: skip
    return dataset.replace(
        actions=unit(dataset.actions),
        next_actions=unit(dataset.next_actions),
        metadata_json=json.dumps(metadata, sort_keys=True),
    )
