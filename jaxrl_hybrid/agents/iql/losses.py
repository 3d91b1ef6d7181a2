"""IQL's and RIQL's objective, side by side (Kostrikov et al., 2022; Yang et al., 2023).

    L_V  = |tau - 1(Q'(s, a) - V(s) < 0)| (Q'(s, a) - V(s))^2          (expectile regression)
    y    = r + gamma (1 - terminated) V(s')
    L_Q  = loss(Q_i(s, a), y) for every member i (config.critic_loss; RIQL: Huber)
    L_pi = -min(exp(temperature (Q'(s, a) - V(s))), 100) log pi(a|s)    (advantage-weighted regression)

Q'(s, a) is the target critic's minimum over the ensemble (IQL) or its `quantile` (RIQL).
Per-example (unreduced); `update` orders the steps: V, then the UTD Q steps, then the actor.
"""

from __future__ import annotations

import jax

from jaxrl_hybrid.agents.common.critic import q_values
from jaxrl_hybrid.losses.offline import awr_weights, ensemble_quantile, expectile_loss, gaussian_log_prob
from jaxrl_hybrid.losses.td import bootstrap_discount, td_target
from jaxrl_hybrid.types import Batch


def target_q(agent, state, obs, action, hparams):
    """The target critic's estimate: min over the ensemble (IQL) or its `quantile` (RIQL)."""
    q = q_values(agent, state.critic.target_params, obs, action)
    return ensemble_quantile(q, hparams.quantile) if agent.config.ensemble_quantile else q.min(axis=0)


def value_loss(value_params, agent, q, obs, expectile):
    """Per-example expectile loss of V(s) against the target Q, and V(s)."""
    v = agent.nets.value.apply(value_params, obs)[..., 0]
    return expectile_loss(q - v, expectile), v


def value_td_target(agent, state, batch: Batch, key, hparams):
    """r + gamma * (1 - terminated) * V(s'): Q's target never queries an action outside the data."""
    v_next = agent.nets.value.apply(state.value.params, batch.next_obs)[..., 0]
    return td_target(batch.reward, bootstrap_discount(batch.terminated, hparams.gamma), v_next)


def actor_loss(actor_params, agent, obs, action, advantage, temperature):
    """Per-example -min(exp(temperature * A), 100) * log pi(a|s), and the weights."""
    mean, log_std = agent.nets.actor.apply(actor_params, obs)
    weights = jax.lax.stop_gradient(awr_weights(advantage, temperature))
    return -weights * gaussian_log_prob(mean, log_std, action), weights
