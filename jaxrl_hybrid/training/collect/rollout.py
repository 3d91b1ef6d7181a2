"""Rollouts of a policy in `num_envs` auto-resetting envs, in one scan, stored env-major."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl_hybrid.envs.core import Env
from jaxrl_hybrid.envs.wrappers import AutoReset
from jaxrl_hybrid.types import Transition


def with_actor(state, actor_params):
    """`state` acting with `actor_params` (SAC and TD3 states keep the actor in `state.actor`)."""
    return state.replace(actor=state.actor.replace(params=actor_params))


def rollout(
    env: Env,
    env_params: Any,
    policy: Callable[[jax.Array, jax.Array], jax.Array],
    key: jax.Array,
    num_envs: int,
    num_steps: int,
) -> Transition:
    """`num_steps` steps of `num_envs` auto-resetting envs under `policy(obs, key) -> action`.

    Returns transitions shaped (num_envs, num_steps, ...): env-major, each stream contiguous,
    its last step marked truncated unless it terminated. Pure and jittable.
    """
    stepper = AutoReset(env)
    key_reset, key_steps = jax.random.split(key)
    obs, state = jax.vmap(stepper.reset, in_axes=(0, None))(jax.random.split(key_reset, num_envs), env_params)

    def step(carry, key_t):
        obs, state = carry
        key_policy, key_env = jax.random.split(key_t)
        action = policy(obs, key_policy)
        res = jax.vmap(stepper.step, in_axes=(0, 0, 0, None))(
            jax.random.split(key_env, num_envs), state, action, env_params
        )
        transition = Transition(obs, action, res.reward, res.info["final_obs"], res.terminated, res.truncated)
        return (res.obs, res.state), transition

    _, traj = jax.lax.scan(step, (obs, state), jax.random.split(key_steps, num_steps))
    traj = jax.tree.map(lambda x: jnp.swapaxes(x, 0, 1), traj)
    last = jnp.arange(num_steps) == num_steps - 1
    traj = traj.replace(truncated=traj.truncated | (last[None, :] & ~traj.terminated))
    return traj.replace(next_obs=stitch_next_obs(traj.obs, traj.next_obs, traj.terminated | traj.truncated, xp=jnp))


def stitch_next_obs(obs, next_obs, done, xp=np):
    """next_obs[..., t] := obs[..., t+1] wherever step t did not end an episode (time on axis 1, or 0 if 1-D).

    The env's `final_obs` and the carried observation are the same number computed in two XLA
    fusions and can differ in the last bit; stored data must chain exactly (Minari keeps a
    single observation sequence per episode).
    """
    axis = 1 if done.ndim == 2 else 0
    n = done.shape[axis]
    head = lambda x: xp.take(x, xp.arange(n - 1), axis=axis)
    tail = lambda x: xp.take(x, xp.arange(1, n), axis=axis)
    keep = head(done).reshape(head(done).shape + (1,) * (obs.ndim - done.ndim))
    inner = xp.where(keep, head(next_obs), tail(obs))
    return xp.concatenate([inner, xp.take(next_obs, xp.arange(n - 1, n), axis=axis)], axis=axis)


def rollout_shape(size: int, max_episode_steps: int, max_envs: int) -> tuple[int, int]:
    """(num_envs, num_steps) covering `size` steps, streams a whole number of episodes long."""
    num_envs = int(np.clip(size // max(max_episode_steps, 1), 1, max_envs))
    steps = math.ceil(size / num_envs)
    return num_envs, math.ceil(steps / max_episode_steps) * max_episode_steps


def _uniform_policy(spec):
    def policy(obs, key):
        if spec.discrete:
            return jax.random.randint(key, obs.shape[:1], 0, spec.action_dim)
        return jax.random.uniform(key, (obs.shape[0], spec.action_dim), minval=-1.0, maxval=1.0)

    return policy
