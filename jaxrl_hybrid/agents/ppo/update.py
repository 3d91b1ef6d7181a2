"""PPO: GAE on the rollout, then clipped-surrogate epochs over shuffled minibatches."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrl_hybrid.agents.common import apply_gradients
from jaxrl_hybrid.agents.ppo.config import PPOConfig, PPOHParams
from jaxrl_hybrid.agents.ppo.state import PPOState, Rollout
from jaxrl_hybrid.losses.regression import squared_error
from jaxrl_hybrid.losses.td import bootstrap_discount, gae_advantages


def clipped_surrogate(log_prob, old_log_prob, advantage, clip_eps):
    """Per-example -min(r A, clip(r, 1 - eps, 1 + eps) A), r = pi / pi_old."""
    ratio = jnp.exp(log_prob - old_log_prob)
    return -jnp.minimum(ratio * advantage, jnp.clip(ratio, 1.0 - clip_eps, 1.0 + clip_eps) * advantage)


def value_loss(config: PPOConfig, outputs, old_value, target, clip_eps):
    """Per-example critic loss; regression losses get PPO's value clipping if configured."""
    loss = config.critic_loss
    if loss.is_categorical or not config.clip_value_loss:
        return loss.loss(outputs, target)
    value = loss.values(outputs)
    clipped = old_value + jnp.clip(value - old_value, -clip_eps, clip_eps)
    return jnp.maximum(loss.loss(outputs, target), squared_error(clipped, target))


def update(agent, state: PPOState, rollout: Rollout, key, hparams: PPOHParams):
    """One PPO update on a rollout of shape (num_steps, num_envs, ...)."""
    config: PPOConfig = agent.config
    params = state.model.params
    v_tm1 = agent.value(params, rollout.obs)
    v_t = agent.value(params, rollout.next_obs)
    advantage, target = gae_advantages(
        rollout.reward,
        bootstrap_discount(rollout.terminated, hparams.gamma),
        v_tm1,
        v_t,
        jnp.logical_or(rollout.terminated, rollout.truncated),
        hparams.gae_lambda,
    )
    flat = jax.tree.map(
        lambda x: x.reshape((-1, *x.shape[2:])),
        (rollout.obs, rollout.action, rollout.log_prob, advantage, target, v_tm1),
    )
    n = flat[0].shape[0]
    mb = n // config.num_minibatches

    def loss_fn(params, minibatch):
        obs, action, old_log_prob, adv, tgt, old_value = minibatch
        if config.normalize_advantages:
            adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        log_prob, entropy = agent.log_prob_entropy(params, obs, action)
        outputs = agent.nets.critic.apply(params["critic"], obs)
        pg = clipped_surrogate(log_prob, old_log_prob, adv, hparams.clip_eps).mean()
        vf = value_loss(config, outputs, old_value, tgt, hparams.clip_eps).mean()
        ent = entropy.mean()
        total = pg + hparams.vf_coef * vf - hparams.ent_coef * ent
        return total, {"policy_loss": pg, "value_loss": vf, "entropy": ent}

    def epoch(model, key_epoch):
        perm = jax.random.permutation(key_epoch, n)[: mb * config.num_minibatches]
        minibatches = jax.tree.map(lambda x: x[perm].reshape((config.num_minibatches, mb, *x.shape[1:])), flat)

        def step(model, minibatch):
            (_, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(model.params, minibatch)
            return apply_gradients(model, grads, agent.nets.tx, hparams.lr), metrics

        return jax.lax.scan(step, model, minibatches)

    model, metrics = jax.lax.scan(epoch, state.model, jax.random.split(key, config.update_epochs))
    metrics = jax.tree.map(jnp.mean, metrics)
    metrics["value_mean"] = v_tm1.mean()
    return state.replace(model=model, step=state.step + 1), metrics
