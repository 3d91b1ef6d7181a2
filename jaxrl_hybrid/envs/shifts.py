"""Named sim/real pairs: one env, two dynamics params that differ in a known way.

The "sim" side is the simulator the agent may use freely; the "real" side stands in for the
world, whose data is scarce. Later work (H2O, the dynamics-gap estimator) consumes these.
Pure data: `envs.registry.make_pair(name)` builds the env and its two params.
"""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True)
class DynamicsShift:
    """How the real dynamics differ from the simulator's, as parameter overrides."""

    name: str
    env_name: str
    description: str
    sim: dict[str, Any]
    real: dict[str, Any]


SHIFTS: dict[str, DynamicsShift] = {
    s.name: s
    for s in [
        DynamicsShift(
            "pendulum-heavy-pole",
            "gymnax:Pendulum-v1",
            "pole mass 1.0 in sim, 1.6 in the real system",
            {"mass": 1.0},
            {"mass": 1.6},
        ),
        DynamicsShift(
            "pendulum-long-pole",
            "gymnax:Pendulum-v1",
            "pole length 1.0 in sim, 1.4 in the real system",
            {"length": 1.0},
            {"length": 1.4},
        ),
        DynamicsShift(
            "pendulum-weak-motor",
            "gymnax:Pendulum-v1",
            "max torque 2.0 in sim, 1.2 in the real system (commands saturate earlier)",
            {"max_torque": 2.0},
            {"max_torque": 1.2},
        ),
        DynamicsShift(
            "pendulum-high-gravity",
            "gymnax:Pendulum-v1",
            "gravity 10 in sim, 14 in the real system",
            {"gravity": 10.0},
            {"gravity": 14.0},
        ),
        DynamicsShift(
            "mountaincar-weak-engine",
            "gymnax:MountainCarContinuous-v0",
            "engine power 0.0015 in sim, 0.0011 in the real system",
            {"power": 0.0015},
            {"power": 0.0011},
        ),
        DynamicsShift(
            "cartpole-heavy-pole",
            "gymnax:CartPole-v1",
            "pole mass 0.1 in sim, 0.3 in the real system",
            {"mass_pole": 0.1},
            {"mass_pole": 0.3},
        ),
        DynamicsShift(
            "hopper-high-gravity",
            "brax:hopper",
            "gravity 9.81 in sim, 14.7 in the real system",
            {"gravity": 9.81},
            {"gravity": 14.7},
        ),
        DynamicsShift(
            "hopper-low-friction",
            "brax:hopper",
            "friction x1.0 in sim, x0.5 in the real system",
            {"friction": 1.0},
            {"friction": 0.5},
        ),
    ]
}


def get_shift(name: str) -> DynamicsShift:
    """Look up a named shift; unknown names list the known ones."""
    if name not in SHIFTS:
        raise ValueError(f"unknown dynamics shift {name!r}; known shifts: {sorted(SHIFTS)}")
    return SHIFTS[name]
