"""`meta_eval`: the learned objective against PPO's clip on (held-out) envs, many seeds each.

For every env, PPO trains with the meta-run's learned objective and with the clipped
surrogate on the same seeds (inner settings from the env's preset, so envs other than the
meta-training one get their own budget); the final returns are summarised with IQM and
stratified-bootstrap 95% CIs, and P(learned > PPO).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import jax
import numpy as np

from jaxrl_hybrid.losses.policy import ClipObjective
from jaxrl_hybrid.meta.inner import InnerConfig, make_inner, make_inner_program
from jaxrl_hybrid.meta.train import OBJECTIVE_FILE, load_params, read_config
from jaxrl_hybrid.training.program import seed_keys


def run_objective(objective, params, inner: InnerConfig, keys: jax.Array) -> np.ndarray:
    """Eval returns (seeds, eval_points) of PPO with `objective` on every key (one program)."""
    train = make_inner(objective, inner)
    returns = jax.jit(jax.vmap(train, in_axes=(0, None)))(keys, params)
    return np.asarray(returns).mean(axis=-1)


def evaluate_env(objective, params, inner: InnerConfig, num_seeds: int, seed: int) -> dict:
    """{"steps", "learned", "ppo"} on one env: eval returns (seeds, eval_points) of each."""
    keys = seed_keys(seed, num_seeds)
    learned = run_objective(objective, params, inner, keys)
    ppo = run_objective(ClipObjective(), {}, inner, keys)
    program, _ = make_inner_program(ClipObjective(), inner)
    steps = [program.env_steps_after(i) for i in range(program.num_chunks)]
    return {"steps": steps, "learned": learned, "ppo": ppo}


def summarize_env(result: dict, seed: int = 0) -> dict:
    from jaxrl_hybrid.report.compare import probability_of_improvement
    from jaxrl_hybrid.report.stats import summarize

    learned, ppo = result["learned"][:, -1], result["ppo"][:, -1]
    return {
        "learned": summarize(learned, seed),
        "ppo": summarize(ppo, seed),
        "p_learned_beats_ppo": probability_of_improvement(learned, ppo),
        "final_returns": {"learned": learned.tolist(), "ppo": ppo.tolist()},
        "curve_steps": result["steps"],
        "curves": {"learned": result["learned"].tolist(), "ppo": result["ppo"].tolist()},
    }


def meta_eval(
    run: str | Path,
    envs: list[str],
    out: str | Path,
    num_seeds: int = 16,
    seed: int = 1,
    overwrite: bool = False,
    eval_points: int = 8,
    inner_overrides: dict | None = None,
    stream=None,
) -> dict:
    """Evaluate the objective learned in meta-run folder `run` on `envs`; writes `out`."""
    from jaxrl_hybrid.logging import RunDir

    stream = stream or sys.stdout

    if num_seeds < 1:
        raise ValueError(f"--num-seeds must be >= 1, got {num_seeds}")
    run = Path(run)
    config = read_config(run)
    objective = config.make_objective()
    params = load_params(run / OBJECTIVE_FILE, objective.init_params())
    run_dir = RunDir(out, overwrite=overwrite, resumable=False)  # meta-eval has no --resume
    results = {}
    for env in envs:
        if env == config.inner.env and not inner_overrides:
            inner = InnerConfig(**{**config.inner.__dict__, "eval_points": eval_points})
        else:
            inner = InnerConfig.for_env(env, eval_points=eval_points, **(inner_overrides or {}))
        t0 = time.perf_counter()
        print(
            f"{env}: {objective.name} and PPO, {num_seeds} seeds x {inner.total_steps} steps ...",
            file=stream,
            flush=True,
        )
        summary = summarize_env(evaluate_env(objective, params, inner, num_seeds, seed), seed)
        summary["meta_trained_on"] = env == config.inner.env
        summary["inner"] = inner.__dict__ | {"hidden_dims": list(inner.hidden_dims)}
        results[env] = summary
        print(
            f"{env}: {objective.name} IQM {summary['learned']['iqm']:.1f} "
            f"[{summary['learned']['ci95'][0]:.1f}, {summary['learned']['ci95'][1]:.1f}]  PPO IQM "
            f"{summary['ppo']['iqm']:.1f} [{summary['ppo']['ci95'][0]:.1f}, {summary['ppo']['ci95'][1]:.1f}]  "
            f"P(learned > PPO) {summary['p_learned_beats_ppo']:.2f} ({time.perf_counter() - t0:.0f}s)",
            file=stream,
            flush=True,
        )
    record = {
        "meta_run": str(run),
        "objective": objective.name,
        "meta_env": config.inner.env,
        "num_seeds": num_seeds,
        "seed": seed,
        "envs": results,
    }
    run_dir.write_json("results.json", record)
    write_eval_report(run_dir.staging, record)
    path = run_dir.commit()
    print(f"report: {path / 'report.md'}", file=stream, flush=True)
    return {**record, "out": str(path)}


def eval_table(record: dict) -> list[str]:
    """The markdown IQM table of a meta-eval record."""

    def cell(s):
        return f"{s['iqm']:.1f} [{s['ci95'][0]:.1f}, {s['ci95'][1]:.1f}]"

    name = record["objective"]
    lines = [
        f"| env | meta-trained on | PPO (clip) IQM [95% CI] | {name} IQM [95% CI] | P({name} > PPO) |",
        "|---|---|---:|---:|---:|",
    ]
    for env, s in record["envs"].items():
        lines.append(
            f"| {env} | {'yes' if s['meta_trained_on'] else 'held out'} | {cell(s['ppo'])} | {cell(s['learned'])} "
            f"| {s['p_learned_beats_ppo']:.2f} |"
        )
    return lines


def write_eval_report(folder: Path, record: dict) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from jaxrl_hybrid.report.stats import curve_band

    envs = list(record["envs"])
    fig, axes = plt.subplots(1, len(envs), figsize=(4.2 * len(envs), 3.3), squeeze=False, layout="constrained")
    for ax, env in zip(axes[0], envs, strict=True):
        s = record["envs"][env]
        for label, key in ((record["objective"], "learned"), ("PPO (clip)", "ppo")):
            curve, ci = curve_band(np.asarray(s["curves"][key]).T)
            ax.plot(s["curve_steps"], curve, label=label)
            ax.fill_between(s["curve_steps"], ci[:, 0], ci[:, 1], alpha=0.2)
        ax.set_title(env + ("" if s["meta_trained_on"] else " (held out)"), fontsize=9)
        ax.set_xlabel("env steps")
    axes[0][0].set_ylabel("eval return (IQM, 95% CI)")
    axes[0][0].legend(fontsize=8)
    fig.savefig(folder / "curves.png", dpi=110)
    plt.close(fig)
    lines = [
        f"# {record['objective']} (meta-trained on {record['meta_env']}) vs PPO",
        "",
        f"{record['num_seeds']} seeds per env (seed {record['seed']}); final deterministic eval return.",
        "",
        *eval_table(record),
        "",
        "![curves](curves.png)",
    ]
    path = folder / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path
