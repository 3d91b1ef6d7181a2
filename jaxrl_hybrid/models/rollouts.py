"""Model-based data augmentation for offline agents (MBPO / MOPO style).

Short rollouts of the current policy in the learned real-dynamics ensemble, branching from
dataset states; each model reward is penalised by the ensemble's uncertainty (MOPO, Yu et al.
2020: r - lambda * max_k ||sigma_k(s, a)||, the largest aleatoric standard deviation norm over
members). The transitions go to a model replay buffer that the offline loop mixes into its
batches (`training.offline`, `ModelRollouts`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp

from jaxrl_hybrid.models.dynamics import DynamicsConfig, DynamicsModel, Prediction, sample_next
from jaxrl_hybrid.types import Transition


@dataclasses.dataclass(frozen=True)
class ModelRollouts:
    """Static settings of model-based augmentation (`TrainConfig.model_rollouts`).

    Every update first rolls out `rollout_batch` dataset states for `horizon` model steps
    with the agent's stochastic policy, then trains on batches with `real_fraction` dataset
    rows and the rest from the model buffer (`buffer_size` most recent model transitions).
    `penalty` is MOPO's lambda. The model never predicts termination, so datasets with
    terminal transitions are refused.
    """

    horizon: int = 5
    rollout_batch: int = 50
    real_fraction: float = 0.5
    penalty: float = 1.0
    buffer_size: int = 50_000
    dynamics: DynamicsConfig = DynamicsConfig()

    def __post_init__(self):
        if self.horizon < 1 or self.rollout_batch < 1 or self.buffer_size < 1:
            raise ValueError(
                f"ModelRollouts: horizon, rollout_batch and buffer_size must be >= 1, got "
                f"{self.horizon}, {self.rollout_batch}, {self.buffer_size}"
            )
        if not 0.0 <= self.real_fraction < 1.0:
            raise ValueError(f"ModelRollouts.real_fraction must be in [0, 1), got {self.real_fraction}")
        if self.penalty < 0:
            raise ValueError(f"ModelRollouts.penalty must be >= 0, got {self.penalty}")


def mopo_uncertainty(pred: Prediction, obs_dim: int) -> jax.Array:
    """max_k ||sigma_k(s, a)||_2 over ensemble members, of the next-observation outputs. (batch,)"""
    return jnp.sqrt(pred.member_var[..., :obs_dim].sum(axis=-1)).max(axis=0)


def model_rollout(
    model: DynamicsModel,
    key: jax.Array,
    start_obs: jax.Array,
    policy: Callable[[jax.Array, jax.Array], jax.Array],
    horizon: int,
    penalty: float | jax.Array,
) -> Transition:
    """`horizon` steps of `policy(obs, key)` in the model from each of `start_obs` (batch, d).

    Returns the transitions with leading (horizon * batch) rows, rewards penalised by
    `penalty` * MOPO's uncertainty, never terminated or truncated.
    """
    obs_dim = start_obs.shape[-1]

    def step(obs, k):
        k_act, k_model = jax.random.split(k)
        action = policy(obs, k_act)
        next_obs, reward, pred = sample_next(model, k_model, obs, action)
        reward = reward - penalty * mopo_uncertainty(pred, obs_dim)
        false = jnp.zeros(obs.shape[0], bool)
        return next_obs, Transition(obs, action, reward, next_obs, false, false)

    _, steps = jax.lax.scan(step, start_obs, jax.random.split(key, horizon))
    return jax.tree.map(lambda x: x.reshape(-1, *x.shape[2:]), steps)
