"""LPG / TA-LPG: an agent trained only by a learned, recurrent update rule."""

from jaxrl_hybrid.agents.lpg.agent import LPG, LPGState
from jaxrl_hybrid.agents.lpg.config import LPGConfig, LPGHParams, default_hparams
from jaxrl_hybrid.agents.lpg.rule import LPGRule, rule_targets

__all__ = ["LPG", "LPGConfig", "LPGHParams", "LPGRule", "LPGState", "default_hparams", "rule_targets"]
