"""PPO's objective (Schulman et al., 2017), or a meta-learned one in its place (LPO, TA-LPO):

    L = L_policy(r, A) + vf_coef * L_value - ent_coef * entropy,   r = pi(a|s) / pi_old(a|s)

L_policy is the config's `objective` (`losses.policy`: PPO's clipped surrogate or a learned
drift); L_value is the config's `critic_loss` of the value head against the GAE return, with
PPO's value clipping for regression losses. `update.py` computes GAE and runs the epochs.
"""

from __future__ import annotations

import jax.numpy as jnp

from jaxrl_hybrid.losses.regression import squared_error


def value_loss(config, outputs, old_value, target, clip_eps):
    """Per-example critic loss; regression losses get PPO's value clipping if configured."""
    loss = config.critic_loss
    if loss.is_categorical or not config.clip_value_loss:
        return loss.loss(outputs, target)
    value = loss.values(outputs)
    clipped = old_value + jnp.clip(value - old_value, -clip_eps, clip_eps)
    return jnp.maximum(loss.loss(outputs, target), squared_error(clipped, target))


def ppo_loss(params, agent, minibatch, progress, log_budget, hparams):
    """The minibatch's total loss and its parts; `progress` (n / N) and `log_budget` (log N) feed a
    temporally-aware objective."""
    config = agent.config
    obs, action, old_log_prob, adv, tgt, old_value = minibatch
    if config.normalize_advantages:
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
    log_prob, entropy = agent.log_prob_entropy(params, obs, action)
    outputs = agent.nets.critic.apply(params["critic"], obs)
    ratio = jnp.exp(log_prob - old_log_prob)
    pg = config.objective.loss(hparams.objective, ratio, adv, hparams.clip_eps, progress, log_budget).mean()
    vf = value_loss(config, outputs, old_value, tgt, hparams.clip_eps).mean()
    ent = entropy.mean()
    total = pg + hparams.vf_coef * vf - hparams.ent_coef * ent
    return total, {"policy_loss": pg, "value_loss": vf, "entropy": ent}
