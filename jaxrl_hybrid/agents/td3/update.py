"""TD3's update: UTD critic steps on the shared fused step, then the delayed actor and targets.

The objective is the agent's `losses` (TD3's in `losses.py`; TD3+BC and ReBRAC pass theirs).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrl_hybrid.agents.common.critic import utd_critic_updates
from jaxrl_hybrid.optim import apply_gradients, soft_update
from jaxrl_hybrid.types import Batch


def update(agent, state, batch: Batch, key, hparams):
    """One TD3 update of `agent`; `batch` has a leading axis of UTD minibatches.

    The actor and both target networks move every `policy_delay` calls (as a select, so the
    program has no data-dependent control flow under vmap).
    """
    losses = agent.losses
    # tau=0 for the critic steps: in TD3 the critic target follows the delayed actor update below.
    state, metrics = utd_critic_updates(
        agent, state, batch, key, hparams, losses.td_target, losses.td_loss, losses.penalty, jnp.zeros_like(hparams.tau)
    )
    critic = state.critic
    last = jax.tree.map(lambda x: x[-1], batch)

    def actor_objective(params):
        per_example, aux = losses.actor_loss(params, agent, state, last, key, hparams)
        return per_example.mean(), aux

    (a_loss, _), grads = jax.value_and_grad(actor_objective, has_aux=True)(state.actor.params)
    do_actor = (state.step + 1) % agent.config.policy_delay == 0
    new_actor = soft_update(apply_gradients(state.actor, grads, agent.tx, hparams.actor_lr), hparams.tau)
    new_critic = soft_update(critic, hparams.tau)
    actor = jax.tree.map(lambda n, o: jnp.where(do_actor, n, o), new_actor, state.actor)
    critic = jax.tree.map(lambda n, o: jnp.where(do_actor, n, o), new_critic, critic)
    metrics["actor_loss"] = a_loss
    return state.replace(actor=actor, critic=critic, step=state.step + 1), metrics
