"""Offline datasets: the device-resident `Dataset`, sampling and statistics.

Knows nothing of agents: D4RL-layout HDF5 and Minari files load and save, a fraction of a
field can be corrupted (the adversarial attack takes a Q function as an argument).
Generating datasets trains agents, so it lives in `jaxrl_hybrid.training.collect`.
"""

from jaxrl_hybrid.data.corrupt import corrupt, corruption_mask
from jaxrl_hybrid.data.dataset import (
    Dataset,
    discounted_returns_to_go,
    episode_ids,
    episode_returns,
    fingerprint,
    first_episodes,
    from_arrays,
    gather,
    sample,
)
from jaxrl_hybrid.data.io import load, save
from jaxrl_hybrid.data.minari_io import minari_path, minari_root
from jaxrl_hybrid.data.stats import (
    REWARD_SCALES,
    ObsNormalizer,
    normalize_observations,
    normalized_score,
    obs_normalizer,
    reward_scale_factor,
    scale_rewards,
    unit_actions,
    unit_bounds,
)

__all__ = [
    "Dataset",
    "corrupt",
    "corruption_mask",
    "minari_path",
    "minari_root",
    "ObsNormalizer",
    "discounted_returns_to_go",
    "episode_ids",
    "episode_returns",
    "fingerprint",
    "first_episodes",
    "from_arrays",
    "gather",
    "load",
    "normalize_observations",
    "normalized_score",
    "obs_normalizer",
    "sample",
    "save",
    "REWARD_SCALES",
    "reward_scale_factor",
    "scale_rewards",
    "unit_actions",
    "unit_bounds",
]
