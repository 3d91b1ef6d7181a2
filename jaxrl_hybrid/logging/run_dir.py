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


def finite_json(obj: Any) -> Any:
    """`obj` with every NaN / infinity replaced by None, so the files are strict JSON (`null`);
    a diverged value is flagged separately (the `params_finite` metric, summary's `diverged`)."""
    import math

    import numpy as np

    if isinstance(obj, dict):
        return {k: finite_json(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [finite_json(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return finite_json(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def dumps(obj: Any, **kw) -> str:
    """Strict JSON: NaN / infinity become null (see `finite_json`)."""
    return json.dumps(finite_json(obj), allow_nan=False, default=json_default, **kw)


def staging_path(out: str | os.PathLike) -> Path:
    final = Path(out)
    return final.with_name(f"{final.name}.partial")


def check_out(out: str | os.PathLike | None, overwrite: bool = False, resume: bool = False, resumable: bool = True):
    """Refuse an output folder that would lose a user's files or cannot be made; touches nothing.

    Raises RunDirExistsError for an existing file, a non-empty folder without `overwrite`, or
    an unfinished run's staging folder without `resume` / `overwrite`; ValueError for an empty
    path or one that cannot be created (naming the path and the reason).
    """
    if out is None or not str(out).strip():
        raise ValueError(f"--out {str(out or '')!r}: expected a folder path")
    final = Path(out)
    staging = staging_path(out)
    if final.exists() and not final.is_dir():
        raise RunDirExistsError(f"--out {final}: exists and is not a folder")
    if final.is_dir() and any(final.iterdir()) and not overwrite:
        what = "holds a finished run; nothing to resume" if resume else "exists and is not empty"
        raise RunDirExistsError(
            f"--out {final}: {what}; pass --overwrite to replace it (it is only replaced once the new one is complete)"
        )
    if staging.exists() and not (overwrite or (resume and resumable)):
        hint = (
            "pass --resume to continue it, or --overwrite to discard it"
            if resumable
            else "pass --overwrite to discard it"
        )
        raise RunDirExistsError(f"{staging} holds an unfinished run: {hint}")
    check_creatable(final)


def check_creatable(path: Path, flag: str = "--out") -> None:
    """Raise a one-line ValueError when `path` cannot be created: its nearest existing
    ancestor is a file or is not writable."""
    parent = Path(path).absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ValueError(f"{flag} {path}: cannot be created, {parent} is a file")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"{flag} {path}: cannot be created, {parent} is not writable")


# Run folders of this process not yet committed, newest last: what an interrupt leaves behind.
OPEN_RUNS: list[RunDir] = []


class RunDir:
    """`resumed` is True when an unfinished run's staging folder was taken over (resume=True).

    A resumable run's staging folder survives a failure or an interrupt (`--resume` continues
    it); `discard()` removes a staging folder that cannot be resumed.
    """

    def __init__(self, out: str | os.PathLike, overwrite: bool = False, resume: bool = False, resumable: bool = True):
        check_out(out, overwrite, resume, resumable)
        self.final = Path(out)
        self.staging = staging_path(out)
        self.resumable = resumable
        self.resumed = False
        if self.staging.exists():
            if resume and resumable:
                self.resumed = True
            else:
                shutil.rmtree(self.staging)
        try:
            self.staging.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ValueError(f"--out {self.final}: cannot create {self.staging} ({e.strerror})") from e
        OPEN_RUNS.append(self)

    def discard(self) -> None:
        """Remove the staging folder (nothing of the final folder is touched)."""
        shutil.rmtree(self.staging, ignore_errors=True)
        if self in OPEN_RUNS:
            OPEN_RUNS.remove(self)

    def path(self, name: str) -> Path:
        return self.staging / name

    def write_json(self, name: str, obj: Any) -> None:
        tmp = self.path(name + ".tmp")
        tmp.write_text(dumps(obj, indent=2) + "\n")
        tmp.replace(self.path(name))

    def append_jsonl(self, name: str, obj: Any) -> None:
        with open(self.path(name), "a") as f:
            f.write(dumps(obj) + "\n")

    def read_json(self, name: str) -> Any:
        path = self.path(name)
        return json.loads(path.read_text()) if path.is_file() else None

    def truncate(self, name: str) -> None:
        self.path(name).write_text("")

    def commit(self, drop: tuple[str, ...] = ()) -> Path:
        """Move the finished run into place (without the entries in `drop`, e.g. resume
        checkpoints); the previous folder (if any) goes last. Ctrl-C waits for it to finish."""
        from jaxrl_hybrid.engine.interrupt import deferred_interrupt

        with deferred_interrupt():
            path = self._commit(drop)
        if self in OPEN_RUNS:
            OPEN_RUNS.remove(self)
        return path

    def _commit(self, drop: tuple[str, ...]) -> Path:
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
