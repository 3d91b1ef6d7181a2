"""SAC's objective, side by side (Haarnoja et al., 2018): the critic's TD target and loss, the
actor loss and the temperature loss. Change SAC here; `update.py` only orders the steps.

    y        = r + gamma (1 - terminated) (min_{subset} Q'(s', a') - temp log pi(a'|s')),  a' ~ pi(s')
    L_Q      = loss(Q_i(s, a), y) for every member i: MSE, Huber, HL-Gauss or two-hot (config.critic_loss)
    L_pi     = temp log pi(a|s) - Q(s, a),  a ~ pi(s)  (min of 2 critics, mean of larger ensembles)
    L_temp   = -log temp (log pi(a|s) + target_entropy)

Every function is per-example (unreduced); `utd_critic_updates` and `update` reduce and step.
CQL, Cal-QL and H2O reuse these and add a critic `penalty` (see `agents.common.critic.Losses`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrl_hybrid.agents.common.critic import Losses, q_values, td_loss
from jaxrl_hybrid.losses.td import bootstrap_discount, td_target
from jaxrl_hybrid.networks import min_over_subset, tanh_gaussian_sample
from jaxrl_hybrid.types import Batch


def soft_td_target(agent, state, batch: Batch, key, hparams):
    """r + gamma * (1 - terminated) * (min_subset Q_target(s', a') - temp * log pi(a'|s'))."""
    config = agent.config
    key_action, key_subset = jax.random.split(key)
    mean, log_std = agent.nets.actor.apply(state.actor.params, batch.next_obs)
    next_action, next_log_prob = tanh_gaussian_sample(mean, log_std, key_action)
    q_next = q_values(agent, state.critic.target_params, batch.next_obs, next_action)
    v_next = min_over_subset(q_next, key_subset, config.num_min_critics)
    if config.backup_entropy:
        v_next = v_next - jnp.exp(state.log_temp.params) * next_log_prob
    return td_target(batch.reward, bootstrap_discount(batch.terminated, hparams.gamma), v_next)


def actor_loss(actor_params, agent, state, batch: Batch, key, hparams):
    """Per-example temp * log pi(a|s) - Q(s, a), a ~ pi (min of 2 critics, mean of larger ensembles),
    and log pi(a|s) for the temperature loss."""
    mean, log_std = agent.nets.actor.apply(actor_params, batch.obs)
    action, log_prob = tanh_gaussian_sample(mean, log_std, key)
    q = q_values(agent, state.critic.params, batch.obs, action)
    q = q.min(axis=0) if agent.config.num_critics <= 2 else q.mean(axis=0)
    temp = jax.lax.stop_gradient(jnp.exp(state.log_temp.params))
    return temp * log_prob - q, log_prob


def temperature_loss(log_temp, log_prob, target_entropy):
    """Per-example -log_temp * (log pi + target_entropy): raises temp when entropy is too low."""
    return -log_temp * jax.lax.stop_gradient(log_prob + target_entropy)


LOSSES = Losses(td_target=soft_td_target, td_loss=td_loss, actor_loss=actor_loss)
