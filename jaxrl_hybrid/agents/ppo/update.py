"""PPO: GAE on the rollout, then epochs of the objective (`losses.py`) over shuffled minibatches."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrl_hybrid.agents.common import apply_gradients
from jaxrl_hybrid.agents.common.batching import shuffled_minibatches
from jaxrl_hybrid.agents.ppo.config import PPOConfig, PPOHParams
from jaxrl_hybrid.agents.ppo.losses import ppo_loss
from jaxrl_hybrid.agents.ppo.state import PPOState, Rollout
from jaxrl_hybrid.losses.td import bootstrap_discount, gae_advantages


def update(agent, state: PPOState, rollout: Rollout, key, hparams: PPOHParams, total_updates: int | None = None):
    """One PPO update on a rollout of shape (num_steps, num_envs, ...).

    `total_updates` (the run's number of updates, static) gives a temporally-aware objective
    its inputs: gradient step n of N = total_updates x epochs x minibatches, as n / N and log N.
    """
    config: PPOConfig = agent.config
    objective = config.objective
    steps_per_update = config.update_epochs * config.num_minibatches
    if objective.temporal and total_updates is None:
        raise ValueError(f"the {objective.name} objective needs the run's total_updates (training progress)")
    budget = steps_per_update * (total_updates or 1)
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

    def loss_fn(params, minibatch, grad_step):
        progress = grad_step.astype(jnp.float32) / budget
        return ppo_loss(params, agent, minibatch, progress, jnp.log(float(budget)), hparams)

    def epoch(model, inputs):
        key_epoch, epoch_index = inputs
        minibatches = shuffled_minibatches(key_epoch, flat, config.num_minibatches)
        first_step = state.step * steps_per_update + epoch_index * config.num_minibatches

        def step(model, inputs):
            minibatch, i = inputs
            (_, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(model.params, minibatch, first_step + i)
            return apply_gradients(model, grads, agent.tx, hparams.lr), metrics

        return jax.lax.scan(step, model, (minibatches, jnp.arange(config.num_minibatches)))

    epochs = (jax.random.split(key, config.update_epochs), jnp.arange(config.update_epochs))
    model, metrics = jax.lax.scan(epoch, state.model, epochs)
    metrics = jax.tree.map(jnp.mean, metrics)
    metrics["value_mean"] = v_tm1.mean()
    return state.replace(model=model, step=state.step + 1), metrics
