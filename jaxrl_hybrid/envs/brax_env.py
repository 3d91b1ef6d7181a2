"""brax environments behind the jaxrl_hybrid API, with gravity and friction as traced params."""

from __future__ import annotations

import copy
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from jaxrl_hybrid.envs.core import Env, StepResult
from jaxrl_hybrid.types import EnvSpec

DEFAULT_EPISODE_STEPS = 1000
BRAX_PARAM_NAMES = ("gravity", "friction", "max_steps_in_episode")


@struct.dataclass
class BraxParams:
    """Dynamics of a brax env as data: the gravity vector, a friction multiplier, time limit."""

    gravity: jax.Array
    friction: jax.Array
    max_steps_in_episode: int = struct.field(pytree_node=False, default=DEFAULT_EPISODE_STEPS)


@struct.dataclass
class BraxEnvState:
    inner: Any
    time: jax.Array


def brax_envs():
    """`brax.envs`, imported without the "Failed to import warp" line that mujoco.mjx prints to
    stdout when the optional NVIDIA warp package is absent (it is not needed here)."""
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        from brax import envs

    return envs


def registered_names() -> list[str]:
    return sorted(brax_envs()._envs)  # brax keeps its registry in this dict


class BraxEnv(Env):
    """A brax env; `gravity` (scalar z or 3-vector) and `friction` (multiplier) are params."""

    def __init__(self, env_id: str, overrides: dict[str, Any] | None = None, backend: str | None = None):
        kwargs = {"backend": backend} if backend else {}
        self.env_id = env_id
        self._env = brax_envs().get_environment(env_id, **kwargs)
        self._base_sys = self._env.sys
        self._base_friction = jnp.asarray(self._base_sys.geom_friction)
        params = BraxParams(
            gravity=jnp.asarray(self._base_sys.opt.gravity, jnp.float32),
            friction=jnp.asarray(1.0, jnp.float32),
        )
        self._base_params = params
        self.default_params = apply_overrides(env_id, params, overrides or {})
        self.spec = EnvSpec(
            name=f"brax:{env_id}",
            obs_shape=(int(self._env.observation_size),),
            action_dim=int(self._env.action_size),
            discrete=False,
            max_episode_steps=int(self.default_params.max_steps_in_episode),
        )

    def params_with(self, **overrides: Any) -> BraxParams:
        return apply_overrides(self.env_id, self._base_params, overrides)

    def _with_params(self, params: BraxParams):
        sys = self._base_sys.replace(
            gravity=params.gravity,
            opt=self._base_sys.opt.replace(gravity=params.gravity),
            geom_friction=self._base_friction * params.friction,
        )
        env = copy.copy(self._env)  # shallow: only `sys` differs, and only inside this trace
        env.sys = sys
        return env

    def reset(self, key: jax.Array, params: BraxParams) -> tuple[jax.Array, BraxEnvState]:
        inner = self._with_params(params).reset(key)
        return inner.obs, BraxEnvState(inner=inner, time=jnp.zeros((), jnp.int32))

    def step(self, key: jax.Array, state: BraxEnvState, action: jax.Array, params: BraxParams) -> StepResult:
        del key  # brax dynamics are deterministic
        inner = self._with_params(params).step(state.inner, jnp.clip(action, -1.0, 1.0))
        time = state.time + 1
        terminated = inner.done > 0.5
        truncated = jnp.logical_and(time >= params.max_steps_in_episode, ~terminated)
        return StepResult(inner.obs, BraxEnvState(inner=inner, time=time), inner.reward, terminated, truncated, {})


def apply_overrides(env_id: str, params: BraxParams, overrides: dict[str, Any]) -> BraxParams:
    """Apply `gravity=` (z component or 3-vector), `friction=` (multiplier) and a time limit."""
    changes = {}
    for key, value in overrides.items():
        if key == "gravity":
            g = jnp.asarray(value, jnp.float32)
            changes["gravity"] = params.gravity.at[2].set(-jnp.abs(g)) if g.ndim == 0 else g
        elif key == "friction":
            changes["friction"] = jnp.asarray(value, jnp.float32)
        elif key == "max_steps_in_episode":
            changes["max_steps_in_episode"] = int(value)
        else:
            raise ValueError(
                f"brax:{env_id} has no dynamics parameter {key!r}; expected one of {list(BRAX_PARAM_NAMES)}"
            )
    return params.replace(**changes)
