"""LPG agent configuration: static sizes, and traced hyperparameters holding the rule's parameters."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax.numpy as jnp
from flax import struct

from jaxrl_hybrid.agents.lpg.rule import LPGRule
from jaxrl_hybrid.optim import as_float32


@dataclasses.dataclass(frozen=True)
class LPGConfig:
    """An actor-critic-shaped agent trained only by a learned rule: a categorical policy and a
    categorical prediction y(s) of `rule.prediction_dim` bins, one gradient step per rollout of
    `num_steps` steps from every env."""

    hidden_dims: tuple[int, ...] = (64, 64)
    activation: str = "tanh"
    num_steps: int = 128
    rule: LPGRule = LPGRule()
    max_grad_norm: float = 0.5
    anneal_lr: bool = True

    def __post_init__(self):
        if self.num_steps < 1:
            raise ValueError("LPGConfig.num_steps must be >= 1")


@struct.dataclass
class LPGHParams:
    """Traced hyperparameters; `objective` is the learned rule's parameters (LPGRule.init_params)."""

    lr: jnp.ndarray = 2.5e-3
    gamma: jnp.ndarray = 0.99
    ent_coef: jnp.ndarray = 0.01
    y_coef: jnp.ndarray = 0.5
    objective: Any = struct.field(default_factory=dict)


def default_hparams(**overrides) -> LPGHParams:
    return as_float32(LPGHParams(**overrides))
