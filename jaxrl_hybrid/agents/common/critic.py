"""The fused TD / classification critic step shared by every actor-critic agent.

Given a Q ensemble and a scalar TD target per example, one gradient step on the static
critic loss (MSE, Huber, HL-Gauss or two-hot): agents differ only in how they form the target.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax

from jaxrl_hybrid.losses.critic import CriticLoss
from jaxrl_hybrid.optim import ModelState, apply_gradients, soft_update
from jaxrl_hybrid.types import Batch


def ensemble_values(apply_fn: Callable, params: Any, obs: jax.Array, action: jax.Array, loss: CriticLoss) -> jax.Array:
    """Scalar Q-values of every ensemble member, shape (num_members, batch)."""
    return loss.values(apply_fn(params, obs, action))


def critic_regression_step(
    critic: ModelState,
    apply_fn: Callable,
    tx: optax.GradientTransformation,
    loss: CriticLoss,
    batch: Batch,
    target: jax.Array,
    learning_rate: jax.Array,
    tau: jax.Array,
    regulariser: Callable[[Any], tuple[jax.Array, dict[str, jax.Array]]] | None = None,
    weights: jax.Array | None = None,
) -> tuple[ModelState, dict[str, jax.Array]]:
    """Train every ensemble member towards `target` (batch,), then Polyak-update the target net.

    `regulariser(params) -> (per-member losses (members,), metrics)` adds a term such as CQL's
    conservative penalty to the same gradient step. `weights` (batch,), if given, multiply
    each example's loss before the batch mean (H2O's importance weights of sim transitions).
    """
    target = jax.lax.stop_gradient(target)

    def loss_fn(params):
        outputs = apply_fn(params, batch.obs, batch.action)  # (members, batch, out_dim)
        per_example = loss.loss(outputs, target[None])  # (members, batch)
        if weights is not None:
            per_example = per_example * jax.lax.stop_gradient(weights)[None]
        q = loss.values(outputs)
        td_loss = per_example.mean(axis=1).sum()
        if regulariser is None:
            return td_loss, (q, td_loss, {})
        reg, reg_metrics = regulariser(params)
        return td_loss + reg.sum(), (q, td_loss, reg_metrics)

    (_, (q, td_loss, reg_metrics)), grads = jax.value_and_grad(loss_fn, has_aux=True)(critic.params)
    critic = soft_update(apply_gradients(critic, grads, tx, learning_rate), tau)
    metrics = {
        "critic_loss": td_loss / q.shape[0],
        "q_mean": q.mean(),
        "target_mean": target.mean(),
        "td_abs": jnp.abs(q - target[None]).mean(),
        **reg_metrics,
    }
    return critic, metrics


def utd_critic_updates(
    state: Any,
    batch: Batch,
    key: jax.Array,
    target_fn: Callable[[Any, Batch, jax.Array], jax.Array],
    apply_fn: Callable,
    tx: optax.GradientTransformation,
    loss: CriticLoss,
    learning_rate: jax.Array,
    tau: jax.Array,
    regulariser_fn: Callable[[Any, Batch, jax.Array], Callable] | None = None,
    weight_fn: Callable[[Any, Batch], jax.Array] | None = None,
) -> tuple[Any, dict[str, jax.Array]]:
    """One critic step per minibatch along `batch`'s leading (UTD) axis, as a scan.

    `state` is any agent state with a `critic` field; `target_fn(state, minibatch, key)`
    forms the TD target from the state as it stands before each step, and
    `regulariser_fn(state, minibatch, key)` (optional) returns the `regulariser` of
    `critic_regression_step`, and `weight_fn(state, minibatch)` (optional) its per-example
    `weights`. Returns the state with the new critic and the metrics of the last step.
    """
    num_updates = jax.tree.leaves(batch)[0].shape[0]

    def step(critic, xs):
        minibatch, k = xs
        k_target, k_reg = jax.random.split(k) if regulariser_fn is not None else (k, None)
        current = state.replace(critic=critic)
        target = target_fn(current, minibatch, k_target)
        reg = regulariser_fn(current, minibatch, k_reg) if regulariser_fn is not None else None
        weights = weight_fn(current, minibatch) if weight_fn is not None else None
        return critic_regression_step(critic, apply_fn, tx, loss, minibatch, target, learning_rate, tau, reg, weights)

    critic, metrics = jax.lax.scan(step, state.critic, (batch, jax.random.split(key, num_updates)))
    return state.replace(critic=critic), {k: v[-1] for k, v in metrics.items()}
