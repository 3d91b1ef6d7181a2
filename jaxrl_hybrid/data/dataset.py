"""The in-memory offline dataset: a device-resident pytree sampled by index gathers.

One copy of the data serves every seed of a vmapped run: `sample(dataset, key, n)` only
gathers rows, so `jax.vmap(sample, in_axes=(None, 0, None))` gives each seed its own batches.
Episode ids and discounted Monte-Carlo returns-to-go (Cal-QL needs them) are computed once,
on the host, when the dataset is built.
"""

from __future__ import annotations

import json
import warnings

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxrl_hybrid.types import Transition

FIELDS = ("observations", "actions", "rewards", "next_observations", "terminals", "timeouts")


@struct.dataclass
class Dataset:
    """D4RL-layout transitions plus per-step episode index and return-to-go.

    `terminals` marks MDP termination (no bootstrap); `timeouts` marks episodes cut by a
    time limit (or by the end of the data). `returns_to_go[t]` is the discounted sum of
    rewards from t to the end of t's episode, with `gamma` (static). `next_actions[t]` is
    the action taken at t+1 in the same episode (the step's own action at an episode's end,
    where nothing bootstraps from it or the successor is unknown).
    """

    observations: jax.Array
    actions: jax.Array
    rewards: jax.Array
    next_observations: jax.Array
    terminals: jax.Array
    timeouts: jax.Array
    episode_ids: jax.Array
    returns_to_go: jax.Array
    next_actions: jax.Array
    gamma: float = struct.field(pytree_node=False, default=0.99)
    metadata_json: str = struct.field(pytree_node=False, default="{}")

    @property
    def metadata(self) -> dict:
        """Provenance that travels with the file: env id, dynamics shift, policy, reference returns."""
        return json.loads(self.metadata_json)

    @property
    def size(self) -> int:
        return int(self.rewards.shape[0])

    @property
    def num_episodes(self) -> int:
        return int(self.episode_ids[-1]) + 1 if self.size else 0


def episode_ids(terminals: np.ndarray, timeouts: np.ndarray) -> np.ndarray:
    """Index of the episode each step belongs to; an episode ends at a terminal or timeout."""
    done = np.logical_or(terminals, timeouts).astype(np.int64)
    return np.concatenate([[0], np.cumsum(done[:-1])]).astype(np.int32)


def next_actions_within_episodes(actions: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """actions[t+1] where t+1 is in t's episode, else actions[t]."""
    nxt = np.concatenate([actions[1:], actions[-1:]])
    same = np.concatenate([ids[1:] == ids[:-1], [False]])
    return np.where(same.reshape(-1, *([1] * (actions.ndim - 1))), nxt, actions)


def discounted_returns_to_go(
    rewards: np.ndarray, terminals: np.ndarray, timeouts: np.ndarray, gamma: float
) -> np.ndarray:
    """G_t = r_t + gamma * G_{t+1} within an episode, G = r at its last step.

    Episodes cut by a timeout are not bootstrapped (the Monte-Carlo return of what was
    observed, as Cal-QL computes it). Computed in float64 on the host, returned as float32.
    """
    rewards = np.asarray(rewards, np.float64)
    done = np.logical_or(terminals, timeouts)
    out = np.empty_like(rewards)
    running = 0.0
    for t in range(len(rewards) - 1, -1, -1):
        if done[t] or t == len(rewards) - 1:
            running = 0.0
        running = rewards[t] + gamma * running
        out[t] = running
    return out.astype(np.float32)


def from_arrays(
    observations,
    actions,
    rewards,
    next_observations,
    terminals,
    timeouts,
    gamma: float = 0.99,
    source: str = "arrays",
    metadata: dict | None = None,
    action_bounds: tuple | None = None,
) -> Dataset:
    """Build a `Dataset` from host arrays, checking shapes and values first.

    The last step of the data always ends an episode: if it is neither terminal nor a
    timeout it is marked as a timeout. Errors name `source`, the field and the first bad index.
    With `action_bounds=(low, high)` (scalars or per-dimension arrays), actions outside them
    raise a warning that names the first offending index: such datasets exist (noisy
    behaviour policies) but tanh policies cannot reproduce their actions.
    """
    arrays = {
        "observations": np.asarray(observations, np.float32),
        "actions": np.asarray(actions),
        "rewards": np.asarray(rewards, np.float32),
        "next_observations": np.asarray(next_observations, np.float32),
        "terminals": np.asarray(terminals),
        "timeouts": np.asarray(timeouts),
    }
    n = arrays["rewards"].shape[0] if arrays["rewards"].ndim else 0
    if n == 0:
        raise ValueError(f"{source}: 'rewards' is empty; a dataset needs at least one transition")
    for name, x in arrays.items():
        if x.shape[:1] != (n,):
            raise ValueError(f"{source}: '{name}' has {x.shape[0] if x.ndim else 0} rows, expected {n} (as 'rewards')")
        if not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_):
            raise ValueError(f"{source}: '{name}' has dtype {x.dtype}, expected a numeric or boolean dtype")
        if np.issubdtype(x.dtype, np.floating):
            bad = np.flatnonzero(~np.isfinite(x.reshape(n, -1)).all(axis=1))
            if bad.size:
                raise ValueError(f"{source}: '{name}' is not finite at index {bad[0]} (expected finite numbers)")
    if arrays["rewards"].ndim != 1:
        raise ValueError(f"{source}: 'rewards' has shape {arrays['rewards'].shape}, expected ({n},)")
    if arrays["observations"].shape != arrays["next_observations"].shape:
        raise ValueError(
            f"{source}: 'next_observations' has shape {arrays['next_observations'].shape}, "
            f"expected {arrays['observations'].shape} (as 'observations')"
        )
    for name in ("terminals", "timeouts"):
        x = arrays[name]
        bad = np.flatnonzero((x != 0) & (x != 1))
        if x.ndim != 1 or bad.size:
            where = f"index {bad[0]}" if bad.size else f"shape {x.shape}"
            raise ValueError(f"{source}: '{name}' must be a 1-D array of 0/1 flags; bad at {where}")
        arrays[name] = x.astype(bool)
    if action_bounds is not None:
        check_action_bounds(arrays["actions"], action_bounds, source)
    arrays["timeouts"] = arrays["timeouts"] & ~arrays["terminals"]
    if not (arrays["terminals"][-1] or arrays["timeouts"][-1]):
        arrays["timeouts"][-1] = True
    ids = episode_ids(arrays["terminals"], arrays["timeouts"])
    rtg = discounted_returns_to_go(arrays["rewards"], arrays["terminals"], arrays["timeouts"], gamma)
    return Dataset(
        **{k: jnp.asarray(v) for k, v in arrays.items()},
        episode_ids=jnp.asarray(ids),
        returns_to_go=jnp.asarray(rtg),
        next_actions=jnp.asarray(next_actions_within_episodes(arrays["actions"], ids)),
        gamma=float(gamma),
        metadata_json=json.dumps(metadata or {}, sort_keys=True),
    )


def check_action_bounds(actions: np.ndarray, bounds: tuple, source: str) -> int:
    """Warn (naming `source` and the first index) if actions leave [low, high]; returns the count."""
    low, high = (np.asarray(b, np.float64) for b in bounds)
    flat = np.asarray(actions, np.float64).reshape(len(actions), -1)
    outside = np.flatnonzero(((flat < low.reshape(-1) - 1e-6) | (flat > high.reshape(-1) + 1e-6)).any(axis=1))
    if outside.size:
        warnings.warn(
            f"{source}: 'actions' leave the env's bounds [{low.tolist()}, {high.tolist()}] at index {outside[0]} "
            f"({outside.size} of {len(flat)} rows); tanh-squashed policies cannot reproduce those actions",
            UserWarning,
            stacklevel=3,
        )
    return int(outside.size)


def env_mismatches(dataset: Dataset, spec) -> list[str]:
    """Ways the dataset cannot be an env's data (an `EnvSpec`): observation shape, action shape
    or range, recorded action bounds. Empty when it fits. Checked from shapes and a pass over
    the actions only, so it runs before anything compiles."""
    problems = []
    obs_shape = tuple(dataset.observations.shape[1:])
    if obs_shape != tuple(spec.obs_shape):
        problems.append(f"'observations' have shape {obs_shape} per row, {spec.name} observes {tuple(spec.obs_shape)}")
    actions = np.asarray(dataset.actions)
    if spec.discrete:
        if actions.ndim != 1 or not np.issubdtype(actions.dtype, np.integer):
            problems.append(
                f"'actions' are {actions.dtype}{list(actions.shape[1:])} per row, {spec.name} takes one integer action"
            )
        elif actions.size and (actions.min() < 0 or actions.max() >= spec.action_dim):
            problems.append(
                f"'actions' range over [{actions.min()}, {actions.max()}], "
                f"{spec.name} has actions 0..{spec.action_dim - 1}"
            )
    else:
        if tuple(actions.shape[1:]) != (spec.action_dim,):
            problems.append(
                f"'actions' have shape {tuple(actions.shape[1:])} per row, {spec.name} takes ({spec.action_dim},)"
            )
        bounds = dataset.metadata.get("action_bounds")
        low, high = (None, None) if bounds is None else (np.asarray(b, np.float64) for b in bounds)
        if bounds is not None and not (np.all(low == -1.0) and np.all(high == 1.0)):
            problems.append(
                f"metadata 'action_bounds' are {bounds}, but agents act in [-1, 1] (the env's bounds rescaled): "
                f"store actions rescaled to [-1, 1], or evaluate in an env whose own bounds these are"
            )
    return problems


def check_env(dataset: Dataset, spec, source: str) -> None:
    """Raise one ValueError naming `source` and every mismatch with the env `spec`."""
    problems = env_mismatches(dataset, spec)
    if problems:
        raise ValueError(f"{source}: does not fit {spec.name}: " + "; ".join(problems))


def gather(dataset: Dataset, idx: jax.Array) -> Transition:
    """Rows `idx` of the dataset as a Transition batch (any index shape)."""
    return Transition(
        obs=dataset.observations[idx],
        action=dataset.actions[idx],
        reward=dataset.rewards[idx],
        next_obs=dataset.next_observations[idx],
        terminated=dataset.terminals[idx],
        truncated=dataset.timeouts[idx],
        next_action=dataset.next_actions[idx],
        mc_return=dataset.returns_to_go[idx],
    )


def sample(dataset: Dataset, key: jax.Array, batch_size: int | tuple[int, ...]) -> Transition:
    """Uniform sample with replacement: a pure index gather, vmappable over keys."""
    shape = (batch_size,) if isinstance(batch_size, int) else tuple(batch_size)
    return gather(dataset, jax.random.randint(key, shape, 0, dataset.rewards.shape[0]))


def fingerprint(dataset: Dataset) -> str:
    """sha256 over the stored fields (shapes, dtypes and bytes) and gamma: identifies the exact data."""
    import hashlib

    h = hashlib.sha256()
    for name in FIELDS:
        x = np.ascontiguousarray(np.asarray(getattr(dataset, name)))
        h.update(f"{name}:{x.dtype}:{x.shape};".encode())
        h.update(x.tobytes())
    h.update(f"gamma:{dataset.gamma}".encode())
    return h.hexdigest()


def first_episodes(dataset: Dataset, n: int, source: str = "the dataset") -> Dataset:
    """The dataset's first `n` episodes (rows in file order), a handful of demonstrations for
    imitation; metadata, gamma and returns-to-go are kept (episodes are whole)."""
    if n < 1:
        raise ValueError(f"{source}: asked for {n} episodes; expected at least 1")
    if n > dataset.num_episodes:
        raise ValueError(f"{source}: asked for its first {n} episodes, but it holds {dataset.num_episodes}")
    rows = int(np.searchsorted(np.asarray(dataset.episode_ids), n))
    return jax.tree.map(lambda x: x[:rows], dataset)


def episode_returns(dataset: Dataset) -> np.ndarray:
    """Undiscounted return of every episode, in order (host numpy)."""
    return np.bincount(np.asarray(dataset.episode_ids), weights=np.asarray(dataset.rewards, np.float64))
