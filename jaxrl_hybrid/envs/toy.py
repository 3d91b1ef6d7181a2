"""Small exactly-solvable envs for tests of algorithms whose answer is known (SQIRL's chain).

Not registered in `make_env`: build them directly, `Chain(length=6)`.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from jaxrl_hybrid.envs.core import Env, StepResult
from jaxrl_hybrid.types import EnvSpec


@struct.dataclass
class ChainState:
    position: jax.Array
    time: jax.Array


@struct.dataclass
class ChainParams:
    max_steps: int = struct.field(pytree_node=False, default=10)


class Chain(Env):
    """A deterministic chain of `length` cells, one-hot observed: action 1 moves right, 0 left
    (the left end holds), reaching the right end pays 1 and terminates. The optimal return is 1
    in `length - 1` steps; a random walk rarely gets there within the time limit."""

    def __init__(self, length: int = 6, max_steps: int = 10):
        if length < 2:
            raise ValueError(f"Chain length must be >= 2, got {length}")
        self.length = length
        self.default_params = ChainParams(max_steps=max_steps)
        self.spec = EnvSpec(f"toy:Chain-{length}", (length,), 2, True, max_steps)

    def reset(self, key, params) -> tuple[jax.Array, ChainState]:
        state = ChainState(position=jnp.zeros((), jnp.int32), time=jnp.zeros((), jnp.int32))
        return self._obs(state), state

    def _obs(self, state: ChainState) -> jax.Array:
        return jax.nn.one_hot(state.position, self.length)

    def step(self, key, state: ChainState, action, params) -> StepResult:
        move = jnp.where(action.astype(jnp.int32) == 1, 1, -1)
        position = jnp.clip(state.position + move, 0, self.length - 1)
        state = ChainState(position=position, time=state.time + 1)
        terminated = position == self.length - 1
        truncated = jnp.logical_and(state.time >= params.max_steps, ~terminated)
        return StepResult(self._obs(state), state, terminated.astype(jnp.float32), terminated, truncated, {})

    def params_with(self, **overrides: Any) -> ChainParams:
        return self.default_params.replace(**overrides)
