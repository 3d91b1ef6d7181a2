"""IQM and stratified bootstrap confidence intervals against direct numpy computations."""

import numpy as np
import pytest

from jaxrl_hybrid.report import iqm, stratified_bootstrap_ci, summarize


def test_iqm_is_the_mean_of_the_middle_half():
    x = np.array([100.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, -100.0])
    assert iqm(x) == pytest.approx(np.mean([2.0, 3.0, 4.0, 5.0]))
    assert iqm([7.0]) == 7.0


def test_bootstrap_ci_brackets_the_statistic_and_is_deterministic():
    rng = np.random.default_rng(0)
    x = rng.normal(10.0, 2.0, size=(32, 2))
    low, high = stratified_bootstrap_ci(x, seed=3)
    assert low < iqm(x) < high
    assert (low, high) == stratified_bootstrap_ci(x, seed=3)
    # Stratification: resampling runs within each task keeps every task's column.
    wide = stratified_bootstrap_ci(np.stack([x[:, 0], x[:, 0] + 1000.0], 1), statistic=np.mean)
    assert 505.0 < wide[0] < wide[1] < 515.0


def test_summarize_fields_and_bad_input():
    s = summarize([1.0, 2.0, 3.0, 4.0])
    assert s["mean"] == 2.5 and s["num_runs"] == 4 and len(s["ci95"]) == 2
    with pytest.raises(ValueError, match="NaN"):
        summarize([1.0, float("nan")])


def test_write_between_markers_replaces_only_the_marked_part(tmp_path):
    from jaxrl_hybrid.report.render import write_between_markers

    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- b -->\nold table\n<!-- e -->\nafter\n")
    write_between_markers(readme, "<!-- b -->", "<!-- e -->", "\nnew table\n")
    assert readme.read_text() == "intro\n<!-- b -->\nnew table\n<!-- e -->\nafter\n"
    assert [p.name for p in tmp_path.iterdir()] == ["README.md"]  # no temporary file left
    readme.write_text("no markers here\n")
    with pytest.raises(ValueError, match=r"README\.md: missing the <!-- b -->"):
        write_between_markers(readme, "<!-- b -->", "<!-- e -->", "x")
    assert readme.read_text() == "no markers here\n"
