"""IQL and RIQL configuration.

IQL (Kostrikov et al., 2022): V by expectile regression on the target Q, Q towards
r + gamma V(s'), and an advantage-weighted policy. RIQL (Yang et al., 2024) keeps that and
makes it robust to corrupted data: a K=5 Q ensemble whose `quantile` (not the min) is V's
target, a Huber Q loss, and normalised observations (a training-loop setting).
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
from flax import struct

from jaxrl_hybrid.losses.critic import CriticLoss
from jaxrl_hybrid.optim import as_float32


@dataclasses.dataclass(frozen=True)
class IQLConfig:
    """Static IQL settings; `ensemble_quantile` switches V's target from the min to a quantile (RIQL)."""

    hidden_dims: tuple[int, ...] = (256, 256)
    num_critics: int = 2
    critic_layer_norm: bool = False
    critic_loss: CriticLoss = CriticLoss()
    ensemble_quantile: bool = False

    def __post_init__(self):
        if self.num_critics < 1:
            raise ValueError(f"num_critics must be >= 1, got {self.num_critics}")


@dataclasses.dataclass(frozen=True)
class RIQLConfig(IQLConfig):
    """RIQL's defaults: 5 critics, quantile target, Huber Q loss (its normalised observations
    are a loop setting: `agents.registry`)."""

    num_critics: int = 5
    critic_loss: CriticLoss = CriticLoss("huber")
    ensemble_quantile: bool = True


@struct.dataclass
class IQLHParams:
    """Traced IQL hyperparameters (locomotion defaults: expectile 0.7, temperature 3)."""

    actor_lr: jnp.ndarray = 3e-4
    critic_lr: jnp.ndarray = 3e-4
    value_lr: jnp.ndarray = 3e-4
    gamma: jnp.ndarray = 0.99
    tau: jnp.ndarray = 0.005
    expectile: jnp.ndarray = 0.7
    temperature: jnp.ndarray = 3.0
    quantile: jnp.ndarray = 0.25


def default_hparams(**overrides) -> IQLHParams:
    return as_float32(IQLHParams(**overrides))
