"""gymnax environments behind the jaxrl_hybrid API."""

from __future__ import annotations

import dataclasses
from typing import Any

import gymnax
import jax
import jax.numpy as jnp
import numpy as np
from gymnax.environments import spaces

from jaxrl_hybrid.envs.core import Env, StepResult, rescale_action
from jaxrl_hybrid.types import EnvSpec

# Friendly names for gymnax EnvParams fields, per env (the gymnax name always works too).
PARAM_ALIASES: dict[str, dict[str, str]] = {
    "Pendulum-v1": {"gravity": "g", "mass": "m", "length": "l"},
    "CartPole-v1": {"mass_cart": "masscart", "mass_pole": "masspole", "length_pole": "length"},
    "MountainCarContinuous-v0": {},
}


def _cartpole_derived(params: Any) -> Any:
    # CartPole stores sums/products of its masses and length; keep them consistent.
    return params.replace(
        total_mass=params.masscart + params.masspole,
        polemass_length=params.masspole * params.length,
    )


DERIVED_PARAMS = {"CartPole-v1": _cartpole_derived}


def _pendulum_state(env, obs):
    theta = jnp.arctan2(obs[1], obs[0])
    return env.EnvState(theta=theta, theta_dot=obs[2], last_u=jnp.zeros(()), time=0)


def _cartpole_state(env, obs):
    return env.EnvState(x=obs[0], x_dot=obs[1], theta=obs[2], theta_dot=obs[3], time=0)


def _mountain_car_state(env, obs):
    return env.EnvState(position=obs[0], velocity=obs[1], time=0)


# Envs whose observation is their whole state (up to the time step): obs -> gymnax EnvState.
STATE_FROM_OBS = {
    "Pendulum-v1": _pendulum_state,
    "CartPole-v1": _cartpole_state,
    "MountainCarContinuous-v0": _mountain_car_state,
}


def registered_names() -> list[str]:
    return list(gymnax.registered_envs)


def apply_overrides(env_id: str, params: Any, overrides: dict[str, Any]) -> Any:
    """Return `params` with `overrides` applied; unknown fields raise naming the valid ones."""
    if not overrides:
        return params
    aliases = PARAM_ALIASES.get(env_id, {})
    fields = [f.name for f in dataclasses.fields(params)]
    changes = {}
    for key, value in overrides.items():
        field = aliases.get(key, key)
        if field not in fields:
            known = sorted(set(fields) | set(aliases))
            raise ValueError(f"gymnax:{env_id} has no dynamics parameter {key!r}; expected one of {known}")
        default = getattr(params, field)
        if isinstance(default, int) and not isinstance(default, bool):
            if float(value) != int(value):
                raise ValueError(f"gymnax:{env_id} parameter {key!r} must be an integer, got {value}")
            value = int(value)
        changes[field] = value
    params = params.replace(**changes)
    derive = DERIVED_PARAMS.get(env_id)
    return derive(params) if derive else params


class GymnaxEnv(Env):
    """A gymnax env with separate terminated/truncated flags and actions in [-1, 1]."""

    def __init__(self, env_id: str, overrides: dict[str, Any] | None = None):
        self.env_id = env_id
        self._env, base_params = gymnax.make(env_id)
        self._base_params = base_params
        self.default_params = apply_overrides(env_id, base_params, overrides or {})
        action_space = self._env.action_space(self.default_params)
        obs_shape = tuple(self._env.observation_space(self.default_params).shape)
        if isinstance(action_space, spaces.Discrete):
            discrete, action_dim = True, int(action_space.n)
            self._low = self._high = None
            self._action_shape = ()
        elif isinstance(action_space, spaces.Box):
            discrete, action_dim = False, int(np.prod(action_space.shape))
            self._action_shape = tuple(action_space.shape)
            # Bounds are fixed when the env is made, so a "real" params with a weaker
            # motor saturates the same command instead of silently rescaling it.
            self._low = jnp.broadcast_to(jnp.asarray(action_space.low, jnp.float32), (action_dim,))
            self._high = jnp.broadcast_to(jnp.asarray(action_space.high, jnp.float32), (action_dim,))
        else:
            raise ValueError(f"gymnax:{env_id} has an unsupported action space {action_space}")
        self.spec = EnvSpec(
            name=f"gymnax:{env_id}",
            obs_shape=obs_shape,
            action_dim=action_dim,
            discrete=discrete,
            max_episode_steps=int(self.default_params.max_steps_in_episode),
        )

    def reset(self, key: jax.Array, params: Any) -> tuple[jax.Array, Any]:
        obs, state = self._env.reset_env(key, params)
        return obs.astype(jnp.float32), state

    def params_with(self, **overrides: Any) -> Any:
        return apply_overrides(self.env_id, self._base_params, overrides)

    def state_from_obs(self, obs: jax.Array, params: Any) -> Any:
        """The gymnax state observed as `obs`, at time step 0 (Pendulum, CartPole, MountainCarContinuous)."""
        if self.env_id not in STATE_FROM_OBS:
            return super().state_from_obs(obs, params)
        module = __import__(type(self._env).__module__, fromlist=["EnvState"])
        return STATE_FROM_OBS[self.env_id](module, jnp.asarray(obs, jnp.float32))

    def step(self, key: jax.Array, state: Any, action: jax.Array, params: Any) -> StepResult:
        if self.spec.discrete:
            env_action = action.astype(jnp.int32)
        else:
            env_action = rescale_action(action, self._low, self._high).reshape(self._action_shape)
        obs, state, reward, terminated, info = self._env.step_env(key, state, env_action, params)
        terminated = jnp.asarray(terminated, jnp.bool_)
        truncated = jnp.logical_and(self._env.is_truncated(state, params), ~terminated)
        return StepResult(
            obs.astype(jnp.float32),
            state,
            jnp.asarray(reward, jnp.float32).reshape(()),
            terminated.reshape(()),
            truncated.reshape(()),
            {},
        )
