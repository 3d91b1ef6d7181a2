"""Checks of what an agent needs from the env spec."""

from __future__ import annotations

from jaxrl_hybrid.types import EnvSpec


def require_continuous(algo: str, spec: EnvSpec) -> None:
    """Refuse a discrete action space, naming the algorithm and the env."""
    if spec.discrete:
        raise ValueError(f"{algo} needs a continuous action space; {spec.name} is discrete")
