"""One stateless env API over gymnax and brax, wrappers, and named sim/real dynamics shifts.

Names resolve on first use (PEP 562): `jaxrl_hybrid.envs.names` (every env name the registry
accepts) is importable without JAX, gymnax or brax, so the CLI checks an env name at once.
"""

_EXPORTS = {
    "Env": "core",
    "StepResult": "core",
    "rescale_action": "core",
    "known_env_names": "registry",
    "make_env": "registry",
    "SHIFTS": "shifts",
    "DynamicsShift": "shifts",
    "SimRealPair": "registry",
    "get_shift": "shifts",
    "make_pair": "registry",
    "AutoReset": "wrappers",
    "EpisodeStats": "wrappers",
    "wrap_for_training": "wrappers",
}

__all__ = sorted([*_EXPORTS, "shifts"])


def __getattr__(name: str):
    import importlib

    if name in (
        "shifts",
        "core",
        "registry",
        "wrappers",
        "gymnax_env",
        "brax_env",
        "gymnasium_env",
        "mjx_env",
        "names",
    ):
        return importlib.import_module(f"jaxrl_hybrid.envs.{name}")
    if name not in _EXPORTS:
        raise AttributeError(f"module 'jaxrl_hybrid.envs' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"jaxrl_hybrid.envs.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value
