"""PPO configuration: static fields select the program, `PPOHParams` are traced arrays."""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
from flax import struct

from jaxrl_hybrid.agents.common.optim import as_float32
from jaxrl_hybrid.losses.critic import CriticLoss


@dataclasses.dataclass(frozen=True)
class PPOConfig:
    """Static PPO settings (Schulman et al., 2017; defaults as in PureJaxRL).

    Each update sees a rollout of `num_steps` steps from every env, makes `update_epochs`
    passes over it in `num_minibatches` minibatches. `clip_value_loss` applies PPO's value
    clipping to the regression critic losses (the categorical ones use plain cross-entropy).
    """

    hidden_dims: tuple[int, ...] = (64, 64)
    activation: str = "tanh"
    num_steps: int = 128
    update_epochs: int = 4
    num_minibatches: int = 4
    critic_loss: CriticLoss = CriticLoss()
    clip_value_loss: bool = True
    max_grad_norm: float = 0.5
    anneal_lr: bool = True
    normalize_advantages: bool = True

    def __post_init__(self):
        if self.activation not in ("tanh", "relu"):
            raise ValueError(f"PPO activation must be 'tanh' or 'relu', got {self.activation!r}")
        for name in ("num_steps", "update_epochs", "num_minibatches"):
            if getattr(self, name) < 1:
                raise ValueError(f"PPOConfig.{name} must be >= 1")


@struct.dataclass
class PPOHParams:
    """Traced PPO hyperparameters."""

    lr: jnp.ndarray = 2.5e-4
    gamma: jnp.ndarray = 0.99
    gae_lambda: jnp.ndarray = 0.95
    clip_eps: jnp.ndarray = 0.2
    ent_coef: jnp.ndarray = 0.01
    vf_coef: jnp.ndarray = 0.5


def default_hparams(**overrides) -> PPOHParams:
    """PureJaxRL defaults as float32 arrays, with `overrides` applied."""
    return as_float32(PPOHParams(**overrides))
