"""TD3 update: UTD critic steps on the shared TD / classification step, delayed actor step."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrl_hybrid.agents.common import apply_gradients, ensemble_values, soft_update, utd_critic_updates
from jaxrl_hybrid.agents.td3.config import TD3Config, TD3HParams
from jaxrl_hybrid.agents.td3.state import TD3State
from jaxrl_hybrid.losses.td import bootstrap_discount, td_target
from jaxrl_hybrid.types import Batch


def smoothed_next_action(nets, state: TD3State, next_obs, key, hparams: TD3HParams):
    """clip(pi_target(s') + clip(N(0, policy_noise), +-noise_clip), -1, 1): target policy smoothing."""
    next_action = nets.actor.apply(state.actor.target_params, next_obs)
    noise = hparams.policy_noise * jax.random.normal(key, next_action.shape)
    noise = jnp.clip(noise, -hparams.noise_clip, hparams.noise_clip)
    return jnp.clip(next_action + noise, -1.0, 1.0)


def smoothed_td_target(nets, config: TD3Config, state: TD3State, batch: Batch, key, hparams: TD3HParams):
    """r + gamma * (1 - terminated) * min_i Q_target_i(s', a') with a' the smoothed target action."""
    next_action = smoothed_next_action(nets, state, batch.next_obs, key, hparams)
    q_next = ensemble_values(
        nets.critic.apply, state.critic.target_params, batch.next_obs, next_action, config.critic_loss
    )
    return td_target(batch.reward, bootstrap_discount(batch.terminated, hparams.gamma), q_next.min(axis=0))


def actor_loss(actor_params, nets, config: TD3Config, state: TD3State, batch: Batch):
    """Per-example -Q_1(s, pi(s)) (the first critic, as in the paper)."""
    action = nets.actor.apply(actor_params, batch.obs)
    q = ensemble_values(nets.critic.apply, state.critic.params, batch.obs, action, config.critic_loss)
    return -q[0]


def update(
    nets,
    config: TD3Config,
    state: TD3State,
    batch: Batch,
    key,
    hparams: TD3HParams,
    target_fn=smoothed_td_target,
    actor_loss_fn=actor_loss,
):
    """One TD3 update; `batch` has a leading axis of `config.utd` minibatches.

    The actor and both target networks move every `policy_delay` calls (as a select, so the
    program has no data-dependent control flow under vmap). TD3+BC and ReBRAC pass their own
    `target_fn(nets, config, state, minibatch, key, hparams)` and
    `actor_loss_fn(params, nets, config, state, minibatch)` (per-example losses).
    """

    # tau=0 for the critic steps: in TD3 the critic target follows the delayed actor update below.
    state, metrics = utd_critic_updates(
        state,
        batch,
        key,
        lambda st, minibatch, k: target_fn(nets, config, st, minibatch, k, hparams),
        nets.critic.apply,
        nets.critic_tx,
        config.critic_loss,
        hparams.critic_lr,
        jnp.zeros_like(hparams.tau),
    )
    critic = state.critic
    last = jax.tree.map(lambda x: x[-1], batch)
    a_loss, grads = jax.value_and_grad(lambda p: actor_loss_fn(p, nets, config, state, last).mean())(state.actor.params)
    do_actor = (state.step + 1) % config.policy_delay == 0
    new_actor = soft_update(apply_gradients(state.actor, grads, nets.actor_tx, hparams.actor_lr), hparams.tau)
    new_critic = soft_update(critic, hparams.tau)
    actor = jax.tree.map(lambda n, o: jnp.where(do_actor, n, o), new_actor, state.actor)
    critic = jax.tree.map(lambda n, o: jnp.where(do_actor, n, o), new_critic, critic)
    metrics["actor_loss"] = a_loss
    return state.replace(actor=actor, critic=critic, step=state.step + 1), metrics
