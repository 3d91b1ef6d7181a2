"""Where per-chunk metrics go besides metrics.jsonl: TensorBoard and Weights & Biases.

Each sink gets, per evaluation chunk, the step and the scalars `experiment.record.chunk_scalars`
summarises every run with (the evaluation return's mean and IQM over runs, the mean of each
training statistic, each run's evaluation return under `eval_return/run_<i>`). JSONL stays the record of truth;
these are views of it.
"""

from __future__ import annotations

import os
from pathlib import Path


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
