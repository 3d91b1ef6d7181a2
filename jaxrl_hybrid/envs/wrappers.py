"""Wrappers: auto-reset that keeps the true final observation, and episode statistics."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from jaxrl_hybrid.envs.core import Env, StepResult


class Wrapper(Env):
    """Forwards spec and default params to the wrapped env."""

    def __init__(self, env: Env):
        self.env = env
        self.spec = env.spec
        self.default_params = env.default_params

    def params_with(self, **overrides: Any) -> Any:
        return self.env.params_with(**overrides)


def _select(pred: jax.Array, on_true: Any, on_false: Any) -> Any:
    return jax.tree.map(lambda a, b: jnp.where(pred, a, b), on_true, on_false)


class AutoReset(Wrapper):
    """Resets the env when an episode ends, in the same step.

    The returned `obs` is the first observation of the new episode; `info["final_obs"]` is
    the true next observation of the step that ended the episode (equal to `obs` when it
    did not end), so a TD target can bootstrap from it after a truncation.
    """

    def reset(self, key: jax.Array, params: Any) -> tuple[jax.Array, Any]:
        return self.env.reset(key, params)

    def step(self, key: jax.Array, state: Any, action: jax.Array, params: Any) -> StepResult:
        key_step, key_reset = jax.random.split(key)
        res = self.env.step(key_step, state, action, params)
        done = jnp.logical_or(res.terminated, res.truncated)
        reset_obs, reset_state = self.env.reset(key_reset, params)
        obs = _select(done, reset_obs, res.obs)
        state = _select(done, reset_state, res.state)
        info = {**res.info, "final_obs": res.obs}
        return StepResult(obs, state, res.reward, res.terminated, res.truncated, info)


@struct.dataclass
class EpisodeStatsState:
    inner: Any
    episode_return: jax.Array
    episode_length: jax.Array
    last_return: jax.Array
    last_length: jax.Array


class EpisodeStats(Wrapper):
    """Accumulates episode return and length.

    `info["episode_done"]` flags steps that end an episode; on those steps
    `info["episode_return"]` / `info["episode_length"]` hold the finished episode's totals
    (between episodes they hold the last finished one's).
    """

    def reset(self, key: jax.Array, params: Any) -> tuple[jax.Array, EpisodeStatsState]:
        obs, inner = self.env.reset(key, params)
        zero_f, zero_i = jnp.zeros((), jnp.float32), jnp.zeros((), jnp.int32)
        return obs, EpisodeStatsState(inner, zero_f, zero_i, zero_f, zero_i)

    def step(self, key: jax.Array, state: EpisodeStatsState, action: jax.Array, params: Any) -> StepResult:
        res = self.env.step(key, state.inner, action, params)
        done = jnp.logical_or(res.terminated, res.truncated)
        ep_return = state.episode_return + res.reward
        ep_length = state.episode_length + 1
        new_state = EpisodeStatsState(
            inner=res.state,
            episode_return=jnp.where(done, 0.0, ep_return),
            episode_length=jnp.where(done, 0, ep_length),
            last_return=jnp.where(done, ep_return, state.last_return),
            last_length=jnp.where(done, ep_length, state.last_length),
        )
        info = {
            **res.info,
            "episode_done": done,
            "episode_return": new_state.last_return,
            "episode_length": new_state.last_length,
        }
        return StepResult(res.obs, new_state, res.reward, res.terminated, res.truncated, info)


def wrap_for_training(env: Env) -> Env:
    """The stack every training loop uses: episode statistics over auto-reset."""
    return EpisodeStats(AutoReset(env))


@struct.dataclass
class StickyState:
    inner: Any
    last_action: jax.Array
    started: jax.Array  # an action was taken this episode (the first step has none to repeat)


@struct.dataclass
class StickyParams:
    inner: Any
    prob: jax.Array  # traced: a grid over it is one program


class StickyActions(Wrapper):
    """Sticky actions (Machado et al., 2018): at every step but an episode's first, the env
    repeats the previous action instead of the agent's with probability `prob` (ALE v5 and the
    effective-horizon paper's stochastic variants use 0.25). The action actually executed is
    `info["executed_action"]`; the transition is still recorded with the agent's action.
    `make_env(name, sticky_actions=p)` (the CLI's `--env-override sticky_actions=p`) applies it;
    gymnax's MinAtar ports have no sticky actions of their own, so they take this one too."""

    def __init__(self, env: Env, prob: float):
        super().__init__(env)
        check_sticky_prob(prob)
        self.default_params = StickyParams(env.default_params, jnp.float32(prob))

    def _fresh(self, inner: Any) -> StickyState:
        """The wrapper's state around `inner` before any action of the episode."""
        shape = () if self.spec.discrete else (self.spec.action_dim,)
        dtype = jnp.int32 if self.spec.discrete else jnp.float32
        return StickyState(inner, jnp.zeros(shape, dtype), jnp.zeros((), jnp.bool_))

    def reset(self, key: jax.Array, params: StickyParams) -> tuple[jax.Array, StickyState]:
        obs, inner = self.env.reset(key, params.inner)
        return obs, self._fresh(inner)

    def state_from_obs(self, obs: jax.Array, params: StickyParams) -> StickyState:
        """The inner env's state observed as `obs`, with no previous action to repeat."""
        return self._fresh(self.env.state_from_obs(obs, params.inner))

    def step(self, key: jax.Array, state: StickyState, action: jax.Array, params: StickyParams) -> StepResult:
        key_stick, key_step = jax.random.split(key)
        stick = state.started & (jax.random.uniform(key_stick) < params.prob)
        executed = jnp.where(stick, state.last_action, action.astype(state.last_action.dtype))
        res = self.env.step(key_step, state.inner, executed, params.inner)
        new_state = StickyState(res.state, executed, jnp.ones((), jnp.bool_))
        info = {**res.info, "executed_action": executed}
        return StepResult(res.obs, new_state, res.reward, res.terminated, res.truncated, info)

    def params_with(self, **overrides: Any) -> StickyParams:
        prob = overrides.pop("sticky_actions", self.default_params.prob)
        check_sticky_prob(prob)
        return StickyParams(self.env.params_with(**overrides), jnp.float32(prob))


def check_sticky_prob(prob: float) -> None:
    if not 0.0 <= float(prob) < 1.0:
        raise ValueError(f"sticky_actions={prob}: expected a probability in [0, 1)")
