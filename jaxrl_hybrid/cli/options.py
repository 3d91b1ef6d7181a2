"""Options every training command shares: how runs meet the hardware, resume, logging, hosts."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class RunOptions:
    max_parallel: str = "auto"
    """runs per program call: an integer, 'auto' (split only when device memory is short) or 'all'"""
    block_size: int | None = None
    """runs vectorised together; runs are bit-identical across --max-parallel, devices and hosts
    that share a block size (default: each device's whole share, identical for the same layout)"""
    checkpoint_every: int = 0
    """evaluation chunks between resume checkpoints of the whole training state (0: none)"""
    resume: bool = False
    """continue the unfinished run in <out>.partial from its last checkpoint (starts fresh if there is none)"""
    tensorboard: bool = False
    """also write TensorBoard event files to <out>/tensorboard"""
    wandb: bool = False
    """also log to Weights & Biases (--wandb-mode offline: files under <out>/wandb, no account needed)"""
    wandb_project: str = "jaxrl_hybrid"
    wandb_mode: str = "offline"
    """offline | online"""
    coordinator: str | None = None
    """multi-host: HOST:PORT of process 0 (or JAX_COORDINATOR_ADDRESS)"""
    num_processes: int | None = None
    """multi-host: number of processes (or JAX_NUM_PROCESSES)"""
    process_id: int | None = None
    """multi-host: this process's index (or JAX_PROCESS_ID)"""
    distributed: bool = False
    """multi-host: let JAX detect the cluster (SLURM, Open MPI, TPU pod slice)"""
    host_devices: str = "auto"
    """CPU only: XLA CPU devices the runs are shared over, one executable each, run in parallel
    ('auto': one per core, at most 8; or JAXRL_HOST_DEVICES); no effect on GPU/TPU runs"""


def execution_from(options: RunOptions):
    """The engine's `Execution` for these options."""
    from jaxrl_hybrid.engine import Execution

    text = options.max_parallel.strip().lower()
    if text in ("auto", "all"):
        max_parallel = "auto" if text == "auto" else None
    else:
        try:
            max_parallel = int(text)
        except ValueError as e:
            raise ValueError(f"--max-parallel {options.max_parallel!r}: expected an integer, auto or all") from e
    return Execution(
        max_parallel=max_parallel, checkpoint_every=options.checkpoint_every, block_size=options.block_size
    )


# CLI fields that change how a run executes or is logged, never its numbers: a resumed run
# may differ from the original in these.
EXECUTION_FIELDS = frozenset([f.name for f in dataclasses.fields(RunOptions)] + ["overwrite", "out", "wall_time_s"])
