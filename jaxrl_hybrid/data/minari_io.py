"""Minari datasets: read by id or folder, written so that `minari.load_dataset` reads them back.

Minari stores episodes, each with T+1 observations and T actions, rewards, terminations and
truncations. We flatten them to the D4RL layout (observations[t], next_observations[t] =
episode observations t and t+1). Our provenance (env id, shift, generating policy, reference
returns) travels as the JSON string `jaxrl_hybrid` in Minari's metadata, and the reference
returns also as Minari's own `ref_min_score` / `ref_max_score`, so
`minari.get_normalized_score` agrees with ours.

Nothing here touches the network: ids resolve under the local Minari data path only
(`MINARI_DATASETS_PATH`, else `~/.minari/datasets`).
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from pathlib import Path

import numpy as np

from jaxrl_hybrid.data.dataset import Dataset, from_arrays

METADATA_KEY = "jaxrl_hybrid"
METADATA_FILE = "metadata.json"


def minari_root() -> Path:
    """The local Minari data path, computed without creating it (Minari's own helper mkdirs)."""
    root = os.environ.get("MINARI_DATASETS_PATH")
    return Path(root) if root else Path.home() / ".minari" / "datasets"


def minari_path(dataset_id: str) -> Path:
    """Folder of Minari dataset `dataset_id` under the local data path (save here to load by id)."""
    return minari_root() / dataset_id


def find_minari_data(source: str | os.PathLike) -> Path | None:
    """The `data/` folder (holding metadata.json) that `source` names, or None.

    `source` may be a dataset folder (`<id>/`, holding `data/`), its `data/` folder, or a
    dataset id resolved under `minari_root()`.
    """
    path = Path(source)
    for candidate in (path / "data", path):
        if (candidate / METADATA_FILE).is_file():
            return candidate
    if not path.is_absolute() and not str(source).startswith("."):
        data = minari_root() / str(source) / "data"
        if (data / METADATA_FILE).is_file():
            return data
    return None


def load_minari(data_path: Path, gamma: float | None = None, action_bounds: tuple | None = None) -> Dataset:
    """Flatten the Minari dataset stored in `data_path` (a `data/` folder) into a `Dataset`."""
    import gymnasium as gym
    from minari.dataset.minari_storage import MinariStorage

    source = str(data_path)
    try:
        storage = MinariStorage.read(data_path)
        raw = MinariStorage.read_raw_metadata(data_path)
    except (ValueError, KeyError, OSError, json.JSONDecodeError) as e:
        raise ValueError(f"{source}: not a readable Minari dataset ({e})") from e
    action_space = storage.action_space
    if action_bounds is None and isinstance(action_space, gym.spaces.Box):
        action_bounds = (action_space.low, action_space.high)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("obs", "next", "act", "rew", "term", "trunc")}
    total = storage.total_episodes
    if total == 0:
        raise ValueError(f"{source}: the Minari dataset holds no episodes")
    try:
        episodes = list(storage.get_episodes(range(total)))
    except (OSError, KeyError) as e:
        raise ValueError(f"{source}: episodes could not be read (truncated file?): {e}") from e
    for ep in episodes:
        obs, actions = ep["observations"], ep["actions"]
        if isinstance(obs, dict | tuple) or isinstance(actions, dict | tuple):
            raise ValueError(f"{source}: episode {ep['id']} has dict/tuple observations or actions; only arrays load")
        obs = np.asarray(obs)
        rewards = np.asarray(ep["rewards"])
        steps = len(rewards)
        if len(obs) != steps + 1:
            raise ValueError(
                f"{source}: episode {ep['id']} has {len(obs)} observations and {steps} rewards; "
                f"expected {steps + 1} observations (one more than steps)"
            )
        term = np.asarray(ep["terminations"]).astype(bool)
        trunc = np.asarray(ep["truncations"]).astype(bool)
        early = np.flatnonzero((term | trunc)[:-1])
        if early.size:
            raise ValueError(
                f"{source}: episode {ep['id']} is marked terminated/truncated at step {early[0]} "
                f"before its last step {steps - 1}; expected episode ends only at the last step"
            )
        trunc[-1] = trunc[-1] or not term[-1]
        parts["obs"].append(obs[:-1])
        parts["next"].append(obs[1:])
        parts["act"].append(np.asarray(actions))
        parts["rew"].append(rewards)
        parts["term"].append(term)
        parts["trunc"].append(trunc)
    metadata = json.loads(raw.get(METADATA_KEY, "{}"))
    if "reference_returns" not in metadata and "ref_min_score" in raw and "ref_max_score" in raw:
        metadata["reference_returns"] = {
            "random": float(raw["ref_min_score"]),
            "expert": float(raw["ref_max_score"]),
            "source": "Minari metadata (ref_min_score, ref_max_score)",
        }
    metadata.setdefault("minari_dataset_id", raw.get("dataset_id"))
    if "env" not in metadata:  # a dataset Minari's own DataCollector recorded: its env spec names the env
        metadata.update(env_from_spec(raw, source))
    if "action_bounds" not in metadata and action_bounds is not None:
        metadata["action_bounds"] = [np.asarray(b, np.float64).tolist() for b in action_bounds]
    if gamma is None:
        gamma = float(metadata.get("gamma", 0.99))
    cat = {k: np.concatenate(v) for k, v in parts.items()}
    return from_arrays(
        observations=cat["obs"],
        actions=cat["act"],
        rewards=cat["rew"],
        next_observations=cat["next"],
        terminals=cat["term"],
        timeouts=cat["trunc"],
        gamma=gamma,
        source=source,
        metadata=metadata,
        action_bounds=action_bounds,
    )


def env_from_spec(raw: dict, source: str) -> dict:
    """{"env": "gymnasium:<id>", "dynamics": gym.make arguments} from a Minari dataset's
    `eval_env_spec` (preferred, as Minari intends) or `env_spec`; {} when it records neither.
    The time limit travels as `max_steps_in_episode`."""
    spec_json = raw.get("eval_env_spec") or raw.get("env_spec")
    if not spec_json:
        return {}
    try:
        spec = json.loads(spec_json)
        env_id = spec["id"]
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise ValueError(f"{source}: Minari 'env_spec' is not a gymnasium EnvSpec in JSON ({e})") from e
    if spec.get("namespace"):
        env_id = f"{spec['namespace']}/{env_id}"
    dynamics = {k: v for k, v in (spec.get("kwargs") or {}).items() if v is not None}
    if spec.get("max_episode_steps"):
        dynamics["max_steps_in_episode"] = int(spec["max_episode_steps"])
    return {"env": f"gymnasium:{env_id}", "dynamics": dynamics}


def _episode_slices(dataset: Dataset) -> list[slice]:
    ids = np.asarray(dataset.episode_ids)
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    ends = np.r_[starts[1:], len(ids)]
    return [slice(int(s), int(e)) for s, e in zip(starts, ends, strict=True)]


def dataset_id_for(path: Path, dataset_id: str | None) -> str:
    """The Minari id of a dataset saved at `path` (`dataset_id`, else `path` under the Minari data
    path, else its folder name), checked by Minari's own parser: a malformed id is a ValueError."""
    from minari.dataset.minari_dataset import parse_dataset_id

    if dataset_id is None:
        try:
            dataset_id = path.resolve().relative_to(minari_root().resolve()).as_posix()
        except ValueError:
            dataset_id = path.name
    try:
        parse_dataset_id(dataset_id)  # minari 0.5.4 raises TypeError for a missing version
    except (ValueError, TypeError) as e:
        raise ValueError(
            f"{path}: Minari dataset id {dataset_id!r} is malformed; expected '(namespace/)name-v<version>' "
            "(name the folder like 'pendulum-medium-v0' or pass dataset_id=...)"
        ) from e
    return dataset_id


def save_minari(
    dataset: Dataset, path: str | os.PathLike, dataset_id: str | None = None, overwrite: bool = False
) -> Path:
    """Write `dataset` as a Minari dataset folder `path` (holding `data/`).

    To load it with `minari.load_dataset(id)`, save under `minari_path(id)`. The id defaults to
    `path` relative to the Minari data path, else the folder name. Episodes must be contiguous
    observation sequences (next_observations[t] == observations[t+1] inside an episode), as
    Minari stores one observation sequence per episode; corrupted or subsampled data must go
    to HDF5. The folder is built under a temporary name and renamed into place.
    """
    import gymnasium as gym
    import minari
    from minari.data_collector import EpisodeBuffer
    from minari.dataset.minari_storage import MinariStorage

    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path}: already exists; pass overwrite=True (--overwrite) to replace it")
    dataset_id = dataset_id_for(path, dataset_id)
    obs = np.asarray(dataset.observations)
    next_obs = np.asarray(dataset.next_observations)
    actions = np.asarray(dataset.actions)
    rewards = np.asarray(dataset.rewards, np.float32)
    terminals = np.asarray(dataset.terminals)
    timeouts = np.asarray(dataset.timeouts)
    slices = _episode_slices(dataset)
    for sl in slices:
        gap = np.flatnonzero(np.any(next_obs[sl][:-1] != obs[sl][1:], axis=tuple(range(1, obs.ndim))))
        if gap.size:
            t = sl.start + int(gap[0])
            raise ValueError(
                f"{path}: next_observations[{t}] differs from observations[{t + 1}] inside one episode; "
                "Minari stores one observation sequence per episode, so save this dataset as HDF5"
            )
    metadata = dataset.metadata
    bounds = metadata.get("action_bounds") or (-1.0, 1.0)
    if np.issubdtype(actions.dtype, np.integer):
        action_space = gym.spaces.Discrete(int(actions.max()) + 1)
    else:
        low, high = (np.broadcast_to(np.asarray(b, np.float32), actions.shape[1:]) for b in bounds)
        action_space = gym.spaces.Box(low, high, actions.shape[1:], np.float32)
    observation_space = gym.spaces.Box(-np.inf, np.inf, obs.shape[1:], np.float32)
    extra = {
        "dataset_id": dataset_id,
        "minari_version": minari.__version__,
        METADATA_KEY: json.dumps({**metadata, "gamma": dataset.gamma}, sort_keys=True),
    }
    refs = metadata.get("reference_returns") or {}
    if "random" in refs and "expert" in refs:
        extra.update(ref_min_score=float(refs["random"]), ref_max_score=float(refs["expert"]))
    if metadata.get("policy", {}).get("algo"):
        extra["algorithm_name"] = str(metadata["policy"]["algo"])
    if metadata.get("description"):
        extra["description"] = str(metadata["description"])

    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    backup = path.with_name(f".{path.name}.old-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        (staging / "data").mkdir(parents=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Minari nags about missing author/permalink metadata
            storage = MinariStorage.new(
                staging / "data",
                observation_space=observation_space,
                action_space=action_space,
                data_format="hdf5",
                jpeg_encoding=False,
            )
            storage.update_metadata(extra)
            storage.update_episodes(
                EpisodeBuffer(
                    id=i,
                    observations=np.concatenate([obs[sl], next_obs[sl][-1:]]),
                    actions=actions[sl],
                    rewards=rewards[sl],
                    terminations=terminals[sl],
                    truncations=timeouts[sl],
                )
                for i, sl in enumerate(slices)
            )
        if path.exists():
            os.replace(path, backup)
        try:
            os.replace(staging, path)
        except OSError:
            if backup.exists():
                os.replace(backup, path)  # put the old dataset back
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    shutil.rmtree(backup, ignore_errors=True)
    return path
