"""H2O: SAC on half real data, half simulator rollouts, with a dynamics-aware critic.

The objective is in `losses.py`; this file holds the gap estimators it reads: the importance
weight w = P_real / P_sim of sim transitions and the dynamics gap u(s, a), both from
`models.gap` (discriminators trained alongside, or the fitted real-dynamics model).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from jaxrl_hybrid.agents.h2o import losses as h2o_losses
from jaxrl_hybrid.agents.h2o.config import H2OConfig, H2OHParams, default_hparams
from jaxrl_hybrid.agents.sac import update as sac_update
from jaxrl_hybrid.agents.sac.agent import SAC
from jaxrl_hybrid.models.dynamics import DynamicsModel
from jaxrl_hybrid.models.gap import (
    Discriminators,
    DiscriminatorState,
    dynamics_gap,
    importance_weight,
    model_log_ratio,
)
from jaxrl_hybrid.optim import ModelState
from jaxrl_hybrid.types import Batch


@struct.dataclass
class H2OState:
    actor: ModelState
    critic: ModelState
    log_temp: ModelState
    step: jax.Array
    disc: DiscriminatorState | None  # gap="discriminator"
    dynamics: DynamicsModel | None  # gap="model": fitted on the real data, frozen


def split_rows(batch: Batch, num_real: int) -> tuple[Batch, Batch]:
    """(real, sim) halves of a minibatch whose first `num_real` rows are real."""
    return jax.tree.map(lambda x: x[:num_real], batch), jax.tree.map(lambda x: x[num_real:], batch)


class H2O(SAC):
    """Dynamics-aware hybrid offline-and-online RL (needs batches from `training.hybrid`)."""

    name = "h2o"
    Config = H2OConfig
    HParams = H2OHParams
    losses = h2o_losses.LOSSES

    def __init__(self, config: H2OConfig, spec):
        super().__init__(config, spec)
        self.discriminators = Discriminators(config.discriminator, spec.obs_shape[0], spec.action_dim)

    def default_hparams(self, **overrides) -> H2OHParams:
        return default_hparams(**overrides)

    def init(self, key: jax.Array, dynamics: DynamicsModel | None = None) -> H2OState:
        """Fresh state; `dynamics` (a fitted `models.dynamics` model) is required for gap="model"."""
        if self.config.gap == "model" and dynamics is None:
            raise ValueError("H2O with gap='model' needs a fitted real-dynamics model: init(key, dynamics=...)")
        key_sac, key_disc = jax.random.split(key)
        sac = super().init(key_sac)
        if self.config.gap == "model":
            disc = None
        else:
            disc, dynamics = self.discriminators.init(key_disc), None
        return H2OState(
            actor=sac.actor, critic=sac.critic, log_temp=sac.log_temp, step=sac.step, disc=disc, dynamics=dynamics
        )

    def log_ratio_fn(self, state: H2OState):
        """log P_real(s'|s,a) / P_sim(s'|s,a) of the configured estimator, at the current state."""
        if self.config.gap == "model":
            return model_log_ratio(state.dynamics, self.config.model_smoothing)
        return lambda obs, action, next_obs: self.discriminators.log_ratio(state.disc, obs, action, next_obs)

    def gap(self, state: H2OState, key, obs, action, next_obs) -> jax.Array:
        """H2O's u(s, a) for sim transitions, clipped to `gap_clip`. (batch,)"""
        cfg = self.config
        samples, noise = (1, 0.0) if cfg.gap == "model" else (cfg.num_next_samples, cfg.next_state_noise)
        u = dynamics_gap(self.log_ratio_fn(state), key, obs, action, next_obs, samples, noise)
        return jnp.clip(u, *cfg.gap_clip)

    def sim_weights(self, state: H2OState, sim: Batch) -> jax.Array:
        """w = P_real / P_sim of each sim transition, clipped to `ratio_clip`. (sim rows,)"""
        log_ratio = self.log_ratio_fn(state)(sim.obs, sim.action, sim.next_obs)
        return importance_weight(log_ratio, *self.config.ratio_clip)

    def weights(self, state: H2OState, minibatch: Batch) -> jax.Array:
        """Per-row TD-loss weights making the batch mean equal mean_real + mean_sim(w * .)."""
        cfg = self.config
        batch_size = minibatch.obs.shape[0]
        n_real = cfg.num_real(batch_size)
        n_sim = batch_size - n_real
        w = self.sim_weights(state, split_rows(minibatch, n_real)[1])
        return jnp.concatenate([jnp.full((n_real,), batch_size / n_real), w * (batch_size / n_sim)])

    def update(self, state: H2OState, batch: Batch, key, hparams: H2OHParams):
        key_disc, key_sac = jax.random.split(key)
        metrics = {}
        if self.config.gap == "discriminator":
            real, sim = split_rows(jax.tree.map(lambda x: x[-1], batch), self.config.num_real(batch.obs.shape[-2]))
            disc, metrics = self.discriminators.update(state.disc, real, sim, key_disc, hparams.disc_lr)
            state = state.replace(disc=disc)
        state, sac_metrics = sac_update.update(self, state, batch, key_sac, hparams)
        sim = split_rows(jax.tree.map(lambda x: x[-1], batch), self.config.num_real(batch.obs.shape[-2]))[1]
        return state, {**metrics, **sac_metrics, "h2o_weight": self.sim_weights(state, sim).mean()}
