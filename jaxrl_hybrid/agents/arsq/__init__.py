"""ARSQ: auto-regressive soft Q-learning over coarse-to-fine action codes (offline)."""

from jaxrl_hybrid.agents.arsq.agent import ARSQ, ARSQConfig, ARSQHParams, ARSQState

__all__ = ["ARSQ", "ARSQConfig", "ARSQHParams", "ARSQState"]
