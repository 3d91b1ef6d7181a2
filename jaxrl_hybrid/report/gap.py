"""The dynamics-gap report: estimated gap against the true one, per estimator, on held-out real
state-actions and on a 2-D slice of state space (a PNG heat map), written by `jaxrl-hybrid gap`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl_hybrid.logging.run_dir import dumps
from jaxrl_hybrid.report.stats import spearman


def state_slice(env_name: str, dataset, dim: int = 0, n: int = 41) -> dict[str, Any]:
    """An n x n grid over one state coordinate and the first action dimension, in [-1, 1].

    Pendulum's coordinate is the pole angle theta in [-pi, pi] (obs = cos, sin, speed); other
    envs use observation dim `dim` over the data's range. The remaining observation dims (and
    action dims) sit at the data's median. Returns obs (n*n, d), action (n*n, a), the axis
    values and labels, and the data's coordinates on the same axes (for the coverage overlay).
    """
    data_obs = np.asarray(dataset.observations)
    data_act = np.asarray(dataset.actions).reshape(data_obs.shape[0], -1)
    d = data_obs.shape[1]
    ys = np.linspace(-1.0, 1.0, n)
    if env_name == "gymnax:Pendulum-v1":
        xs = np.linspace(-np.pi, np.pi, n)
        gx, gy = np.meshgrid(xs, ys)
        speed = np.full(gx.size, np.median(data_obs[:, 2]))
        obs = np.stack([np.cos(gx.ravel()), np.sin(gx.ravel()), speed], -1)
        coverage_x = np.arctan2(data_obs[:, 1], data_obs[:, 0])
        labels = ("pole angle theta (rad)", "action (torque command)")
    else:
        if not 0 <= dim < d:
            raise ValueError(f"--slice-dim {dim}: need an observation dim in [0, {d})")
        xs = np.linspace(data_obs[:, dim].min(), data_obs[:, dim].max(), n)
        gx, gy = np.meshgrid(xs, ys)
        obs = np.tile(np.median(data_obs, axis=0), (n * n, 1))
        obs[:, dim] = gx.ravel()
        coverage_x = data_obs[:, dim]
        labels = (f"obs[{dim}]", "action[0]")
    actions = np.tile(np.median(data_act, axis=0), (n * n, 1))
    actions[:, 0] = gy.ravel()
    return {
        "obs": obs.astype(np.float32),
        "action": actions.astype(np.float32),
        "x": xs,
        "y": ys,
        "labels": labels,
        "coverage": (coverage_x, data_act[:, 0]),
        "n": n,
    }


def gap_table(rho: dict[str, dict[str, float]]) -> str:
    lines = ["| estimator | Spearman, held-out real (s, a) | Spearman, slice grid |", "|---|---|---|"]
    for name, r in rho.items():
        lines.append(f"| {name} | {r['holdout']:.3f} | {r['slice']:.3f} |")
    return "\n".join(lines)


def plot_heatmaps(path: Path, grid: dict, maps: dict[str, np.ndarray], title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = grid["n"]
    fig, axes = plt.subplots(1, len(maps), figsize=(4.6 * len(maps), 4.0), constrained_layout=True)
    extent = (grid["x"][0], grid["x"][-1], grid["y"][0], grid["y"][-1])
    for ax, (name, values) in zip(np.atleast_1d(axes), maps.items(), strict=True):
        im = ax.imshow(values.reshape(n, n), origin="lower", extent=extent, aspect="auto", cmap="viridis")
        cx, cy = grid["coverage"]
        ax.scatter(cx[::10], cy[::10], s=1, c="white", alpha=0.35, linewidths=0)
        ax.set_title(name)
        ax.set_xlabel(grid["labels"][0])
        ax.set_ylabel(grid["labels"][1])
        fig.colorbar(im, ax=ax, shrink=0.85)
    fig.suptitle(title)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_gap_report(
    folder: Path,
    *,
    shift: str,
    env,
    sim_params,
    real_params,
    dataset,
    fitted,
    gap_fns: dict,
    slice_dim: int = 0,
    settings: dict | None = None,
) -> dict[str, Any]:
    """Evaluate `gap_fns` ({name: gap(s, a)}) against the true gap; write gap.json, report.md and
    gap_heatmap.png into `folder`. Returns the JSON summary."""
    from jaxrl_hybrid.models import dynamics as dyn
    from jaxrl_hybrid.models.gap import true_gap

    truth_fn = jax.jit(lambda o, a: true_gap(env, sim_params, real_params, o, a))
    holdout = np.asarray(fitted.holdout)
    obs, action = dataset.observations[holdout], dataset.actions[holdout]
    grid = state_slice(env.spec.name, dataset, slice_dim)
    truth = {"holdout": np.asarray(truth_fn(obs, action)), "slice": np.asarray(truth_fn(grid["obs"], grid["action"]))}
    estimates = {
        name: {
            "holdout": np.asarray(jax.jit(fn)(obs, action)),
            "slice": np.asarray(jax.jit(fn)(jnp.asarray(grid["obs"]), jnp.asarray(grid["action"]))),
        }
        for name, fn in gap_fns.items()
    }
    rho = {
        name: {part: spearman(est[part], truth[part]) for part in ("holdout", "slice")}
        for name, est in estimates.items()
    }
    rows = (obs, action, dataset.next_observations[holdout], dataset.rewards[holdout])
    model_nll = float(dyn.member_nll(fitted.dynamics, *rows).mean())
    baseline_nll = float(dyn.constant_delta_nll(fitted.dynamics, rows[0], rows[2], rows[3]).mean())
    summary = {
        "shift": shift,
        "spearman": rho,
        "true_gap": {part: {"mean": float(v.mean()), "max": float(v.max())} for part, v in truth.items()},
        "dynamics_model": {
            "holdout_nll": model_nll,
            "constant_delta_nll": baseline_nll,
            "epochs_trained": int(fitted.model_history["stopped_epoch"]),
        },
        "discriminators": {
            "final_d_sa_loss": float(np.asarray(fitted.disc_history["d_sa_loss"])[-100:].mean()),
            "final_d_sas_loss": float(np.asarray(fitted.disc_history["d_sas_loss"])[-100:].mean()),
        },
        "num_holdout": int(holdout.size),
        "slice": {"dim": slice_dim, "labels": list(grid["labels"]), "grid": grid["n"]},
        "settings": settings or {},
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "gap.json").write_text(dumps(summary, indent=2))
    maps = {"true gap ||s'_real - s'_sim||": truth["slice"]}
    maps.update({f"{name} gap": est["slice"] for name, est in estimates.items()})
    plot_heatmaps(folder / "gap_heatmap.png", grid, maps, f"{shift}: gap over a state coordinate and the action")
    report = [
        f"# Dynamics gap: `{shift}`",
        "",
        f"Estimated gap u(s, a) against the true gap ||s'_real - s'_sim|| (both dynamics stepped from the same "
        f"(s, a)), by Spearman rank correlation on {holdout.size} held-out real state-actions and on a "
        f"{grid['n']}x{grid['n']} grid over ({grid['labels'][0]}, {grid['labels'][1]}), the other coordinates at "
        "the data's median.",
        "",
        gap_table(rho),
        "",
        f"Real-dynamics model: held-out NLL {model_nll:.2f} nats per transition, against {baseline_nll:.2f} for a "
        f"constant-delta Gaussian; trained {summary['dynamics_model']['epochs_trained']} epochs.",
        f"Discriminators: final losses D_sa {summary['discriminators']['final_d_sa_loss']:.3f}, "
        f"D_sas {summary['discriminators']['final_d_sas_loss']:.3f} (chance: {np.log(2):.3f}).",
        "",
        "![gap heat map](gap_heatmap.png)",
        "",
        "White dots: where the real data lies on the slice's axes (every 10th row).",
        "",
    ]
    (folder / "report.md").write_text("\n".join(report))
    return summary
