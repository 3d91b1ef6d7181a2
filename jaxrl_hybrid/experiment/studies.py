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


def compare_runs(runs: dict[str, Path], report: Path, title: str, cwd: Path | None = None) -> dict:
    """`jaxrl-hybrid report LABEL=RUN ...` into `report` (replaced); returns its comparison.json
    (aggregates with CIs per label, P(a > b) for every ordered pair)."""
    cmd = [sys.executable, "-m", "jaxrl_hybrid.cli.main", "report", *[f"{k}={run}" for k, run in runs.items()]]
    cmd += ["--out", str(report), "--overwrite", "--title", title]
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return json.loads((report / "comparison.json").read_text())


def publish(body: str, results: Path, heading: str, readme: Path | None, begin: str, end: str) -> None:
    """A study's table: `results` (markdown under `heading`), stdout, and, when `readme` is given,
    between its `begin` / `end` markers (the rest of the README kept)."""
    from jaxrl_hybrid.report.render import write_between_markers

    results.write_text(f"# {heading}\n" + body)
    print(body)
    if readme is not None:
        write_between_markers(readme, begin, end, body)
