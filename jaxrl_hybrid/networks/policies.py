"""Policies: tanh-Gaussian (SAC), deterministic (TD3) and categorical (discrete PPO)."""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxrl_hybrid.networks.mlp import MLP, activation_fn, flatten_obs, scaled_init

LOG_STD_MIN = -5.0
LOG_STD_MAX = 2.0


class TanhGaussianPolicy(nn.Module):
    """Gaussian over pre-tanh actions; actions are tanh-squashed into [-1, 1]."""

    hidden_dims: Sequence[int]
    action_dim: int
    layer_norm: bool = False
    activation: str = "relu"

    @nn.compact
    def __call__(self, obs: jax.Array) -> tuple[jax.Array, jax.Array]:
        x = MLP(self.hidden_dims, None, self.layer_norm, activation_fn(self.activation))(obs)
        mean = nn.Dense(self.action_dim, kernel_init=scaled_init(0.01))(x)
        log_std = nn.Dense(self.action_dim, kernel_init=scaled_init(0.01))(x)
        # Soft clamp keeps gradients alive at the bounds.
        log_std = LOG_STD_MIN + 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (jnp.tanh(log_std) + 1.0)
        return mean, log_std


def tanh_gaussian_sample(mean: jax.Array, log_std: jax.Array, key: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Reparameterised tanh-Gaussian sample and its log-probability (summed over action dims)."""
    std = jnp.exp(log_std)
    noise = jax.random.normal(key, mean.shape)
    pre_tanh = mean + std * noise
    action = jnp.tanh(pre_tanh)
    log_prob = -0.5 * jnp.square(noise) - log_std - 0.5 * jnp.log(2.0 * jnp.pi)
    # log|d tanh(u)/du| = 2 * (log 2 - u - softplus(-2u)), numerically stable.
    log_det = 2.0 * (jnp.log(2.0) - pre_tanh - jax.nn.softplus(-2.0 * pre_tanh))
    return action, jnp.sum(log_prob - log_det, axis=-1)


class DeterministicPolicy(nn.Module):
    """a = tanh(MLP(s)), in [-1, 1]."""

    hidden_dims: Sequence[int]
    action_dim: int
    layer_norm: bool = False

    @nn.compact
    def __call__(self, obs: jax.Array) -> jax.Array:
        return jnp.tanh(MLP(self.hidden_dims, self.action_dim, self.layer_norm)(obs))


class CategoricalPolicy(nn.Module):
    """Logits over `num_actions` discrete actions; `obs_ndim` observation axes are flattened first."""

    hidden_dims: Sequence[int]
    num_actions: int
    activation: str = "tanh"
    obs_ndim: int = 1

    @nn.compact
    def __call__(self, obs: jax.Array) -> jax.Array:
        act = activation_fn(self.activation)
        x = flatten_obs(obs, self.obs_ndim)
        return MLP(self.hidden_dims, self.num_actions, False, act, final_init_scale=0.01)(x)


class GaussianPolicy(nn.Module):
    """Diagonal Gaussian with a state-independent log-std (PPO's continuous policy)."""

    hidden_dims: Sequence[int]
    action_dim: int
    activation: str = "tanh"
    obs_ndim: int = 1

    @nn.compact
    def __call__(self, obs: jax.Array) -> tuple[jax.Array, jax.Array]:
        act = activation_fn(self.activation)
        x = flatten_obs(obs, self.obs_ndim)
        mean = MLP(self.hidden_dims, self.action_dim, False, act, final_init_scale=0.01)(x)
        log_std = self.param("log_std", nn.initializers.zeros, (self.action_dim,))
        return mean, jnp.broadcast_to(log_std, mean.shape)


class TanhMeanGaussianPolicy(nn.Module):
    """N(tanh(MLP(s)), exp(log_std)) with a state-independent log-std: IQL's AWR policy.

    Unlike the tanh-Gaussian, the density is of the unsquashed Gaussian, so the log-likelihood
    of any dataset action in [-1, 1] is finite.
    """

    hidden_dims: Sequence[int]
    action_dim: int
    layer_norm: bool = False

    @nn.compact
    def __call__(self, obs: jax.Array) -> tuple[jax.Array, jax.Array]:
        mean = jnp.tanh(MLP(self.hidden_dims, self.action_dim, self.layer_norm)(obs))
        log_std = self.param("log_std", nn.initializers.zeros, (self.action_dim,))
        return mean, jnp.broadcast_to(jnp.clip(log_std, LOG_STD_MIN, LOG_STD_MAX), mean.shape)
