"""Behaviour cloning: a deterministic policy regressed onto the data's actions."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import optax
from flax import struct

from jaxrl_hybrid.agents.common import (
    ModelState,
    apply_gradients,
    as_float32,
    init_model,
    make_optimizer,
    require_continuous,
)
from jaxrl_hybrid.losses.offline import behaviour_cloning_error
from jaxrl_hybrid.networks import DeterministicPolicy
from jaxrl_hybrid.types import EnvSpec


@dataclasses.dataclass(frozen=True)
class BCConfig:
    hidden_dims: tuple[int, ...] = (256, 256)
    layer_norm: bool = False


@struct.dataclass
class BCHParams:
    actor_lr: jnp.ndarray = 3e-4


@struct.dataclass
class BCState:
    actor: ModelState
    step: jax.Array


class BC:
    """Minimises ||pi(s) - a||^2 over the data; reaches the level of the data's policy."""

    name = "bc"
    Config = BCConfig
    HParams = BCHParams

    def __init__(self, config: BCConfig, spec: EnvSpec):
        require_continuous(self.name, spec)
        self.config, self.spec = config, spec
        self.actor = DeterministicPolicy(config.hidden_dims, spec.action_dim, config.layer_norm)
        self.tx: optax.GradientTransformation = make_optimizer()

    def default_hparams(self, **overrides) -> BCHParams:
        return as_float32(BCHParams(**overrides))

    def init(self, key: jax.Array) -> BCState:
        params = self.actor.init(key, jnp.zeros((1, *self.spec.obs_shape)))
        return BCState(actor=init_model(params, self.tx), step=jnp.zeros((), jnp.int32))

    def update(self, state: BCState, batch, key: jax.Array, hparams: BCHParams):
        """One step per minibatch along the leading (utd) axis."""

        def step(actor, minibatch):
            def loss(p):
                return behaviour_cloning_error(self.actor.apply(p, minibatch.obs), minibatch.action).mean()

            value, grads = jax.value_and_grad(loss)(actor.params)
            return apply_gradients(actor, grads, self.tx, hparams.actor_lr), value

        actor, losses = jax.lax.scan(step, state.actor, batch)
        return state.replace(actor=actor, step=state.step + 1), {"bc_loss": losses[-1]}

    def act(self, state: BCState, obs, key, deterministic: bool, hparams=None):
        return self.actor.apply(state.actor.params, obs)
