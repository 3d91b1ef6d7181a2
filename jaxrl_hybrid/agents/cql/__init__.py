"""CQL and Cal-QL (SAC with a conservative, optionally calibrated, critic penalty)."""

from jaxrl_hybrid.agents.cql.agent import CQL, CalQL
from jaxrl_hybrid.agents.cql.config import CalQLConfig, CQLConfig, CQLHParams

__all__ = ["CQL", "CQLConfig", "CQLHParams", "CalQL", "CalQLConfig"]
