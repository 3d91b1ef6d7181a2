"""A run's output folder, written so that a failing run never damages what is on disk.

Files are written into a sibling staging folder (`<name>.partial`); only when the run
succeeds does it replace `<name>` (the old folder, with --overwrite, is moved aside first and
removed last). A run that dies leaves the staging folder, with its resume checkpoints, and
`<name>` intact: `resume=True` continues it, `overwrite=True` discards it.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any


class RunDirExistsError(FileExistsError):
    pass


def json_default(x: Any):
    import numpy as np

    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    raise TypeError(f"cannot write {type(x).__name__} to JSON")


def staging_path(out: str | os.PathLike) -> Path:
    final = Path(out)
    return final.with_name(f"{final.name}.partial")


class RunDir:
    """`resumed` is True when an unfinished run's staging folder was taken over (resume=True)."""

    def __init__(self, out: str | os.PathLike, overwrite: bool = False, resume: bool = False):
        self.final = Path(out)
        self.staging = staging_path(out)
        if self.final.exists() and not self.final.is_dir():
            raise RunDirExistsError(f"{self.final} exists and is not a folder")
        if self.final.is_dir() and any(self.final.iterdir()) and not overwrite:
            what = "holds a finished run; nothing to resume" if resume else "exists and is not empty"
            raise RunDirExistsError(
                f"{self.final} {what}; pass --overwrite to replace it "
                "(it is only replaced once the new run has finished)"
            )
        self.resumed = False
        if self.staging.exists():
            if resume:
                self.resumed = True
            elif overwrite:
                shutil.rmtree(self.staging)
            else:
                raise RunDirExistsError(
                    f"{self.staging} holds an unfinished run: pass --resume to continue it, "
                    "or --overwrite to discard it and start again"
                )
        self.staging.mkdir(parents=True, exist_ok=True)

    def path(self, name: str) -> Path:
        return self.staging / name

    def write_json(self, name: str, obj: Any) -> None:
        tmp = self.path(name + ".tmp")
        tmp.write_text(json.dumps(obj, indent=2, default=json_default) + "\n")
        tmp.replace(self.path(name))

    def append_jsonl(self, name: str, obj: Any) -> None:
        with open(self.path(name), "a") as f:
            f.write(json.dumps(obj, default=json_default) + "\n")

    def read_json(self, name: str) -> Any:
        path = self.path(name)
        return json.loads(path.read_text()) if path.is_file() else None

    def truncate(self, name: str) -> None:
        self.path(name).write_text("")

    def commit(self, drop: tuple[str, ...] = ()) -> Path:
        """Move the finished run into place (without the entries in `drop`, e.g. resume
        checkpoints); the previous folder (if any) goes last."""
        for name in drop:
            if self.path(name).exists():
                shutil.rmtree(self.path(name))
        backup = None
        if self.final.exists():
            backup = self.final.with_name(f"{self.final.name}.old-{os.getpid()}")
            self.final.rename(backup)
        self.staging.rename(self.final)
        if backup is not None:
            shutil.rmtree(backup)
        return self.final
