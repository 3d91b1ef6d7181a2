"""Comparing methods across run folders, the rliable way (Agarwal et al., 2021).

    runs = load_runs(["runs/sac", "td3=runs/td3_pendulum", "td3=runs/td3_cartpole"])
    write_comparison(runs, "report/")   # report.md, report.html, aggregates.png, ...

A *method* is a label (the folder name, `label=path`, plus the hyperparameter setting when a
folder holds a grid); a *task* is the env (or dataset) a run folder trained on. A method's
scores form a (runs, tasks) matrix; every aggregate gets a stratified-bootstrap 95% CI
(runs resampled within each task). Normalised scores (offline data with reference returns)
are used when every run folder has them, raw returns otherwise.
"""

from __future__ import annotations

import dataclasses
import html
import json
from pathlib import Path

import numpy as np

from jaxrl_hybrid.logging.run_dir import dumps
from jaxrl_hybrid.report.render import load_metrics
from jaxrl_hybrid.report.stats import _as_runs_by_tasks, curve_band, iqm


@dataclasses.dataclass
class MethodRuns:
    """One method's final scores per task (runs,) and learning curves per task ((steps,), (points, runs))."""

    label: str
    scores: dict[str, np.ndarray]
    curves: dict[str, tuple[np.ndarray, np.ndarray]]
    sources: list[str]
    diverged: int = 0


def mean_score(x) -> float:
    """Mean over tasks of the mean over runs."""
    return float(_as_runs_by_tasks(x).mean())


def median_score(x) -> float:
    """Median over tasks of the mean over runs (rliable's aggregate median)."""
    return float(np.median(_as_runs_by_tasks(x).mean(axis=0)))


def optimality_gap(x, threshold: float) -> float:
    """How far scores fall short of `threshold`: threshold - mean(min(score, threshold))."""
    return float(threshold - np.minimum(_as_runs_by_tasks(x), threshold).mean())


def probability_of_improvement(x, y) -> float:
    """P(X > Y): per task, the share of run pairs where x beats y (ties count half), averaged over tasks.

    x and y are (runs_x, tasks) and (runs_y, tasks) with the same tasks (Mann-Whitney U / nm)."""
    x, y = _as_runs_by_tasks(x), _as_runs_by_tasks(y)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"probability_of_improvement needs the same tasks, got {x.shape[1]} and {y.shape[1]}")
    per_task = [
        ((x[:, t, None] > y[None, :, t]).mean() + 0.5 * (x[:, t, None] == y[None, :, t]).mean())
        for t in range(x.shape[1])
    ]
    return float(np.mean(per_task))


def bootstrap(statistic, arrays: list[np.ndarray], num_resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """95% percentile CI of `statistic(*arrays)`, each (runs, tasks) array resampled by run
    within every task, independently of the others."""
    rng = np.random.default_rng(seed)
    stats = np.empty(num_resamples)
    for i in range(num_resamples):
        resampled = []
        for a in arrays:
            idx = rng.integers(0, a.shape[0], size=a.shape)
            resampled.append(np.take_along_axis(a, idx, axis=0))
        stats[i] = statistic(*resampled)
    low, high = np.quantile(stats, [0.025, 0.975])
    return float(low), float(high)


def performance_profile(x, taus: np.ndarray) -> np.ndarray:
    """Fraction of all (run, task) scores above each threshold tau."""
    x = _as_runs_by_tasks(x)
    return np.array([(x > t).mean() for t in taus])


# --------------------------------------------------------------------------------------------
# Reading run folders


def _task_name(summary: dict, config: dict) -> str:
    train = config.get("train") or config.get("finetune") or {}
    dataset = train.get("dataset")
    if dataset:
        return Path(dataset).name
    return summary.get("env") or train.get("env") or "task"


def _read(path: Path, name: str) -> dict:
    file = path / name
    if not file.is_file():
        raise FileNotFoundError(f"{file}: missing (expected a finished run folder of jaxrl-hybrid)")
    try:
        return json.loads(file.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{file}: not JSON ({e})") from e


def load_runs(specs: list[str]) -> tuple[list[MethodRuns], str]:
    """Method runs from `[label=]path` specs, and the score name used ("normalized_score" or
    "eval_return"). A folder with an hparam grid gives one method per setting."""
    if not specs:
        raise ValueError("report: no run folders given; name at least one (jaxrl-hybrid report RUN [RUN ...])")
    entries = []  # (label, task, final scores, steps, curve, source, diverged count)
    for spec in specs:
        label, sep, path = spec.partition("=")
        if not sep or Path(spec).is_dir() or "/" in label:  # a folder whose name holds "="
            label, path = "", spec
        path = Path(path)
        if not path.is_dir():
            raise FileNotFoundError(f"{path}: no such run folder")
        summary, config = _read(path, "summary.json"), _read(path, "config.json")
        lines = load_metrics(path)
        task = _task_name(summary, config)
        base = label or path.name
        diverged = {d["run"] for d in summary.get("diverged", [])}
        if "final_score" in summary and "method" in summary:  # a finetune run
            online = [m for m in lines if m.get("phase") == "online"]
            key = summary["score"]
            curve = np.array([m[key] for m in online], dtype=np.float64)
            final = np.asarray(summary["final_score"]["per_seed"], dtype=np.float64)
            keep = np.isfinite(final) & np.all(np.isfinite(curve), axis=0)
            final, curve = final[keep], curve[:, keep]
            entries.append((base, task, final, np.array([m["step"] for m in online]), curve, str(path), key))
            continue
        groups = summary["grid"] if "grid" in summary else [summary]
        num_seeds = int(config.get("num_seeds", len(groups[0]["final_return"])))
        normalized = "normalized" in groups[0]
        key = "normalized_score" if normalized else "eval_return"
        steps = np.array([m["step"] for m in lines])
        all_curves = np.array([m[key] for m in lines], dtype=np.float64)  # (points, runs)
        for g, group in enumerate(groups):
            part = slice(g * num_seeds, (g + 1) * num_seeds)
            final = np.asarray(group["normalized"]["final_score"] if normalized else group["final_return"], float)
            keep = np.array([g * num_seeds + i not in diverged for i in range(num_seeds)])
            hp = ", ".join(f"{k}={v:g}" for k, v in group.get("hparams", {}).items())
            name = f"{base} [{hp}]" if len(groups) > 1 and hp else base
            entries.append((name, task, final[keep], steps, all_curves[:, part][:, keep], str(path), key))
    keys = {e[6] for e in entries}
    if len(keys) > 1:
        raise ValueError(
            "some run folders have normalised scores and some raw returns; compare like with like "
            f"({', '.join(sorted({e[5] for e in entries}))})"
        )
    score_name = keys.pop()
    methods: dict[str, MethodRuns] = {}
    for name, task, final, steps, curve, source, _ in entries:
        m = methods.setdefault(name, MethodRuns(name, {}, {}, []))
        if task in m.scores:
            raise ValueError(f"method {name!r} has two run folders for task {task!r}: give them different labels")
        m.scores[task] = final
        m.curves[task] = (steps, curve)
        m.sources.append(source)
    return list(methods.values()), score_name


def score_matrix(method: MethodRuns, tasks: list[str]) -> np.ndarray:
    """(runs, tasks) scores of `method`; every task must have the same number of runs."""
    missing = [t for t in tasks if t not in method.scores]
    if missing:
        raise ValueError(f"method {method.label!r} has no runs on {missing} (its folders: {method.sources})")
    counts = {t: method.scores[t].size for t in tasks}
    n = min(counts.values())
    if n == 0:
        raise ValueError(f"method {method.label!r}: every run diverged on some task ({counts})")
    # Unequal run counts (e.g. a diverged seed left out): the first n runs of each task.
    return np.stack([method.scores[t][:n] for t in tasks], axis=1)


# --------------------------------------------------------------------------------------------
# The report


def compare(methods: list[MethodRuns], threshold: float | None, num_resamples: int = 2000, seed: int = 0) -> dict:
    """Aggregates with CIs per method, and P(row > column) for every pair of methods."""
    tasks = sorted(set().union(*(m.scores for m in methods)))
    matrices = {m.label: score_matrix(m, tasks) for m in methods}
    aggregates = {}
    for label, x in matrices.items():
        stats = {"iqm": iqm, "mean": mean_score, "median": median_score}
        if threshold is not None:
            stats["optimality_gap"] = lambda a: optimality_gap(a, threshold)
        aggregates[label] = {
            name: {"value": fn(x), "ci95": list(bootstrap(fn, [x], num_resamples, seed))} for name, fn in stats.items()
        }
        aggregates[label]["runs_per_task"] = int(x.shape[0])
    improvement = {}
    for a in matrices:
        for b in matrices:
            if a != b:
                xa, xb = matrices[a], matrices[b]
                improvement[f"{a} > {b}"] = {
                    "value": probability_of_improvement(xa, xb),
                    "ci95": list(bootstrap(probability_of_improvement, [xa, xb], num_resamples, seed)),
                }
    return {"tasks": tasks, "aggregates": aggregates, "probability_of_improvement": improvement}


def _plots(methods, result, out: Path, score_name: str, num_resamples: int, seed: int) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = result["tasks"]
    labels = [m.label for m in methods]
    names = [n for n in ("iqm", "mean", "median", "optimality_gap") if n in result["aggregates"][labels[0]]]
    images = []

    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 0.5 + 0.45 * len(labels)), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        for i, label in enumerate(labels):
            agg = result["aggregates"][label][name]
            ax.plot(agg["ci95"], [i, i], lw=6, alpha=0.5, solid_capstyle="butt")
            ax.plot([agg["value"]], [i], "k|", ms=12)
        ax.set_yticks(range(len(labels)), labels if ax is axes[0][0] else [""] * len(labels))
        ax.set_title(name.replace("_", " "))
    fig.tight_layout()
    fig.savefig(out / "aggregates.png", dpi=100)
    plt.close(fig)
    images.append(("Aggregate metrics (95% stratified-bootstrap CIs)", "aggregates.png"))

    matrices = {m.label: score_matrix(m, tasks) for m in methods}
    lo = min(float(x.min()) for x in matrices.values())
    hi = max(float(x.max()) for x in matrices.values())
    taus = np.linspace(lo, hi, 101)
    rng = np.random.default_rng(seed)
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, x in matrices.items():
        profile = performance_profile(x, taus)
        boot = np.empty((min(num_resamples, 500), taus.size))
        for i in range(boot.shape[0]):
            idx = rng.integers(0, x.shape[0], size=x.shape)
            boot[i] = performance_profile(np.take_along_axis(x, idx, axis=0), taus)
        (line,) = ax.plot(taus, profile, label=label)
        ax.fill_between(taus, *np.quantile(boot, [0.025, 0.975], axis=0), alpha=0.2, color=line.get_color())
    ax.set_xlabel(f"{score_name} threshold tau")
    ax.set_ylabel("fraction of runs with score > tau")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "performance_profile.png", dpi=100)
    plt.close(fig)
    images.append(("Performance profiles (95% CI bands)", "performance_profile.png"))

    fig, axes = plt.subplots(1, len(tasks), figsize=(5 * len(tasks), 3.8), squeeze=False)
    for ax, task in zip(axes[0], tasks, strict=True):
        for m in methods:
            steps, curve = m.curves[task]
            if curve.size == 0:
                continue
            mid, band = curve_band(curve, num_resamples=min(num_resamples, 500), seed=seed)
            (line,) = ax.plot(steps, mid, label=m.label)
            ax.fill_between(steps, band[:, 0], band[:, 1], alpha=0.2, color=line.get_color())
        ax.set_title(task)
        ax.set_xlabel("steps (per seed)")
        ax.set_ylabel(f"{score_name} (IQM over runs)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "learning_curves.png", dpi=100)
    plt.close(fig)
    images.append(("Learning curves (IQM over runs, 95% CI bands)", "learning_curves.png"))
    return images


def _fmt(stat: dict) -> str:
    return f"{stat['value']:.2f} [{stat['ci95'][0]:.2f}, {stat['ci95'][1]:.2f}]"


def write_comparison(
    methods: list[MethodRuns],
    out: str | Path,
    score_name: str,
    threshold: float | None = None,
    num_resamples: int = 2000,
    seed: int = 0,
    title: str = "Comparison",
    overwrite: bool = False,
) -> dict:
    """comparison.json, report.md, report.html and the PNGs in `out` (written to a staging
    folder, then moved into place; a non-empty `out` is refused unless `overwrite`). Returns
    the comparison dict."""
    from jaxrl_hybrid.logging.run_dir import RunDir

    if not methods:
        raise ValueError("nothing to compare: give at least one run folder")
    run_dir = RunDir(out, overwrite=overwrite, resumable=False)
    staging = run_dir.staging
    result = compare(methods, threshold, num_resamples, seed)
    result.update(score=score_name, optimality_threshold=threshold, sources={m.label: m.sources for m in methods})
    (staging / "comparison.json").write_text(dumps(result, indent=2))
    images = _plots(methods, result, staging, score_name, num_resamples, seed)

    names = [n for n in ("iqm", "mean", "median", "optimality_gap") if n in result["aggregates"][methods[0].label]]
    md = [
        f"# {title}",
        "",
        f"Score: `{score_name}` (final evaluation of each run). Tasks: {', '.join(result['tasks'])}. "
        "Every value is followed by its 95% stratified-bootstrap confidence interval "
        f"({num_resamples} resamples of runs within each task).",
        "",
        "| method | runs/task | " + " | ".join(n.replace("_", " ") for n in names) + " |",
        "|---" * (len(names) + 2) + "|",
    ]
    for m in methods:
        agg = result["aggregates"][m.label]
        md.append(f"| {m.label} | {agg['runs_per_task']} | " + " | ".join(_fmt(agg[n]) for n in names) + " |")
    if threshold is None:
        md += ["", "Optimality gap left out: raw returns have no common optimum (pass --optimality-threshold)."]
    if result["probability_of_improvement"]:
        md += ["", "## Probability of improvement", "", "| P(X > Y) | value [95% CI] |", "|---|---|"]
        md += [f"| {pair} | {_fmt(s)} |" for pair, s in result["probability_of_improvement"].items()]
    for caption, file in images:
        md += ["", f"## {caption}", "", f"![{caption}]({file})"]
    md += ["", "Sources: " + "; ".join(f"{m.label}: {', '.join(m.sources)}" for m in methods), ""]
    (staging / "report.md").write_text("\n".join(md))
    (staging / "report.html").write_text(_html(md, title))
    run_dir.commit()
    return result


def _html(md_lines: list[str], title: str) -> str:
    """A self-contained page from the markdown lines: headings, tables, images, paragraphs."""
    body, table = [], []

    def flush_table():
        if table:
            rows = [r for r in table if not set(r.replace("|", "").strip()) <= {"-"}]
            cells = [[html.escape(c.strip()) for c in r.strip().strip("|").split("|")] for r in rows]
            head = "".join(f"<th>{c}</th>" for c in cells[0])
            rest = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in cells[1:])
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rest}</tbody></table>")
            table.clear()

    for line in md_lines:
        if line.startswith("|"):
            table.append(line)
            continue
        flush_table()
        if line.startswith("## "):
            body.append(f"<h2>{html.escape(line[3:])}</h2>")
        elif line.startswith("# "):
            body.append(f"<h1>{html.escape(line[2:])}</h1>")
        elif line.startswith("!["):
            alt, src = line[2:].split("](", 1)
            body.append(f'<img src="{html.escape(src.rstrip(")"))}" alt="{html.escape(alt)}">')
        elif line:
            body.append(f"<p>{html.escape(line)}</p>")
    flush_table()
    style = (
        "body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px}img{max-width:100%}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head><body>{''.join(body)}</body></html>\n"
    )
