"""DQN's pure, unreduced objective: the n-step (double) Q-learning target and its loss."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrl_hybrid.agents.common.qlearning import greedy_bootstrap
from jaxrl_hybrid.losses.critic import CriticLoss
from jaxrl_hybrid.losses.td import n_step_return


def n_step_target(
    loss: CriticLoss,
    window,
    next_online: jax.Array,
    next_target: jax.Array,
    gamma: jax.Array,
    double: bool,
) -> jax.Array:
    """The target of windows of n consecutive steps (leaves (..., n, ...)).

    `next_online` / `next_target`: the online and target heads' outputs at every step's true next
    observation, (..., n, A, D). The n-step return runs to the window's first terminated or
    truncated step; from that step's next observation it bootstraps the greedy action's target
    (selected by the online head when `double`, as double DQN; by the target head otherwise),
    times gamma^k, or nothing after a termination. A scalar per window, or C51's projected
    distribution (..., num_bins).
    """
    ret, discount, last = n_step_return(window.reward, window.terminated, window.truncated, gamma)

    def at_last(x):  # (..., n, A, D) -> (..., A, D) at each window's last step
        return jnp.take_along_axis(x, last[..., None, None, None], axis=-3)[..., 0, :, :]

    select = at_last(next_online if double else next_target)
    bootstrap = greedy_bootstrap(loss, select, at_last(next_target))
    return jax.lax.stop_gradient(loss.backup(ret, discount, bootstrap))
