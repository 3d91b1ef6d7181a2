"""CQL and Cal-QL configuration: SAC's, plus the conservative penalty.

CQL (Kumar et al., 2020): alpha * (logsumexp_a Q(s, a) - Q(s, a_data)) added to every critic
member's loss, the logsumexp importance-sampled from `num_actions` uniform, current-policy
and next-state-policy actions. Cal-QL (Nakamoto et al., 2023): the policy actions' Q-values
inside the logsumexp are first raised to the data's Monte-Carlo return-to-go.
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
from flax import struct

from jaxrl_hybrid.agents.sac.config import SACConfig, SACHParams
from jaxrl_hybrid.optim import as_float32


@dataclasses.dataclass(frozen=True)
class CQLConfig(SACConfig):
    """SAC's static settings; CQL's sampled-action count and the Cal-QL switch.

    `backup_entropy` is off by default, as in the CQL and Cal-QL offline runs.
    """

    num_actions: int = 10
    calibrated: bool = False
    backup_entropy: bool = False


@dataclasses.dataclass(frozen=True)
class CalQLConfig(CQLConfig):
    calibrated: bool = True


@struct.dataclass
class CQLHParams(SACHParams):
    """SAC's traced hyperparameters plus the penalty weight and logsumexp temperature."""

    cql_alpha: jnp.ndarray = 5.0
    cql_temperature: jnp.ndarray = 1.0


def default_hparams(**overrides) -> CQLHParams:
    """Paper defaults: actor lr 1e-4, critic lr 3e-4, alpha 5 (in the reference code's units:
    `CriticLoss.penalty_weight`). The temperature's lr is the actor's, as in the reference code
    (rlkit's CQL and the JaxCQL code Cal-QL builds on step log-alpha at policy_lr; d3rlpy's
    `temp_learning_rate` is 1e-4 too), not SAC's 3e-4."""
    return as_float32(CQLHParams(**{"actor_lr": 1e-4, "temp_lr": 1e-4, **overrides}))
