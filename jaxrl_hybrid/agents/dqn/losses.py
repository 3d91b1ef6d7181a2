"""DQN's pure, unreduced objective: the n-step (double) Q-learning target and its loss."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrl_hybrid.agents.common.qlearning import greedy_bootstrap
from jaxrl_hybrid.losses.critic import CriticLoss
from jaxrl_hybrid.losses.td import n_step_return


def n_step_window(window, gamma: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """The n-step return of windows of n consecutive steps (leaves (..., n, ...)), its bootstrap
    discount, and the observation it bootstraps from: the true next observation of the window's
    first terminated or truncated step, or of its last step (`losses.td.n_step_return`). Only
    that observation goes through the networks."""
    ret, discount, last = n_step_return(window.reward, window.terminated, window.truncated, gamma)
    index = last.reshape(last.shape + (1,) * (window.next_obs.ndim - last.ndim))
    next_obs = jnp.take_along_axis(window.next_obs, index, axis=last.ndim)[(slice(None),) * last.ndim + (0,)]
    return ret, discount, next_obs


def n_step_target(
    loss: CriticLoss,
    ret: jax.Array,
    discount: jax.Array,
    next_online: jax.Array,
    next_target: jax.Array,
    double: bool,
) -> jax.Array:
    """The target `ret + discount * bootstrap` of an n-step window (`n_step_window`).

    `next_online` / `next_target`: the online and target heads' outputs (..., A, D) at the
    window's bootstrap observation. The bootstrap is the greedy action's target, selected by the
    online head when `double` (double DQN) or by the target head, read from the target head; a
    discount of 0 (a termination) drops it. A scalar per window, or C51's projected distribution
    (..., num_bins).
    """
    select = next_online if double else next_target
    bootstrap = greedy_bootstrap(loss, select, next_target)
    return jax.lax.stop_gradient(loss.backup(ret, discount, bootstrap))
