"""IQL and RIQL (implicit Q-learning, and its corruption-robust variant)."""

from jaxrl_hybrid.agents.iql.agent import IQL, RIQL, IQLState
from jaxrl_hybrid.agents.iql.config import IQLConfig, IQLHParams, RIQLConfig

__all__ = ["IQL", "IQLConfig", "IQLHParams", "IQLState", "RIQL", "RIQLConfig"]
