"""Fine-tuning curve summaries against hand-computed values."""

import json

import numpy as np
import pytest

from jaxrl_hybrid.report.curves import area_under_curve, final_score, finetune_summary, initial_dip
from jaxrl_hybrid.report.finetune import online_curve

STEPS = [100, 200, 500, 1000]


def test_initial_dip_looks_only_at_the_first_tenth_of_online_steps():
    scores = np.array([[40.0, 10.0, 0.0, 90.0], [60.0, 70.0, 5.0, 80.0]])
    start = np.array([50.0, 50.0])
    # Window: steps <= 100 only (10% of 1000); the 0.0 and 5.0 at step 500 are outside it.
    np.testing.assert_allclose(initial_dip(STEPS, scores, start), [10.0, -10.0])
    # A 20% window reaches step 200.
    np.testing.assert_allclose(initial_dip(STEPS, scores, start, window=0.2), [40.0, -10.0])
    # No evaluation inside the window: the first one counts.
    np.testing.assert_allclose(initial_dip(STEPS, scores, start, window=0.01), [10.0, -10.0])


def test_initial_dip_window_starts_after_the_warm_up():
    steps = [600, 700, 800, 1000, 2000, 3000, 4000, 5000]
    scores = np.array([[40.0, 35.0, 5.0, 0.0, 30.0, 60.0, 80.0, 90.0]])
    start = np.array([50.0])
    # 500 warm-up steps, then 4,500 updating ones: the window is (500, 950], reaching step 800.
    np.testing.assert_allclose(initial_dip(steps, scores, start, warmup=500), [45.0])
    # Counted from step 0 instead, the same window (<= 500) would hold no evaluation.
    np.testing.assert_allclose(initial_dip(steps, scores, start), [10.0])
    # A 1% window holds no evaluation: the first after the warm-up counts.
    np.testing.assert_allclose(initial_dip(steps, scores, start, window=0.01, warmup=500), [10.0])
    assert finetune_summary(steps, scores, start, warmup=500)["initial_dip"][0] == 45.0
    with pytest.raises(ValueError, match="warmup"):
        initial_dip(steps, scores, start, warmup=5000)


def test_auc_is_the_trapezoid_from_the_pretrained_score_divided_by_steps():
    scores = np.array([[40.0, 10.0, 0.0, 90.0]])
    start = np.array([50.0])
    want = (0.5 * (50 + 40) * 100 + 0.5 * (40 + 10) * 100 + 0.5 * (10 + 0) * 300 + 0.5 * (0 + 90) * 500) / 1000
    np.testing.assert_allclose(area_under_curve(STEPS, scores, start), [want])
    # A flat curve's AUC is its level.
    np.testing.assert_allclose(area_under_curve(STEPS, np.full((1, 4), 7.0), np.array([7.0])), [7.0])
    np.testing.assert_allclose(final_score(STEPS, scores, start), [90.0])
    summary = finetune_summary(STEPS, scores, start)
    assert sorted(summary) == ["auc", "final_score", "initial_dip"]


@pytest.mark.parametrize(
    "steps, scores, start, match",
    [
        ([200, 100], np.zeros((1, 2)), np.zeros(1), "increasing"),
        ([0, 100], np.zeros((1, 2)), np.zeros(1), "positive"),
        ([100, 200], np.zeros((1, 3)), np.zeros(1), "evaluations per run"),
        ([100, 200], np.zeros((2, 2)), np.zeros(3), "one value per run"),
    ],
)
def test_bad_curves_are_refused(steps, scores, start, match):
    with pytest.raises(ValueError, match=match):
        initial_dip(steps, scores, start)


def _finetune_folder(path, steps, scores, warmup):
    path.mkdir()
    lines = [{"phase": "online", "step": s, "normalized_score": list(v)} for s, v in zip(steps, scores, strict=True)]
    (path / "metrics.jsonl").write_text("".join(json.dumps(m) + "\n" for m in lines))
    (path / "summary.json").write_text(json.dumps({"warmup_steps": warmup}))


def test_online_curve_holds_the_start_score_through_the_warm_up(tmp_path):
    _finetune_folder(tmp_path / "wsrl", [0, 1500, 2000], [[50.0, 40.0], [10.0, 20.0], [30.0, 60.0]], 1000)
    steps, scores, key = online_curve(tmp_path / "wsrl")
    assert key == "normalized_score" and steps.tolist() == [0, 1500, 2000]
    steps, scores, _ = online_curve(tmp_path / "wsrl", warmup_point=True)
    assert steps.tolist() == [0, 1000, 1500, 2000]
    np.testing.assert_array_equal(scores[1], [50.0, 40.0])  # the frozen policy's score is the start's
    # No warm-up: nothing inserted.
    _finetune_folder(tmp_path / "calql", [0, 500], [[50.0], [45.0]], 0)
    assert online_curve(tmp_path / "calql", warmup_point=True)[0].tolist() == [0, 500]
