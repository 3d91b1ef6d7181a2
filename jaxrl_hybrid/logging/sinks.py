"""Where per-chunk metrics go besides metrics.jsonl: TensorBoard and Weights & Biases.

Each sink gets, per evaluation chunk, the step and scalars summarising every run (the
evaluation return's mean and IQM over runs, and the mean of each training statistic), plus
each run's evaluation return under `eval_return/run_<i>`. JSONL stays the record of truth;
these are views of it.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from jaxrl_hybrid.report.stats import iqm


def chunk_scalars(metrics: dict[str, np.ndarray], eval_per_run: np.ndarray) -> dict[str, float]:
    """Scalars for one chunk: aggregates over the finite runs, and each run's return."""
    finite = eval_per_run[np.isfinite(eval_per_run)]
    out: dict[str, float] = {}
    if finite.size:
        out["eval_return/mean"] = float(finite.mean())
        out["eval_return/iqm"] = float(iqm(finite))
    for i, r in enumerate(eval_per_run):
        out[f"eval_return/run_{i}"] = float(r)
    for name, value in metrics.items():
        if name == "eval_returns":
            continue
        v = np.asarray(value, dtype=np.float64)
        v = v[np.isfinite(v)]
        if v.size:
            out[f"train/{name}"] = float(v.mean())
    return out


class TensorBoardSink:
    def __init__(self, logdir: str | os.PathLike):
        from tensorboardX import SummaryWriter

        self.writer = SummaryWriter(logdir=str(logdir))

    def log(self, step: int, scalars: dict[str, float]) -> None:
        for name, value in scalars.items():
            self.writer.add_scalar(name, value, global_step=step)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


class WandbSink:
    """A W&B run; `mode="offline"` writes under `dir/wandb/` with no account or network
    (`wandb sync` uploads it later)."""

    def __init__(self, project: str, name: str, config: dict, dir: str | os.PathLike, mode: str = "offline"):
        os.environ.setdefault("WANDB_SILENT", "true")
        import wandb

        Path(dir).mkdir(parents=True, exist_ok=True)
        self.run = wandb.init(project=project, name=name, config=config, dir=str(dir), mode=mode, reinit=True)

    def log(self, step: int, scalars: dict[str, float]) -> None:
        self.run.log(scalars, step=step)

    def close(self) -> None:
        self.run.finish()
