"""Run a TrainConfig (online, offline or hybrid) over seeds x a hyperparameter grid into a run folder.

The folder holds config.json, metrics.jsonl (one line per evaluation chunk), summary.json
(final returns per seed, mean, IQM, 95% CI; normalised scores for offline runs), report.md and
checkpoints/ (orbax agent states of every run, with the config and dataset fingerprint).
"""

from __future__ import annotations

import dataclasses
import sys
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl_hybrid.data import fingerprint as data_fingerprint
from jaxrl_hybrid.engine import Execution, first_divergence
from jaxrl_hybrid.engine.core import layout_record
from jaxrl_hybrid.experiment.record import Recorder, finite_summary, note_schedule
from jaxrl_hybrid.training import TrainConfig, make_program
from jaxrl_hybrid.training.hybrid import HybridConfig
from jaxrl_hybrid.training.program import seed_keys


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
    resume_ignores: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Train `num_seeds` seeds for every grid point in one vmapped program; write the run folder.

    Offline and hybrid configs read `config.dataset` unless the loaded `dataset` is passed.
    `execution` splits the runs into groups and sets resume checkpoints; `resume` continues
    the unfinished run in `<out>.partial` (`resume_ignores`: keys of `extra_config` that may
    differ from the interrupted run's); `options` (fields tensorboard, wandb, wandb_project,
    wandb_mode) adds TensorBoard / W&B logging. A run whose numbers diverge (NaN/inf) is
    flagged in summary.json and left out of the aggregates; the others finish.
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
        "reward_scale_factor": program.reward_scale,
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
    recorder = Recorder(
        out,
        record,
        fingerprint=fingerprint,
        seed=seed,
        num_runs=num_runs,
        references=program.reference_returns,
        overwrite=overwrite,
        resume=resume,
        options=options,
        name=f"{config.algo}-{config.env}",
        ignore=resume_ignores,
    )
    steps = [program.env_steps_after(c) for c in range(program.num_chunks)]

    def on_chunk(chunk: int, metrics: dict[str, np.ndarray]) -> None:
        recorder.log_chunk(steps[chunk], np.asarray(metrics["eval_returns"]).mean(axis=-1), metrics, chunk=chunk)

    t0 = time.perf_counter()
    print(
        f"{config.algo} on {config.env}: {num_runs} runs ({num_groups} hparam setting(s) x {num_seeds} seeds), "
        f"{program.num_chunks} chunks of {program.steps_per_chunk} steps",
        file=sys.stderr,
        flush=True,
    )
    try:
        result = recorder.run("train", program, program.init, keys, hparams, execution=execution, on_chunk=on_chunk)
    finally:
        recorder.close_sinks()
    if not recorder.writes:  # not process 0: its share is done, process 0 writes
        return {"out": out, "process": jax.process_index()}

    final_returns = result.history["eval_returns"][-1].mean(axis=-1)
    diverged_step = first_divergence(result.history, steps)
    ok = diverged_step < 0
    diverged = recorder.flag_diverged(
        diverged_step,
        num_seeds,
        grid,
        lambda d: (
            f"run {d['run']} (seed index {d['seed_index']}, hparams {d['hparams'] or 'defaults'}) diverged at step "
            f"{d['step']}: left out of the aggregates"
        ),
    )
    groups = []
    for g, setting in enumerate(grid):
        part = slice(g * num_seeds, (g + 1) * num_seeds)
        finals, kept = final_returns[part], ok[part]
        group = {"hparams": setting, "final_return": finals.tolist(), **finite_summary(finals, kept, seed)}
        if program.reference_returns is not None:
            scores = recorder.scores(finals)
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
    run_dir = recorder.run_dir
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
            "hparams": record["hparams"],
            "grid": grid,
            "run_order": "hparam setting major, seed minor",
            "steps": program.total_env_steps,
            "jax_version": jax.__version__,
        },
    )
    return recorder.commit(summary)
