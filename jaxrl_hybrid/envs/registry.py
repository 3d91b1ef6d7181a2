"""`make_env("gymnax:Pendulum-v1", **overrides)` and friends: names -> (env, params)."""

from __future__ import annotations

from typing import Any

from jaxrl_hybrid.envs import brax_env, gymnax_env
from jaxrl_hybrid.envs.core import Env

BACKENDS = ("gymnax", "brax")


def known_env_names() -> list[str]:
    """Every name `make_env` accepts."""
    names = [f"gymnax:{n}" for n in gymnax_env.registered_names()]
    names += [f"brax:{n}" for n in brax_env.registered_names()]
    return names


def make_env(name: str, *, shift: str | None = None, side: str = "real", **overrides: Any) -> tuple[Env, Any]:
    """Make an env by name; returns `(env, params)` with dynamics overrides applied to `params`.

    `make_env("gymnax:Pendulum-v1", gravity=15.0)` changes one dynamics parameter;
    `make_env("gymnax:Pendulum-v1", shift="pendulum-heavy-pole")` takes the real (or, with
    `side="sim"`, the sim) side of a named shift from `jaxrl_hybrid.envs.shifts`.
    """
    backend, sep, env_id = name.partition(":")
    if not sep or backend not in BACKENDS:
        raise ValueError(
            f"unknown env {name!r}: names are '<backend>:<id>' with backend in {BACKENDS}; "
            f"known envs: {', '.join(known_env_names())}"
        )
    if shift is not None:
        from jaxrl_hybrid.envs.shifts import get_shift

        s = get_shift(shift)
        if s.env_name != name:
            raise ValueError(f"shift {shift!r} is defined for {s.env_name}, not {name}")
        if side not in ("sim", "real"):
            raise ValueError(f"side must be 'sim' or 'real', got {side!r}")
        overrides = {**(s.real if side == "real" else s.sim), **overrides}
    if backend == "gymnax":
        if env_id not in gymnax_env.registered_names():
            raise ValueError(f"unknown env {name!r}; known envs: {', '.join(known_env_names())}")
        env: Env = gymnax_env.GymnaxEnv(env_id, overrides)
    else:
        if env_id not in brax_env.registered_names():
            raise ValueError(f"unknown env {name!r}; known envs: {', '.join(known_env_names())}")
        env = brax_env.BraxEnv(env_id, overrides)
    return env, env.default_params
