"""`load(source)` and `save(dataset, path, format)`: one entry point for dataset files."""

from __future__ import annotations

import os
from pathlib import Path

from jaxrl_hybrid.data.dataset import Dataset
from jaxrl_hybrid.data.hdf5 import load_hdf5, save_hdf5

HDF5_SUFFIXES = (".hdf5", ".h5")


def load(source: str | os.PathLike, gamma: float = 0.99) -> Dataset:
    """Load a D4RL-layout HDF5 file. Minari datasets are not readable yet and say so."""
    path = Path(source)
    if path.suffix in HDF5_SUFFIXES or path.is_file():
        return load_hdf5(path, gamma=gamma)
    raise NotImplementedError(
        f"{source}: only D4RL-layout HDF5 files ({', '.join(HDF5_SUFFIXES)}) can be loaded so far; "
        "Minari dataset ids and folders are not supported yet (issue 4)"
    )


def save(dataset: Dataset, path: str | os.PathLike, format: str = "hdf5") -> Path:
    """Save in the D4RL HDF5 layout; `format="minari"` is not supported yet and says so."""
    if format == "hdf5":
        return save_hdf5(dataset, path)
    if format == "minari":
        raise NotImplementedError("saving Minari datasets is not supported yet (issue 4)")
    raise ValueError(f"unknown dataset format {format!r}; expected 'hdf5' or 'minari'")
