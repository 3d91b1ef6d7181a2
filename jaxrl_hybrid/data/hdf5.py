"""D4RL-layout HDF5 files: `observations, actions, rewards, terminals, timeouts` at the root.

`next_observations` is optional. When absent it is derived from the episode boundaries:
obs[t+1] inside an episode, obs[t] after a terminal (never bootstrapped). A step that ends
an episode by timeout (or ends the data) has no recorded successor; it is dropped and the
step before it becomes the episode's timeout, as D4RL's `qlearning_dataset` does, instead of
inventing a next observation. Groups such as `infos/` and `metadata/` are ignored on load.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from jaxrl_hybrid.data.dataset import Dataset, from_arrays

REQUIRED = ("observations", "actions", "rewards", "terminals", "timeouts")
METADATA_ATTR = "jaxrl_hybrid_metadata"


def derive_next_observations(observations, terminals, timeouts):
    """(next_observations, timeouts, keep) for a file without next_observations; see module doc."""
    n = len(observations)
    terminals = np.asarray(terminals).astype(bool)
    timeouts = np.asarray(timeouts).astype(bool) & ~terminals
    done = terminals | timeouts
    next_obs = np.roll(observations, -1, axis=0)
    next_obs[terminals] = observations[terminals]
    drop = (timeouts | (np.arange(n) == n - 1)) & ~terminals
    prev = np.flatnonzero(drop) - 1
    prev = prev[(prev >= 0) & ~done[np.maximum(prev, 0)]]
    timeouts = timeouts.copy()
    timeouts[prev] = True
    return next_obs, timeouts, ~drop


def load_hdf5(path: str | os.PathLike, gamma: float | None = None, action_bounds: tuple | None = None) -> Dataset:
    """Read a D4RL-layout file; errors name the file, the key and the expectation.

    `gamma` (for the returns-to-go) defaults to the one stored in the file, else 0.99.
    `action_bounds` default to the `action_bounds` in the file's metadata, if any.
    """
    import h5py

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such dataset file")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise ValueError(f"{path}: not a readable HDF5 file ({e})") from e
    with f:
        missing = [k for k in REQUIRED if k not in f]
        if missing:
            raise ValueError(f"{path}: missing key(s) {missing}; a D4RL-layout file needs {list(REQUIRED)}")
        arrays = {}
        for key in (*REQUIRED, "next_observations"):
            if key not in f:
                continue
            if not isinstance(f[key], h5py.Dataset):
                raise ValueError(f"{path}: '{key}' is a group, expected an array")
            try:
                arrays[key] = f[key][()]
            except OSError as e:
                raise ValueError(f"{path}: '{key}' could not be read (truncated file?): {e}") from e
        try:
            metadata = json.loads(f.attrs.get(METADATA_ATTR, "{}"))
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: attribute '{METADATA_ATTR}' is not valid JSON ({e})") from e
        if gamma is None:
            gamma = float(f.attrs.get("gamma", 0.99))
    if action_bounds is None and metadata.get("action_bounds") is not None:
        action_bounds = tuple(metadata["action_bounds"])
    n = len(arrays["rewards"]) if np.ndim(arrays["rewards"]) else 0
    for key, x in arrays.items():  # every length before anything is derived from them
        rows = len(x) if np.ndim(x) else 0
        if rows != n:
            raise ValueError(f"{path}: '{key}' has {rows} rows, expected {n} (as 'rewards')")
    if "next_observations" not in arrays:
        obs = np.asarray(arrays["observations"])
        next_obs, timeouts, keep = derive_next_observations(obs, arrays["terminals"], arrays["timeouts"])
        arrays = {k: np.asarray(v)[keep] for k, v in arrays.items()}
        arrays["timeouts"] = timeouts[keep]
        arrays["next_observations"] = next_obs[keep]
    return from_arrays(**arrays, gamma=gamma, source=str(path), metadata=metadata, action_bounds=action_bounds)


def save_hdf5(dataset: Dataset, path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Write `dataset` in the D4RL layout (plus episode ids and returns-to-go), atomically.

    The file is written next to `path` under a temporary name and renamed into place, so
    a failure never leaves a half-written file at `path`. An existing file is replaced only
    with `overwrite=True`.
    """
    import h5py

    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path}: already exists; pass overwrite=True (--overwrite) to replace it")
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a folder; an HDF5 dataset is a single file")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with h5py.File(tmp, "w") as f:
            for key in ("observations", "actions", "rewards", "next_observations", "terminals", "timeouts"):
                f.create_dataset(key, data=np.asarray(getattr(dataset, key)), compression="gzip")
            f.create_dataset("infos/episode_ids", data=np.asarray(dataset.episode_ids))
            f.create_dataset("infos/returns_to_go", data=np.asarray(dataset.returns_to_go))
            f.attrs[METADATA_ATTR] = dataset.metadata_json
            f.attrs["gamma"] = dataset.gamma
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
