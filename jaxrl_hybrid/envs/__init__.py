"""One stateless env API over gymnax and brax, wrappers, and named sim/real dynamics shifts."""

from jaxrl_hybrid.envs import shifts
from jaxrl_hybrid.envs.core import Env, StepResult, rescale_action
from jaxrl_hybrid.envs.registry import known_env_names, make_env
from jaxrl_hybrid.envs.shifts import SHIFTS, DynamicsShift, SimRealPair, get_shift, make_pair
from jaxrl_hybrid.envs.wrappers import AutoReset, EpisodeStats, wrap_for_training

__all__ = [
    "SHIFTS",
    "AutoReset",
    "DynamicsShift",
    "Env",
    "EpisodeStats",
    "SimRealPair",
    "StepResult",
    "get_shift",
    "known_env_names",
    "make_env",
    "make_pair",
    "rescale_action",
    "shifts",
    "wrap_for_training",
]
