"""TD3+BC and ReBRAC: TD3's networks and state, TD3's update with the offline objective of `losses.py`."""

from __future__ import annotations

from jaxrl_hybrid.agents.td3.agent import TD3
from jaxrl_hybrid.agents.td3bc import losses as td3bc_losses
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
    losses = td3bc_losses.LOSSES  # TD3's update with this objective

    def default_hparams(self, **overrides) -> TD3BCHParams:
        return default_hparams(**overrides)


class ReBRAC(TD3BC):
    """Revisited BRAC (Tarasov et al., 2023): TD3+BC with a critic penalty, LayerNorm, big batches."""

    name = "rebrac"
    Config = ReBRACConfig

    def default_hparams(self, **overrides) -> TD3BCHParams:
        return rebrac_default_hparams(**overrides)
