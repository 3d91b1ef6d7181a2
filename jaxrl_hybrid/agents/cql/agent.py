"""CQL and Cal-QL: SAC's networks and state with the conservative critic penalty."""

from __future__ import annotations

from jaxrl_hybrid.agents.cql import update as cql_update
from jaxrl_hybrid.agents.cql.config import CalQLConfig, CQLConfig, CQLHParams, default_hparams
from jaxrl_hybrid.agents.sac.agent import SAC


class CQL(SAC):
    """Conservative Q-learning (CQL(H) with importance-sampled logsumexp)."""

    name = "cql"
    Config = CQLConfig
    HParams = CQLHParams

    def default_hparams(self, **overrides) -> CQLHParams:
        return default_hparams(**overrides)

    def update(self, state, batch, key, hparams: CQLHParams):
        return cql_update.update(self.nets, self.config, state, batch, key, hparams)


class CalQL(CQL):
    """Calibrated CQL: policy-action Q-values in the penalty are bounded below by V_mc."""

    name = "calql"
    Config = CalQLConfig
