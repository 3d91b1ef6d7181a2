"""Aggregate statistics for RL results (Agarwal et al., 2021): IQM and stratified bootstrap CIs.

Scores are arrays of shape (num_runs, num_tasks) (a 1-D array is one task). Pure numpy, so a
report is the same on every machine and needs no accelerator.
"""

from __future__ import annotations

import numpy as np


def _as_runs_by_tasks(scores) -> np.ndarray:
    x = np.asarray(scores, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"scores must have shape (runs,) or (runs, tasks) with runs >= 1, got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("scores contain NaN or inf")
    return x


def iqm(scores) -> float:
    """Interquartile mean over all runs and tasks: the mean of the middle 50% of scores.

    Uses the trimmed-mean convention of scipy.stats.trim_mean(x, 0.25): floor(0.25 n)
    scores are cut from each end.
    """
    x = np.sort(_as_runs_by_tasks(scores).ravel())
    cut = int(0.25 * x.size)
    return float(x[cut : x.size - cut].mean())


def mean(scores) -> float:
    return float(_as_runs_by_tasks(scores).mean())


def stratified_bootstrap_ci(
    scores, statistic=iqm, num_resamples: int = 2000, confidence: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile confidence interval of `statistic` under a stratified bootstrap.

    Each resample draws runs with replacement independently within every task (the strata),
    so tasks keep their weight. Deterministic for a given `seed`.
    """
    x = _as_runs_by_tasks(scores)
    rng = np.random.default_rng(seed)
    runs, tasks = x.shape
    stats = np.empty(num_resamples)
    for i in range(num_resamples):
        idx = rng.integers(0, runs, size=(runs, tasks))
        stats[i] = statistic(np.take_along_axis(x, idx, axis=0))
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(stats, [alpha, 1.0 - alpha])
    return float(low), float(high)


def summarize(scores, seed: int = 0) -> dict:
    """{"mean", "iqm", "ci95": [low, high] of the IQM, "num_runs"} for one set of final scores."""
    x = _as_runs_by_tasks(scores)
    low, high = stratified_bootstrap_ci(x, iqm, seed=seed)
    return {"mean": mean(x), "iqm": iqm(x), "ci95": [low, high], "num_runs": int(x.shape[0])}


def average_ranks(x) -> np.ndarray:
    """Ranks 1..n of a 1-D array, ties sharing their average rank."""
    x = np.asarray(x, dtype=np.float64).ravel()
    order = np.argsort(x, kind="stable")
    sorted_x = x[order]
    # Runs of equal values: each gets the mean of the positions it spans.
    boundaries = np.flatnonzero(np.diff(sorted_x) != 0) + 1
    starts = np.concatenate([[0], boundaries])
    ends = np.concatenate([boundaries, [x.size]])
    ranks_sorted = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    ranks = np.empty(x.size)
    ranks[order] = ranks_sorted
    return ranks


def spearman(x, y) -> float:
    """Spearman's rank correlation (Pearson correlation of average ranks); NaN if either is constant."""
    rx, ry = average_ranks(x), average_ranks(y)
    if rx.size != ry.size:
        raise ValueError(f"spearman needs two arrays of one length, got {rx.size} and {ry.size}")
    if rx.size < 2 or np.all(rx == rx[0]) or np.all(ry == ry[0]):
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])


def curve_band(scores, num_resamples: int = 500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A learning curve over runs: scores (points, runs) -> (IQM per point, (points, 2) 95% CI).

    Runs with any non-finite score (diverged) are left out of every point, so the curve
    follows one set of runs; NaN everywhere if none is left.
    """
    x = np.asarray(scores, dtype=np.float64)
    x = x[:, np.all(np.isfinite(x), axis=0)]
    if x.shape[1] == 0:
        return np.full(x.shape[0], np.nan), np.full((x.shape[0], 2), np.nan)
    curve = np.array([iqm(r) for r in x])
    cis = np.array([stratified_bootstrap_ci(r, iqm, num_resamples=num_resamples, seed=seed) for r in x])
    return curve, cis
