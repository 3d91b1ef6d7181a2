"""TD3+BC and ReBRAC: TD3's networks and state, the offline objectives of `update.py`."""

from __future__ import annotations

from jaxrl_hybrid.agents.td3.agent import TD3
from jaxrl_hybrid.agents.td3bc import update as td3bc_update
from jaxrl_hybrid.agents.td3bc.config import (
    ReBRACConfig,
    TD3BCConfig,
    TD3BCHParams,
    default_hparams,
    rebrac_default_hparams,
)


class TD3BC(TD3):
    """TD3 + behaviour cloning (Fujimoto & Gu, 2021)."""

    name = "td3bc"
    Config = TD3BCConfig
    HParams = TD3BCHParams

    def default_hparams(self, **overrides) -> TD3BCHParams:
        return default_hparams(**overrides)

    def update(self, state, batch, key, hparams: TD3BCHParams):
        return td3bc_update.update(self.nets, self.config, state, batch, key, hparams)


class ReBRAC(TD3BC):
    """Revisited BRAC (Tarasov et al., 2023): TD3+BC with a critic penalty, LayerNorm, big batches."""

    name = "rebrac"
    Config = ReBRACConfig

    def default_hparams(self, **overrides) -> TD3BCHParams:
        return rebrac_default_hparams(**overrides)
