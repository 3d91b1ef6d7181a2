"""Figures and the report of a meta-run: fitness over generations, the learned drift over (r, A)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

PROGRESS_VALUES = (0.0, 0.25, 0.5, 0.75, 1.0)


def drift_grid(objective, params, clip_eps: float, log_budget: float, progress: float, ratios, advantages):
    """The objective's drift on the grid ratios x advantages: (len(advantages), len(ratios))."""
    import jax.numpy as jnp

    r, a = jnp.meshgrid(jnp.asarray(ratios, jnp.float32), jnp.asarray(advantages, jnp.float32))
    d = objective.drift(params, r, a, jnp.float32(clip_eps), jnp.float32(progress), jnp.float32(log_budget))
    return np.asarray(d)


def plot_drift(
    objective,
    params,
    clip_eps: float,
    gradient_steps: int,
    path: str | Path,
    progress_values=PROGRESS_VALUES,
    ratio_range=(0.25, 2.0),
    advantage_range=(-2.0, 2.0),
    resolution: int = 121,
) -> Path:
    """Heat maps of the drift over (r, A), one per training progress n / N (an objective
    without a progress input gets one), beside PPO's clip drift; the white line is r = 1."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from jaxrl_hybrid.losses.policy import ClipObjective

    ratios = np.linspace(*ratio_range, resolution)
    advantages = np.linspace(*advantage_range, resolution)
    log_budget = float(np.log(max(gradient_steps, 1)))
    panels = [(f"{objective.name}, n/N = {p:g}", objective, params, p) for p in progress_values]
    if not objective.temporal:
        panels = [(objective.name, objective, params, 0.0)]
    panels.append((f"PPO clip (eps = {clip_eps:g})", ClipObjective(), {}, 0.0))
    grids = [drift_grid(o, pp, clip_eps, log_budget, p, ratios, advantages) for _, o, pp, p in panels]
    vmax = max(float(np.quantile(g, 0.99)) for g in grids) or 1.0
    fig, axes = plt.subplots(
        1, len(panels), figsize=(3.0 * len(panels) + 1.0, 3.2), squeeze=False, layout="constrained"
    )
    for ax, (title, *_), grid in zip(axes[0], panels, grids, strict=True):
        im = ax.imshow(
            grid,
            origin="lower",
            aspect="auto",
            extent=(*ratio_range, *advantage_range),
            vmin=0.0,
            vmax=vmax,
            cmap="viridis",
        )
        ax.axvline(1.0, color="white", lw=0.8)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("r = pi / pi_old")
    axes[0][0].set_ylabel("advantage A")
    fig.colorbar(im, ax=axes[0].tolist(), shrink=0.85, label="drift")
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def rule_along_episode(rule, params, gamma: float, log_budget: float, progress: float, pi_a: float, length: int):
    """pi_hat of the LPG rule along one synthetic episode: reward 1 every step, terminal at the
    last, the agent's y uniform, pi(a|s) = `pi_a` throughout. (length,)."""
    import jax.numpy as jnp

    from jaxrl_hybrid.agents.lpg.rule import rule_targets

    shape = (length, 1)
    terminal = jnp.zeros(shape, bool).at[-1].set(True)
    y = jnp.full((*shape, rule.prediction_dim), 1.0 / rule.prediction_dim)
    pi_hat, _ = rule_targets(
        rule, params, jnp.ones(shape), terminal, terminal, jnp.float32(gamma), jnp.full(shape, pi_a), y, y,
        jnp.float32(progress), jnp.float32(log_budget),
    )  # fmt: skip
    return np.asarray(pi_hat[:, 0])


def plot_rule(rule, params, gamma: float, num_updates: int, path: str | Path, length: int = 64) -> Path:
    """The learned rule's pi_hat against steps before termination (an episode of reward 1 per
    step), for pi(a|s) in {0.2, 0.5, 0.8}, one panel per training progress (one without)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    progress_values = PROGRESS_VALUES if rule.temporal else (0.0,)
    log_budget = float(np.log(max(num_updates, 1)))
    fig, axes = plt.subplots(
        1, len(progress_values), figsize=(3.2 * len(progress_values), 3.0), squeeze=False, layout="constrained"
    )
    steps_left = np.arange(length)[::-1]
    for ax, p in zip(axes[0], progress_values, strict=True):
        for pi_a in (0.2, 0.5, 0.8):
            ax.plot(
                steps_left, rule_along_episode(rule, params, gamma, log_budget, p, pi_a, length), label=f"pi={pi_a}"
            )
        ax.set_title(f"{rule.name}" + (f", n/N = {p:g}" if rule.temporal else ""), fontsize=9)
        ax.set_xlabel("steps before termination")
    axes[0][0].set_ylabel("pi_hat")
    axes[0][0].legend(fontsize=7)
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_fitness(history: list[dict], path: str | Path, title: str) -> Path:
    """Population mean and best fitness per generation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    g = [r["generation"] for r in history]
    mean = np.array([r["fitness_mean"] for r in history])
    std = np.array([r["fitness_std"] for r in history])
    fig, ax = plt.subplots(figsize=(5, 3.4))
    ax.plot(g, mean, label="population mean")
    ax.fill_between(g, mean - std, mean + std, alpha=0.2)
    ax.plot(g, [r["fitness_best"] for r in history], label="best member", ls="--")
    ax.set_xlabel("generation")
    ax.set_ylabel("final return")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_meta_report(folder: str | Path, config, history: list[dict], summary: dict) -> Path:
    """report.md of a meta-run: settings, fitness per generation, the figures."""
    folder = Path(folder)
    inner = config.inner
    lpg = summary["objective"] in ("lpg", "ta-lpg")
    learner = "the LPG agent" if lpg else "PPO"
    update = "one gradient step" if lpg else f"{inner.update_epochs} epochs x {inner.num_minibatches} minibatches"
    lines = [
        f"# Meta-training {summary['objective']} on {inner.env}",
        "",
        f"{config.strategy}, population {config.population} (antithetic: {config.antithetic}), "
        f"lr {config.lr}, sigma {config.sigma}, {config.generations} generations, seed {config.seed}. "
        f"Each member trains {learner} on {config.num_seeds} seeds for {inner.total_steps} env steps "
        f"({inner.num_envs} envs x {inner.num_steps} steps per update, {update}, lr {inner.lr}); "
        f"fitness is the mean return of "
        f"{inner.num_eval_episodes} deterministic episodes of the final policy, rank-transformed by the strategy.",
        "",
        f"Population mean fitness: {summary['fitness_mean_first']:.1f} in generation 1, "
        f"{summary['fitness_mean_last']:.1f} in generation {summary['generations']}; "
        f"best member seen: {summary['fitness_best']:.1f}.",
        "",
        "![fitness](fitness.png)",
        "",
        "![drift](drift.png)" if (folder / "drift.png").is_file() else "![rule](rule.png)",
        "",
        "| generation | mean | best | std | diverged members | seconds |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in history:
        lines.append(
            f"| {r['generation']} | {r['fitness_mean']:.1f} | {r['fitness_best']:.1f} | {r['fitness_std']:.1f} "
            f"| {r['nonfinite_members']} | {r['seconds']:.1f} |"
        )
    path = folder / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path
