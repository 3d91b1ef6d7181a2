"""Offline datasets: the device-resident `Dataset`, sampling and statistics.

Knows nothing of agents. D4RL-layout HDF5 files load and save; Minari I/O, generation and
corruption are still to come (issue 4) and raise where they would be called.
"""

from jaxrl_hybrid.data.dataset import (
    Dataset,
    discounted_returns_to_go,
    episode_ids,
    episode_returns,
    from_arrays,
    gather,
    sample,
)
from jaxrl_hybrid.data.io import load, save
from jaxrl_hybrid.data.stats import (
    ObsNormalizer,
    normalize_observations,
    normalized_score,
    obs_normalizer,
    scale_rewards,
)

__all__ = [
    "Dataset",
    "ObsNormalizer",
    "discounted_returns_to_go",
    "episode_ids",
    "episode_returns",
    "from_arrays",
    "gather",
    "load",
    "normalize_observations",
    "normalized_score",
    "obs_normalizer",
    "sample",
    "save",
    "scale_rewards",
]
