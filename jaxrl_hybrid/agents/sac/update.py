"""SAC losses and the update: UTD critic steps on the shared TD / classification step, then actor and temperature."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrl_hybrid.agents.common import apply_gradients, ensemble_values, utd_critic_updates
from jaxrl_hybrid.agents.sac.config import SACConfig, SACHParams
from jaxrl_hybrid.agents.sac.state import SACState
from jaxrl_hybrid.losses.td import bootstrap_discount, td_target
from jaxrl_hybrid.networks import min_over_subset, tanh_gaussian_sample
from jaxrl_hybrid.types import Batch


def soft_td_target(nets, config: SACConfig, state: SACState, batch: Batch, key, hparams: SACHParams):
    """r + gamma * (1 - terminated) * (min_subset Q_target(s', a') - temp * log pi(a'|s'))."""
    key_action, key_subset = jax.random.split(key)
    mean, log_std = nets.actor.apply(state.actor.params, batch.next_obs)
    next_action, next_log_prob = tanh_gaussian_sample(mean, log_std, key_action)
    q_next = ensemble_values(
        nets.critic.apply,
        state.critic.target_params,
        batch.next_obs,
        next_action,
        config.critic_loss,
    )
    v_next = min_over_subset(q_next, key_subset, config.num_min_critics)
    if config.backup_entropy:
        v_next = v_next - jnp.exp(state.log_temp.params) * next_log_prob
    return td_target(batch.reward, bootstrap_discount(batch.terminated, hparams.gamma), v_next)


def actor_loss(actor_params, nets, config: SACConfig, state: SACState, obs, key):
    """Per-example temp * log pi(a|s) - Q(s, a), a ~ pi (min of 2 critics, mean of larger ensembles)."""
    mean, log_std = nets.actor.apply(actor_params, obs)
    action, log_prob = tanh_gaussian_sample(mean, log_std, key)
    q = ensemble_values(nets.critic.apply, state.critic.params, obs, action, config.critic_loss)
    q = q.min(axis=0) if config.num_critics <= 2 else q.mean(axis=0)
    temp = jax.lax.stop_gradient(jnp.exp(state.log_temp.params))
    return temp * log_prob - q, log_prob


def temperature_loss(log_temp, log_prob, target_entropy):
    """Per-example -log_temp * (log pi + target_entropy): raises temp when entropy is too low."""
    return -log_temp * jax.lax.stop_gradient(log_prob + target_entropy)


def update(
    nets,
    config: SACConfig,
    state: SACState,
    batch: Batch,
    key,
    hparams: SACHParams,
    regulariser_fn=None,
    weight_fn=None,
):
    """One SAC update. `batch` fields have a leading axis of `config.utd` minibatches.

    `regulariser_fn(state, minibatch, key)` adds a critic penalty (CQL, Cal-QL, H2O) to each
    critic step; `weight_fn(state, minibatch)` weights each example's TD loss (H2O).
    """
    key_critic, key_actor = jax.random.split(key)

    state, metrics = utd_critic_updates(
        state,
        batch,
        key_critic,
        lambda st, minibatch, k: soft_td_target(nets, config, st, minibatch, k, hparams),
        nets.critic.apply,
        nets.critic_tx,
        config.critic_loss,
        hparams.critic_lr,
        hparams.tau,
        regulariser_fn,
        weight_fn,
    )
    obs = batch.obs[-1]

    def actor_objective(params):
        per_example, log_prob = actor_loss(params, nets, config, state, obs, key_actor)
        return per_example.mean(), log_prob

    (a_loss, log_prob), grads = jax.value_and_grad(actor_objective, has_aux=True)(state.actor.params)
    actor = apply_gradients(state.actor, grads, nets.actor_tx, hparams.actor_lr)

    target_entropy = hparams.target_entropy_per_dim * nets.action_dim
    t_loss, t_grad = jax.value_and_grad(lambda lt: temperature_loss(lt, log_prob, target_entropy).mean())(
        state.log_temp.params
    )
    log_temp = apply_gradients(state.log_temp, t_grad, nets.temp_tx, hparams.temp_lr)

    metrics.update(
        actor_loss=a_loss,
        temp_loss=t_loss,
        temperature=jnp.exp(log_temp.params),
        entropy=-log_prob.mean(),
    )
    return state.replace(actor=actor, log_temp=log_temp, step=state.step + 1), metrics
