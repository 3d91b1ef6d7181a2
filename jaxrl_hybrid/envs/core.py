"""The one stateless environment API every env, wrapper and loop in jaxrl_hybrid speaks.

    obs, state = env.reset(key, params)
    obs, state, reward, terminated, truncated, info = env.step(key, state, action, params)

`params` holds the dynamics (a pytree of arrays: gravity, masses, time limit), so a
simulator and its "real" counterpart are one env with two params, and both can be vmapped.
`terminated` means the MDP ended (no bootstrap); `truncated` means a time limit cut it.
Continuous actions are in [-1, 1]; each env rescales them to its own bounds.
"""

from __future__ import annotations

import abc
from typing import Any, NamedTuple

import jax

from jaxrl_hybrid.types import EnvSpec


class StepResult(NamedTuple):
    """What `Env.step` returns; unpacks as (obs, state, reward, terminated, truncated, info)."""

    obs: jax.Array
    state: Any
    reward: jax.Array
    terminated: jax.Array
    truncated: jax.Array
    info: dict[str, Any]


class Env(abc.ABC):
    """Base class: subclasses set `spec` and `default_params` and implement reset / step."""

    spec: EnvSpec
    default_params: Any

    @abc.abstractmethod
    def reset(self, key: jax.Array, params: Any) -> tuple[jax.Array, Any]:
        """First observation and state of an episode."""

    @abc.abstractmethod
    def step(self, key: jax.Array, state: Any, action: jax.Array, params: Any) -> StepResult:
        """One transition; does not reset (wrap in `AutoReset` for that)."""

    @property
    def name(self) -> str:
        return self.spec.name

    @abc.abstractmethod
    def params_with(self, **overrides: Any) -> Any:
        """This env's unmodified dynamics params with `overrides` applied (no new env is built)."""

    def state_from_obs(self, obs: jax.Array, params: Any) -> Any:
        """The env state whose observation is `obs` (where the observation is the full state).

        Comparing two dynamics from the same (s, a), as the true sim-to-real gap does, needs it.
        """
        raise NotImplementedError(
            f"{self.name}: rebuilding an env state from an observation is not implemented for this env"
        )

    def step_from_obs(self, key: jax.Array, obs: jax.Array, action: jax.Array, params: Any) -> StepResult:
        """One transition from the state that `obs` observes (see `state_from_obs`)."""
        return self.step(key, self.state_from_obs(obs, params), action, params)


def rescale_action(action: jax.Array, low: jax.Array, high: jax.Array) -> jax.Array:
    """Map an action in [-1, 1] onto [low, high] (actions outside are clipped first)."""
    action = jax.numpy.clip(action, -1.0, 1.0)
    return low + 0.5 * (action + 1.0) * (high - low)
