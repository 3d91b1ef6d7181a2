"""Fine-tuning curve summaries against hand-computed values."""

import numpy as np
import pytest

from jaxrl_hybrid.report.curves import area_under_curve, final_score, finetune_summary, initial_dip

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
