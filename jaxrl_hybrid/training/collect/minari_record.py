"""Minari datasets recorded with Minari's own `DataCollector` in gymnasium envs, standing in for
the hub's downloads (this machine cannot fetch them).

    path = record_minari("gymnasium:HalfCheetah-v5", "mujoco/halfcheetah/random-v0", "random", 10)
    dataset = data.load("mujoco/halfcheetah/random-v0")   # by id, under MINARI_DATASETS_PATH

The behaviour is a uniform random policy or a briefly trained SAC policy (`medium` / `expert`:
the snapshots `train_behaviour_policies` picks, as `dataset generate` does), acting stochastically
in a plain `gym.make` env wrapped by `minari.DataCollector`: the files are what a Minari user
records, with gymnasium's env spec, action space and time limit in their metadata. Reference
returns: D4RL's for its locomotion tasks (`data.d4rl`), else the random policy's measured return
and the trained policy's best snapshot's. The dataset is built under a temporary Minari root and
moved into place, so a failed or interrupted recording never leaves a partial dataset or
touches an existing one unless `overwrite`.
"""

from __future__ import annotations

import os
import shutil
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

import numpy as np

POLICIES = ("random", "medium", "expert")


def _gym_env(env_name: str):
    import gymnasium as gym

    backend, _, env_id = env_name.partition(":")
    if backend != "gymnasium":
        raise ValueError(f"--env {env_name}: Minari recording steps a gymnasium env; expected gymnasium:<id>")
    from jaxrl_hybrid.envs.names import check_env_name

    check_env_name(env_name, "--env")
    from jaxrl_hybrid.envs.quiet import mujoco_warnings

    with mujoco_warnings():
        return gym.make(env_id)


def trained_policy(env_name: str, kind: str, config, seed: int, stream: TextIO | None):
    """(policy(obs, rng) -> env action, expert return, random return) of a SAC snapshot."""
    import jax
    import jax.numpy as jnp

    from jaxrl_hybrid.training.collect import train_behaviour_policies

    policies = train_behaviour_policies(config, seed=seed, stream=stream)
    index = policies.expert_index if kind == "expert" else policies.medium_index
    state = policies.snapshot(index)
    agent, env = policies.agent, policies.env
    low, high = (np.asarray(b, np.float64) for b in env.action_bounds)
    act = jax.jit(lambda obs, key: agent.act(state, obs[None], key, False)[0])
    base = jax.random.PRNGKey(seed + 1)
    counter = iter(range(1 << 62))

    def policy(obs, _rng):
        unit = np.asarray(act(jnp.asarray(obs, jnp.float32), jax.random.fold_in(base, next(counter))), np.float64)
        return (low + 0.5 * (np.clip(unit, -1.0, 1.0) + 1.0) * (high - low)).astype(np.float32)

    return policy, policies.expert_return, policies.random_return


def record_minari(
    env_name: str,
    dataset_id: str,
    policy: str | Callable = "random",
    num_episodes: int = 10,
    seed: int = 0,
    *,
    collect_config=None,
    reference_returns: tuple[float, float] | None = None,
    overwrite: bool = False,
    stream: TextIO | None = sys.stderr,
) -> Path:
    """Record `num_episodes` episodes with `minari.DataCollector`; returns the dataset folder
    (`data.minari_path(dataset_id)`). `policy`: "random", "medium", "expert" (SAC trained per
    `collect_config`, a `CollectConfig` for `env_name`) or a callable (obs, numpy rng) -> action
    in the env's own units. Episode i resets with seed `seed + i`. Reference returns (Minari's
    ref_min_score / ref_max_score): `reference_returns` (random, expert) when given, else D4RL's
    for its tasks, else those measured with a trained policy; none for a random policy elsewhere."""
    import minari

    from jaxrl_hybrid.data.d4rl import d4rl_reference_returns
    from jaxrl_hybrid.data.minari_io import dataset_id_for, minari_path, minari_root

    if num_episodes < 1:
        raise ValueError(f"--episodes {num_episodes}: expected at least 1")
    final = minari_path(dataset_id)
    dataset_id_for(final, dataset_id)  # a malformed id fails before anything runs
    if final.exists() and not overwrite:
        raise FileExistsError(f"{final}: Minari dataset {dataset_id} already exists; pass --overwrite to replace it")
    env = _gym_env(env_name)
    refs = d4rl_reference_returns(env_name)
    if reference_returns is not None:
        refs = {"random": float(reference_returns[0]), "expert": float(reference_returns[1]), "source": "given"}
    if callable(policy):
        act, name = policy, getattr(policy, "__name__", "callable")
    elif policy == "random":
        act, name = (lambda obs, rng: env.action_space.sample()), "random"
        env.action_space.seed(seed)
    elif policy in ("medium", "expert"):
        from jaxrl_hybrid.training.collect import CollectConfig

        config = collect_config or CollectConfig(env=env_name)
        if config.env != env_name:
            raise ValueError(f"collect_config.env is {config.env}, the recording's env is {env_name}")
        act, expert_return, random_return = trained_policy(env_name, policy, config, seed, stream)
        name = f"SAC ({policy} snapshot, {config.resolved_train_steps} training steps)"
        if refs is None and expert_return is not None:
            refs = {"random": random_return, "expert": expert_return, "source": "measured with the SAC run"}
    else:
        raise ValueError(f"--policy {policy!r}: expected one of {POLICIES}")
    rng = np.random.default_rng(seed)
    collector = minari.DataCollector(env, record_infos=False)
    returns = []
    for episode in range(num_episodes):
        obs, _ = collector.reset(seed=seed + episode)
        total, done = 0.0, False
        while not done:
            obs, reward, terminated, truncated, _ = collector.step(act(obs, rng))
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
        if stream is not None:
            print(f"episode {episode + 1}/{num_episodes}: return {total:.1f}", file=stream, flush=True)
    scores = {} if refs is None else {"ref_min_score": float(refs["random"]), "ref_max_score": float(refs["expert"])}
    root = minari_root()
    staging = root / f".record-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    backup = final.with_name(f".{final.name}.old-{os.getpid()}")
    previous = os.environ.get("MINARI_DATASETS_PATH")
    os.environ["MINARI_DATASETS_PATH"] = str(staging)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Minari nags about author, e-mail and code permalink
            collector.create_dataset(
                dataset_id=dataset_id,
                algorithm_name=name,
                description=(
                    f"{num_episodes} episodes of {name} in {env_name}, recorded by jaxrl_hybrid "
                    f"(seed {seed}); reference returns: {refs['source'] if refs else 'none'}"
                ),
                **scores,
            )
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            os.replace(final, backup)
        os.replace(staging / dataset_id, final)
    finally:
        if previous is None:
            os.environ.pop("MINARI_DATASETS_PATH", None)
        else:
            os.environ["MINARI_DATASETS_PATH"] = previous
        collector.close()
        shutil.rmtree(staging, ignore_errors=True)
    shutil.rmtree(backup, ignore_errors=True)
    return final
