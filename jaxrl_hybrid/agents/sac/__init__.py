"""Soft actor-critic."""

from jaxrl_hybrid.agents.sac.agent import SAC
from jaxrl_hybrid.agents.sac.config import SACConfig, SACHParams, default_hparams
from jaxrl_hybrid.agents.sac.state import SACState

__all__ = ["SAC", "SACConfig", "SACHParams", "SACState", "default_hparams"]
