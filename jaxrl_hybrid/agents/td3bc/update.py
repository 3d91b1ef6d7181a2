"""TD3+BC / ReBRAC: TD3's update with a behaviour-cloning actor term and ReBRAC's critic penalty."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrl_hybrid.agents.common import ensemble_values
from jaxrl_hybrid.agents.td3 import update as td3_update
from jaxrl_hybrid.agents.td3bc.config import TD3BCConfig, TD3BCHParams
from jaxrl_hybrid.losses.offline import behaviour_cloning_error
from jaxrl_hybrid.losses.td import bootstrap_discount, td_target
from jaxrl_hybrid.types import Batch


def penalised_td_target(nets, config: TD3BCConfig, state, batch: Batch, key, hparams: TD3BCHParams):
    """TD3's smoothed target; with `critic_bc`, min Q' - critic_bc * ||a' - a'_data||^2 (ReBRAC)."""
    if not config.critic_bc:
        return td3_update.smoothed_td_target(nets, config, state, batch, key, hparams)
    if batch.next_action is None:
        raise ValueError("ReBRAC's critic penalty needs the data's next actions (batches from a Dataset)")
    next_action = td3_update.smoothed_next_action(nets, state, batch.next_obs, key, hparams)
    q_next = ensemble_values(
        nets.critic.apply, state.critic.target_params, batch.next_obs, next_action, config.critic_loss
    )
    v_next = q_next.min(axis=0) - hparams.critic_bc * behaviour_cloning_error(next_action, batch.next_action)
    return td_target(batch.reward, bootstrap_discount(batch.terminated, hparams.gamma), v_next)


def actor_loss(actor_params, nets, config: TD3BCConfig, state, batch: Batch, hparams: TD3BCHParams):
    """Per-example actor_bc * ||pi(s) - a||^2 - alpha * Q_1(s, pi(s)) / mean|Q_1| (Q scale stop-gradient)."""
    action = nets.actor.apply(actor_params, batch.obs)
    q = ensemble_values(nets.critic.apply, state.critic.params, batch.obs, action, config.critic_loss)[0]
    lmbda = hparams.alpha / jax.lax.stop_gradient(jnp.abs(q).mean() + 1e-6)
    return hparams.actor_bc * behaviour_cloning_error(action, batch.action) - lmbda * q


def update(nets, config: TD3BCConfig, state, batch: Batch, key, hparams: TD3BCHParams):
    state, metrics = td3_update.update(
        nets,
        config,
        state,
        batch,
        key,
        hparams,
        target_fn=penalised_td_target,
        actor_loss_fn=lambda p, n, c, s, b: actor_loss(p, n, c, s, b, hparams),
    )
    return state, metrics
