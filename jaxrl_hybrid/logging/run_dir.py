"""A run's output folder, written so that a failing run never damages what is on disk.

Files are written into a sibling staging folder (`<name>.partial-<pid>`); only when the run
succeeds does it replace `<name>` (the old folder, with --overwrite, is moved aside first and
removed last). A run that dies leaves the staging folder for inspection and `<name>` intact.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any


class RunDirExistsError(FileExistsError):
    pass


def _json_default(x: Any):
    import numpy as np

    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    raise TypeError(f"cannot write {type(x).__name__} to JSON")


class RunDir:
    def __init__(self, out: str | os.PathLike, overwrite: bool = False):
        self.final = Path(out)
        if self.final.exists() and not self.final.is_dir():
            raise RunDirExistsError(f"{self.final} exists and is not a folder")
        if self.final.is_dir() and any(self.final.iterdir()) and not overwrite:
            raise RunDirExistsError(
                f"{self.final} exists and is not empty; pass --overwrite to replace it "
                "(it is only replaced once the new run has finished)"
            )
        self.staging = self.final.with_name(f"{self.final.name}.partial-{os.getpid()}")
        if self.staging.exists():
            shutil.rmtree(self.staging)
        self.staging.mkdir(parents=True)

    def path(self, name: str) -> Path:
        return self.staging / name

    def write_json(self, name: str, obj: Any) -> None:
        tmp = self.path(name + ".tmp")
        tmp.write_text(json.dumps(obj, indent=2, default=_json_default) + "\n")
        tmp.replace(self.path(name))

    def append_jsonl(self, name: str, obj: Any) -> None:
        with open(self.path(name), "a") as f:
            f.write(json.dumps(obj, default=_json_default) + "\n")

    def commit(self) -> Path:
        """Move the finished run into place; the previous folder (if any) goes last."""
        backup = None
        if self.final.exists():
            backup = self.final.with_name(f"{self.final.name}.old-{os.getpid()}")
            self.final.rename(backup)
        self.staging.rename(self.final)
        if backup is not None:
            shutil.rmtree(backup)
        return self.final
