"""Deterministic evaluation episodes, run as one batched scan."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxrl_hybrid.envs.core import Env


def evaluate(
    key: jax.Array,
    env: Env,
    env_params: Any,
    policy: Callable[[jax.Array, jax.Array], jax.Array],
    num_episodes: int,
) -> jax.Array:
    """Returns of `num_episodes` episodes run in parallel with `policy(obs, key) -> action`.

    Each episode runs until it terminates or is truncated (at most `env.spec.max_episode_steps`
    steps); rewards after that are ignored. Returns shape (num_episodes,).
    """
    key_reset, key_steps = jax.random.split(key)
    obs, state = jax.vmap(env.reset, in_axes=(0, None))(jax.random.split(key_reset, num_episodes), env_params)
    step_keys = jax.random.split(key_steps, env.spec.max_episode_steps)

    def step(carry):
        t, obs, state, ret, alive = carry
        key_policy, key_env = jax.random.split(step_keys[t])
        action = policy(obs, key_policy)
        res = jax.vmap(env.step, in_axes=(0, 0, 0, None))(
            jax.random.split(key_env, num_episodes), state, action, env_params
        )
        ret = ret + jnp.where(alive, res.reward, 0.0)
        alive = alive & ~(res.terminated | res.truncated)
        return t + 1, res.obs, res.state, ret, alive

    # Stops when every episode has ended (the same returns as running to the time limit: rewards
    # after an episode's end are not counted), so terminating envs cost only their episodes' steps.
    init = (jnp.zeros((), jnp.int32), obs, state, jnp.zeros(num_episodes), jnp.ones(num_episodes, bool))
    limit = env.spec.max_episode_steps
    *_, returns, _ = jax.lax.while_loop(lambda c: (c[0] < limit) & jnp.any(c[4]), step, init)
    return returns
