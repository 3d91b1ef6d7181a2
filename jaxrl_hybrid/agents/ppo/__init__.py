"""Proximal policy optimisation."""

from jaxrl_hybrid.agents.ppo.agent import PPO
from jaxrl_hybrid.agents.ppo.config import PPOConfig, PPOHParams, default_hparams
from jaxrl_hybrid.agents.ppo.state import PPOState, Rollout

__all__ = ["PPO", "PPOConfig", "PPOHParams", "PPOState", "Rollout", "default_hparams"]
