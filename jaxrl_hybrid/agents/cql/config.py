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
    """CQL's settings with the calibrated bound, and Cal-QL's reference code's small critic
    output layer: JaxCQL's `variance_scaling(1e-2, "fan_in", "uniform")` (std 0.1 / sqrt(fan_in))
    is `critic_out_init` 0.07 for a scalar head (std 0.07 / sqrt(fan_avg), fan_avg ~ fan_in / 2).
    WSRL's code, built on the same, sets `kernel_scale_final: 1e-2` too. Measured on Pendulum
    against 1 (IQM of 16 seeds at 5k / 6k updates, 64x64, heavy-pole data): 25.8 / 32.3 against
    18.5 / 19.3 without LayerNorm at d3rlpy's settings (d3rlpy: 27.5 / 25.7), 36.9 / 38.2 against
    36.8 / 31.6 with LayerNorm; 19.2 against 19.7 at 32x32 on tests/test_finetune.py's data.
    """

    calibrated: bool = True
    critic_out_init: float = 0.07


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
