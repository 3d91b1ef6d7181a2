"""Resume checkpoints: the whole state of a phase, written so that the last good one survives.

    store = ResumeStore(run_dir / "resume" / "train")
    store.save("g0-c0004", state, arrays, meta)      # state: pytree (orbax); arrays: numpy
    path = store.latest()                              # None before the first save
    state = store.restore_state(path, target); arrays = store.arrays(path); meta = store.meta(path)

A save goes to `.tmp-<tag>/`, is renamed to `<tag>/` only when complete, and only then is the
`LATEST` pointer replaced (atomically) and the older checkpoints removed. A process killed at
any moment leaves `LATEST` naming a complete checkpoint.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

LATEST = "LATEST"


class ResumeStore:
    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory).absolute()

    def latest(self) -> Path | None:
        self.drop_unfinished()
        pointer = self.directory / LATEST
        if not pointer.is_file():
            return None
        path = self.directory / pointer.read_text().strip()
        if not (path / "meta.json").is_file():
            raise FileNotFoundError(f"{pointer} names {path.name}, which is missing or incomplete")
        return path

    def drop_unfinished(self) -> None:
        """Remove saves a killed process left half-written (`.tmp-*`); LATEST never names one."""
        if self.directory.is_dir():
            for tmp in self.directory.glob(".tmp-*"):
                shutil.rmtree(tmp, ignore_errors=True)

    def save(self, tag: str, state: Any, arrays: dict[str, np.ndarray], meta: dict) -> Path:
        """Write checkpoint `tag`; Ctrl-C during the save takes effect once it is complete."""
        from jaxrl_hybrid.engine.interrupt import deferred_interrupt

        with deferred_interrupt():
            return self._save(tag, state, arrays, meta)

    def _save(self, tag: str, state: Any, arrays: dict[str, np.ndarray], meta: dict) -> Path:
        from jaxrl_hybrid.checkpoint import checkpointer

        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.directory / f".tmp-{tag}"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        ckpt = checkpointer()
        ckpt.save(tmp / "state", state)
        ckpt.wait_until_finished()
        np.savez(tmp / "arrays.npz", **arrays)
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True))
        final = self.directory / tag
        if final.exists():
            shutil.rmtree(final)
        tmp.rename(final)
        pointer_tmp = self.directory / f"{LATEST}.tmp"
        pointer_tmp.write_text(tag)
        pointer_tmp.replace(self.directory / LATEST)
        for old in self.directory.iterdir():
            if old.is_dir() and old.name != tag:
                shutil.rmtree(old)
        return final

    @staticmethod
    def meta(path: Path) -> dict:
        return json.loads((path / "meta.json").read_text())

    @staticmethod
    def arrays(path: Path) -> dict[str, np.ndarray]:
        with np.load(path / "arrays.npz") as f:
            return {k: f[k] for k in f.files}

    @staticmethod
    def restore_state(path: Path, target: Any) -> Any:
        from jaxrl_hybrid.checkpoint import checkpointer

        try:
            return checkpointer().restore(path / "state", target)
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f"{path}: the saved state does not match this run's program: {e}") from e


def config_differences(saved: Any, current: Any, ignore: frozenset[str] = frozenset(), path: str = "") -> list[str]:
    """Where two JSON-like configs differ, as "a.b.c: saved -> current" (keys in `ignore`
    are skipped at any depth). A key one side lacks and the other holds as None is no
    difference: an option added to the CLI after the run started, left unset (None: the
    default), runs the run as it was."""
    if isinstance(saved, dict) and isinstance(current, dict):
        out = []
        for key in sorted(set(saved) | set(current), key=str):
            if key in ignore or saved.get(key, None) is None and current.get(key, None) is None:
                continue
            sub = f"{path}.{key}" if path else str(key)
            if key not in saved:
                out.append(f"{sub}: absent -> {current[key]!r}")
            elif key not in current:
                out.append(f"{sub}: {saved[key]!r} -> absent")
            else:
                out += config_differences(saved[key], current[key], ignore, sub)
        return out
    if isinstance(saved, list | tuple) and isinstance(current, list | tuple) and len(saved) == len(current):
        pairs = enumerate(zip(saved, current, strict=True))
        return [d for i, (a, b) in pairs for d in config_differences(a, b, ignore, f"{path}[{i}]")]
    return [] if saved == current else [f"{path}: {saved!r} -> {current!r}"]
