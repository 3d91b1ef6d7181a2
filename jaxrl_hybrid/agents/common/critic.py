"""The fused critic step shared by every actor-critic agent: the one place a critic's optimiser runs.

An actor-critic agent's objective is its `Losses` (in `agents/<name>/losses.py`): how it forms
the TD target, the per-example TD loss of its Q heads, an optional critic penalty and the
actor loss. `utd_critic_updates` makes one gradient step on (TD loss + penalty) per minibatch,
then Polyak-updates the target network; agents differ only in the functions they pass.

Hooks take the agent (its `nets`, `config` and `tx`) and its named state; they are pure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxrl_hybrid.optim import apply_gradients, soft_update
from jaxrl_hybrid.types import Batch


class Losses(NamedTuple):
    """One vocabulary for the objectives of SAC- and TD3-derived agents.

    - `td_target(agent, state, batch, key, hparams) -> (batch,)`: the scalar TD target;
    - `td_loss(critic_params, agent, state, batch, target, hparams) -> (loss, q)`: per-member,
      per-example TD losses and the Q-values, both (members, batch);
    - `actor_loss(actor_params, agent, state, batch, key, hparams) -> (loss (batch,), aux)`;
    - `penalty(agent, state, batch, key, hparams) -> regulariser` or None, where
      `regulariser(critic_params) -> (per-member penalties (members,), metrics)` is added to
      the TD loss in the same gradient step (CQL's conservative penalty, H2O's gap penalty).
    """

    td_target: Callable
    td_loss: Callable
    actor_loss: Callable
    penalty: Callable | None = None


def q_values(agent: Any, params: Any, obs: jax.Array, action: jax.Array) -> jax.Array:
    """Scalar Q-values of every ensemble member, shape (num_members, batch)."""
    return agent.config.critic_loss.values(agent.nets.critic.apply(params, obs, action))


def td_loss(critic_params, agent, state, batch: Batch, target: jax.Array, hparams):
    """Per-member, per-example loss of every Q head against `target` (batch,), and the Q-values.

    The loss is the config's `critic_loss`: regression (MSE, Huber) on a scalar head or
    classification (HL-Gauss, two-hot) on a head of bin logits (`losses.critic.CriticLoss`,
    which also stops the target's gradient).
    """
    loss = agent.config.critic_loss
    outputs = agent.nets.critic.apply(critic_params, batch.obs, batch.action)  # (members, batch, out_dim)
    return loss.loss(outputs, target[None]), loss.values(outputs)


def utd_critic_updates(
    agent: Any,
    state: Any,
    batch: Batch,
    key: jax.Array,
    hparams: Any,
    td_target: Callable,
    loss_fn: Callable = td_loss,
    penalty: Callable | None = None,
    tau: jax.Array | None = None,
) -> tuple[Any, dict[str, jax.Array]]:
    """One critic step per minibatch along `batch`'s leading (UTD) axis, as a scan.

    `state` is any agent state with a `critic` field. Each step forms the target from the state
    as it stands before the step (`td_target`), minimises the batch mean of `loss_fn` summed
    over members plus the `penalty`'s regulariser with `agent.tx` at `hparams.critic_lr`, then
    moves the target network by `tau` (default `hparams.tau`; TD3 passes 0 and moves it with
    its delayed actor). Hooks are those of `Losses`. Returns the state with the new critic and
    the metrics of the last step.
    """
    num_updates = jax.tree.leaves(batch)[0].shape[0]
    tau = hparams.tau if tau is None else tau

    def step(critic, xs):
        minibatch, k = xs
        k_target, k_penalty = jax.random.split(k) if penalty is not None else (k, None)
        current = state.replace(critic=critic)
        target = td_target(agent, current, minibatch, k_target, hparams)
        regulariser = penalty(agent, current, minibatch, k_penalty, hparams) if penalty is not None else None

        def objective(params):
            per_example, q = loss_fn(params, agent, current, minibatch, target, hparams)
            loss = per_example.mean(axis=1).sum()
            if regulariser is None:
                return loss, (q, loss, {})
            reg, reg_metrics = regulariser(params)
            return loss + reg.sum(), (q, loss, reg_metrics)

        (_, (q, loss, reg_metrics)), grads = jax.value_and_grad(objective, has_aux=True)(critic.params)
        critic = soft_update(apply_gradients(critic, grads, agent.tx, hparams.critic_lr), tau)
        metrics = {
            "td_loss": loss / q.shape[0],
            "q_mean": q.mean(),
            "target_mean": target.mean(),
            "td_abs": jnp.abs(q - target[None]).mean(),
            **reg_metrics,
        }
        return critic, metrics

    critic, metrics = jax.lax.scan(step, state.critic, (batch, jax.random.split(key, num_updates)))
    return state.replace(critic=critic), {k: v[-1] for k, v in metrics.items()}
