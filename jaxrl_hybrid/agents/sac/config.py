"""SAC configuration: static fields select the program, `SACHParams` are traced arrays."""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
from flax import struct

from jaxrl_hybrid.losses.critic import CriticLoss
from jaxrl_hybrid.networks.mlp import activation_fn
from jaxrl_hybrid.optim import as_float32


@dataclasses.dataclass(frozen=True)
class SACConfig:
    """Static SAC settings (Haarnoja et al., 2018; ensemble/UTD as in REDQ and WSRL).

    `num_min_critics` members, drawn at random each update, give the min in the TD target
    (2 of 2 is clipped double-Q). Each `update` call makes one critic step per minibatch along
    the batch's leading axis (the loop's `utd`), then one actor and one temperature step.
    `critic_out_init` scales the critics' output-layer init (std critic_out_init / sqrt(fan_avg),
    `networks.mlp.scaled_init`); 1, the hidden layers' convention, is the default but for Cal-QL
    (`CalQLConfig`: 0.07, its reference code's). The CQL family's reference code starts its
    critics near 0: 0.01 is exactly CORL's CQL and Cal-QL and H2O's code
    (`xavier_uniform_(gain=1e-2)`); JaxCQL, which Cal-QL's code builds on, is
    `variance_scaling(1e-2, "fan_in", "uniform")`, about 0.07 here for a scalar head; rlkit's CQL
    uniform(+-3e-3), about 0.02 at 256 wide. CQL and H2O keep 1: CQL is at parity with d3rlpy on
    the parity suite's measured cell with it, and 0.01 measured the same on
    tests/test_offline_learning.py's data (33.4 against 32.8).
    """

    hidden_dims: tuple[int, ...] = (256, 256)
    num_critics: int = 2
    num_min_critics: int = 2
    critic_layer_norm: bool = False
    actor_layer_norm: bool = False
    activation: str = "relu"  # hidden layers of actor and critics: relu, swish, tanh, gelu, elu
    critic_loss: CriticLoss = CriticLoss()
    critic_out_init: float = 1.0
    init_temperature: float = 1.0
    backup_entropy: bool = True

    def __post_init__(self):
        activation_fn(self.activation)  # an unknown name fails here, not at the first trace
        if not self.critic_out_init > 0:
            raise ValueError(f"critic_out_init must be > 0 (an output-layer init scale), got {self.critic_out_init}")
        if not 1 <= self.num_min_critics <= self.num_critics:
            raise ValueError(
                f"num_min_critics must be in [1, num_critics={self.num_critics}], got {self.num_min_critics}"
            )


@struct.dataclass
class SACHParams:
    """Traced SAC hyperparameters; vmap over a grid of them like over seeds."""

    actor_lr: jnp.ndarray = 3e-4
    critic_lr: jnp.ndarray = 3e-4
    temp_lr: jnp.ndarray = 3e-4
    gamma: jnp.ndarray = 0.99
    tau: jnp.ndarray = 0.005
    target_entropy_per_dim: jnp.ndarray = -1.0  # target entropy = this * action_dim


def default_hparams(**overrides) -> SACHParams:
    """Paper defaults as float32 arrays, with `overrides` applied."""
    return as_float32(SACHParams(**overrides))
