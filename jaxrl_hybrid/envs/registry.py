"""`make_env("gymnax:Pendulum-v1", **overrides)` and friends: names -> (env, params)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from jaxrl_hybrid.envs.names import BACKENDS, check_env_name, known_env_names
from jaxrl_hybrid.envs.shifts import DynamicsShift, get_shift

if TYPE_CHECKING:
    from jaxrl_hybrid.envs.core import Env

__all__ = ["BACKENDS", "SimRealPair", "check_env_name", "known_env_names", "make_env", "make_pair"]


def make_env(name: str, *, shift: str | None = None, side: str = "real", **overrides: Any) -> tuple[Env, Any]:
    """Make an env by name; returns `(env, params)` with dynamics overrides applied to `params`.

    `make_env("gymnax:Pendulum-v1", gravity=15.0)` changes one dynamics parameter;
    `make_env("gymnax:Pendulum-v1", shift="pendulum-heavy-pole")` takes the real (or, with
    `side="sim"`, the sim) side of a named shift from `jaxrl_hybrid.envs.shifts`.
    `sticky_actions=p` repeats the previous action with probability p (`envs.wrappers.StickyActions`).
    """
    check_env_name(name)
    backend, _, env_id = name.partition(":")
    if shift is not None:
        s = get_shift(shift)
        if s.env_name != name:
            raise ValueError(f"shift {shift!r} is defined for {s.env_name}, not {name}")
        if side not in ("sim", "real"):
            raise ValueError(f"side must be 'sim' or 'real', got {side!r}")
        overrides = {**(s.real if side == "real" else s.sim), **overrides}
    overrides = dict(overrides)
    sticky = overrides.pop("sticky_actions", None)  # gymnax's MinAtar has none of its own
    if backend == "gymnax":
        from jaxrl_hybrid.envs import gymnax_env

        env: Env = gymnax_env.GymnaxEnv(env_id, overrides)
    elif backend == "gymnasium":
        from jaxrl_hybrid.envs import gymnasium_env

        env = gymnasium_env.GymnasiumEnv(env_id, overrides)
    elif backend == "mjx":
        from jaxrl_hybrid.envs import mjx_env

        env = mjx_env.MjxEnv(env_id, overrides)
    else:
        from jaxrl_hybrid.envs import brax_env

        env = brax_env.BraxEnv(env_id, overrides)
    if sticky is not None:
        from jaxrl_hybrid.envs.wrappers import StickyActions

        env = StickyActions(env, sticky)
    return env, env.default_params


@dataclasses.dataclass(frozen=True)
class SimRealPair:
    """One env object (same spec, same action scaling) and the two params to run it with."""

    shift: DynamicsShift
    env: Env
    sim_params: Any
    real_params: Any


def make_pair(name: str) -> SimRealPair:
    """Build the env of a named shift and its sim and real params."""
    shift = get_shift(name)
    env, sim_params = make_env(shift.env_name, **shift.sim)  # one env: building a brax env takes ~20 s
    return SimRealPair(shift=shift, env=env, sim_params=sim_params, real_params=env.params_with(**shift.real))
