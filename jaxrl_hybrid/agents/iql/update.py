"""IQL / RIQL update: value by expectile regression, Q by the shared critic step, AWR actor."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrl_hybrid.agents.common import apply_gradients, ensemble_values, utd_critic_updates
from jaxrl_hybrid.agents.iql.config import IQLConfig, IQLHParams
from jaxrl_hybrid.losses.offline import awr_weights, ensemble_quantile, expectile_loss, gaussian_log_prob
from jaxrl_hybrid.losses.td import bootstrap_discount, td_target
from jaxrl_hybrid.types import Batch


def target_q(nets, config: IQLConfig, state, obs, action, hparams: IQLHParams):
    """The target critic's estimate: min over the ensemble (IQL) or its `quantile` (RIQL)."""
    q = ensemble_values(nets.critic.apply, state.critic.target_params, obs, action, config.critic_loss)
    return ensemble_quantile(q, hparams.quantile) if config.ensemble_quantile else q.min(axis=0)


def value_loss(value_params, nets, q, obs, expectile):
    """Per-example expectile loss of V(s) against the target Q."""
    v = nets.value.apply(value_params, obs)[..., 0]
    return expectile_loss(q - v, expectile), v


def actor_loss(actor_params, nets, obs, action, advantage, temperature):
    """Per-example -min(exp(temperature * A), 100) * log pi(a|s)."""
    mean, log_std = nets.actor.apply(actor_params, obs)
    weights = jax.lax.stop_gradient(awr_weights(advantage, temperature))
    return -weights * gaussian_log_prob(mean, log_std, action), weights


def update(nets, config: IQLConfig, state, batch: Batch, key, hparams: IQLHParams):
    """V step, then UTD Q steps towards r + gamma V(s'), then the actor, on the last minibatch."""
    last = jax.tree.map(lambda x: x[-1], batch)
    q = target_q(nets, config, state, last.obs, last.action, hparams)
    (v_loss, v), v_grads = jax.value_and_grad(
        lambda p: jax.tree.map(jnp.mean, value_loss(p, nets, q, last.obs, hparams.expectile)), has_aux=True
    )(state.value.params)
    value = apply_gradients(state.value, v_grads, nets.value_tx, hparams.value_lr)
    state = state.replace(value=value)

    def q_target(st, minibatch, _key):
        v_next = nets.value.apply(st.value.params, minibatch.next_obs)[..., 0]
        return td_target(minibatch.reward, bootstrap_discount(minibatch.terminated, hparams.gamma), v_next)

    state, metrics = utd_critic_updates(
        state,
        batch,
        key,
        q_target,
        nets.critic.apply,
        nets.critic_tx,
        config.critic_loss,
        hparams.critic_lr,
        hparams.tau,
    )
    advantage = q - nets.value.apply(value.params, last.obs)[..., 0]
    (a_loss, weights), a_grads = jax.value_and_grad(
        lambda p: jax.tree.map(jnp.mean, actor_loss(p, nets, last.obs, last.action, advantage, hparams.temperature)),
        has_aux=True,
    )(state.actor.params)
    actor = apply_gradients(state.actor, a_grads, nets.actor_tx, hparams.actor_lr)
    metrics.update(value_loss=v_loss, v_mean=v, actor_loss=a_loss, awr_weight=weights, advantage=advantage.mean())
    return state.replace(actor=actor, step=state.step + 1), metrics
