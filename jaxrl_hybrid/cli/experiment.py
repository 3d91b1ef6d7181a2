"""Run a TrainConfig over seeds x a hyperparameter grid, chunk by chunk, into a run folder.

The only place that turns a whole experiment into files: config.json, metrics.jsonl (one line
per evaluation chunk), summary.json (final returns per seed, mean, IQM, 95% CI; normalised
scores for offline runs), report.md and checkpoints/ (orbax agent states of every run, with
the config and dataset fingerprint).
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl_hybrid.data import fingerprint as data_fingerprint
from jaxrl_hybrid.data.stats import normalized_score
from jaxrl_hybrid.logging import Progress, RunDir
from jaxrl_hybrid.report import summarize
from jaxrl_hybrid.training import TrainConfig, make_program
from jaxrl_hybrid.training.hybrid import HybridConfig


def seed_keys(seed: int, num_seeds: int) -> jax.Array:
    """Key of seed i is fold_in(PRNGKey(seed), i): seed i is the same in any run size."""
    base = jax.random.PRNGKey(seed)
    return jax.vmap(lambda i: jax.random.fold_in(base, i))(jnp.arange(num_seeds))


def parse_grid(specs: tuple[str, ...] | list[str], hparams_cls) -> list[dict[str, float]]:
    """["actor_lr=1e-3,3e-4", "gamma=0.99"] -> the cartesian product as a list of dicts."""
    fields = [f.name for f in dataclasses.fields(hparams_cls)]
    axes: dict[str, list[float]] = {}
    for spec in specs:
        name, sep, values = spec.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or not values:
            raise ValueError(f"--hparam {spec!r}: expected NAME=VALUE[,VALUE...]")
        if name not in fields:
            raise ValueError(f"--hparam {spec!r}: {hparams_cls.__name__} has no field {name!r}; fields: {fields}")
        try:
            axes[name] = [float(v) for v in values.split(",")]
        except ValueError as e:
            raise ValueError(f"--hparam {spec!r}: values must be numbers") from e
    names = list(axes)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*axes.values())] or [{}]


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
) -> dict[str, Any]:
    """Train `num_seeds` seeds for every grid point in one vmapped program; write the run folder.

    Offline and hybrid configs read `config.dataset` unless the loaded `dataset` is passed.
    """
    if num_seeds < 1:
        raise ValueError(f"num_seeds must be >= 1, got {num_seeds}")
    if dataset is None and config.dataset is not None:
        from jaxrl_hybrid.data import load

        dataset = load(config.dataset)
    run_dir = RunDir(out, overwrite=overwrite)
    program = make_program(config, dataset=dataset)
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

    run_dir.write_json(
        "config.json",
        {
            "train": config.to_dict(),
            "dataset_fingerprint": fingerprint,
            "num_seeds": num_seeds,
            "seed": seed,
            "seed_derivation": "key_i = fold_in(PRNGKey(seed), i)",
            "hparams": jax.tree.map(float, dataclasses.asdict(base)),
            "grid": grid,
            "jax_version": jax.__version__,
            "backend": jax.default_backend(),
            **(extra_config or {}),
        },
    )

    progress = Progress(program.total_env_steps, num_runs)
    t0 = time.perf_counter()
    init = jax.jit(jax.vmap(program.init))
    run_chunk = jax.jit(jax.vmap(program.run_chunk))
    runner = init(keys, hparams)
    compiled_chunk = run_chunk.lower(runner, hparams).compile()
    progress.begin(
        program.warmup_steps,
        f"compiled {config.algo} on {config.env}: {num_runs} runs "
        f"({num_groups} hparam setting(s) x {num_seeds} seeds) in {time.perf_counter() - t0:.1f}s",
    )

    final_returns = None
    for chunk in range(program.num_chunks):
        runner, metrics = compiled_chunk(runner, hparams)
        metrics = jax.device_get(metrics)
        eval_per_run = np.asarray(metrics["eval_returns"]).mean(axis=-1)
        steps = program.env_steps_after(chunk)
        line = {"chunk": chunk, "step": steps, "eval_return": eval_per_run.tolist()}
        if program.reference_returns is not None:
            line["normalized_score"] = normalized_score(eval_per_run, *program.reference_returns).tolist()
        for name, value in metrics.items():
            if name != "eval_returns":
                line[name] = np.asarray(value, dtype=np.float64).tolist()
        run_dir.append_jsonl("metrics.jsonl", line)
        progress.update(steps, float(eval_per_run.mean()))
        final_returns = eval_per_run
        if not np.all(np.isfinite(eval_per_run)):
            raise FloatingPointError(f"non-finite evaluation return at step {steps}: {eval_per_run}")

    groups = []
    for g, setting in enumerate(grid):
        finals = final_returns[g * num_seeds : (g + 1) * num_seeds]
        group = {"hparams": setting, "final_return": finals.tolist(), **summarize(finals, seed=seed)}
        if program.reference_returns is not None:
            scores = normalized_score(finals, *program.reference_returns)
            group["normalized"] = {"final_score": scores.tolist(), **summarize(scores, seed=seed)}
        groups.append(group)
    summary = dict(groups[0]) if num_groups == 1 else {"grid": groups}
    summary.update(
        algo=config.algo,
        env=config.env,
        total_env_steps=program.total_env_steps,
        num_eval_episodes=config.num_eval_episodes,
        wall_time_s=time.perf_counter() - t0,
    )
    run_dir.write_json("summary.json", summary)
    from jaxrl_hybrid.report.render import write_report

    write_report(run_dir.staging, title=f"{config.algo} on {config.env}")
    from jaxrl_hybrid.checkpoint import save_agent_states

    save_agent_states(
        run_dir.staging / "checkpoints",
        jax.device_get(runner.agent),
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
    path = run_dir.commit()
    summary["out"] = str(path)
    return summary


def run_cli_experiment(config, args, *, out: str, grid, dataset, what: str = "final return") -> dict[str, Any]:
    """`run_experiment` for a CLI command (`args` has num_seeds, seed, overwrite), then the
    summary lines: `what` over the seeds, the normalised score, and where the files are."""
    summary = run_experiment(
        config,
        num_seeds=args.num_seeds,
        seed=args.seed,
        out=out,
        overwrite=args.overwrite,
        hparam_grid=grid,
        dataset=dataset,
        extra_config={"cli": dataclasses.asdict(args)},
    )
    if "iqm" in summary:
        print(
            f"{what} over {args.num_seeds} seeds: mean {summary['mean']:.2f}, IQM {summary['iqm']:.2f} "
            f"(95% CI {summary['ci95'][0]:.2f} .. {summary['ci95'][1]:.2f})"
        )
    if "normalized" in summary:
        norm = summary["normalized"]
        print(f"normalised score: IQM {norm['iqm']:.1f} (95% CI {norm['ci95'][0]:.1f} .. {norm['ci95'][1]:.1f})")
    print(f"summary: {summary['out']}/summary.json  report: {summary['out']}/report.md")
    return summary
