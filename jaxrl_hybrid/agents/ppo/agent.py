"""PPO as an agent namespace: init / update / act, for discrete and continuous actions."""

from __future__ import annotations

import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from jaxrl_hybrid.agents.common import init_model, make_optimizer
from jaxrl_hybrid.agents.common.categorical import categorical_act, categorical_log_prob, categorical_sample
from jaxrl_hybrid.agents.ppo import update as ppo_update
from jaxrl_hybrid.agents.ppo.config import PPOConfig, PPOHParams, default_hparams
from jaxrl_hybrid.agents.ppo.state import PPOState
from jaxrl_hybrid.networks import CategoricalPolicy, GaussianPolicy, ValueNetwork
from jaxrl_hybrid.types import EnvSpec


@dataclasses.dataclass(frozen=True)
class PPONetworks:
    """The networks' modules (their parameters live in the state)."""

    actor: nn.Module
    critic: ValueNetwork


def _gaussian_log_prob(mean, log_std, action):
    z = (action - mean) / jnp.exp(log_std)
    return jnp.sum(-0.5 * jnp.square(z) - log_std - 0.5 * jnp.log(2.0 * jnp.pi), axis=-1)


class PPO:
    """Proximal policy optimisation with GAE; categorical policy for discrete actions,
    state-independent-std Gaussian (clipped to [-1, 1] by the env) for continuous ones."""

    name = "ppo"
    Config = PPOConfig
    HParams = PPOHParams

    def __init__(self, config: PPOConfig, spec: EnvSpec):
        self.config, self.spec = config, spec
        obs_ndim = len(spec.obs_shape)  # image observations (MinAtar) are flattened
        if spec.discrete:
            actor = CategoricalPolicy(config.hidden_dims, spec.action_dim, config.activation, obs_ndim)
        else:
            actor = GaussianPolicy(config.hidden_dims, spec.action_dim, config.activation, obs_ndim)
        self.nets = PPONetworks(
            actor=actor,
            critic=ValueNetwork(config.hidden_dims, config.critic_loss.output_dim, False, config.activation, obs_ndim),
        )
        self.tx: optax.GradientTransformation = make_optimizer(config.max_grad_norm, eps=1e-5)

    def default_hparams(self, **overrides) -> PPOHParams:
        return default_hparams(**overrides)

    def init(self, key: jax.Array) -> PPOState:
        key_actor, key_critic = jax.random.split(key)
        obs = jnp.zeros((1, *self.spec.obs_shape))
        params = {
            "actor": self.nets.actor.init(key_actor, obs),
            "critic": self.nets.critic.init(key_critic, obs),
        }
        return PPOState(model=init_model(params, self.tx), step=jnp.zeros((), jnp.int32))

    def value(self, params, obs: jax.Array) -> jax.Array:
        return self.config.critic_loss.values(self.nets.critic.apply(params["critic"], obs))

    def log_prob_entropy(self, params, obs, action):
        if self.spec.discrete:
            log_p = jax.nn.log_softmax(self.nets.actor.apply(params["actor"], obs))
            return categorical_log_prob(log_p, action), -jnp.sum(jnp.exp(log_p) * log_p, axis=-1)
        mean, log_std = self.nets.actor.apply(params["actor"], obs)
        entropy = jnp.sum(log_std + 0.5 * jnp.log(2.0 * jnp.pi * jnp.e), axis=-1)
        return _gaussian_log_prob(mean, log_std, action), entropy

    def sample(self, state: PPOState, obs, key, hparams=None, progress=None):
        """(action, log_prob) from the current policy (`hparams` and `progress` unused: PPO explores by its policy)."""
        params = state.model.params["actor"]
        if self.spec.discrete:
            return categorical_sample(self.nets.actor.apply(params, obs), key)
        mean, log_std = self.nets.actor.apply(params, obs)
        action = mean + jnp.exp(log_std) * jax.random.normal(key, mean.shape)
        return action, _gaussian_log_prob(mean, log_std, action)

    def update(self, state: PPOState, rollout, key, hparams: PPOHParams, total_updates: int | None = None):
        return ppo_update.update(self, state, rollout, key, hparams, total_updates)

    def act(self, state: PPOState, obs, key, deterministic: bool, hparams=None):
        params = state.model.params["actor"]
        if self.spec.discrete:
            return categorical_act(self.nets.actor.apply(params, obs), key, deterministic)
        mean, _ = self.nets.actor.apply(params, obs)
        if deterministic:
            return jnp.clip(mean, -1.0, 1.0)
        return self.sample(state, obs, key)[0]
