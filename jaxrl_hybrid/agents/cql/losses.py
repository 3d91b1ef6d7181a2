"""CQL's and Cal-QL's objective: SAC's losses plus the conservative critic penalty.

    L_Q = loss(Q_i(s, a), y)  +  alpha * (T logsumexp_a Q_i(s, a) / T  -  Q_i(s, a_data))

The logsumexp is importance-sampled from `num_actions` uniform actions and actions of pi(.|s)
and pi(.|s') (CQL(H), Kumar et al., 2020); Cal-QL (Nakamoto et al., 2023) first raises the
policy actions' Q-values to the data's Monte-Carlo return-to-go. The TD target, actor and
temperature losses are SAC's (`agents/sac/losses.py`).

alpha is in the reference code's units, where the TD loss is (Q - y)^2; ours is 0.5 (Q - y)^2,
so alpha is multiplied by `CriticLoss.penalty_weight`: 0.5 for a regression critic. With a
classification critic (`--critic-loss hl_gauss|two_hot`) the penalty acts on the expected value
read from the logits and the factor is 0.5 / the variance, in value units, of the distributions
the critic predicts at the data's actions: at the cross-entropy's optimum a penalty c * Q shifts
Q by c times that variance, so alpha keeps the code's weight against the TD loss.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrl_hybrid.agents.sac.losses import LOSSES as SAC_LOSSES
from jaxrl_hybrid.losses.offline import calql_lower_bound, cql_logsumexp
from jaxrl_hybrid.networks import tanh_gaussian_sample
from jaxrl_hybrid.types import Batch


def conservative_penalty(agent, state, batch: Batch, key, hparams):
    """`regulariser(params)`: per-member alpha * mean_batch(logsumexp_a Q(s, a) - Q(s, a_data))."""
    config, nets = agent.config, agent.nets
    n, (b, action_dim) = config.num_actions, batch.action.shape
    key_uniform, key_pi, key_next = jax.random.split(key, 3)
    uniform = jax.random.uniform(key_uniform, (n, b, action_dim), minval=-1.0, maxval=1.0)

    def policy_actions(obs, k):
        mean, log_std = nets.actor.apply(state.actor.params, obs)
        keys = jax.random.split(k, n)
        return jax.vmap(lambda kk: tanh_gaussian_sample(mean, log_std, kk))(keys)  # (n, b, d), (n, b)

    pi_actions, pi_log_prob = policy_actions(batch.obs, key_pi)
    next_actions, next_log_prob = policy_actions(batch.next_obs, key_next)
    sampled = jax.lax.stop_gradient(jnp.concatenate([uniform, pi_actions, next_actions]))  # (3n, b, d)
    obs = jnp.broadcast_to(batch.obs, (3 * n, *batch.obs.shape))
    if config.calibrated and batch.mc_return is None:
        raise ValueError("Cal-QL needs Monte-Carlo returns-to-go (batches from a Dataset)")

    def regulariser(params):
        flat = nets.critic.apply(params, obs.reshape(3 * n * b, -1), sampled.reshape(3 * n * b, action_dim))
        q = config.critic_loss.values(flat).reshape(-1, 3 * n, b)  # (members, 3n, b)
        q_uniform, q_pi, q_next = q[:, :n], q[:, n : 2 * n], q[:, 2 * n :]
        if config.calibrated:
            q_pi = calql_lower_bound(q_pi, batch.mc_return)
            q_next = calql_lower_bound(q_next, batch.mc_return)
        lse = cql_logsumexp(q_uniform, q_pi, q_next, pi_log_prob, next_log_prob, action_dim, hparams.cql_temperature)
        data_outputs = nets.critic.apply(params, batch.obs, batch.action)  # (members, b, output_dim)
        q_data = config.critic_loss.values(data_outputs)
        gap = (lse - q_data).mean(axis=1)
        weight = config.critic_loss.penalty_weight(data_outputs)  # (members,)
        return hparams.cql_alpha * weight * gap, {"cql_gap": gap.mean(), "cql_weight": weight.mean()}

    return regulariser


LOSSES = SAC_LOSSES._replace(penalty=conservative_penalty)
