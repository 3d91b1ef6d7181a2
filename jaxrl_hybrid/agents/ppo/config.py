"""PPO configuration: static fields select the program, `PPOHParams` are traced arrays."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax.numpy as jnp
from flax import struct

from jaxrl_hybrid.losses.critic import CriticLoss
from jaxrl_hybrid.losses.policy import ClipObjective
from jaxrl_hybrid.optim import as_float32


@dataclasses.dataclass(frozen=True)
class PPOConfig:
    """Static PPO settings (Schulman et al., 2017; defaults as in PureJaxRL).

    Each update sees a rollout of `num_steps` steps from every env, makes `update_epochs`
    passes over it in `num_minibatches` minibatches. `clip_value_loss` applies PPO's value
    clipping to the regression critic losses (the categorical ones use plain cross-entropy).
    `objective` is the policy objective (jaxrl_hybrid.losses.policy): PPO's clipped surrogate,
    or a learned drift (LPO, TA-LPO) whose parameters are the traced `PPOHParams.objective`.
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
    objective: Any = ClipObjective()

    def __post_init__(self):
        if self.activation not in ("tanh", "relu"):
            raise ValueError(f"PPO activation must be 'tanh' or 'relu', got {self.activation!r}")
        for name in ("num_steps", "update_epochs", "num_minibatches"):
            if getattr(self, name) < 1:
                raise ValueError(f"PPOConfig.{name} must be >= 1")


@struct.dataclass
class PPOHParams:
    """Traced PPO hyperparameters; `objective` holds the parameters of a learned policy
    objective (a dict of arrays; empty for the clipped surrogate), so a population of
    objectives is vmapped like a grid of learning rates."""

    lr: jnp.ndarray = 2.5e-4
    gamma: jnp.ndarray = 0.99
    gae_lambda: jnp.ndarray = 0.95
    clip_eps: jnp.ndarray = 0.2
    ent_coef: jnp.ndarray = 0.01
    vf_coef: jnp.ndarray = 0.5
    objective: Any = struct.field(default_factory=dict)


def default_hparams(**overrides) -> PPOHParams:
    """PureJaxRL defaults as float32 arrays, with `overrides` applied."""
    return as_float32(PPOHParams(**overrides))
