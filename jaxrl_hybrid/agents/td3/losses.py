"""TD3's objective, side by side (Fujimoto et al., 2018): the smoothed TD target, the critic's
TD loss and the actor loss. Change TD3 here; `update.py` only orders the steps.

    a'   = clip(pi'(s') + clip(N(0, policy_noise), +-noise_clip), -1, 1)   (target smoothing)
    y    = r + gamma (1 - terminated) min_i Q'_i(s', a')
    L_Q  = loss(Q_i(s, a), y) for every member i: MSE, Huber, HL-Gauss or two-hot (config.critic_loss)
    L_pi = -Q_1(s, pi(s))

Per-example (unreduced) functions in the `agents.common.critic.Losses` vocabulary; TD3+BC and
ReBRAC replace the target and the actor loss (`agents/td3bc/losses.py`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrl_hybrid.agents.common.critic import Losses, q_values, td_loss
from jaxrl_hybrid.losses.td import bootstrap_discount, td_target
from jaxrl_hybrid.types import Batch


def smoothed_next_action(agent, state, next_obs, key, hparams):
    """clip(pi_target(s') + clip(N(0, policy_noise), +-noise_clip), -1, 1): target policy smoothing."""
    next_action = agent.nets.actor.apply(state.actor.target_params, next_obs)
    noise = hparams.policy_noise * jax.random.normal(key, next_action.shape)
    noise = jnp.clip(noise, -hparams.noise_clip, hparams.noise_clip)
    return jnp.clip(next_action + noise, -1.0, 1.0)


def smoothed_td_target(agent, state, batch: Batch, key, hparams):
    """r + gamma * (1 - terminated) * min_i Q_target_i(s', a') with a' the smoothed target action."""
    next_action = smoothed_next_action(agent, state, batch.next_obs, key, hparams)
    q_next = q_values(agent, state.critic.target_params, batch.next_obs, next_action)
    return td_target(batch.reward, bootstrap_discount(batch.terminated, hparams.gamma), q_next.min(axis=0))


def actor_loss(actor_params, agent, state, batch: Batch, key, hparams):
    """Per-example -Q_1(s, pi(s)) (the first critic, as in the paper); no aux."""
    action = agent.nets.actor.apply(actor_params, batch.obs)
    return -q_values(agent, state.critic.params, batch.obs, action)[0], None


LOSSES = Losses(td_target=smoothed_td_target, td_loss=td_loss, actor_loss=actor_loss)
