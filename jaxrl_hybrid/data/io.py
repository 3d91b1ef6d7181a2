"""`load(source)` and `save(dataset, path, format)`: one entry point for dataset files.

    ds = load("data/pendulum-medium.hdf5")          # D4RL-layout HDF5 file
    ds = load("pendulum/medium-v0")                 # Minari id under the local Minari data path
    ds = load("exports/pendulum-medium-v0")         # Minari dataset folder
    save(ds, "out.hdf5")                            # D4RL layout, readable with plain h5py
    save(ds, minari_path("pendulum/medium-v0"), format="minari")  # minari.load_dataset reads it

Nothing is downloaded: a source that is not found names every place that was searched.
"""

from __future__ import annotations

import os
from pathlib import Path

from jaxrl_hybrid.data.dataset import Dataset
from jaxrl_hybrid.data.hdf5 import load_hdf5, save_hdf5
from jaxrl_hybrid.data.minari_io import find_minari_data, load_minari, minari_root, save_minari

FORMATS = ("hdf5", "minari")


def load(source: str | os.PathLike, gamma: float | None = None, action_bounds: tuple | None = None) -> Dataset:
    """Load an HDF5 file, a Minari dataset folder or a local Minari dataset id.

    `gamma` (for returns-to-go) defaults to the one stored with the data, else 0.99.
    `action_bounds=(low, high)` overrides the bounds the data declares; actions outside
    them give a warning naming the first offending index.
    """
    path = Path(source)
    if path.is_file():
        return load_hdf5(path, gamma=gamma, action_bounds=action_bounds)
    data = find_minari_data(source)
    if data is not None:
        return load_minari(data, gamma=gamma, action_bounds=action_bounds)
    if path.is_dir():
        raise ValueError(f"{path}: a folder without Minari data (expected {path}/data/metadata.json)")
    raise FileNotFoundError(
        f"{source}: no dataset found. Looked for a file or Minari folder at {path.absolute()} and for a "
        f"Minari dataset id at {minari_root() / str(source)} (set MINARI_DATASETS_PATH to search elsewhere); "
        "nothing is downloaded"
    )


def save(
    dataset: Dataset,
    path: str | os.PathLike,
    format: str = "hdf5",
    overwrite: bool = False,
    dataset_id: str | None = None,
) -> Path:
    """Save as a D4RL-layout HDF5 file or a Minari dataset folder; never leaves a partial file.

    An existing `path` is replaced only with `overwrite=True`. `dataset_id` (Minari only)
    defaults to `path` relative to the Minari data path, else the folder name.
    """
    if format == "hdf5":
        if dataset_id is not None:
            raise ValueError("dataset_id only applies to format='minari'")
        return save_hdf5(dataset, path, overwrite=overwrite)
    if format == "minari":
        return save_minari(dataset, path, dataset_id=dataset_id, overwrite=overwrite)
    raise ValueError(f"unknown dataset format {format!r}; expected one of {FORMATS}")
