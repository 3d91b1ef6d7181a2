"""SAC: `SAC(config, spec)` -> an agent with pure init / update / act (agents.registry.Agent)."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import optax

from jaxrl_hybrid.agents.common import init_model, make_optimizer, require_continuous
from jaxrl_hybrid.agents.sac import losses as sac_losses
from jaxrl_hybrid.agents.sac import update as sac_update
from jaxrl_hybrid.agents.sac.config import SACConfig, SACHParams, default_hparams
from jaxrl_hybrid.agents.sac.state import SACState
from jaxrl_hybrid.networks import QEnsemble, TanhGaussianPolicy, tanh_gaussian_sample
from jaxrl_hybrid.types import EnvSpec


@dataclasses.dataclass(frozen=True)
class SACNetworks:
    """The networks' modules (their parameters live in the state)."""

    actor: TanhGaussianPolicy
    critic: QEnsemble
    action_dim: int


class SAC:
    """Soft actor-critic with an ensemble critic, automatic temperature and a UTD ratio.

    `nets` are the network modules, `tx` the optimiser every network steps with (its
    learning rates are traced hyperparameters), `losses` the objective (`losses.py`).
    """

    name = "sac"
    Config = SACConfig
    HParams = SACHParams
    losses = sac_losses.LOSSES

    def __init__(self, config: SACConfig, spec: EnvSpec):
        require_continuous(self.name, spec)
        self.config, self.spec = config, spec
        self.nets = SACNetworks(
            actor=TanhGaussianPolicy(config.hidden_dims, spec.action_dim, config.actor_layer_norm, config.activation),
            critic=QEnsemble(
                config.hidden_dims,
                config.num_critics,
                config.critic_loss.output_dim,
                config.critic_layer_norm,
                config.activation,
                config.critic_out_init,
            ),
            action_dim=spec.action_dim,
        )
        self.tx: optax.GradientTransformation = make_optimizer()

    def default_hparams(self, **overrides) -> SACHParams:
        return default_hparams(**overrides)

    def init(self, key: jax.Array) -> SACState:
        key_actor, key_critic = jax.random.split(key)
        obs = jnp.zeros((1, *self.spec.obs_shape))
        action = jnp.zeros((1, self.spec.action_dim))
        nets, tx = self.nets, self.tx
        return SACState(
            actor=init_model(nets.actor.init(key_actor, obs), tx),
            critic=init_model(nets.critic.init(key_critic, obs, action), tx, with_target=True),
            log_temp=init_model(jnp.log(jnp.asarray(self.config.init_temperature, jnp.float32)), tx),
            step=jnp.zeros((), jnp.int32),
        )

    def update(self, state: SACState, batch, key: jax.Array, hparams: SACHParams):
        return sac_update.update(self, state, batch, key, hparams)

    def act(self, state: SACState, obs: jax.Array, key: jax.Array, deterministic: bool, hparams=None) -> jax.Array:
        mean, log_std = self.nets.actor.apply(state.actor.params, obs)
        if deterministic:
            return jnp.tanh(mean)
        return tanh_gaussian_sample(mean, log_std, key)[0]
