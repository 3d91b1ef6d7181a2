"""IQL / RIQL update: V by expectile regression, then UTD Q steps on the shared fused step, then
the AWR actor (the losses are in `losses.py`)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrl_hybrid.agents.common.critic import utd_critic_updates
from jaxrl_hybrid.agents.iql.losses import actor_loss, target_q, value_loss, value_td_target
from jaxrl_hybrid.optim import apply_gradients
from jaxrl_hybrid.types import Batch


def update(agent, state, batch: Batch, key, hparams):
    """V step, then UTD Q steps towards r + gamma V(s'), then the actor, on the last minibatch."""
    last = jax.tree.map(lambda x: x[-1], batch)
    q = target_q(agent, state, last.obs, last.action, hparams)
    (v_loss, v), v_grads = jax.value_and_grad(
        lambda p: jax.tree.map(jnp.mean, value_loss(p, agent, q, last.obs, hparams.expectile)), has_aux=True
    )(state.value.params)
    value = apply_gradients(state.value, v_grads, agent.tx, hparams.value_lr)
    state = state.replace(value=value)

    state, metrics = utd_critic_updates(agent, state, batch, key, hparams, value_td_target)
    advantage = q - agent.nets.value.apply(value.params, last.obs)[..., 0]
    (a_loss, weights), a_grads = jax.value_and_grad(
        lambda p: jax.tree.map(jnp.mean, actor_loss(p, agent, last.obs, last.action, advantage, hparams.temperature)),
        has_aux=True,
    )(state.actor.params)
    actor = apply_gradients(state.actor, a_grads, agent.tx, hparams.actor_lr)
    metrics.update(value_loss=v_loss, v_mean=v, actor_loss=a_loss, awr_weight=weights, advantage=advantage.mean())
    return state.replace(actor=actor, step=state.step + 1), metrics
