"""H2O's objective (Niu et al., 2022, eq. 7 and 10): SAC's, with a dynamics-aware critic loss.

    L_Q = mean_real (Q - y)^2 + mean_sim w (Q - y)^2
          + beta * (logsumexp_sim(Q + log omega) - mean_real Q)

w = P_real(s'|s,a) / P_sim(s'|s,a), clipped, importance-weights the sim Bellman error; the
penalty pushes Q down where the dynamics gap u(s, a) is large (omega = u / sum u) and up on
real data. w and u come from the agent's gap estimator (`H2O.weights`, `H2O.gap`). The TD
target (no entropy term by default), actor and temperature losses are SAC's. With a
beta is in the reference code's units (TD loss (Q - y)^2, ours 0.5 (Q - y)^2) and is scaled by
`CriticLoss.penalty_weight` as CQL's alpha: 0.5, or 0.5 / the predicted variance for a
classification critic.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrl_hybrid.agents.common.critic import td_loss
from jaxrl_hybrid.agents.sac.losses import LOSSES as SAC_LOSSES
from jaxrl_hybrid.types import Batch


def weighted_td_loss(critic_params, agent, state, batch: Batch, target, hparams):
    """SAC's per-example TD loss times H2O's row weights (mean_real + mean_sim w in the batch mean)."""
    per_example, q = td_loss(critic_params, agent, state, batch, target, hparams)
    return per_example * jax.lax.stop_gradient(agent.weights(state, batch))[None], q


def gap_penalty(agent, state, batch: Batch, key, hparams):
    """`regulariser(params)`: per-member beta * (logsumexp_sim(Q + log omega) - mean_real Q)."""
    n_real = agent.config.num_real(batch.obs.shape[0])
    sim = jax.tree.map(lambda x: x[n_real:], batch)
    u = agent.gap(state, key, sim.obs, sim.action, sim.next_obs)
    log_omega = jnp.log(u) - jnp.log(u.sum())
    loss = agent.config.critic_loss

    def regulariser(params):
        outputs = agent.nets.critic.apply(params, batch.obs, batch.action)  # (members, batch, output_dim)
        q = loss.values(outputs)
        diff = jax.nn.logsumexp(q[:, n_real:] + log_omega, axis=1) - q[:, :n_real].mean(axis=1)
        weight = loss.penalty_weight(outputs)  # (members,): over the real and sim rows
        return hparams.h2o_beta * weight * diff, {"h2o_gap_u": u.mean(), "h2o_q_diff": diff.mean()}

    return regulariser


LOSSES = SAC_LOSSES._replace(td_loss=weighted_td_loss, penalty=gap_penalty)
