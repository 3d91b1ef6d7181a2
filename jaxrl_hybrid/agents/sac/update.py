"""SAC's update: UTD critic steps on the shared fused step, then one actor and one temperature step.

The objective is the agent's `losses` (SAC's in `losses.py`; CQL, Cal-QL and H2O pass theirs).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrl_hybrid.agents.common.critic import utd_critic_updates
from jaxrl_hybrid.agents.sac.losses import temperature_loss
from jaxrl_hybrid.optim import apply_gradients
from jaxrl_hybrid.types import Batch


def update(agent, state, batch: Batch, key, hparams):
    """One SAC update of `agent` (its `losses`, `nets` and `tx`). `batch` fields have a leading
    axis of UTD minibatches: one critic step each, then one actor and one temperature step on
    all of their rows together, as RLPD's and WSRL's high-UTD update does (its batch of 1024 at
    UTD 4 is four critic steps of 256 and one actor step of 1024)."""
    losses = agent.losses
    key_critic, key_actor = jax.random.split(key)
    state, metrics = utd_critic_updates(
        agent, state, batch, key_critic, hparams, losses.td_target, losses.td_loss, losses.penalty
    )
    rows = jax.tree.map(lambda x: x.reshape(-1, *x.shape[2:]), batch)
    state, actor_metrics = actor_and_temperature_step(agent, state, rows, key_actor, hparams)
    return state.replace(step=state.step + 1), {**metrics, **actor_metrics}


def actor_and_temperature_step(agent, state, rows: Batch, key, hparams, learn_temperature: bool = True):
    """One actor step on the agent's `losses.actor_loss` over `rows`, then (if
    `learn_temperature`) one temperature step towards the target entropy: SAC's, and IQ-Learn's
    (whose temperature is fixed by default). Returns the new state and the step's metrics."""
    losses = agent.losses

    def actor_objective(params):
        per_example, log_prob = losses.actor_loss(params, agent, state, rows, key, hparams)
        return per_example.mean(), log_prob

    (a_loss, log_prob), grads = jax.value_and_grad(actor_objective, has_aux=True)(state.actor.params)
    actor = apply_gradients(state.actor, grads, agent.tx, hparams.actor_lr)
    metrics = {"actor_loss": a_loss}
    log_temp = state.log_temp
    if learn_temperature:
        target_entropy = hparams.target_entropy_per_dim * agent.nets.action_dim
        t_loss, t_grad = jax.value_and_grad(lambda lt: temperature_loss(lt, log_prob, target_entropy).mean())(
            state.log_temp.params
        )
        log_temp = apply_gradients(state.log_temp, t_grad, agent.tx, hparams.temp_lr)
        metrics["temp_loss"] = t_loss
    metrics.update(temperature=jnp.exp(log_temp.params), entropy=-log_prob.mean())
    return state.replace(actor=actor, log_temp=log_temp), metrics
