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
from jaxrl_hybrid.report.stats import curve_band, summarize

METRICS = (("final_score", "final score"), ("initial_dip", "initial dip"), ("auc", "AUC"))


def online_curve(run_dir: str | Path, warmup_point: bool = False) -> tuple[np.ndarray, np.ndarray, str]:
    """(steps, scores (evaluations, seeds), score name) of a fine-tuning run's online phase,
    starting with the starting policy at step 0; normalised scores when the data has references.

    `warmup_point`: also place the start scores at the end of the warm-up (summary.json's
    `warmup_steps`). No update happens before it, so the evaluated policy is the start's all
    along; without the point a plot would draw the first post-warm-up change as a slope across
    the warm-up."""
    lines = [m for m in load_metrics(run_dir) if m.get("phase") == "online"]
    if not lines:
        raise ValueError(f"{Path(run_dir) / 'metrics.jsonl'}: no online evaluations (is this a finetune run?)")
    key = "normalized_score" if "normalized_score" in lines[0] else "eval_return"
    steps = np.array([m["step"] for m in lines])
    scores = np.array([m[key] for m in lines], dtype=np.float64)
    if warmup_point:
        summary = Path(run_dir) / "summary.json"
        warmup = (json.loads(summary.read_text()).get("warmup_steps") or 0) if summary.exists() else 0
        if len(steps) > 1 and 0 < warmup < steps[1]:
            steps, scores = np.insert(steps, 1, warmup), np.insert(scores, 1, scores[0], axis=0)
    return steps, scores, key


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


def _value(line: dict | None, key: str) -> str:
    if line is None or key not in line:
        return "-"
    return _cell(summarize(np.asarray(line[key], dtype=np.float64)))


def critic_table(runs: dict[str, str | Path]) -> str:
    """Markdown table: the critics' mean Q on their training batches against the data's
    Monte-Carlo return-to-go at the end of pretraining, then Q at the first and last online
    evaluations. IQM [95% CI] over seeds; '-' where a run has no such phase (a run restored
    with `--init-from` pretrained elsewhere)."""
    lines = [
        "| method | pretrain updates | Q, end of pretraining | MC return of the data | Q, first online eval | "
        "Q, last online eval |",
        "|---" * 6 + "|",
    ]
    for label, run_dir in runs.items():
        metrics = load_metrics(run_dir)
        pre = [m for m in metrics if m.get("phase") == "pretrain" and "q_mean" in m]
        online = [m for m in metrics if m.get("phase") == "online" and "q_mean" in m]
        last_pre = pre[-1] if pre else None
        cells = [
            str(last_pre["step"]) if last_pre else "-",
            _value(last_pre, "q_mean"),
            _value(last_pre, "mc_return_mean"),
            _value(online[0] if online else None, "q_mean"),
            _value(online[-1] if online else None, "q_mean"),
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_curves(runs: dict[str, str | Path], path: str | Path, title: str) -> Path:
    """IQM over seeds of each method's online curve with a 95% stratified-bootstrap CI band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    score_name = "eval_return"
    for label, run_dir in runs.items():
        steps, scores, score_name = online_curve(run_dir, warmup_point=True)
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
        "lowest evaluation in the first 10% of the online steps that update the agent, after any warm-up "
        "(positive = the score fell); *AUC*: mean score over "
        "the online phase (trapezoid from step 0).",
        "",
        table(runs),
        "",
        "The critics' mean Q-value on their training batches (Monte-Carlo return: the data's discounted "
        "return-to-go on the same batches; a critic that has converged on the data sits near it, above it "
        "by what a conservative penalty's push-up on data actions adds):",
        "",
        critic_table(runs),
        "",
    ]
    if notes:
        text += [notes, ""]
    text += ["![learning curves](learning_curves.png)", ""]
    path = out_dir / "report.md"
    path.write_text("\n".join(text))
    return path
