"""`jaxrl-hybrid`: the command line. The only code that reads argv.

    jaxrl-hybrid train --algo sac --env gymnax:Pendulum-v1 --num-seeds 16 \
        --total-steps 20000 --critic-loss hl_gauss --seed 0 --out runs/sac_pendulum

Each command is a module of this package (train, finetune, hybrid, gap, sweep, meta, report,
dataset) that turns its options into a library call; this one only dispatches, reports errors
as one line and turns Ctrl-C into the line that says how to resume.
"""

from __future__ import annotations

import sys
from typing import Annotated

import tyro


def _start_distributed(argv: list[str] | None) -> None:
    """The CPU device count (--host-devices) and `jax.distributed.initialize` from the
    multi-host flags (or JAX_* variables), before the command modules are imported:
    importing gymnax already starts a JAX backend."""
    import argparse

    from jaxrl_hybrid.engine.distributed import initialize_distributed
    from jaxrl_hybrid.engine.host import configure_host

    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)  # "--n" is best-of-n's, not --num-processes
    parser.add_argument("--host-devices")
    parser.add_argument("--block-size")
    parser.add_argument("--coordinator")
    parser.add_argument("--num-processes", type=int)
    parser.add_argument("--process-id", type=int)
    parser.add_argument("--distributed", action="store_true")
    known, _ = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    # --block-size share trades layout independence for speed: XLA then sizes its own pool too.
    configure_host(known.host_devices, pin_threads=(known.block_size or "").strip().lower() != "share")
    initialize_distributed(known.coordinator, known.num_processes, known.process_id, known.distributed)


def _open_runs() -> list:
    """This process's uncommitted run folders (empty when no run folder module was loaded)."""
    module = sys.modules.get("jaxrl_hybrid.logging.run_dir")
    return module.OPEN_RUNS if module is not None else []


def _close_runs(start: int) -> list:
    """Forget the run folders a command opened after `start` and left uncommitted (it failed
    or was interrupted): resumable ones stay on disk for --resume and are returned, the rest
    (a report, a meta-eval) are removed."""
    runs = _open_runs()
    left, kept = runs[start:], []
    for run in left:
        if run.resumable:
            kept.append(run)
        else:
            run.discard()
    del runs[start:]
    return kept


def interrupted(argv: list[str], kept: list) -> str:
    """What an interrupt left, in one line: the unfinished run folder and the exact command
    that continues it, or that nothing was written."""
    import shlex

    if not kept:
        return "jaxrl-hybrid: interrupted; nothing was written"
    run = kept[-1]
    saves = [*(run.staging / "resume").glob("*/LATEST"), *(run.staging / "checkpoints").glob("es_state_gen*.npz")]
    state = "with a resume checkpoint" if saves else "no resume checkpoint yet (--checkpoint-every N), it restarts"
    args = list(argv) + ([] if "--resume" in argv else ["--resume"])
    if not any(a == "--out" or a.startswith("--out=") for a in args):
        args += ["--out", str(run.final)]
    return (
        f"jaxrl-hybrid: interrupted; the unfinished run is in {run.staging} ({state}); continue it with: "
        + " ".join(["jaxrl-hybrid", *map(shlex.quote, args)])
    )


def main(argv: list[str] | None = None) -> int:
    from jaxrl_hybrid.engine.interrupt import stop_on_sigterm

    stop_on_sigterm()  # `kill` stops as cleanly as Ctrl-C
    argv_given = list(sys.argv[1:] if argv is None else argv)
    start = len(_open_runs())  # main() may be called more than once in a process (tests, notebooks)
    try:
        return _main(argv)
    except KeyboardInterrupt:
        message = interrupted(argv_given, _close_runs(start))
        print("\n" + message, file=sys.stderr, flush=True)  # after a progress bar's \r
        return 130
    finally:
        _close_runs(start)


def _main(argv: list[str] | None = None) -> int:
    try:
        _start_distributed(argv)
    except ValueError as e:
        print(f"jaxrl-hybrid: error: {e}", file=sys.stderr)
        return 2
    from jaxrl_hybrid.cli import dataset
    from jaxrl_hybrid.cli.finetune import Finetune, finetune
    from jaxrl_hybrid.cli.gap import Gap, gap
    from jaxrl_hybrid.cli.hybrid import Hybrid, hybrid
    from jaxrl_hybrid.cli.meta import MetaEval, MetaTrain, meta_eval, meta_train
    from jaxrl_hybrid.cli.report import Report, report
    from jaxrl_hybrid.cli.sweep import Sweep, sweep
    from jaxrl_hybrid.cli.train import Train, train

    # name -> (options class, the function that runs it)
    table = {
        "train": (Train, train),
        "finetune": (Finetune, finetune),
        "hybrid": (Hybrid, hybrid),
        "gap": (Gap, gap),
        "sweep": (Sweep, sweep),
        "meta-train": (MetaTrain, meta_train),
        "meta-eval": (MetaEval, meta_eval),
        "report": (Report, report),
    }
    commands = Annotated[
        dataset.DatasetCommand,
        tyro.conf.subcommand(
            "dataset",
            description="Generate, inspect, corrupt and relabel offline datasets (learned rewards from preferences).",
        ),
    ]
    for name, (cls, _) in reversed(table.items()):
        commands = Annotated[cls, tyro.conf.subcommand(name)] | commands
    args = tyro.cli(commands, args=argv, prog="jaxrl-hybrid")
    run = next((fn for cls, fn in table.values() if isinstance(args, cls)), dataset.run)
    try:
        run(args)
    except (ValueError, TypeError, FileExistsError, FileNotFoundError, IsADirectoryError, NotImplementedError) as e:
        print(f"jaxrl-hybrid: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
