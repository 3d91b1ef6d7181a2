"""Run a TrainConfig over seeds x a hyperparameter grid, chunk by chunk, into a run folder.

The only place that turns a whole experiment into files: config.json, metrics.jsonl (one line
per evaluation chunk), summary.json (final returns per seed, mean, IQM, 95% CI; normalised
scores for offline runs), report.md and checkpoints/ (orbax agent states of every run, with
the config and dataset fingerprint).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import sys
import time
import warnings
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl_hybrid.data import fingerprint as data_fingerprint
from jaxrl_hybrid.data.stats import normalized_score
from jaxrl_hybrid.engine import Execution, first_divergence, run_phase
from jaxrl_hybrid.engine.core import layout_differences, layout_record
from jaxrl_hybrid.logging import Progress, RunDir
from jaxrl_hybrid.logging.run_dir import json_default
from jaxrl_hybrid.logging.sinks import chunk_scalars
from jaxrl_hybrid.report import summarize
from jaxrl_hybrid.training import TrainConfig, make_program
from jaxrl_hybrid.training.hybrid import HybridConfig
from jaxrl_hybrid.training.program import seed_keys  # noqa: F401  (re-exported: cli.experiment.seed_keys)


def parse_grid(specs: tuple[str, ...] | list[str], hparams_cls) -> list[dict[str, float]]:
    """["actor_lr=1e-3,3e-4", "gamma=0.99"] -> the cartesian product as a list of dicts."""
    # Scalar fields only: a learned objective's parameters (PPOHParams.objective) are no grid axis.
    fields = [f.name for f in dataclasses.fields(hparams_cls) if f.default is not dataclasses.MISSING]
    axes: dict[str, list[float]] = {}
    given: dict[str, str] = {}
    for spec in specs:
        name, sep, values = spec.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or not values:
            raise ValueError(f"--hparam {spec!r}: expected NAME=VALUE[,VALUE...]")
        if name in given:
            raise ValueError(
                f"--hparam/--grid {spec!r}: {name} is already set by {given[name]!r}; "
                f"give all its values once, e.g. {name}=V1,V2"
            )
        given[name] = spec
        if name not in fields:
            raise ValueError(f"--hparam {spec!r}: {hparams_cls.__name__} has no field {name!r}; fields: {fields}")
        try:
            axes[name] = [float(v) for v in values.split(",")]
        except ValueError as e:
            raise ValueError(f"--hparam {spec!r}: values must be numbers") from e
    names = list(axes)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*axes.values())] or [{}]


def _open_run_dir(out: str, overwrite: bool, resume: bool, record: dict, fingerprint, what: str):
    """The run folder (process 0) and, when resuming, the check that nothing that changes the
    numbers has changed since the interrupted run started."""
    from jaxrl_hybrid.cli.options import EXECUTION_FIELDS
    from jaxrl_hybrid.engine.store import config_differences

    if jax.process_index() != 0:
        return None
    run_dir = RunDir(out, overwrite=overwrite, resume=resume)
    if run_dir.resumed:
        saved = run_dir.read_json("config.json")
        if saved is not None:
            if saved.get("dataset_fingerprint") != fingerprint:
                raise ValueError(
                    f"--resume {run_dir.staging}: the dataset differs from the one the run started with "
                    f"(sha256 {saved.get('dataset_fingerprint')} -> {fingerprint})"
                )
            diffs = config_differences(saved, json.loads(json.dumps(record, default=json_default)), EXECUTION_FIELDS)
            diffs += layout_differences(saved.get("layout"), record.get("layout") or {})
            if diffs:
                raise ValueError(
                    f"--resume {run_dir.staging}: this {what} differs from the run it would continue: "
                    + "; ".join(diffs)
                )
        run_dir.truncate("metrics.jsonl")  # rewritten from the checkpoint's history
    run_dir.write_json("config.json", record)
    return run_dir


def make_sinks(options, out: str, name: str, record: dict) -> list:
    """TensorBoard / W&B sinks the options ask for (process 0 only)."""
    if options is None or jax.process_index() != 0:
        return []
    from jaxrl_hybrid.logging.run_dir import staging_path
    from jaxrl_hybrid.logging.sinks import TensorBoardSink, WandbSink

    staging = staging_path(out)
    sinks = []
    if options.tensorboard:
        sinks.append(TensorBoardSink(staging / "tensorboard"))
    if options.wandb:
        sinks.append(WandbSink(options.wandb_project, name, record, staging, mode=options.wandb_mode))
    return sinks


def resume_store(out: str, phase: str):
    from jaxrl_hybrid.engine import ResumeStore
    from jaxrl_hybrid.logging.run_dir import staging_path

    suffix = f"-p{jax.process_index()}" if jax.process_count() > 1 else ""
    return ResumeStore(staging_path(out) / RESUME_DIR / f"{phase}{suffix}")


RESUME_DIR = "resume"


def progress_printer(total_steps: int, num_runs: int, steps_after, warmup_steps: int, label: str = ""):
    """`on_progress` for `run_phase`: a progress line per chunk (with the group when runs are split)."""
    progress = Progress(total_steps, num_runs)

    def on_progress(group, num_groups, chunk, metrics):
        if jax.process_index() != 0:
            return
        if metrics is None:  # the group starts (compiled) after `chunk`
            progress.begin(steps_after(chunk) if chunk >= 0 else warmup_steps)
            return
        returns = np.asarray(metrics["eval_returns"]).mean(-1)
        mean_return = float(np.nanmean(returns)) if np.isfinite(returns).any() else float("nan")
        extra = label + (f" group {group + 1}/{num_groups}" if num_groups > 1 else "")
        progress.update(steps_after(chunk), mean_return, extra.strip())

    return on_progress


def diverged_runs(diverged_step: np.ndarray, num_seeds: int, grid: list[dict]) -> list[dict]:
    """The runs that diverged, each with its seed index, hparam setting and first bad step."""
    return [
        {"run": int(i), "seed_index": int(i % num_seeds), "hparams": grid[i // num_seeds], "step": int(step)}
        for i, step in enumerate(diverged_step)
        if step >= 0
    ]


def finite_summary(values: np.ndarray, ok: np.ndarray, seed: int) -> dict:
    """summarize() over the runs that did not diverge (None aggregates if none is left)."""
    kept = np.asarray(values)[ok]
    if kept.size == 0:
        return {"mean": None, "iqm": None, "ci95": None, "num_runs": 0}
    return summarize(kept, seed=seed)


def note_schedule(program, requested: int, unit: str) -> None:
    """Say at the start when the run will stop short of the requested length, and why."""
    ran = program.total_env_steps
    if ran != requested and jax.process_index() == 0:
        warm = f"{program.warmup_steps} warm-up + " if program.warmup_steps else ""
        print(
            f"note: {requested} {unit} requested, {ran} will run ({warm}{program.num_chunks} chunks of "
            f"{program.steps_per_chunk}, one per evaluation); the remaining {requested - ran} do not fill a chunk "
            f"(ask for {ran + program.steps_per_chunk} to run one more)",
            file=sys.stderr,
            flush=True,
        )


def run_experiment(
    config: TrainConfig | HybridConfig,
    *,
    num_seeds: int,
    seed: int,
    out: str,
    overwrite: bool = False,
    hparam_grid: list[dict[str, float]] | None = None,
    dataset=None,
    extra_config: dict[str, Any] | None = None,
    execution: Execution | None = None,
    resume: bool = False,
    options=None,
) -> dict[str, Any]:
    """Train `num_seeds` seeds for every grid point in one vmapped program; write the run folder.

    Offline and hybrid configs read `config.dataset` unless the loaded `dataset` is passed.
    `execution` splits the runs into groups and sets resume checkpoints; `resume` continues
    the unfinished run in `<out>.partial`; `options` (cli.options.RunOptions) adds
    TensorBoard / W&B logging. A run whose numbers diverge (NaN/inf) is flagged in
    summary.json and left out of the aggregates; the others finish.
    """
    if num_seeds < 1:
        raise ValueError(f"num_seeds must be >= 1, got {num_seeds}")
    execution = execution or Execution()
    if jax.process_index() == 0:
        from jaxrl_hybrid.logging.run_dir import check_out

        check_out(out, overwrite, resume)  # before anything is loaded or compiled
    if dataset is None and config.dataset is not None:
        from jaxrl_hybrid.data import load

        dataset = load(config.dataset)
    program = make_program(config, dataset=dataset)
    offline = isinstance(config, TrainConfig) and config.dataset is not None
    note_schedule(program, config.total_steps, "updates" if offline else "env steps")
    # sha256 of the dataset's arrays (offline runs), so a result names the exact data it used.
    fingerprint = None if dataset is None else data_fingerprint(dataset)
    grid = hparam_grid or [{}]
    base = program.default_hparams
    group_hparams = [base.replace(**g) for g in grid]
    num_groups = len(grid)
    num_runs = num_groups * num_seeds
    # Flatten (group, seed) into one run axis; every group reuses the same seed keys.
    hparams = jax.tree.map(lambda *xs: jnp.repeat(jnp.stack(xs), num_seeds, axis=0), *group_hparams)
    if dataset is not None:
        from jaxrl_hybrid.training.offline import check_mc_discount

        check_mc_discount(config.algo, hparams, dataset)
    keys = jnp.tile(seed_keys(seed, num_seeds), (num_groups, 1))
    record = {
        "train": config.to_dict(),
        "dataset_fingerprint": fingerprint,
        "num_seeds": num_seeds,
        "seed": seed,
        "seed_derivation": "key_i = fold_in(PRNGKey(seed), i)",
        "hparams": jax.tree.map(float, dataclasses.asdict(base)),
        "grid": grid,
        "jax_version": jax.__version__,
        "backend": jax.default_backend(),
        "layout": layout_record(execution, num_runs),
        **(extra_config or {}),
    }
    run_dir = _open_run_dir(out, overwrite, resume, record, fingerprint, "run")
    sinks = make_sinks(options, out, f"{config.algo}-{config.env}", record)
    steps = [program.env_steps_after(c) for c in range(program.num_chunks)]

    def on_chunk(chunk: int, metrics: dict[str, np.ndarray]) -> None:
        eval_per_run = np.asarray(metrics["eval_returns"]).mean(axis=-1)
        line = {"chunk": chunk, "step": steps[chunk], "eval_return": eval_per_run.tolist()}
        if program.reference_returns is not None:
            line["normalized_score"] = normalized_score(eval_per_run, *program.reference_returns).tolist()
        for name, value in metrics.items():
            if name != "eval_returns":
                line[name] = np.asarray(value, dtype=np.float64).tolist()
        run_dir.append_jsonl("metrics.jsonl", line)
        for sink in sinks:
            sink.log(steps[chunk], chunk_scalars(metrics, eval_per_run))

    t0 = time.perf_counter()
    print(
        f"{config.algo} on {config.env}: {num_runs} runs ({num_groups} hparam setting(s) x {num_seeds} seeds), "
        f"{program.num_chunks} chunks of {program.steps_per_chunk} steps",
        file=sys.stderr,
        flush=True,
    )
    try:
        result = run_phase(
            "train",
            program.init,
            program.run_chunk,
            keys,
            hparams,
            program.num_chunks,
            execution=execution,
            store=resume_store(out, "train"),
            fingerprint={"data": fingerprint, "seed": seed, "num_runs": num_runs},
            config=json.loads(json.dumps(record, default=json_default)),
            on_chunk=on_chunk,
            on_progress=progress_printer(
                program.total_env_steps, num_runs, program.env_steps_after, program.warmup_steps
            ),
        )
    finally:
        for sink in sinks:
            sink.close()
    if run_dir is None:  # not process 0: its share is done, process 0 writes
        return {"out": out, "process": jax.process_index()}

    final_returns = result.history["eval_returns"][-1].mean(axis=-1)
    diverged_step = first_divergence(result.history, steps)
    ok = diverged_step < 0
    diverged = diverged_runs(diverged_step, num_seeds, grid)
    for d in diverged:
        warnings.warn(
            f"run {d['run']} (seed index {d['seed_index']}, hparams {d['hparams'] or 'defaults'}) diverged at step "
            f"{d['step']}: left out of the aggregates",
            RuntimeWarning,
            stacklevel=2,
        )
    groups = []
    for g, setting in enumerate(grid):
        part = slice(g * num_seeds, (g + 1) * num_seeds)
        finals, kept = final_returns[part], ok[part]
        group = {"hparams": setting, "final_return": finals.tolist(), **finite_summary(finals, kept, seed)}
        if program.reference_returns is not None:
            scores = normalized_score(finals, *program.reference_returns)
            group["normalized"] = {"final_score": scores.tolist(), **finite_summary(scores, kept, seed)}
        groups.append(group)
    summary = dict(groups[0]) if num_groups == 1 else {"grid": groups}
    summary.update(
        algo=config.algo,
        env=config.env,
        total_env_steps=program.total_env_steps,
        num_eval_episodes=config.num_eval_episodes,
        diverged=diverged,
        layout=result.layout,
        wall_time_s=time.perf_counter() - t0,
    )
    run_dir.write_json("summary.json", summary)
    from jaxrl_hybrid.report.render import write_report

    write_report(run_dir.staging, title=f"{config.algo} on {config.env}")
    from jaxrl_hybrid.checkpoint import save_agent_states

    save_agent_states(
        run_dir.staging / "checkpoints",
        result.agents,
        {
            "train": config.to_dict(),
            "dataset_fingerprint": fingerprint,
            "num_seeds": num_seeds,
            "seed": seed,
            "grid": grid,
            "run_order": "hparam setting major, seed minor",
            "steps": program.total_env_steps,
            "jax_version": jax.__version__,
        },
    )
    path = run_dir.commit(drop=(RESUME_DIR,))
    summary["out"] = str(path)
    return summary


def run_cli_experiment(config, args, *, out: str, grid, dataset, what: str = "final return") -> dict[str, Any]:
    """`run_experiment` for a CLI command (`args`: num_seeds, seed, overwrite and the
    cli.options.RunOptions fields), then the summary lines: `what` over the seeds, the
    normalised score, and where the files are."""
    from jaxrl_hybrid.cli.options import execution_from

    execution = execution_from(args)
    summary = run_experiment(
        config,
        num_seeds=args.num_seeds,
        seed=args.seed,
        out=out,
        overwrite=args.overwrite,
        hparam_grid=grid,
        dataset=dataset,
        extra_config={"cli": dataclasses.asdict(args)},
        execution=execution,
        resume=args.resume,
        options=args,
    )
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
