"""TD3+BC and ReBRAC: TD3 with behaviour-cloning penalties on the actor (and the critic target)."""

from jaxrl_hybrid.agents.td3bc.agent import TD3BC, ReBRAC
from jaxrl_hybrid.agents.td3bc.config import ReBRACConfig, TD3BCConfig, TD3BCHParams

__all__ = ["ReBRAC", "ReBRACConfig", "TD3BC", "TD3BCConfig", "TD3BCHParams"]
