"""Twin delayed deep deterministic policy gradient."""

from jaxrl_hybrid.agents.td3.agent import TD3
from jaxrl_hybrid.agents.td3.config import TD3Config, TD3HParams, default_hparams
from jaxrl_hybrid.agents.td3.state import TD3State

__all__ = ["TD3", "TD3Config", "TD3HParams", "TD3State", "default_hparams"]
