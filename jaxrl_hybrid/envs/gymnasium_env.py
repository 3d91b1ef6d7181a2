"""gymnasium envs (`gymnasium:HalfCheetah-v5`, `gymnasium:Pendulum-v1`, ...) behind the stateless
API, stepped on the host from inside the compiled program.

Users' datasets (Minari, D4RL) are recorded in gymnasium's MuJoCo envs, which are not written in
JAX. Rather than a second, host-side training loop, the env is made *pure*: its whole simulator
state travels in the JAX env state, and `reset` / `step` are `jax.pure_callback`s that load that
state into a gymnasium env on the host, call gymnasium's own `reset` / `step`, and return the
new state. So every loop, wrapper, agent, checkpoint and resume path of the compiled envs runs
unchanged (evaluation, online training, fine-tuning, vmapped over seeds and episodes), and the
numbers are reproducible by construction: a step is a function of (state, action) only, the same
whatever batch, block or device it runs in.

The state of a MuJoCo env is MuJoCo's integration state (`mj_getState(..., mjSTATE_INTEGRATION)`:
time, qpos, qvel, actuator activations, controls, warm-start accelerations, ...) plus the body
positions `xpos` / `xipos` that gymnasium reads *before* a step (Ant's and Humanoid's forward
reward, Reacher's and Pusher's distances); with them a step reproduces gymnasium's bit for bit
(tests/test_gymnasium_env.py checks it against plain gymnasium rollouts). Pendulum's state is
gymnasium's `state` (angle, angular velocity). The float64 state travels as uint32 pairs, so no
bit is lost in JAX's float32 default. Reset noise comes from gymnasium's own `reset(seed=...)`,
the seed drawn from the JAX key.

Actions are the project's [-1, 1] convention, clipped and rescaled to the env's Box bounds on the
host in float64 (`env_action`). The time limit is gymnasium's registered `max_episode_steps`
(TimeLimit's truncation, counted in the state); steps after an episode ended leave its state
unchanged and return reward 0 and a zero observation (training loops reset it first). Other
`gym.make` keyword arguments (`frame_skip`, `ctrl_cost_weight`, `reset_noise_scale`, ...) are
static overrides of `make_env`, as a Minari dataset's env spec records them.

The gymnasium envs are a pool made when the env is made, one per local device (XLA's CPU devices
call back concurrently), each used by one callback at a time: making a MuJoCo env inside a
callback crashes the process (XLA's callback threads have too little stack for MuJoCo's model
compiler). The step costs a Python call per env (about 0.1 to 0.5 ms for the MuJoCo locomotion
tasks): this is the reference path; the `mjx:` backend runs the same models inside XLA.
"""

from __future__ import annotations

import contextlib
import queue
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxrl_hybrid.envs.core import Env, StepResult
from jaxrl_hybrid.envs.quiet import mujoco_warnings
from jaxrl_hybrid.types import EnvSpec

# gym.make keyword arguments that are not dynamics (recorded in Minari env specs, ignored here)
IGNORED_KWARGS = ("render_mode", "width", "height", "camera_id", "camera_name", "default_camera_config")


@struct.dataclass
class GymnasiumParams:
    """The time limit (gymnasium's TimeLimit); dynamics are static `gym.make` keyword arguments."""

    max_steps_in_episode: int = struct.field(pytree_node=False, default=1000)


@struct.dataclass
class GymnasiumState:
    physics: jax.Array  # (2 * n,) uint32: the host simulator's float64 state, bit for bit
    time: jax.Array  # int32 steps taken in this episode
    done: jax.Array  # the episode ended (terminated or truncated): later steps change nothing


class _Host:
    """One gymnasium env on the host, with its state read and written as a float64 vector."""

    def __init__(self, env_id: str, kwargs: dict[str, Any]):
        import gymnasium as gym

        with mujoco_warnings():  # not HalfCheetah's settotalmass deprecation, nor MUJOCO_LOG.TXT in the cwd
            self.env = gym.make(env_id, disable_env_checker=True, **kwargs).unwrapped
        self.mujoco = hasattr(self.env, "model") and hasattr(self.env, "data")
        if self.mujoco:
            import mujoco

            self._mj = mujoco
            self._sig = mujoco.mjtState.mjSTATE_INTEGRATION
            self._n_int = int(mujoco.mj_stateSize(self.env.model, self._sig))
            self._n_body = int(self.env.model.nbody) * 3
            self.state_size = self._n_int + 2 * self._n_body
        elif env_id.startswith("Pendulum"):
            self.state_size = 2
        else:  # pragma: no cover - names.GYMNASIUM_IDS admits only the envs handled here
            raise ValueError(f"gymnasium:{env_id}: no pure host state is defined for this env")

    def get(self) -> np.ndarray:
        if not self.mujoco:
            return np.asarray(self.env.state, np.float64)
        m, d = self.env.model, self.env.data
        out = np.empty(self.state_size, np.float64)
        self._mj.mj_getState(m, d, out[: self._n_int], self._sig)
        out[self._n_int : self._n_int + self._n_body] = d.xpos.ravel()
        out[self._n_int + self._n_body :] = d.xipos.ravel()
        return out

    def set(self, x: np.ndarray) -> None:
        if not self.mujoco:
            self.env.state = np.array(x, np.float64)
            return
        m, d = self.env.model, self.env.data
        self._mj.mj_setState(m, d, x[: self._n_int], self._sig)
        d.xpos[:] = x[self._n_int : self._n_int + self._n_body].reshape(d.xpos.shape)
        d.xipos[:] = x[self._n_int + self._n_body :].reshape(d.xipos.shape)


def _as_bits(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x, np.float64).view(np.uint32)


def _from_bits(bits: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(bits, np.uint32).view(np.float64)


class GymnasiumEnv(Env):
    """A gymnasium env as a pure JAX env (see the module docstring)."""

    def __init__(self, env_id: str, overrides: dict[str, Any] | None = None):
        import gymnasium as gym

        overrides = dict(overrides or {})
        self.env_id = env_id
        registered = gym.spec(env_id)
        limit = overrides.pop("max_steps_in_episode", None) or registered.max_episode_steps or 1000
        self.kwargs = {k: v for k, v in overrides.items() if k not in IGNORED_KWARGS}
        try:
            host = _Host(env_id, self.kwargs)
        except TypeError as e:  # gym.make passes unknown keyword arguments to the env's __init__
            raise ValueError(f"gymnasium:{env_id}: bad env argument ({e}); overrides were {self.kwargs}") from e
        self._pool: queue.Queue[_Host] = queue.Queue()
        self._pool.put(host)
        for _ in range(max(jax.local_device_count(), 2) - 1):
            self._pool.put(_Host(env_id, self.kwargs))
        space, aspace = host.env.observation_space, host.env.action_space
        if not isinstance(aspace, gym.spaces.Box):
            raise ValueError(f"gymnasium:{env_id}: action space {aspace} is not a Box; only continuous envs step here")
        self.obs_shape = tuple(int(d) for d in space.shape)
        self.low = np.asarray(aspace.low, np.float32)
        self.high = np.asarray(aspace.high, np.float32)
        self.state_size = host.state_size
        self.default_params = GymnasiumParams(max_steps_in_episode=int(limit))
        self.spec = EnvSpec(
            name=f"gymnasium:{env_id}",
            obs_shape=self.obs_shape,
            action_dim=int(np.prod(aspace.shape)),
            discrete=False,
            max_episode_steps=int(limit),
        )

    @property
    def action_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The env's own action bounds (gymnasium's Box), which [-1, 1] is rescaled onto."""
        return self.low, self.high

    def env_action(self, unit: np.ndarray) -> np.ndarray:
        """Actions in [-1, 1] in the env's own units: low + (a + 1) (high - low) / 2, in float64 on
        the host (exact where the bounds are [-1, 1])."""
        low, high = self.low.astype(np.float64), self.high.astype(np.float64)
        return low + 0.5 * (np.asarray(unit, np.float64) + 1.0) * (high - low)

    @contextlib.contextmanager
    def _host(self):
        """A gymnasium env of the pool, held for one callback (waits while all are in use)."""
        host = self._pool.get()
        try:
            yield host
        finally:
            self._pool.put(host)

    def params_with(self, **overrides: Any) -> GymnasiumParams:
        unknown = set(overrides) - {"max_steps_in_episode"}
        if unknown:
            raise ValueError(
                f"gymnasium:{self.env_id}: dynamics are gym.make arguments fixed when the env is made "
                f"(make_env('gymnasium:{self.env_id}', {sorted(unknown)[0]}=...)), not params"
            )
        return self.default_params.replace(**overrides)

    # -- host side: batched over any leading axes -------------------------------------------------

    def _reset_host(self, key_data: np.ndarray):
        batch = key_data.shape[:-1]
        keys = np.asarray(key_data, np.uint32).reshape(-1, key_data.shape[-1])
        obs = np.empty((len(keys), *self.obs_shape), np.float32)
        physics = np.empty((len(keys), 2 * self.state_size), np.uint32)
        with self._host() as host:
            for i, k in enumerate(keys):
                seed = (int(k[0]) << 32) | int(k[-1])
                o, _ = host.env.reset(seed=seed)
                obs[i] = o
                physics[i] = _as_bits(host.get())
        return obs.reshape(*batch, *self.obs_shape), physics.reshape(*batch, -1)

    def _step_host(self, physics: np.ndarray, action: np.ndarray, done: np.ndarray):
        batch = physics.shape[:-1]
        physics = np.asarray(physics, np.uint32).reshape(-1, physics.shape[-1])
        unit = np.clip(np.asarray(action, np.float64).reshape(len(physics), -1), -1.0, 1.0)
        action = self.env_action(unit)
        done = np.asarray(done).reshape(-1)
        n = len(physics)
        obs = np.zeros((n, *self.obs_shape), np.float32)
        new = physics.copy()
        reward = np.zeros(n, np.float32)
        terminated = np.zeros(n, bool)
        with self._host() as host:
            for i in range(n):
                if done[i]:
                    continue
                host.set(_from_bits(physics[i]))
                o, r, term, _, _ = host.env.step(action[i])
                obs[i], reward[i], terminated[i] = o, r, term
                new[i] = _as_bits(host.get())
        shape = tuple(batch)
        return (
            obs.reshape(*shape, *self.obs_shape),
            new.reshape(*shape, -1),
            reward.reshape(shape),
            (terminated.reshape(shape)),
        )

    # -- the JAX API ------------------------------------------------------------------------------

    def reset(self, key: jax.Array, params: GymnasiumParams) -> tuple[jax.Array, GymnasiumState]:
        del params
        key_data = jax.random.key_data(key) if jnp.issubdtype(key.dtype, jax.dtypes.prng_key) else key
        shapes = (
            jax.ShapeDtypeStruct(self.obs_shape, jnp.float32),
            jax.ShapeDtypeStruct((2 * self.state_size,), jnp.uint32),
        )
        obs, physics = jax.pure_callback(self._reset_host, shapes, key_data, vmap_method="broadcast_all")
        state = GymnasiumState(physics=physics, time=jnp.zeros((), jnp.int32), done=jnp.zeros((), bool))
        return obs, state

    def step(self, key: jax.Array, state: GymnasiumState, action: jax.Array, params: GymnasiumParams) -> StepResult:
        del key  # gymnasium's MuJoCo and Pendulum steps are deterministic
        shapes = (
            jax.ShapeDtypeStruct(self.obs_shape, jnp.float32),
            jax.ShapeDtypeStruct((2 * self.state_size,), jnp.uint32),
            jax.ShapeDtypeStruct((), jnp.float32),
            jax.ShapeDtypeStruct((), jnp.bool_),
        )
        obs, physics, reward, terminated = jax.pure_callback(
            self._step_host, shapes, state.physics, action.astype(jnp.float32), state.done, vmap_method="broadcast_all"
        )
        was_done = state.done
        time = jnp.where(was_done, state.time, state.time + 1)
        truncated = jnp.logical_and(time >= params.max_steps_in_episode, ~terminated) & ~was_done
        terminated = terminated & ~was_done
        obs = jnp.where(was_done, jnp.zeros_like(obs), obs)
        new_state = GymnasiumState(physics=physics, time=time, done=was_done | terminated | truncated)
        return StepResult(obs, new_state, reward, terminated, truncated, {})
