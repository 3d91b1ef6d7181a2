"""H2O: SAC on half real data, half simulator rollouts, with a dynamics-aware critic.

The critic loss of each ensemble member (Niu et al., 2022, eq. 7 and 10):

    L_Q = mean_real (Q - y)^2 + mean_sim w (Q - y)^2
          + beta * (logsumexp_sim(Q + log softmax-weight(u)) - mean_real Q)

w = P_real(s'|s,a) / P_sim(s'|s,a), clipped, importance-weights the sim Bellman error; the
penalty pushes Q down where the dynamics gap u(s, a) is large (omega = u / sum u) and up on
real data. The TD target has no entropy term. The actor and temperature are SAC's, over
both halves. Both the weight and u come from `models.gap` (discriminators or the model).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

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
        n_real, n_sim = cfg.num_real, cfg.batch_size - cfg.num_real
        w = self.sim_weights(state, split_rows(minibatch, n_real)[1])
        return jnp.concatenate([jnp.full((n_real,), cfg.batch_size / n_real), w * (cfg.batch_size / n_sim)])

    def penalty(self, state: H2OState, minibatch: Batch, key, hparams: H2OHParams):
        """`regulariser(params)`: per-member beta * (logsumexp_sim(Q + log omega) - mean_real Q)."""
        n_real = self.config.num_real
        _, sim = split_rows(minibatch, n_real)
        u = self.gap(state, key, sim.obs, sim.action, sim.next_obs)
        log_omega = jnp.log(u) - jnp.log(u.sum())
        loss = self.config.critic_loss

        def regulariser(params):
            q = loss.values(self.nets.critic.apply(params, minibatch.obs, minibatch.action))  # (members, batch)
            diff = jax.nn.logsumexp(q[:, n_real:] + log_omega, axis=1) - q[:, :n_real].mean(axis=1)
            return hparams.h2o_beta * diff, {"h2o_gap_u": u.mean(), "h2o_q_diff": diff.mean()}

        return regulariser

    def update(self, state: H2OState, batch: Batch, key, hparams: H2OHParams):
        key_disc, key_sac = jax.random.split(key)
        metrics = {}
        if self.config.gap == "discriminator":
            real, sim = split_rows(jax.tree.map(lambda x: x[-1], batch), self.config.num_real)
            disc, metrics = self.discriminators.update(state.disc, real, sim, key_disc, hparams.disc_lr)
            state = state.replace(disc=disc)
        state, sac_metrics = sac_update.update(
            self.nets,
            self.config,
            state,
            batch,
            key_sac,
            hparams,
            regulariser_fn=lambda st, mb, k: self.penalty(st, mb, k, hparams),
            weight_fn=self.weights,
        )
        sim = split_rows(jax.tree.map(lambda x: x[-1], batch), self.config.num_real)[1]
        return state, {**metrics, **sac_metrics, "h2o_weight": self.sim_weights(state, sim).mean()}
