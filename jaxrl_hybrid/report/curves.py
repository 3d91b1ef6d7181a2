"""Per-seed summaries of an offline-to-online learning curve: initial dip, final score, AUC.

A curve is the evaluation scores of one seed at the online steps where they were measured,
plus the score of the pretrained policy (the last offline evaluation) at online step 0.
Pure numpy over a leading run axis, so every seed gets its own numbers.
"""

from __future__ import annotations

import numpy as np


def _check(steps, scores, start) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    steps = np.asarray(steps, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    start = np.asarray(start, dtype=np.float64)
    if steps.ndim != 1 or steps.size == 0 or np.any(np.diff(steps) <= 0) or steps[0] <= 0:
        raise ValueError(f"steps must be positive and increasing, got {steps.tolist()}")
    if scores.shape[-1] != steps.size:
        raise ValueError(f"scores have {scores.shape[-1]} evaluations per run, steps {steps.size}")
    if start.shape != scores.shape[:-1]:
        raise ValueError(f"start has shape {start.shape}; expected one value per run {scores.shape[:-1]}")
    return steps, scores, start


def initial_dip(steps, scores, start, window: float = 0.1, warmup: int = 0) -> np.ndarray:
    """How far each run falls below its pretrained score early in fine-tuning.

    `start - min(scores in the window)`: positive when the run dips, negative when even its
    worst early evaluation beats the pretrained policy. The window is the first `window` share
    of the steps that update the agent: online steps in `(warmup, warmup + window * (last
    step - warmup)]`. A warm-up that acts without updating (WSRL's frozen policy, SAC's random
    actions) cannot move the policy, so a window inside it would measure nothing but
    evaluation noise. When no evaluation falls inside the window, the first after the warm-up
    is used.
    """
    steps, scores, start = _check(steps, scores, start)
    if not 0 <= warmup < steps[-1]:
        raise ValueError(f"warmup must be in [0, last step {steps[-1]:.0f}), got {warmup}")
    after = steps > warmup
    inside = after & (steps <= warmup + window * (steps[-1] - warmup))
    inside[np.argmax(after)] = True
    return start - scores[..., inside].min(axis=-1)


def final_score(steps, scores, start) -> np.ndarray:
    """The last evaluation of each run."""
    _, scores, _ = _check(steps, scores, start)
    return scores[..., -1]


def area_under_curve(steps, scores, start) -> np.ndarray:
    """Mean score over online training: the trapezoidal area from step 0 (the pretrained
    score) to the last step, divided by the number of steps (so it is in score units)."""
    steps, scores, start = _check(steps, scores, start)
    x = np.concatenate([[0.0], steps])
    y = np.concatenate([start[..., None], scores], axis=-1)
    area = ((y[..., 1:] + y[..., :-1]) * 0.5 * np.diff(x)).sum(axis=-1)
    return area / steps[-1]


def finetune_summary(steps, scores, start, window: float = 0.1, warmup: int = 0) -> dict[str, np.ndarray]:
    """{"initial_dip", "final_score", "auc"} per run (`warmup`: online steps before the first update)."""
    return {
        "initial_dip": initial_dip(steps, scores, start, window, warmup),
        "final_score": final_score(steps, scores, start),
        "auc": area_under_curve(steps, scores, start),
    }
