"""Multi-agent envs for multi-agent imitation: JaxMARL's MPE (Lowe et al., 2017), as stacked arrays.

JaxMARL (`jaxmarl`, locked) keeps per-agent dicts and resets inside `step`; here an `MPE` env
returns observations (num_agents, obs_dim), rewards (num_agents,) and steps without resetting, so
that every episode's last transition keeps its true next observation. MPE episodes end only by
their time limit (`episode_steps`, MPE's 25): `rollout_episodes` runs whole episodes.

The default is `MPE_simple_spread_v3` with two agents and two landmarks, a cooperative task: each
agent is rewarded by how well the landmarks are covered and penalised for its collisions (with two
agents a collision is both agents', so their rewards coincide). `spread_expert` is a scripted
demonstrator: agent i steers to landmark i.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxrl_hybrid.envs.quiet import quiet_fd


@dataclasses.dataclass(frozen=True)
class MultiAgentSpec:
    name: str
    num_agents: int
    obs_dim: int
    num_actions: int
    episode_steps: int


class MPE:
    """A JaxMARL MPE env with discrete actions (0 stay, 1 left, 2 right, 3 down, 4 up)."""

    def __init__(self, name: str = "MPE_simple_spread_v3", num_agents: int = 2, num_landmarks: int = 2, **kwargs):
        with quiet_fd(1):  # jaxmarl's import prints about optional submodules (a package it imports
            from jaxmarl import make  # swaps sys.stdout, so only the file descriptor can be muted)

        self.env = make(name, num_agents=num_agents, num_landmarks=num_landmarks, **kwargs)
        self.agents = list(self.env.agents)
        space = self.env.observation_space(self.agents[0])
        self.spec = MultiAgentSpec(
            name=name,
            num_agents=num_agents,
            obs_dim=int(space.shape[0]),
            num_actions=int(self.env.action_space(self.agents[0]).n),
            episode_steps=int(self.env.max_steps),
        )
        self.num_landmarks = num_landmarks

    def _stack(self, per_agent: dict) -> jax.Array:
        return jnp.stack([per_agent[a] for a in self.agents])

    def reset(self, key: jax.Array) -> tuple[jax.Array, Any]:
        obs, state = self.env.reset(key)
        return self._stack(obs), state

    def step(self, key: jax.Array, state: Any, actions: jax.Array) -> tuple[jax.Array, Any, jax.Array]:
        """One step without auto-reset: (next observations, state, rewards (num_agents,))."""
        obs, state, rewards, _, _ = self.env.step_env(key, state, {a: actions[i] for i, a in enumerate(self.agents)})
        return self._stack(obs), state, self._stack(rewards)


def rollout_episodes(env: MPE, policy: Callable, key: jax.Array, num_episodes: int) -> dict[str, jax.Array]:
    """`num_episodes` whole episodes of `policy(obs (num_agents, obs_dim), key) -> actions
    (num_agents,)`: `obs`, `actions`, `rewards`, `next_obs` shaped (episodes, steps, agents, ...)
    and `terminated` (episodes, steps), all False (MPE episodes end by their time limit). Pure."""

    def episode(key):
        key_reset, key_steps = jax.random.split(key)
        obs, state = env.reset(key_reset)

        def step(carry, k):
            obs, state = carry
            k_policy, k_env = jax.random.split(k)
            actions = policy(obs, k_policy)
            next_obs, state, rewards = env.step(k_env, state, actions)
            return (next_obs, state), {"obs": obs, "actions": actions, "rewards": rewards, "next_obs": next_obs}

        _, traj = jax.lax.scan(step, (obs, state), jax.random.split(key_steps, env.spec.episode_steps))
        return traj

    traj = jax.vmap(episode)(jax.random.split(key, num_episodes))
    traj["terminated"] = jnp.zeros(traj["rewards"].shape[:2], bool)
    return traj


def spread_expert(env: MPE, noise: float = 0.0) -> Callable:
    """A scripted simple_spread demonstrator: agent i accelerates along the axis on which landmark
    i (relative position, minus the velocity it will still travel) is farthest; with probability
    `noise` an agent takes a uniform action instead."""
    n_actions = env.spec.num_actions

    def policy(obs: jax.Array, key: jax.Array) -> jax.Array:
        error = _own_landmark(obs) - 0.5 * obs[:, 0:2]  # damp: aim where it will be
        along_x = jnp.abs(error[:, 0]) >= jnp.abs(error[:, 1])
        action = jnp.where(along_x, jnp.where(error[:, 0] > 0, 2, 1), jnp.where(error[:, 1] > 0, 4, 3))
        key_explore, key_action = jax.random.split(key)
        explore = jax.random.uniform(key_explore, action.shape) < noise
        return jnp.where(explore, jax.random.randint(key_action, action.shape, 0, n_actions), action).astype(jnp.int32)

    return policy


def _own_landmark(obs: jax.Array) -> jax.Array:
    """Each agent's own landmark's relative position (agent i takes landmark i): (agents, 2)."""
    i = jnp.arange(obs.shape[0])
    return jnp.stack([obs[i, 4 + 2 * i], obs[i, 5 + 2 * i]], axis=-1)


def transitions(traj: dict[str, jax.Array]) -> dict[str, jax.Array]:
    """`rollout_episodes`' (episodes, steps, ...) arrays as rows of transitions (episodes * steps, ...)."""
    return {k: v.reshape(-1, *v.shape[2:]) for k, v in traj.items()}
