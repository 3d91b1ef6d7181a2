"""Reports of offline-to-online runs: one table row and one learning curve per method.

Reads the run folders `jaxrl-hybrid finetune` writes (metrics.jsonl lines with
`"phase": "online"`, the first at step 0 for the starting policy; summary.json with the
per-seed `final_score`, `initial_dip` and `auc`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from jaxrl_hybrid.report.render import load_metrics
from jaxrl_hybrid.report.stats import curve_band

METRICS = (("final_score", "final score"), ("initial_dip", "initial dip"), ("auc", "AUC"))


def online_curve(run_dir: str | Path) -> tuple[np.ndarray, np.ndarray, str]:
    """(steps, scores (evaluations, seeds), score name) of a fine-tuning run's online phase,
    starting with the starting policy at step 0; normalised scores when the data has references."""
    lines = [m for m in load_metrics(run_dir) if m.get("phase") == "online"]
    if not lines:
        raise ValueError(f"{Path(run_dir) / 'metrics.jsonl'}: no online evaluations (is this a finetune run?)")
    key = "normalized_score" if "normalized_score" in lines[0] else "eval_return"
    return np.array([m["step"] for m in lines]), np.array([m[key] for m in lines], dtype=np.float64), key


def _cell(stat: dict) -> str:
    if stat["iqm"] is None:
        return "diverged"
    return f"{stat['iqm']:.1f} [{stat['ci95'][0]:.1f}, {stat['ci95'][1]:.1f}]"


def table(runs: dict[str, str | Path]) -> str:
    """Markdown table: per method, IQM [95% bootstrap CI] of the pretrained, final, dip and AUC scores."""
    lines = [
        "| method | seeds | start | " + " | ".join(name for _, name in METRICS) + " |",
        "|---" * (3 + len(METRICS)) + "|",
    ]
    for label, run_dir in runs.items():
        summary = json.loads((Path(run_dir) / "summary.json").read_text())
        cells = [_cell(summary["start_score"])] + [_cell(summary[key]) for key, _ in METRICS]
        lines.append(f"| {label} | {summary['num_seeds']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_curves(runs: dict[str, str | Path], path: str | Path, title: str) -> Path:
    """IQM over seeds of each method's online curve with a 95% stratified-bootstrap CI band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    score_name = "eval_return"
    for label, run_dir in runs.items():
        steps, scores, score_name = online_curve(run_dir)
        curve, cis = curve_band(scores)
        (line,) = ax.plot(steps, curve, label=label)
        ax.fill_between(steps, cis[:, 0], cis[:, 1], alpha=0.2, color=line.get_color())
    ax.set_xlabel("online environment steps (per seed)")
    ax.set_ylabel("normalised score" if score_name == "normalized_score" else "evaluation return")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_finetune_report(runs: dict[str, str | Path], out_dir: str | Path, title: str, notes: str = "") -> Path:
    """`out_dir/report.md` (the table, `notes`, the curve) and `out_dir/learning_curves.png`."""
    out_dir = Path(out_dir)
    plot_curves(runs, out_dir / "learning_curves.png", title)
    text = [
        f"# {title}",
        "",
        "IQM over seeds with 95% stratified-bootstrap confidence intervals. *start*: the policy the online "
        "phase starts from (after pretraining), evaluated before any online step; *initial dip*: start minus the "
        "lowest evaluation in the first 10% of online steps (positive = the score fell); *AUC*: mean score over "
        "the online phase (trapezoid from step 0).",
        "",
        table(runs),
        "",
    ]
    if notes:
        text += [notes, ""]
    text += ["![learning curves](learning_curves.png)", ""]
    path = out_dir / "report.md"
    path.write_text("\n".join(text))
    return path
