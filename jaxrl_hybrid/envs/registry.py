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


def check_env_name(name: str, flag: str = "env") -> None:
    """Raise a ValueError naming `flag` for an unknown env name, with the closest known names."""
    import difflib

    known = known_env_names()
    if name in known:
        return
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    if not close:  # a bare id ("Pendulum-v1") or a wrong backend: match on the id alone
        ids = {n.partition(":")[2]: n for n in known}
        close = [ids[i] for i in difflib.get_close_matches(name.partition(":")[2] or name, list(ids), n=3, cutoff=0.6)]
    hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
    raise ValueError(
        f"{flag} {name!r}: unknown env; {hint}names are '<backend>:<id>' with backend in {BACKENDS} "
        f"(known envs: {', '.join(known)})"
    )


def make_env(name: str, *, shift: str | None = None, side: str = "real", **overrides: Any) -> tuple[Env, Any]:
    """Make an env by name; returns `(env, params)` with dynamics overrides applied to `params`.

    `make_env("gymnax:Pendulum-v1", gravity=15.0)` changes one dynamics parameter;
    `make_env("gymnax:Pendulum-v1", shift="pendulum-heavy-pole")` takes the real (or, with
    `side="sim"`, the sim) side of a named shift from `jaxrl_hybrid.envs.shifts`.
    """
    backend, sep, env_id = name.partition(":")
    if not sep or backend not in BACKENDS:
        check_env_name(name)
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
            check_env_name(name)
        env: Env = gymnax_env.GymnaxEnv(env_id, overrides)
    else:
        if env_id not in brax_env.registered_names():
            check_env_name(name)
        env = brax_env.BraxEnv(env_id, overrides)
    return env, env.default_params
