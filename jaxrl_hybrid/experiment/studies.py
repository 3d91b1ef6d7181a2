"""Studies made of CLI runs (experiments/*/run.py): each run one `jaxrl-hybrid` subprocess whose
folder is kept when a rerun finds it finished with the same arguments, so an interrupted study
resumes where it stopped."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path


def kept_run(
    args: list[str], run: Path, stamp: str, log: Callable[[str], None] = print, cwd: Path | None = None
) -> float:
    """Run `jaxrl-hybrid ARGS` (ARGS name `run` as their --out) unless `run` holds a summary.json
    and a stamp file `stamp` recording the same ARGS; returns the run's wall seconds (measured
    now, or recorded by the run that is kept). The stamp is written only after the run finished."""
    cmd = [sys.executable, "-m", "jaxrl_hybrid.cli.main", *args]
    stamp_path = run / stamp
    if (run / "summary.json").exists() and stamp_path.exists():
        recorded = json.loads(stamp_path.read_text())
        if recorded["cmd"] == cmd[1:]:
            log(f"{run.name}: finished before, kept")
            return float(recorded["seconds"])
    began = time.perf_counter()
    subprocess.run([*cmd, "--overwrite"], cwd=cwd, check=True)
    seconds = time.perf_counter() - began
    stamp_path.write_text(json.dumps({"cmd": cmd[1:], "seconds": seconds}))
    return seconds
