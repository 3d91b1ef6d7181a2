"""report.md and a learning-curve plot from a run folder's metrics.jsonl and summary.json."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from jaxrl_hybrid.report.stats import curve_band


def load_metrics(run_dir: str | Path) -> list[dict]:
    path = Path(run_dir) / "metrics.jsonl"
    lines = []
    for i, text in enumerate(path.read_text().splitlines(), 1):
        try:
            lines.append(json.loads(text))
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: line {i} is not JSON ({e})") from e
    return lines


def write_between_markers(path: str | Path, begin: str, end: str, body: str) -> None:
    """Replace what lies between the `begin` and `end` markers of a text file (a README's
    generated table) with `body`, keeping both markers and the rest. The file is replaced in one
    step (a temporary file, then os.replace), so a failure never leaves it half-written."""
    path = Path(path)
    text = path.read_text()
    if begin not in text or end not in text.split(begin, 1)[1]:
        raise ValueError(f"{path}: missing the {begin} / {end} markers the table goes between")
    head, rest = text.split(begin, 1)
    tail = rest.split(end, 1)[1]
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(head + begin + body + end + tail)
    os.replace(tmp, path)


def write_report(run_dir: str | Path, title: str) -> Path:
    """Write learning_curve.png and report.md (IQM over seeds per chunk, 95% bootstrap CI)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run_dir = Path(run_dir)
    metrics = load_metrics(run_dir)
    summary = json.loads((run_dir / "summary.json").read_text())
    steps = np.array([m["step"] for m in metrics])
    returns = np.array([m["eval_return"] for m in metrics])  # (chunks, runs)
    curve, cis = curve_band(returns)

    fig, ax = plt.subplots(figsize=(6, 4))
    label = "IQM over runs" + (" (diverged runs left out)" if summary.get("diverged") else "")
    ax.plot(steps, curve, label=label)
    ax.fill_between(steps, cis[:, 0], cis[:, 1], alpha=0.3, label="95% CI")
    ax.set_xlabel("environment steps (per seed)")
    ax.set_ylabel("deterministic evaluation return")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(run_dir / "learning_curve.png", dpi=100)
    plt.close(fig)

    rows = summary["grid"] if "grid" in summary else [summary]
    lines = [
        f"# {title}",
        "",
        f"{summary['total_env_steps']} environment steps per seed, "
        f"{summary['num_eval_episodes']} deterministic evaluation episodes per point.",
        "",
        "| hparams | runs | mean | IQM | 95% CI (IQM) |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        hp = ", ".join(f"{k}={v:g}" for k, v in row.get("hparams", {}).items()) or "defaults"
        if row["iqm"] is None:
            lines.append(f"| {hp} | 0 | every run diverged | | |")
            continue
        lines.append(
            f"| {hp} | {row['num_runs']} | {row['mean']:.2f} | {row['iqm']:.2f} | "
            f"[{row['ci95'][0]:.2f}, {row['ci95'][1]:.2f}] |"
        )
    for d in summary.get("diverged", []):
        lines.append("")
        lines.append(
            f"Run {d['run']} (seed index {d['seed_index']}, hparams {d['hparams'] or 'defaults'}) diverged "
            f"(NaN/inf) at step {d['step']} and is left out of the aggregates."
        )
    lines += ["", "![learning curve](learning_curve.png)", ""]
    out = run_dir / "report.md"
    out.write_text("\n".join(lines))
    return out
