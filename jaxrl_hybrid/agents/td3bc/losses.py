"""TD3+BC's and ReBRAC's objective: TD3's, with behaviour-cloning terms.

    TD3+BC (Fujimoto & Gu, 2021):
        L_pi = actor_bc ||pi(s) - a||^2 - alpha Q_1(s, pi(s)) / mean|Q_1|
    ReBRAC (Tarasov et al., 2023), also:
        y = r + gamma (1 - terminated) (min_i Q'_i(s', a') - critic_bc ||a' - a'_data||^2)

The Q scale mean|Q_1| is a stop-gradient constant. The critic's TD loss is TD3's.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrl_hybrid.agents.common.critic import q_values
from jaxrl_hybrid.agents.td3.losses import LOSSES as TD3_LOSSES
from jaxrl_hybrid.agents.td3.losses import smoothed_next_action, smoothed_td_target
from jaxrl_hybrid.losses.offline import behaviour_cloning_error
from jaxrl_hybrid.losses.td import bootstrap_discount, td_target
from jaxrl_hybrid.types import Batch


def penalised_td_target(agent, state, batch: Batch, key, hparams):
    """TD3's smoothed target; with `critic_bc`, min Q' - critic_bc * ||a' - a'_data||^2 (ReBRAC)."""
    if not agent.config.critic_bc:
        return smoothed_td_target(agent, state, batch, key, hparams)
    if batch.next_action is None:
        raise ValueError("ReBRAC's critic penalty needs the data's next actions (batches from a Dataset)")
    next_action = smoothed_next_action(agent, state, batch.next_obs, key, hparams)
    q_next = q_values(agent, state.critic.target_params, batch.next_obs, next_action)
    v_next = q_next.min(axis=0) - hparams.critic_bc * behaviour_cloning_error(next_action, batch.next_action)
    return td_target(batch.reward, bootstrap_discount(batch.terminated, hparams.gamma), v_next)


def actor_loss(actor_params, agent, state, batch: Batch, key, hparams):
    """Per-example actor_bc * ||pi(s) - a||^2 - alpha * Q_1(s, pi(s)) / mean|Q_1| (Q scale stop-gradient)."""
    action = agent.nets.actor.apply(actor_params, batch.obs)
    q = q_values(agent, state.critic.params, batch.obs, action)[0]
    lmbda = hparams.alpha / jax.lax.stop_gradient(jnp.abs(q).mean() + 1e-6)
    return hparams.actor_bc * behaviour_cloning_error(action, batch.action) - lmbda * q, None


LOSSES = TD3_LOSSES._replace(td_target=penalised_td_target, actor_loss=actor_loss)
