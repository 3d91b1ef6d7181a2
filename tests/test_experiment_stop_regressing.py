"""experiments/stop_regressing/run.py at toy scale: all four critic losses train, one report per
(env, algo) compares them, the table lands in results.md, and a rerun keeps finished runs."""

import pytest
from helpers import load_script


@pytest.mark.slow
def test_losses_compared_and_finished_runs_kept(tmp_path, monkeypatch):
    sr = load_script("experiments/stop_regressing/run.py", "stop_regressing_run")
    monkeypatch.setattr(sr, "LOSSES", ("mse", "hl_gauss"))  # two programs show the plumbing; four cost CI time
    readme = tmp_path / "README.md"
    readme.write_text(f"# mine\n{sr.BEGIN}\nold\n{sr.END}\nkept\n")
    monkeypatch.setattr(sr, "README", readme)
    argv = ["--out", str(tmp_path / "out"), "--num-seeds", "2", "--algos", "pqn", "--total-steps", "4096"]
    assert sr.main([*argv, "--write-readme"]) == 0
    out = tmp_path / "out"
    results = (out / "results.md").read_text()
    row = next(line for line in results.splitlines() if line.startswith("| gymnax:CartPole-v1 | pqn |"))
    assert row.count("[") == len(sr.LOSSES) + 1  # an IQM [CI] per loss and P(HL-Gauss > MSE)
    for loss in sr.LOSSES:
        assert (out / "runs" / f"cartpole-v1-pqn-{loss}" / "summary.json").exists()
    assert (out / "reports" / "cartpole-v1-pqn" / "report.md").exists()
    text = readme.read_text()
    assert text.startswith("# mine\n") and text.endswith(f"{sr.END}\nkept\n") and row in text

    # A rerun finds every run finished with the same command and trains nothing.
    stamps = {p: p.stat().st_mtime_ns for p in (out / "runs").glob("*/summary.json")}
    assert sr.main(argv) == 0
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
