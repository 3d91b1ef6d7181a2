"""TD3+BC and ReBRAC configuration: TD3's, plus behaviour-cloning penalties.

One actor objective covers both papers: per example
    actor_bc * ||pi(s) - a||^2 - alpha * Q(s, pi(s)) / mean|Q|
TD3+BC (Fujimoto & Gu, 2021): alpha = 2.5, actor_bc = 1. ReBRAC (Tarasov et al., 2023):
alpha = 1, actor_bc = beta_actor, and the critic target pays critic_bc * ||a' - a'_data||^2
for straying from the data's next action; LayerNorm critics, larger batches, lr 1e-3.
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
from flax import struct

from jaxrl_hybrid.agents.td3.config import TD3Config, TD3HParams
from jaxrl_hybrid.optim import as_float32


@dataclasses.dataclass(frozen=True)
class TD3BCConfig(TD3Config):
    """TD3's static settings; `critic_bc` switches ReBRAC's critic penalty on (needs next actions)."""

    critic_bc: bool = False


@dataclasses.dataclass(frozen=True)
class ReBRACConfig(TD3BCConfig):
    """ReBRAC's static defaults: LayerNorm critic and actor, three 256 layers (its batch of 1024
    is a loop setting: `agents.registry`)."""

    hidden_dims: tuple[int, ...] = (256, 256, 256)
    critic_layer_norm: bool = True
    actor_layer_norm: bool = True
    critic_bc: bool = True


@struct.dataclass
class TD3BCHParams(TD3HParams):
    """TD3's traced hyperparameters plus the Q weight and the two behaviour-cloning weights."""

    alpha: jnp.ndarray = 2.5
    actor_bc: jnp.ndarray = 1.0
    critic_bc: jnp.ndarray = 0.0


def default_hparams(**overrides) -> TD3BCHParams:
    """TD3+BC's paper defaults."""
    return as_float32(TD3BCHParams(**overrides))


def rebrac_default_hparams(**overrides) -> TD3BCHParams:
    """ReBRAC's defaults: lr 1e-3, alpha 1 (normalised Q), beta_actor 0.1 and beta_critic 0.1.

    The paper tunes the two betas per dataset (0.001 to 1 and 0 to 0.5 on D4RL); 0.1 / 0.1
    is a middle of that grid, not a per-task value.
    """
    base = {"actor_lr": 1e-3, "critic_lr": 1e-3, "alpha": 1.0, "actor_bc": 0.1, "critic_bc": 0.1}
    return as_float32(TD3BCHParams(**{**base, **overrides}))
