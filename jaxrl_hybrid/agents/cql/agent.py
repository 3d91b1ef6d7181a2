"""CQL and Cal-QL: SAC's networks, state and update with the conservative critic penalty (`losses.py`)."""

from __future__ import annotations

from jaxrl_hybrid.agents.cql import losses as cql_losses
from jaxrl_hybrid.agents.cql.config import CalQLConfig, CQLConfig, CQLHParams, default_hparams
from jaxrl_hybrid.agents.sac.agent import SAC


class CQL(SAC):
    """Conservative Q-learning (CQL(H) with importance-sampled logsumexp)."""

    name = "cql"
    Config = CQLConfig
    HParams = CQLHParams
    losses = cql_losses.LOSSES  # SAC's update with this objective

    def default_hparams(self, **overrides) -> CQLHParams:
        return default_hparams(**overrides)


class CalQL(CQL):
    """Calibrated CQL: policy-action Q-values in the penalty are bounded below by V_mc."""

    name = "calql"
    Config = CalQLConfig
