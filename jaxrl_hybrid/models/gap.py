"""Dynamics-gap estimators for a (simulator, real dataset) pair: where can the simulator be trusted?

Both estimators give `log_ratio(s, a, s')`, an estimate of log P_real(s'|s, a) / P_sim(s'|s, a)
for a simulator transition, and from it the dynamics gap u(s, a) of H2O (Niu et al., 2022):
the mean of -log_ratio over a few perturbed copies of the simulator's next state.

(a) H2O's discriminators: D_sa(s, a) and D_sas(s, a, s') classify real (class 0) against sim
    (class 1). D_sas's logits are added to D_sa's, so by Bayes' rule the dynamics ratio is
    just D_sas's logit difference: log P_real(s'|s,a)/P_sim(s'|s,a) = adv_real - adv_sim.
(b) Ours, from the learned real-dynamics ensemble (`models.dynamics`). The simulator and the
    model are both near-deterministic, so a density ratio of the two is ill-posed; as H2O's
    discriminators do with their input noise, both are smoothed by Gaussian noise of std
    sigma: P_real ~ N(mu, v + sigma^2) (v the model's total variance, aleatoric + epistemic)
    and P_sim ~ N(s'_sim, sigma^2). At s' = s'_sim:
    log_ratio = -1/2 sum_d [(s'_sim - mu)^2 / (v + sigma^2) + log(1 + v / sigma^2)] <= 0,
    summed over observation dims: how unlikely the simulator's next observation is under
    the model, and the weight exp(log_ratio) is in (0, 1] as H2O's clip asks.

`bind_gap(...)` turns either into `gap(s, a) -> (batch,)` by stepping the simulator from s.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
from flax import struct

from jaxrl_hybrid.models.dynamics import DynamicsModel, predict
from jaxrl_hybrid.networks.mlp import MLP
from jaxrl_hybrid.optim import ModelState, apply_gradients, init_model, make_optimizer

GAP_KINDS = ("discriminator", "model")

LogRatio = Callable[[jax.Array, jax.Array, jax.Array], jax.Array]


@dataclasses.dataclass(frozen=True)
class DiscriminatorConfig:
    """H2O's discriminators: 256-256 MLPs, logits 2 * tanh(.), Gaussian input noise 0.1."""

    hidden_dims: tuple[int, ...] = (256, 256)
    input_noise: float = 0.1


class Discriminator(nn.Module):
    """Two logits (real, sim), bounded to [-2, 2] as in H2O."""

    hidden_dims: Sequence[int]

    @nn.compact
    def __call__(self, *inputs: jax.Array) -> jax.Array:
        return 2.0 * jnp.tanh(MLP(self.hidden_dims, 2)(jnp.concatenate(inputs, axis=-1)))


@struct.dataclass
class DiscriminatorState:
    sa: ModelState
    sas: ModelState


class Discriminators:
    """D_sa and D_sas with their optimisers; the functions below take its state explicitly."""

    def __init__(self, config: DiscriminatorConfig, obs_dim: int, action_dim: int):
        self.config, self.obs_dim, self.action_dim = config, obs_dim, action_dim
        self.net = Discriminator(tuple(config.hidden_dims))
        self.tx = make_optimizer()

    def init(self, key: jax.Array) -> DiscriminatorState:
        key_sa, key_sas = jax.random.split(key)
        obs, action = jnp.zeros((1, self.obs_dim)), jnp.zeros((1, self.action_dim))
        return DiscriminatorState(
            sa=init_model(self.net.init(key_sa, obs, action), self.tx),
            sas=init_model(self.net.init(key_sas, obs, action, obs), self.tx),
        )

    def log_ratio(self, state: DiscriminatorState, obs, action, next_obs) -> jax.Array:
        """log P_real(s'|s, a) - log P_sim(s'|s, a) from D_sas's logits. (batch,)"""
        adv = self.net.apply(state.sas.params, obs, action, next_obs)
        return adv[..., 0] - adv[..., 1]

    def losses(self, params_sa, params_sas, real, sim, key) -> tuple[jax.Array, jax.Array]:
        """Per-example cross-entropies of D_sa and D_sas on a real and a sim batch (each (2 * batch,)).

        Inputs get Gaussian noise of `input_noise`; D_sas sees D_sa's logits without their gradient.
        """
        obs = jnp.concatenate([real.obs, sim.obs])
        action = jnp.concatenate([real.action, sim.action]).reshape(obs.shape[0], -1)
        next_obs = jnp.concatenate([real.next_obs, sim.next_obs])
        k_obs, k_act, k_next = jax.random.split(key, 3)
        noise = self.config.input_noise
        obs = obs + noise * jax.random.normal(k_obs, obs.shape)
        action = action + noise * jax.random.normal(k_act, action.shape)
        next_obs = next_obs + noise * jax.random.normal(k_next, next_obs.shape)
        label = jnp.concatenate([jnp.zeros(real.obs.shape[0], jnp.int32), jnp.ones(sim.obs.shape[0], jnp.int32)])
        sa_logits = self.net.apply(params_sa, obs, action)
        sas_logits = self.net.apply(params_sas, obs, action, next_obs) + jax.lax.stop_gradient(sa_logits)

        def cross_entropy(logits):
            return -jnp.take_along_axis(jax.nn.log_softmax(logits), label[:, None], axis=-1)[:, 0]

        return cross_entropy(sa_logits), cross_entropy(sas_logits)

    def update(self, state: DiscriminatorState, real, sim, key, learning_rate) -> tuple[DiscriminatorState, dict]:
        """One Adam step of both discriminators on a real and a sim batch."""

        def objective(params):
            loss_sa, loss_sas = self.losses(params[0], params[1], real, sim, key)
            return loss_sa.mean() + loss_sas.mean(), (loss_sa.mean(), loss_sas.mean())

        (_, (l_sa, l_sas)), (g_sa, g_sas) = jax.value_and_grad(objective, has_aux=True)(
            (state.sa.params, state.sas.params)
        )
        state = DiscriminatorState(
            sa=apply_gradients(state.sa, g_sa, self.tx, learning_rate),
            sas=apply_gradients(state.sas, g_sas, self.tx, learning_rate),
        )
        return state, {"d_sa_loss": l_sa, "d_sas_loss": l_sas}


def model_gap(model: DynamicsModel, obs, action, next_obs, smoothing: float = 0.1) -> jax.Array:
    """-log_ratio of (b) above: the smoothed log density ratio of `next_obs` under the simulator
    against the real-dynamics model, over observation dims. >= 0. (batch,)"""
    pred = predict(model, obs, action)
    d = model.obs_dim
    var = pred.total_var[..., :d] + smoothing**2
    z2 = jnp.square(next_obs - pred.mean[..., :d]) / var
    return 0.5 * jnp.sum(z2 + jnp.log(var / smoothing**2), axis=-1)


def model_log_ratio(model: DynamicsModel, smoothing: float = 0.1) -> LogRatio:
    return lambda obs, action, next_obs: -model_gap(model, obs, action, next_obs, smoothing)


def dynamics_gap(log_ratio: LogRatio, key, obs, action, next_obs, num_samples: int, noise: float) -> jax.Array:
    """H2O's u(s, a): mean over `num_samples` copies of s' + N(0, noise^2) of -log_ratio. (batch,)"""
    if num_samples == 1 and noise == 0.0:
        return -log_ratio(obs, action, next_obs)
    eps = noise * jax.random.normal(key, (num_samples, *next_obs.shape))
    values = jax.vmap(lambda e: log_ratio(obs, action, next_obs + e))(eps)
    return -values.mean(axis=0)


def importance_weight(log_ratio: jax.Array, low: float = 1e-5, high: float = 1.0) -> jax.Array:
    """H2O's weight of a sim transition in the Bellman error: P_real / P_sim, clipped."""
    return jnp.clip(jnp.exp(log_ratio), low, high)


def sim_next_obs(env, sim_params, obs: jax.Array, action: jax.Array, key: jax.Array | None = None) -> jax.Array:
    """The simulator's next observation from each (obs, action) (`Env.step_from_obs`)."""
    key = jax.random.PRNGKey(0) if key is None else key
    keys = jax.random.split(key, obs.shape[0])
    return jax.vmap(lambda k, o, a: env.step_from_obs(k, o, a, sim_params).obs)(keys, obs, action)


def true_gap(env, sim_params, real_params, obs: jax.Array, action: jax.Array, key: jax.Array | None = None):
    """||s'_real - s'_sim||: the distance between the two dynamics' next observations from the
    same (s, a), with the same env key. Known only because both sides are simulated. (batch,)"""
    real = sim_next_obs(env, real_params, obs, action, key)
    sim = sim_next_obs(env, sim_params, obs, action, key)
    return jnp.linalg.norm(real - sim, axis=-1)


def bind_gap(log_ratio: LogRatio, env, sim_params, num_samples: int = 1, noise: float = 0.0):
    """`gap(s, a, key=None) -> (batch,)`: u(s, a) with s' from the simulator stepped from s."""

    def gap(obs, action, key=None):
        key = jax.random.PRNGKey(0) if key is None else key
        key_sim, key_noise = jax.random.split(key)
        next_obs = sim_next_obs(env, sim_params, obs, action, key_sim)
        return dynamics_gap(log_ratio, key_noise, obs, action, next_obs, num_samples, noise)

    return gap


def fit_discriminators(
    key: jax.Array,
    discriminators: Discriminators,
    real: Any,
    sim: Any,
    *,
    num_steps: int,
    batch_size: int = 256,
    learning_rate: float = 3e-4,
) -> tuple[DiscriminatorState, dict[str, jax.Array]]:
    """Train D_sa and D_sas on two sets of transitions (`Transition`-like with leading row axis):
    `num_steps` Adam steps on uniform minibatches of each. Pure; returns the state and loss curves."""
    key_init, key_train = jax.random.split(key)
    state = discriminators.init(key_init)
    n_real, n_sim = real.obs.shape[0], sim.obs.shape[0]

    def step(state, k):
        k_real, k_sim, k_noise = jax.random.split(k, 3)
        rb = jax.tree.map(lambda x: x[jax.random.randint(k_real, (batch_size,), 0, n_real)], real)
        sb = jax.tree.map(lambda x: x[jax.random.randint(k_sim, (batch_size,), 0, n_sim)], sim)
        return discriminators.update(state, rb, sb, k_noise, learning_rate)

    state, history = jax.lax.scan(step, state, jax.random.split(key_train, num_steps))
    return state, history


@dataclasses.dataclass(frozen=True)
class GapStudyConfig:
    """How `fit_gap_estimators` trains both estimators for one (simulator, real dataset) pair."""

    dynamics: Any = None  # DynamicsConfig; None takes its defaults
    discriminator: DiscriminatorConfig = DiscriminatorConfig()
    disc_steps: int = 5_000
    disc_batch_size: int = 256
    disc_learning_rate: float = 3e-4
    num_next_samples: int = 10
    next_state_noise: float = 0.1
    model_smoothing: float = 0.1  # sigma of the model gap, (b) above


@struct.dataclass
class FittedGaps:
    """Both estimators, fitted: the real-dynamics model and the discriminators' state."""

    dynamics: DynamicsModel
    disc: DiscriminatorState
    holdout: jax.Array  # dataset rows the model did not train on (also kept from the discriminators)
    model_history: dict
    disc_history: dict


def fit_gap_estimators(key: jax.Array, env, sim_params, dataset, config: GapStudyConfig = GapStudyConfig()):
    """Fit the real-dynamics model on `dataset` and the discriminators on its transitions against
    the simulator's transitions from the same (s, a). Pure in `key`; returns `FittedGaps`.

    Both train on the model's training split; `holdout` rows are left for evaluation.
    """
    from jaxrl_hybrid.models.dynamics import DynamicsConfig, fit
    from jaxrl_hybrid.types import Transition

    key_model, key_sim, key_disc = jax.random.split(key, 3)
    model, model_history = fit(key_model, dataset, config.dynamics or DynamicsConfig())
    holdout = model_history.pop("holdout")
    train = jnp.ones(dataset.observations.shape[0], bool).at[holdout].set(False)
    rows = jnp.flatnonzero(train, size=dataset.observations.shape[0] - holdout.shape[0])
    obs, action = dataset.observations[rows], dataset.actions[rows]
    zeros = jnp.zeros(rows.shape[0])
    real = Transition(obs, action, zeros, dataset.next_observations[rows], zeros > 0, zeros > 0)
    sim = real.replace(next_obs=sim_next_obs(env, sim_params, obs, action, key_sim))
    discriminators = Discriminators(config.discriminator, obs.shape[-1], action.shape[-1])
    disc, disc_history = fit_discriminators(
        key_disc,
        discriminators,
        real,
        sim,
        num_steps=config.disc_steps,
        batch_size=config.disc_batch_size,
        learning_rate=config.disc_learning_rate,
    )
    return FittedGaps(model, disc, holdout, model_history, disc_history)


def gap_functions(fitted: FittedGaps, env, sim_params, config: GapStudyConfig = GapStudyConfig()) -> dict:
    """{"discriminator": gap(s, a), "model": gap(s, a)}: each steps the simulator from s."""
    obs_dim = fitted.dynamics.obs_dim
    discriminators = Discriminators(config.discriminator, obs_dim, fitted.dynamics.input_mean.shape[-1] - obs_dim)

    def disc_log_ratio(obs, action, next_obs):
        return discriminators.log_ratio(fitted.disc, obs, action, next_obs)

    return {
        "discriminator": bind_gap(disc_log_ratio, env, sim_params, config.num_next_samples, config.next_state_noise),
        "model": bind_gap(model_log_ratio(fitted.dynamics, config.model_smoothing), env, sim_params),
    }
