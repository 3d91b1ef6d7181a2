"""`mjx:HalfCheetah-v5`, `mjx:Hopper-v5`, `mjx:Walker2d-v5`: gymnasium's own MuJoCo models run by
MJX (`mujoco.mjx`) inside the compiled program, with gymnasium's observation, reward, termination
and reset-noise definitions, so that training, evaluation and fine-tuning on data recorded in
gymnasium stay one vmapped program.

The model is the one gymnasium compiles from its XML asset (`gym.make(id).unwrapped.model`,
with any `gym.make` keyword argument as an override, as for `gymnasium:`), moved to JAX with
`mjx.put_model`; a step sets the controls and runs `frame_skip` `mjx.step`s. What is computed from
the state follows gymnasium 1.x's v5 envs line by line (gymnasium/envs/mujoco/*_v5.py):

- HalfCheetah: obs = (qpos[1:], qvel); reward = forward weight x (x_after - x_before) / dt -
  ctrl weight x |a|^2; never terminates; reset qpos + U(-0.1, 0.1), qvel + 0.1 N(0, 1).
- Hopper: obs = (qpos[1:], clip(qvel, -10, 10)); reward = forward + healthy reward x healthy -
  1e-3 |a|^2; terminated when unhealthy (z = qpos[1] <= 0.7, |angle = qpos[2]| >= 0.2, or any of
  (qpos, qvel)[2:] outside (-100, 100)); reset qpos, qvel + U(-5e-3, 5e-3).
- Walker2d: as Hopper with healthy z in (0.8, 2.0), angle in (-1, 1), no state range.

Where MJX stands in: MJX computes in float32 (gymnasium's MuJoCo in float64) and its contact
solver differs from MuJoCo C's in detail, so trajectories drift apart over time, fastest where
contacts decide the motion. `benchmarks/mjx_agreement.py` measures the per-step observation error
and return difference against gymnasium from the same initial state and actions
(benchmarks/README.md states the figures); the `gymnasium:` backend stays the reference. Reset
noise is drawn from the JAX key, not gymnasium's generator: `reset_to(qpos, qvel)` starts from a
given state.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxrl_hybrid.envs.core import Env, StepResult
from jaxrl_hybrid.envs.quiet import mujoco_warnings, quiet_fd
from jaxrl_hybrid.types import EnvSpec


@dataclasses.dataclass(frozen=True)
class Task:
    """gymnasium's v5 definitions of one locomotion task (their defaults)."""

    vel_clip: float | None  # observations clip qvel to +-vel_clip (Hopper, Walker2d)
    forward_reward_weight: float = 1.0
    ctrl_cost_weight: float = 1e-3
    healthy_reward: float = 0.0
    healthy_z_range: tuple[float, float] | None = None
    healthy_angle_range: tuple[float, float] | None = None
    healthy_state_range: tuple[float, float] | None = None
    reset_noise_scale: float = 5e-3
    normal_velocity_noise: bool = False  # HalfCheetah: qvel + scale N(0, 1); the others U(-scale, scale)


TASKS: dict[str, Task] = {
    "HalfCheetah-v5": Task(vel_clip=None, ctrl_cost_weight=0.1, reset_noise_scale=0.1, normal_velocity_noise=True),
    "Hopper-v5": Task(
        vel_clip=10.0,
        healthy_reward=1.0,
        healthy_z_range=(0.7, float("inf")),
        healthy_angle_range=(-0.2, 0.2),
        healthy_state_range=(-100.0, 100.0),
    ),
    "Walker2d-v5": Task(vel_clip=10.0, healthy_reward=1.0, healthy_z_range=(0.8, 2.0), healthy_angle_range=(-1.0, 1.0)),
}
# gym.make arguments that set a Task field; the rest (xml_file, frame_skip) go to gym.make
TASK_KWARGS = {f.name for f in dataclasses.fields(Task)} - {"vel_clip", "normal_velocity_noise"}


@struct.dataclass
class MjxParams:
    max_steps_in_episode: int = struct.field(pytree_node=False, default=1000)


@struct.dataclass
class MjxState:
    data: Any  # mjx.Data
    time: jax.Array
    done: jax.Array


def _mjx():
    with quiet_fd(1):  # mujoco.mjx prints "Failed to import warp" without NVIDIA's optional package
        from mujoco import mjx
    return mjx


class MjxEnv(Env):
    """One of gymnasium's MuJoCo locomotion tasks in MJX (see the module docstring)."""

    def __init__(self, env_id: str, overrides: dict[str, Any] | None = None):
        import gymnasium as gym

        if env_id not in TASKS:
            raise ValueError(f"mjx:{env_id}: no MJX port; ported tasks: {sorted(TASKS)}")
        overrides = dict(overrides or {})
        limit = int(overrides.pop("max_steps_in_episode", None) or gym.spec(env_id).max_episode_steps or 1000)
        overrides = {k: v for k, v in overrides.items() if k not in ("render_mode",)}
        task_fields = {k: (tuple(v) if isinstance(v, list) else v) for k, v in overrides.items() if k in TASK_KWARGS}
        self.task = dataclasses.replace(TASKS[env_id], **task_fields)
        self.env_id = env_id
        try:
            with mujoco_warnings():  # not HalfCheetah's settotalmass deprecation, nor MUJOCO_LOG.TXT in the cwd
                host = gym.make(env_id, disable_env_checker=True, **overrides).unwrapped
        except TypeError as e:
            raise ValueError(f"mjx:{env_id}: bad env argument ({e}); overrides were {overrides}") from e
        if getattr(host, "_exclude_current_positions_from_observation", True) is not True:
            raise ValueError(f"mjx:{env_id}: only gymnasium's default observation (x position excluded) is ported")
        mjx = _mjx()
        self._mjx = mjx
        self.mj_model = host.model
        self.model = mjx.put_model(host.model)
        self.frame_skip = int(host.frame_skip)
        self.dt = float(host.dt)
        self.init_qpos = np.asarray(host.init_qpos, np.float32)
        self.init_qvel = np.asarray(host.init_qvel, np.float32)
        self.low = np.asarray(host.action_space.low, np.float32)
        self.high = np.asarray(host.action_space.high, np.float32)
        self.obs_dim = int(host.observation_space.shape[0])
        host.close()
        self.default_params = MjxParams(max_steps_in_episode=limit)
        self.spec = EnvSpec(
            name=f"mjx:{env_id}",
            obs_shape=(self.obs_dim,),
            action_dim=int(self.low.shape[0]),
            discrete=False,
            max_episode_steps=limit,
        )

    @property
    def action_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self.low, self.high

    def params_with(self, **overrides: Any) -> MjxParams:
        unknown = set(overrides) - {"max_steps_in_episode"}
        if unknown:
            raise ValueError(
                f"mjx:{self.env_id}: {sorted(unknown)[0]} is a gym.make argument fixed when the env is made"
            )
        return self.default_params.replace(**overrides)

    # -- gymnasium's definitions ------------------------------------------------------------------

    def observation(self, data) -> jax.Array:
        qvel = data.qvel
        if self.task.vel_clip is not None:
            qvel = jnp.clip(qvel, -self.task.vel_clip, self.task.vel_clip)
        return jnp.concatenate([data.qpos[1:], qvel]).astype(jnp.float32)

    def healthy(self, data) -> jax.Array:
        t = self.task
        ok = jnp.asarray(True)
        z, angle = data.qpos[1], data.qpos[2]
        if t.healthy_z_range is not None:
            ok &= (t.healthy_z_range[0] < z) & (z < t.healthy_z_range[1])
        if t.healthy_angle_range is not None:
            ok &= (t.healthy_angle_range[0] < angle) & (angle < t.healthy_angle_range[1])
        if t.healthy_state_range is not None:
            state = jnp.concatenate([data.qpos, data.qvel])[2:]
            ok &= jnp.all((t.healthy_state_range[0] < state) & (state < t.healthy_state_range[1]))
        return ok

    def reward_and_termination(self, x_before, data, ctrl) -> tuple[jax.Array, jax.Array]:
        """gymnasium's reward and `terminated` after a step from x position `x_before` to `data`
        under controls `ctrl` (any object with `qpos`, `qvel`: MJX's data or MuJoCo's)."""
        t = self.task
        x_velocity = (data.qpos[0] - x_before) / self.dt
        healthy = self.healthy(data)
        reward = t.forward_reward_weight * x_velocity - t.ctrl_cost_weight * jnp.sum(jnp.square(ctrl))
        if t.healthy_reward:
            reward = reward + t.healthy_reward * healthy
        ends = t.healthy_z_range or t.healthy_angle_range or t.healthy_state_range
        return reward, (~healthy if ends else jnp.asarray(False))

    # -- the API ------------------------------------------------------------------------------------

    def reset_to(self, qpos: jax.Array, qvel: jax.Array) -> tuple[jax.Array, MjxState]:
        """The episode that starts from `qpos`, `qvel` (as gymnasium's `set_state`)."""
        data = self._mjx.make_data(self.model).replace(qpos=jnp.asarray(qpos), qvel=jnp.asarray(qvel))
        data = self._mjx.forward(self.model, data)
        return self.observation(data), MjxState(data=data, time=jnp.zeros((), jnp.int32), done=jnp.zeros((), bool))

    def rollout(self, qpos: jax.Array, qvel: jax.Array, actions: jax.Array, params: MjxParams | None = None):
        """(observations, rewards, terminated) of the episode from `qpos`, `qvel` under the open-loop
        `actions` (T, action_dim) in [-1, 1]: pure, vmappable (the agreement benchmark's and tests' form)."""
        params = self.default_params if params is None else params
        _, state = self.reset_to(qpos, qvel)

        def step(state, action):
            r = self.step(None, state, action, params)
            return r.state, (r.obs, r.reward, r.terminated)

        return jax.lax.scan(step, state, actions)[1]

    def reset(self, key: jax.Array, params: MjxParams) -> tuple[jax.Array, MjxState]:
        del params
        return self.reset_to(*self.initial_qpos_qvel(key))

    def initial_qpos_qvel(self, key: jax.Array) -> tuple[jax.Array, jax.Array]:
        """The start `reset` draws from `key`: gymnasium's reset noise around its initial state."""
        key_pos, key_vel = jax.random.split(key)
        scale = self.task.reset_noise_scale
        qpos = self.init_qpos + jax.random.uniform(key_pos, self.init_qpos.shape, minval=-scale, maxval=scale)
        if self.task.normal_velocity_noise:
            qvel = self.init_qvel + scale * jax.random.normal(key_vel, self.init_qvel.shape)
        else:
            qvel = self.init_qvel + jax.random.uniform(key_vel, self.init_qvel.shape, minval=-scale, maxval=scale)
        return qpos, qvel

    def step(self, key: jax.Array, state: MjxState, action: jax.Array, params: MjxParams) -> StepResult:
        del key  # MuJoCo's dynamics are deterministic
        unit = jnp.clip(action.astype(jnp.float32), -1.0, 1.0)
        ctrl = jnp.asarray(self.low) + 0.5 * (unit + 1.0) * (jnp.asarray(self.high) - jnp.asarray(self.low))
        data = state.data.replace(ctrl=ctrl)
        x_before = data.qpos[0]
        data = jax.lax.fori_loop(0, self.frame_skip, lambda _, d: self._mjx.step(self.model, d), data)
        reward, terminated = self.reward_and_termination(x_before, data, ctrl)
        terminated = terminated & ~state.done
        time = jnp.where(state.done, state.time, state.time + 1)
        truncated = (time >= params.max_steps_in_episode) & ~terminated & ~state.done
        data = jax.tree.map(lambda old, new: jnp.where(state.done, old, new), state.data, data)
        reward = jnp.where(state.done, 0.0, reward).astype(jnp.float32)
        new = MjxState(data=data, time=time, done=state.done | terminated | truncated)
        return StepResult(self.observation(data), new, reward, terminated, truncated, {})
