"""Options every training command shares: how runs meet the hardware, resume, logging, hosts."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class RunOptions:
    max_parallel: str = "auto"
    """runs per program call: an integer, 'auto' (split only when device memory is short) or 'all'"""
    block_size: str = "auto"
    """runs vectorised together: a run's numbers depend on it alone, never on --max-parallel,
    --host-devices, the core count or the number of hosts ('auto': 4 on CPU, 256 on an
    accelerator; an integer; or 'share': one block per device share, fastest, but numbers
    then change with the device count)"""
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


def positive(value: int | None, flag: str, minimum: int = 1) -> int | None:
    """`value` unchanged when it is None or at least `minimum`; else a ValueError naming `flag`
    (the CLI never turns a 0 the user typed into a default)."""
    if value is not None and value < minimum:
        raise ValueError(f"{flag} {value}: expected an integer >= {minimum}")
    return value


def eval_every_or_default(value: int | None, steps: int, flag: str = "--eval-every") -> int:
    """The evaluation interval the user gave (checked >= 1), or a tenth of the run."""
    positive(value, flag)
    return value if value is not None else max(1, steps // 10)


def check_out_early(options: RunOptions, out: str | None) -> None:
    """`logging.run_dir.check_out` on a typed --out before JAX is imported (process 0 of a
    multi-host run only): a wrong folder costs a fraction of a second, not the imports."""
    from jaxrl_hybrid.logging.run_dir import check_out

    if out is not None and options.process_id in (None, 0):
        check_out(out, getattr(options, "overwrite", False), options.resume)


def out_or_default(out: str | None, default: str) -> str:
    """--out as typed (an empty string is refused later, by name), or the default folder."""
    return out if out is not None else default


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
    block_size = parse_block_size(options.block_size)
    if options.checkpoint_every < 0:
        raise ValueError(f"--checkpoint-every {options.checkpoint_every}: expected 0 (no checkpoints) or more")
    if max_parallel is not None and max_parallel != "auto" and max_parallel < 1:
        raise ValueError(f"--max-parallel {options.max_parallel!r}: expected a positive integer, auto or all")
    return Execution(max_parallel=max_parallel, checkpoint_every=options.checkpoint_every, block_size=block_size)


def parse_block_size(value: str) -> int | str | None:
    """--block-size: None for 'auto' (the engine's default), 'share', or a positive integer."""
    text = str(value).strip().lower()
    if text in ("auto", "share"):
        return None if text == "auto" else "share"
    try:
        block_size = int(text)
    except ValueError:
        block_size = 0
    if block_size < 1:
        raise ValueError(f"--block-size {value!r}: expected a positive integer, auto or share")
    return block_size


# CLI fields that change how a run executes or is logged, never its numbers: a resumed run
# may differ from the original in these. ("layout" is config.json's record of the layout; the
# resume checkpoint itself refuses a different block size, device or process count.)
EXECUTION_FIELDS = frozenset(
    [f.name for f in dataclasses.fields(RunOptions)] + ["overwrite", "out", "wall_time_s", "layout"]
)
