"""Datasets from the behaviour policies: random, medium, expert, medium-replay, medium-expert."""

from __future__ import annotations

import functools
import sys
import warnings
from typing import Any, TextIO

import jax
import numpy as np

from jaxrl_hybrid.data.dataset import Dataset, from_arrays
from jaxrl_hybrid.training.collect.behaviour import (
    KINDS,
    BehaviourPolicies,
    CollectConfig,
    _log,
    train_behaviour_policies,
)
from jaxrl_hybrid.training.collect.rollout import _uniform_policy, rollout, rollout_shape
from jaxrl_hybrid.types import Transition


def _replay_tail(replay: Transition, size: int) -> Transition:
    """The last <= `size` replay transitions, starting at an episode start."""
    n = replay.reward.shape[0]
    if size >= n:
        return replay
    done = np.asarray(replay.terminated) | np.asarray(replay.truncated)
    starts = np.flatnonzero(np.r_[True, done[:-1]])
    start = starts[starts >= n - size]
    first = int(start[0]) if start.size else n - size
    return jax.tree.map(lambda x: x[first:], replay)


def _end_episode(part: Transition) -> Transition:
    """Flat transitions whose last step ends an episode (so concatenated parts never merge)."""
    truncated = np.array(part.truncated, bool)
    truncated[-1] |= ~np.asarray(part.terminated, bool)[-1]
    return part.replace(truncated=truncated)


def _to_dataset(parts: list[Transition], size: int, metadata: dict, gamma: float, source: str) -> Dataset:
    data = jax.tree.map(lambda *xs: np.concatenate(xs)[:size], *parts)
    return from_arrays(
        observations=data.obs,
        actions=data.action,
        rewards=data.reward,
        next_observations=data.next_obs,
        terminals=data.terminated,
        timeouts=data.truncated,
        gamma=gamma,
        source=source,
        metadata=metadata,
        action_bounds=(-1.0, 1.0),
    )


def collect(policies: BehaviourPolicies, kind: str, size: int, seed: int | None = None) -> Dataset:
    """A dataset of `size` transitions of `kind` (see module doc); deterministic given `seed`."""
    if kind not in KINDS:
        raise ValueError(f"unknown dataset kind {kind!r}; expected one of {KINDS}")
    if size < 1:
        raise ValueError(f"dataset size must be >= 1, got {size}")
    if kind != "random" and policies.expert_return is None:
        raise ValueError(f"kind {kind!r} needs trained policies; train_steps=0 only allows 'random'")
    seed = policies.seed if seed is None else seed
    config, env, params, agent = policies.config, policies.env, policies.env_params, policies.agent
    spec = env.spec
    key = jax.random.fold_in(jax.random.PRNGKey(seed), KINDS.index(kind))

    @functools.partial(jax.jit, static_argnums=(2, 3))
    def policy_rollout(state, key, num_envs, num_steps):
        if state is None:
            return rollout(env, params, _uniform_policy(spec), key, num_envs, num_steps)
        return rollout(env, params, lambda o, k: agent.act(state, o, k, False), key, num_envs, num_steps)

    def run(state, n, key):
        num_envs, num_steps = rollout_shape(n, spec.max_episode_steps, config.max_rollout_envs)
        traj = jax.device_get(policy_rollout(state, key, num_envs, num_steps))
        return _end_episode(jax.tree.map(lambda x: np.asarray(x).reshape(-1, *x.shape[2:])[:n], traj))

    medium = policies.snapshot(policies.medium_index) if policies.expert_return is not None else None
    expert = policies.snapshot(policies.expert_index) if policies.expert_return is not None else None
    key_a, key_b = jax.random.split(key)
    policy_info: dict[str, Any] = {"algo": "sac", "train_steps": config.resolved_train_steps}
    if kind == "random":
        parts = [run(None, size, key_a)]
        policy_info = {"algo": "uniform-random"}
    elif kind == "medium":
        parts = [run(medium, size, key_a)]
    elif kind == "expert":
        parts = [run(expert, size, key_a)]
    elif kind == "medium-expert":
        parts = (
            [run(medium, size // 2, key_a), run(expert, size - size // 2, key_b)]
            if size > 1
            else [run(expert, size, key_b)]
        )
    else:  # medium-replay
        tail = _replay_tail(policies.replay, size)
        got = tail.reward.shape[0]
        if got < size:
            warnings.warn(
                f"the replay up to the medium policy holds {got} transitions, fewer than the {size} asked for; "
                "the medium-replay dataset keeps all of them",
                UserWarning,
                stacklevel=2,
            )
            size = got
        parts = [_end_episode(tail)]
    if kind != "random":
        policy_info.update(
            medium_step=int(policies.snapshot_steps[policies.medium_index]),
            expert_step=int(policies.snapshot_steps[policies.expert_index]),
            medium_return=policies.medium_return,
            medium_normalized_score=policies.normalized(policies.medium_return),
            hidden_dims=list(config.hidden_dims),
            learning_rate=config.learning_rate,
        )
    references = {"random": policies.random_return, "episodes": config.num_reference_episodes}
    if policies.expert_return is not None:
        references["expert"] = policies.expert_return
    metadata = {
        "env": config.env,
        "shift": config.shift,
        "side": config.side if config.shift else None,
        "dynamics": config.dynamics(),
        "kind": kind,
        "seed": seed,
        "action_bounds": [-1.0, 1.0],
        "policy": policy_info,
        "reference_returns": references,
        "generator": "jaxrl_hybrid.training.collect",
        "description": f"{kind} data on {config.env}"
        + (f" ({config.side} side of {config.shift})" if config.shift else ""),
    }
    source = f"{kind} data on {config.env}"
    return _to_dataset(parts, size, metadata, config.gamma, source)


def generate(config: CollectConfig, kind: str, size: int, seed: int = 0, stream: TextIO | None = sys.stderr) -> Dataset:
    """Train the behaviour policies (none for `random` with train_steps=0) and collect `kind`."""
    if kind not in KINDS:
        raise ValueError(f"unknown dataset kind {kind!r}; expected one of {KINDS}")
    if kind != "random" and config.resolved_train_steps == 0:
        raise ValueError(f"kind {kind!r} needs trained policies; train_steps=0 only allows 'random'")
    return collect(train_behaviour_policies(config, seed, stream=stream), kind, size, seed)


def cached_dataset(path, settings: dict[str, Any], stream: TextIO | None = sys.stderr):
    """The dataset at `path` (an .hdf5 file) if it was generated with exactly `settings`, else
    generate it, save it, and stamp it with `settings` (beside it, `<name>.settings.json`).

    `settings`: {"env", "shift", "side", "kind", "size", "seed", "behaviour": {"train_steps",
    "hidden_dims", "batch_size", "learning_rate"}}. The stamp is written last, so a run killed
    mid-generation regenerates. Returns the path.
    """
    import json
    from pathlib import Path

    from jaxrl_hybrid.data import save

    path = Path(path)
    stamp = path.with_name(path.name.removesuffix(".hdf5") + ".settings.json")
    if path.exists() and stamp.exists() and json.loads(stamp.read_text()) == settings:
        _log(stream, f"data: reusing {path}")
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    b = settings["behaviour"]
    config = CollectConfig(
        env=settings["env"],
        shift=settings["shift"],
        side=settings["side"],
        train_steps=b["train_steps"],
        hidden_dims=tuple(b["hidden_dims"]),
        batch_size=b["batch_size"],
        learning_rate=b["learning_rate"],
        num_snapshot_episodes=10,
        num_reference_episodes=20,
    )
    where = f"the {settings['side']} {settings['shift']}" if settings["shift"] else settings["env"]
    _log(stream, f"data: training the behaviour SAC in {where} ({b['train_steps']} steps)")
    policies = train_behaviour_policies(config, seed=settings["seed"], stream=stream)
    dataset = collect(policies, settings["kind"], settings["size"], settings["seed"])
    save(dataset, path, overwrite=True)
    stamp.write_text(json.dumps(settings, indent=2))
    _log(stream, f"data: wrote {path}")
    return path
