"""Evolution strategies over whole training runs (evosax): meta-learn a policy objective.

    strategy = make_strategy("Open_ES", population_size=64, template=objective.init_params(), lr=0.03, sigma=0.03)
    step = make_generation(strategy, es_params, fitness_fn, num_seeds=2)
    es_state, returns = step(es_state, generation_key(seed, g))

Every generation asks the strategy for a population of objective parameters, runs the inner
PPO training of every member on `num_seeds` seeds (population x seeds in blocks of runs
over the devices; the same seeds for every member, so members are ranked on common random numbers),
and tells the strategy the fitness: the mean final return, which it rank-transforms.
evosax minimises, so it is told the negated return. Generation g's key is
fold_in(PRNGKey(seed), g), so a resumed run draws exactly what an uninterrupted one would.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


def _algorithms() -> tuple[dict, dict]:
    from evosax.algorithms import distribution_based_algorithms, population_based_algorithms

    return distribution_based_algorithms, population_based_algorithms


def _extra_required(cls) -> list[str]:
    """Constructor arguments beyond (population_size, solution) that have no default."""
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    return [
        p.name
        for p in params
        if p.default is inspect.Parameter.empty
        and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        and p.name not in ("population_size", "solution")
    ]


def strategy_names() -> list[str]:
    """The evosax strategies `make_strategy` accepts: its distribution-based algorithms that
    need nothing but a population size and a solution template."""
    return sorted(k for k, cls in _algorithms()[0].items() if not _extra_required(cls))


def _canonical(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "")


def make_strategy(
    name: str, population_size: int, template: Any, lr: float, sigma: float, antithetic: bool = True
) -> tuple[Any, Any]:
    """(strategy, its params) for evosax's distribution-based algorithm `name` (case and
    underscores ignored: "open_es", "OpenES" and "Open_ES" are one), searching over pytrees
    shaped like `template`.

    Where the algorithm takes them: an Adam optimiser at learning rate `lr`, a constant
    search std `sigma` (or `std_init`), antithetic sampling and evosax's default rank-based
    fitness shaping (centred ranks for OpenES).
    """
    import optax

    distribution, population = _algorithms()
    lookup = {_canonical(k): k for k in distribution}
    key = _canonical(name)
    if key not in lookup:
        if key in {_canonical(k) for k in population}:
            raise ValueError(
                f"ES strategy {name!r} is population-based (it starts from an evaluated population); "
                f"meta-training starts from a mean: use one of {strategy_names()}"
            )
        raise ValueError(f"unknown ES strategy {name!r}; known: {strategy_names()}")
    cls = distribution[lookup[key]]
    if _extra_required(cls):
        raise ValueError(
            f"ES strategy {lookup[key]!r} needs {', '.join(_extra_required(cls))}, which meta-training does not "
            f"supply; use one of {strategy_names()}"
        )
    if population_size < 2 or population_size % 2:
        raise ValueError(f"population size must be an even number >= 2 (antithetic pairs), got {population_size}")
    accepted = inspect.signature(cls.__init__).parameters
    kwargs: dict[str, Any] = {}
    if "optimizer" in accepted:
        kwargs["optimizer"] = optax.adam(lr)
    if "std_schedule" in accepted:
        kwargs["std_schedule"] = optax.constant_schedule(sigma)
    if "use_antithetic_sampling" in accepted:
        kwargs["use_antithetic_sampling"] = antithetic
    strategy = cls(population_size=population_size, solution=template, **kwargs)
    params = strategy.default_params
    if hasattr(params, "std_init"):
        params = params.replace(std_init=sigma)
    return strategy, params


def generation_key(seed: int, generation: int) -> jax.Array:
    """The key of generation `generation` (0-based) of a meta-run seeded `seed`."""
    return jax.random.fold_in(jax.random.PRNGKey(seed), generation)


INIT_STREAM = 2**31 - 1  # fold_in index of the strategy's init key (generations use 0, 1, 2...)


def init_state(strategy, es_params, mean: Any, seed: int) -> Any:
    """The strategy's state with its search distribution centred on `mean`.

    Leaves are made strongly typed (evosax's init leaves some weakly typed, its tell does not),
    so generation 2 reuses generation 1's compiled program.
    """
    key_init = jax.random.fold_in(jax.random.PRNGKey(seed), INIT_STREAM)
    state = strategy.init(key_init, mean, es_params)
    return jax.tree.map(lambda x: jnp.asarray(np.asarray(x)), state)


def make_generation(
    strategy,
    es_params,
    fitness_fn: Callable[[jax.Array, Any], jax.Array],
    num_seeds: int,
    fixed_seeds: jax.Array | None = None,
    block_size: int | None = None,
) -> Callable[[Any, jax.Array], tuple[Any, dict[str, jax.Array]]]:
    """`generation(es_state, key) -> (es_state, {"returns": (population, num_seeds), ...})`.

    `fitness_fn(key, member_params) -> final return` is one inner run (a scalar). Inner seeds
    are drawn from the generation's key, or are `fixed_seeds` (num_seeds keys) in every
    generation: less noise between generations, at the risk of fitting those seeds.

    Three programs: `ask` and `tell` (jitted, one device) and the population x seeds inner
    runs through `engine.core.DeviceMap`: blocks of `block_size` runs (the engine's default)
    shared over the local devices, one executable each. So a generation's numbers do not
    depend on the device or core count (an SPMD-sharded population did: XLA's partitioner
    changes the last bits).
    """
    from jaxrl_hybrid.engine.core import DeviceMap

    def ask(es_state, key):
        key_ask, key_inner, key_tell = jax.random.split(key, 3)
        population, es_state = strategy.ask(key_ask, es_state, es_params)
        seeds = jax.random.split(key_inner, num_seeds) if fixed_seeds is None else fixed_seeds
        members = jax.tree.map(lambda x: jnp.repeat(x, num_seeds, axis=0), population)  # member major
        keys = jnp.tile(seeds, (strategy.population_size, 1))
        return population, es_state, members, keys, key_tell

    def tell(es_state, old_state, population, returns, key_tell):
        fitness = returns.mean(axis=1)  # NaN for a member whose training diverged: ranked last
        new_state, _ = strategy.tell(key_tell, population, -fitness, es_state, es_params)
        # the same (strong) types as the input, so every generation reuses one compiled program
        new_state = jax.tree.map(lambda new, old: jnp.asarray(new, old.dtype), new_state, old_state)
        return new_state, {
            "returns": returns,
            "fitness_mean": jnp.nanmean(fitness),
            "fitness_best": jnp.nanmax(fitness),
            "fitness_std": jnp.nanstd(fitness),
            "nonfinite_members": jnp.sum(~jnp.isfinite(fitness)),
            "mean_norm": jnp.linalg.norm(new_state.mean),
        }

    ask_jit, tell_jit = jax.jit(ask), jax.jit(tell)
    runs = DeviceMap(lambda member, key: fitness_fn(key, member), block_size)

    def generation(es_state, key):
        population, asked, members, keys, key_tell = ask_jit(es_state, key)
        returns = runs(members, keys).reshape(strategy.population_size, num_seeds)
        return tell_jit(asked, es_state, population, returns, key_tell)

    return generation
