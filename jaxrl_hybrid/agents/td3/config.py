"""TD3 configuration: static fields select the program, `TD3HParams` are traced arrays."""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
from flax import struct

from jaxrl_hybrid.losses.critic import CriticLoss
from jaxrl_hybrid.optim import as_float32


@dataclasses.dataclass(frozen=True)
class TD3Config:
    """Static TD3 settings (Fujimoto et al., 2018): twin critics, delayed actor, target smoothing."""

    hidden_dims: tuple[int, ...] = (256, 256)
    num_critics: int = 2
    critic_layer_norm: bool = False
    actor_layer_norm: bool = False
    critic_loss: CriticLoss = CriticLoss()
    policy_delay: int = 2

    def __post_init__(self):
        if self.policy_delay < 1 or self.num_critics < 1:
            raise ValueError("policy_delay and num_critics must be >= 1")


@struct.dataclass
class TD3HParams:
    """Traced TD3 hyperparameters (noise scales are in the [-1, 1] action units)."""

    actor_lr: jnp.ndarray = 3e-4
    critic_lr: jnp.ndarray = 3e-4
    gamma: jnp.ndarray = 0.99
    tau: jnp.ndarray = 0.005
    exploration_noise: jnp.ndarray = 0.1
    policy_noise: jnp.ndarray = 0.2
    noise_clip: jnp.ndarray = 0.5


def default_hparams(**overrides) -> TD3HParams:
    """Paper defaults as float32 arrays, with `overrides` applied."""
    return as_float32(TD3HParams(**overrides))
