"""Hyperparameter grids from NAME=V1,V2 specs: the traced settings vmapped with the seeds."""

from __future__ import annotations

import dataclasses
import itertools


def parse_grid(specs: tuple[str, ...] | list[str], hparams_cls) -> list[dict[str, float]]:
    """["actor_lr=1e-3,3e-4", "gamma=0.99"] -> the cartesian product as a list of dicts."""
    # Scalar fields only: a learned objective's parameters (PPOHParams.objective) are no grid axis.
    fields = [f.name for f in dataclasses.fields(hparams_cls) if f.default is not dataclasses.MISSING]
    axes: dict[str, list[float]] = {}
    given: dict[str, str] = {}
    for spec in specs:
        name, sep, values = spec.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or not values:
            raise ValueError(f"--hparam {spec!r}: expected NAME=VALUE[,VALUE...]")
        if name in given:
            raise ValueError(
                f"--hparam/--grid {spec!r}: {name} is already set by {given[name]!r}; "
                f"give all its values once, e.g. {name}=V1,V2"
            )
        given[name] = spec
        if name not in fields:
            raise ValueError(f"--hparam {spec!r}: {hparams_cls.__name__} has no field {name!r}; fields: {fields}")
        try:
            axes[name] = [float(v) for v in values.split(",")]
        except ValueError as e:
            raise ValueError(f"--hparam {spec!r}: values must be numbers") from e
    names = list(axes)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*axes.values())] or [{}]
