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


# Options that change how a run executes or is logged, never its numbers: a resumed run may
# differ from the original in these (the library adds out, overwrite and the layout record).
RUN_OPTION_FIELDS = frozenset(f.name for f in dataclasses.fields(RunOptions))


def pairs(specs, flag: str) -> tuple[tuple[str, float], ...]:
    """NAME=VALUE specs of a repeatable flag as (name, number) pairs; a bad spec names --flag."""
    out = []
    for spec in specs:
        name, sep, value = spec.partition("=")
        if not sep:
            raise ValueError(f"--{flag} {spec!r}: expected NAME=VALUE")
        try:
            out.append((name.strip(), float(value)))
        except ValueError as e:
            raise ValueError(f"--{flag} {spec!r}: VALUE must be a number") from e
    return tuple(out)


def reward_scale_from(value: str | None) -> str | float | None:
    """--reward-scale: None (the algorithm's default), 'none', 'return_range' or a positive number."""
    if value is None or value in ("none", "return_range"):
        return value
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not number > 0:
        raise ValueError(f"--reward-scale {value}: expected none, return_range or a positive number")
    return number


def critic_loss_from(args, env: str):
    """`losses.CriticLoss` from the --critic-loss, --num-bins, --v-min and --v-max options;
    classification losses take the env's default value support unless both ends are given."""
    from jaxrl_hybrid.envs.names import DEFAULT_VALUE_RANGES
    from jaxrl_hybrid.losses import CriticLoss

    loss_kwargs = {"kind": args.critic_loss, "num_bins": args.num_bins}
    if args.critic_loss in ("hl_gauss", "two_hot", "c51"):
        v_min, v_max = DEFAULT_VALUE_RANGES.get(env, (None, None))
        v_min = args.v_min if args.v_min is not None else v_min
        v_max = args.v_max if args.v_max is not None else v_max
        if v_min is None or v_max is None:
            raise ValueError(
                f"--critic-loss {args.critic_loss} needs a value support for {env}: "
                f"pass --v-min and --v-max (known defaults: {sorted(DEFAULT_VALUE_RANGES)})"
            )
        loss_kwargs.update(v_min=v_min, v_max=v_max)
    return CriticLoss(**loss_kwargs)


def run_arguments(args) -> dict:
    """The keyword arguments every command passes to `experiment.run_experiment` /
    `run_finetune` from its options: seeds, overwrite / resume, the hardware layout, the sinks,
    and the CLI record that a resume may differ from only in RUN_OPTION_FIELDS."""
    return {
        "num_seeds": args.num_seeds,
        "seed": args.seed,
        "overwrite": args.overwrite,
        "extra_config": {"cli": dataclasses.asdict(args)},
        "execution": execution_from(args),
        "resume": args.resume,
        "options": args,
        "resume_ignores": RUN_OPTION_FIELDS,
    }


def run_and_report(config, args, *, out: str, grid, dataset, what: str = "final return") -> dict:
    """`experiment.run_experiment` for a command's options (`args`: num_seeds, seed, overwrite
    and the RunOptions fields), then the summary lines: `what` over the seeds, the normalised
    score, and where the files are."""
    from jaxrl_hybrid.experiment import run_experiment

    summary = run_experiment(config, out=out, hparam_grid=grid, dataset=dataset, **run_arguments(args))
    if "process" in summary:
        print(f"process {summary['process']}: its runs are done; process 0 writes {out}")
        return summary
    if summary.get("iqm") is not None:
        print(
            f"{what} over {args.num_seeds} seeds: mean {summary['mean']:.2f}, IQM {summary['iqm']:.2f} "
            f"(95% CI {summary['ci95'][0]:.2f} .. {summary['ci95'][1]:.2f})"
        )
    if summary.get("normalized", {}).get("iqm") is not None:
        norm = summary["normalized"]
        print(f"normalised score: IQM {norm['iqm']:.1f} (95% CI {norm['ci95'][0]:.1f} .. {norm['ci95'][1]:.1f})")
    print(f"summary: {summary['out']}/summary.json  report: {summary['out']}/report.md")
    return summary
