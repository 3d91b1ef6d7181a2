"""Offline datasets: the device-resident `Dataset`, sampling and statistics.

Knows nothing of agents. File import/export, generation and corruption are still to come
(issue 4); what is here is complete and tested on its own.
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
    "normalize_observations",
    "normalized_score",
    "obs_normalizer",
    "sample",
    "scale_rewards",
]
