"""TD3: `TD3(config, spec)` -> an agent with pure init / update / act (agents.registry.Agent)."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import optax

from jaxrl_hybrid.agents.common import init_model, make_optimizer, require_continuous
from jaxrl_hybrid.agents.td3 import losses as td3_losses
from jaxrl_hybrid.agents.td3 import update as td3_update
from jaxrl_hybrid.agents.td3.config import TD3Config, TD3HParams, default_hparams
from jaxrl_hybrid.agents.td3.state import TD3State
from jaxrl_hybrid.networks import DeterministicPolicy, QEnsemble
from jaxrl_hybrid.types import EnvSpec


@dataclasses.dataclass(frozen=True)
class TD3Networks:
    """The networks' modules (their parameters live in the state)."""

    actor: DeterministicPolicy
    critic: QEnsemble


class TD3:
    """Twin delayed DDPG. Exploration adds Gaussian noise (`exploration_noise`) to pi(s).

    `nets` are the network modules, `tx` the optimiser, `losses` the objective (`losses.py`).
    """

    name = "td3"
    Config = TD3Config
    HParams = TD3HParams
    losses = td3_losses.LOSSES

    def __init__(self, config: TD3Config, spec: EnvSpec):
        require_continuous(self.name, spec)
        self.config, self.spec = config, spec
        self.nets = TD3Networks(
            actor=DeterministicPolicy(config.hidden_dims, spec.action_dim, config.actor_layer_norm),
            critic=QEnsemble(
                config.hidden_dims,
                config.num_critics,
                config.critic_loss.output_dim,
                config.critic_layer_norm,
            ),
        )
        self.tx: optax.GradientTransformation = make_optimizer()

    def default_hparams(self, **overrides) -> TD3HParams:
        return default_hparams(**overrides)

    def init(self, key: jax.Array) -> TD3State:
        key_actor, key_critic = jax.random.split(key)
        obs = jnp.zeros((1, *self.spec.obs_shape))
        action = jnp.zeros((1, self.spec.action_dim))
        return TD3State(
            actor=init_model(self.nets.actor.init(key_actor, obs), self.tx, with_target=True),
            critic=init_model(self.nets.critic.init(key_critic, obs, action), self.tx, with_target=True),
            step=jnp.zeros((), jnp.int32),
        )

    def update(self, state: TD3State, batch, key: jax.Array, hparams: TD3HParams):
        return td3_update.update(self, state, batch, key, hparams)

    def act(self, state: TD3State, obs, key, deterministic: bool, hparams: TD3HParams | None = None):
        action = self.nets.actor.apply(state.actor.params, obs)
        if deterministic:
            return action
        scale = default_hparams().exploration_noise if hparams is None else hparams.exploration_noise
        return jnp.clip(action + scale * jax.random.normal(key, action.shape), -1.0, 1.0)
