"""A probabilistic ensemble dynamics model (PETS / MBPO style), trained on a real dataset.

K Gaussian MLPs, evaluated as one batched module, each predict the next-observation delta
and the reward: a mean and a log-variance per output, the log-variance soft-clamped between
learned bounds (Chua et al., 2018). Inputs and targets are standardised with statistics of
the training split. `fit(key, dataset, config)` is pure: it holds out a split, trains every
member on its own bootstrap minibatches, keeps each member's best held-out parameters and
stops when none has improved for `patience` epochs; jit and vmap it over seeds.

    model, history = fit(key, dataset, DynamicsConfig())
    pred = predict(model, obs, action)       # mean, epistemic and aleatoric variance
    next_obs, reward = sample_next(model, key, obs, action)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from flax import struct

from jaxrl_hybrid.networks.critics import ensemble

LOG_2PI = float(jnp.log(2.0 * jnp.pi))


@dataclasses.dataclass(frozen=True)
class DynamicsConfig:
    """Static settings of the ensemble and of its training (MBPO's, scaled to small envs)."""

    num_members: int = 5
    hidden_dims: tuple[int, ...] = (200, 200, 200)
    batch_size: int = 256
    learning_rate: float = 1e-3
    weight_decay: float = 2.5e-5
    holdout_fraction: float = 0.1
    max_epochs: int = 100
    steps_per_epoch: int | None = None  # default: one pass over the training split
    patience: int = 5
    logvar_bound_weight: float = 0.01  # pulls the learned log-variance bounds together

    def __post_init__(self):
        if self.num_members < 1 or self.max_epochs < 1 or self.patience < 1:
            raise ValueError(
                f"num_members, max_epochs and patience must be >= 1, got "
                f"{self.num_members}, {self.max_epochs}, {self.patience}"
            )
        if not 0.0 < self.holdout_fraction < 1.0:
            raise ValueError(f"holdout_fraction must be in (0, 1), got {self.holdout_fraction}")


class GaussianMLP(nn.Module):
    """One member: inputs -> (mean, log-variance) of `out_dim` outputs, with learned bounds."""

    hidden_dims: Sequence[int]
    out_dim: int

    @nn.compact
    def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        for width in self.hidden_dims:
            x = nn.swish(nn.Dense(width)(x))
        out = nn.Dense(2 * self.out_dim)(x)
        mean, logvar = out[..., : self.out_dim], out[..., self.out_dim :]
        max_logvar = self.param("max_logvar", lambda _: jnp.full((self.out_dim,), 0.5))
        min_logvar = self.param("min_logvar", lambda _: jnp.full((self.out_dim,), -10.0))
        logvar = max_logvar - jax.nn.softplus(max_logvar - logvar)
        logvar = min_logvar + jax.nn.softplus(logvar - min_logvar)
        return mean, logvar


class GaussianEnsemble(nn.Module):
    """`num_members` GaussianMLPs as one module; outputs have a leading member axis."""

    hidden_dims: Sequence[int]
    out_dim: int
    num_members: int

    @nn.compact
    def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        members = ensemble(GaussianMLP, self.num_members, in_axes=0)
        return members(self.hidden_dims, self.out_dim)(x)


@struct.dataclass
class DynamicsModel:
    """Trained ensemble parameters (leading member axis) and the standardisation statistics."""

    params: Any
    input_mean: jax.Array
    input_std: jax.Array
    target_mean: jax.Array  # of [next_obs - obs, reward]
    target_std: jax.Array
    hidden_dims: tuple[int, ...] = struct.field(pytree_node=False, default=(200, 200, 200))

    @property
    def num_members(self) -> int:
        return jax.tree.leaves(self.params)[0].shape[0]

    @property
    def obs_dim(self) -> int:
        return self.target_mean.shape[-1] - 1

    def module(self) -> GaussianEnsemble:
        return GaussianEnsemble(self.hidden_dims, self.obs_dim + 1, self.num_members)


@struct.dataclass
class Prediction:
    """Predictive moments of [next_obs, reward] in env units."""

    member_mean: jax.Array  # (members, batch, obs_dim + 1)
    member_var: jax.Array  # (members, batch, obs_dim + 1): aleatoric variance of each member
    mean: jax.Array  # (batch, obs_dim + 1): mean over members
    epistemic_var: jax.Array  # variance of the members' means
    aleatoric_var: jax.Array  # mean of the members' variances

    @property
    def total_var(self) -> jax.Array:
        return self.epistemic_var + self.aleatoric_var


def _inputs(obs, action):
    return jnp.concatenate([obs, action.reshape(*obs.shape[:-1], -1)], axis=-1)


def _targets(obs, next_obs, reward):
    return jnp.concatenate([next_obs - obs, reward[..., None]], axis=-1)


def _raw_outputs(model: DynamicsModel, params, obs, action):
    """Standardised (mean, logvar) of every member, shape (members, batch, obs_dim + 1)."""
    x = (_inputs(obs, action) - model.input_mean) / model.input_std
    x = jnp.broadcast_to(x, (model.num_members, *x.shape))
    return model.module().apply(params, x)


def predict(model: DynamicsModel, obs: jax.Array, action: jax.Array) -> Prediction:
    """Every member's Gaussian over [next_obs, reward] for a batch of (obs, action)."""
    mean_n, logvar_n = _raw_outputs(model, model.params, obs, action)
    delta_mean = mean_n * model.target_std + model.target_mean
    member_var = jnp.exp(logvar_n) * jnp.square(model.target_std)
    offset = jnp.concatenate([obs, jnp.zeros((*obs.shape[:-1], 1), obs.dtype)], axis=-1)
    member_mean = delta_mean + offset
    return Prediction(
        member_mean=member_mean,
        member_var=member_var,
        mean=member_mean.mean(axis=0),
        epistemic_var=member_mean.var(axis=0),
        aleatoric_var=member_var.mean(axis=0),
    )


def gaussian_nll(mean: jax.Array, var: jax.Array, value: jax.Array) -> jax.Array:
    """-log N(value; mean, var) summed over the last axis."""
    return 0.5 * jnp.sum(jnp.square(value - mean) / var + jnp.log(var) + LOG_2PI, axis=-1)


def member_nll(model: DynamicsModel, obs, action, next_obs, reward) -> jax.Array:
    """Each member's negative log-likelihood of [next_obs, reward], in env units: (members, batch)."""
    pred = predict(model, obs, action)
    value = jnp.concatenate([next_obs, reward[..., None]], axis=-1)
    return gaussian_nll(pred.member_mean, pred.member_var, value)


def constant_delta_nll(model: DynamicsModel, obs, next_obs, reward) -> jax.Array:
    """The baseline the model must beat: one Gaussian over [next_obs - obs, reward], fitted to
    the training split (its mean and variance), whatever the state and action. (batch,)"""
    return gaussian_nll(model.target_mean, jnp.square(model.target_std), _targets(obs, next_obs, reward))


def sample_next(model: DynamicsModel, key: jax.Array, obs: jax.Array, action: jax.Array):
    """(next_obs, reward) drawn from a uniformly chosen member's Gaussian, per row (MBPO)."""
    key_member, key_noise = jax.random.split(key)
    pred = predict(model, obs, action)
    batch = obs.shape[0]
    member = jax.random.randint(key_member, (batch,), 0, model.num_members)
    rows = jnp.arange(batch)
    mean, var = pred.member_mean[member, rows], pred.member_var[member, rows]
    out = mean + jnp.sqrt(var) * jax.random.normal(key_noise, mean.shape)
    return out[:, :-1], out[:, -1], pred


def _split(key, n: int, holdout_fraction: float):
    n_hold = max(1, int(round(n * holdout_fraction)))
    if n - n_hold < 1:
        raise ValueError(f"a dataset of {n} rows leaves no training rows after a {holdout_fraction} hold-out")
    perm = jax.random.permutation(key, n)
    return perm[n_hold:], perm[:n_hold]


def fit(key: jax.Array, dataset, config: DynamicsConfig = DynamicsConfig()) -> tuple[DynamicsModel, dict[str, Any]]:
    """Train the ensemble on a `Dataset` (or any object with its D4RL field names); pure and vmappable over `key`.

    Returns the model with each member at its best held-out epoch, and the history:
    `train_nll` (epochs,), `holdout_nll` (epochs, members) in standardised units (NaN after
    the stop), `holdout_mse` (epochs,), `stopped_epoch` and the held-out rows' indices `holdout`.
    """
    key_split, key_init, key_train = jax.random.split(key, 3)
    obs, action = dataset.observations, dataset.actions
    n = obs.shape[0]
    train_idx, hold_idx = _split(key_split, n, config.holdout_fraction)
    inputs = _inputs(obs, action.astype(jnp.float32))
    targets = _targets(obs, dataset.next_observations, dataset.rewards)
    x_train, y_train = inputs[train_idx], targets[train_idx]
    x_hold, y_hold = inputs[hold_idx], targets[hold_idx]
    in_mean, in_std = x_train.mean(0), x_train.std(0) + 1e-6
    out_mean, out_std = y_train.mean(0), y_train.std(0) + 1e-6
    x_train_n, x_hold_n = (x_train - in_mean) / in_std, (x_hold - in_mean) / in_std
    y_train_n, y_hold_n = (y_train - out_mean) / out_std, (y_hold - out_mean) / out_std

    k, out_dim = config.num_members, y_train.shape[-1]
    module = GaussianEnsemble(tuple(config.hidden_dims), out_dim, k)
    params = module.init(key_init, jnp.zeros((k, 1, inputs.shape[-1])))
    tx = optax.adamw(config.learning_rate, weight_decay=config.weight_decay)
    opt_state = tx.init(params)
    n_train = x_train.shape[0]
    steps = config.steps_per_epoch or max(1, n_train // config.batch_size)

    def loss_fn(p, xb, yb):
        mean, logvar = module.apply(p, xb)
        nll = 0.5 * jnp.sum(jnp.square(mean - yb) * jnp.exp(-logvar) + logvar, axis=-1).mean()
        bounds = p["params"]["VmapGaussianMLP_0"]
        spread = jnp.sum(bounds["max_logvar"]) - jnp.sum(bounds["min_logvar"])
        return nll * k + config.logvar_bound_weight * spread, nll

    def train_step(carry, key_step):
        p, o = carry
        idx = jax.random.randint(key_step, (k, config.batch_size), 0, n_train)  # a bootstrap per member
        (_, nll), grads = jax.value_and_grad(loss_fn, has_aux=True)(p, x_train_n[idx], y_train_n[idx])
        updates, o = tx.update(grads, o, p)
        return (optax.apply_updates(p, updates), o), nll

    def holdout(p):
        mean, logvar = module.apply(p, jnp.broadcast_to(x_hold_n, (k, *x_hold_n.shape)))
        nll = 0.5 * jnp.sum(jnp.square(mean - y_hold_n) * jnp.exp(-logvar) + logvar + LOG_2PI, axis=-1)
        return nll.mean(axis=1), jnp.square(mean.mean(0) - y_hold_n).mean()

    def select(mask, new, old):
        return jax.tree.map(lambda a, b: jnp.where(mask.reshape((k,) + (1,) * (a.ndim - 1)), a, b), new, old)

    def epoch(carry, key_epoch):
        p, o, best_p, best_nll, since, stopped = carry

        def run(_):
            (p2, o2), nll = jax.lax.scan(train_step, (p, o), jax.random.split(key_epoch, steps))
            hold_nll, hold_mse = holdout(p2)
            better = hold_nll < best_nll - 1e-4
            since2 = jnp.where(better, 0, since + 1)
            return (
                (p2, o2, select(better, p2, best_p), jnp.where(better, hold_nll, best_nll), since2, stopped),
                (nll.mean(), hold_nll, hold_mse),
            )

        def skip(_):
            nan = jnp.full((), jnp.nan)
            return (p, o, best_p, best_nll, since, stopped), (nan, jnp.full((k,), jnp.nan), nan)

        (p, o, best_p, best_nll, since, stopped), out = jax.lax.cond(stopped, skip, run, None)
        stopped = stopped | jnp.all(since >= config.patience)
        return (p, o, best_p, best_nll, since, stopped), out

    init_nll, _ = holdout(params)
    carry = (params, opt_state, params, init_nll, jnp.zeros((k,), jnp.int32), jnp.zeros((), bool))
    carry, (train_nll, hold_nll, hold_mse) = jax.lax.scan(epoch, carry, jax.random.split(key_train, config.max_epochs))
    best_params = carry[2]
    epochs_run = jnp.sum(~jnp.isnan(train_nll))
    model = DynamicsModel(
        params=best_params,
        input_mean=in_mean,
        input_std=in_std,
        target_mean=out_mean,
        target_std=out_std,
        hidden_dims=tuple(config.hidden_dims),
    )
    history = {
        "initial_holdout_nll": init_nll,
        "train_nll": train_nll,
        "holdout_nll": hold_nll,
        "holdout_mse": hold_mse,
        "stopped_epoch": epochs_run,
        "holdout": hold_idx,
    }
    return model, history
