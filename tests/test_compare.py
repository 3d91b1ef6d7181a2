"""`jaxrl-hybrid report`: rliable-style comparison of run folders, checked against brute force."""

import itertools
import json

import numpy as np
import pytest

from jaxrl_hybrid.cli.main import main
from jaxrl_hybrid.report.compare import (
    bootstrap,
    load_runs,
    median_score,
    optimality_gap,
    performance_profile,
    probability_of_improvement,
)


def fake_run(folder, env, finals, curve_scale=1.0, normalized=True, grid=None):
    """A finished run folder as `train` writes it (no training): 3 evaluation points."""
    folder.mkdir(parents=True)
    finals = np.asarray(finals, float)
    steps = [100, 200, 300]
    key = "normalized_score" if normalized else "eval_return"
    with open(folder / "metrics.jsonl", "w") as f:
        for i, step in enumerate(steps):
            values = finals * (i + 1) / len(steps) * curve_scale
            f.write(json.dumps({"chunk": i, "step": step, "eval_return": values.tolist(), key: values.tolist()}) + "\n")
    group = {"final_return": finals.tolist(), "iqm": float(finals.mean())}
    if normalized:
        group["normalized"] = {"final_score": finals.tolist()}
    if grid is None:
        summary = {**group, "env": env, "diverged": []}
        num_seeds = finals.size
    else:  # two settings sharing the seeds
        num_seeds = finals.size // 2
        summary = {
            "grid": [
                {
                    **group,
                    "hparams": {"actor_lr": lr},
                    "final_return": finals[i * num_seeds : (i + 1) * num_seeds].tolist(),
                }
                | (
                    {"normalized": {"final_score": finals[i * num_seeds : (i + 1) * num_seeds].tolist()}}
                    if normalized
                    else {}
                )
                for i, lr in enumerate(grid)
            ],
            "env": env,
            "diverged": [],
        }
    (folder / "summary.json").write_text(json.dumps(summary))
    (folder / "config.json").write_text(json.dumps({"train": {"env": env}, "num_seeds": num_seeds}))
    return folder


def test_statistics_match_brute_force():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(5, 3)), rng.normal(size=(4, 3))
    y[0, 0] = x[0, 0]  # a tie counts half
    brute = np.mean(
        [np.mean([(a > b) + 0.5 * (a == b) for a, b in itertools.product(x[:, t], y[:, t])]) for t in range(3)]
    )
    assert probability_of_improvement(x, y) == pytest.approx(brute)
    assert probability_of_improvement(x, y) + probability_of_improvement(y, x) == pytest.approx(1.0)
    assert median_score(x) == pytest.approx(np.median(x.mean(0)))
    assert optimality_gap(np.array([[50.0, 120.0], [90.0, 100.0]]), 100.0) == pytest.approx(
        100 - (50 + 100 + 90 + 100) / 4
    )
    assert performance_profile(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0.0, 2.0, 4.0])).tolist() == [
        1.0,
        0.5,
        0.0,
    ]
    low, high = bootstrap(median_score, [x], num_resamples=300)
    assert low <= median_score(x) <= high
    assert bootstrap(median_score, [x], num_resamples=300) == (low, high)  # seeded


def test_report_compares_methods_across_tasks(tmp_path, capsys):
    good = [80.0, 90.0, 100.0, 95.0]
    bad = [10.0, 20.0, 15.0, 5.0]
    runs = [
        f"a={fake_run(tmp_path / 'a1', 'gymnax:Pendulum-v1', good)}",
        f"a={fake_run(tmp_path / 'a2', 'gymnax:CartPole-v1', good)}",
        f"b={fake_run(tmp_path / 'b1', 'gymnax:Pendulum-v1', bad)}",
        f"b={fake_run(tmp_path / 'b2', 'gymnax:CartPole-v1', bad)}",
    ]
    out = tmp_path / "report"
    assert main(["report", *runs, "--out", str(out), "--num-resamples", "200"]) == 0
    result = json.loads((out / "comparison.json").read_text())
    assert result["tasks"] == ["gymnax:CartPole-v1", "gymnax:Pendulum-v1"]
    assert result["probability_of_improvement"]["a > b"]["value"] == 1.0
    agg = result["aggregates"]["a"]
    assert agg["mean"]["value"] == pytest.approx(np.mean(good))
    assert agg["optimality_gap"]["value"] == pytest.approx(100 - np.mean(good))  # normalised: threshold 100
    assert agg["iqm"]["ci95"][0] <= agg["iqm"]["value"] <= agg["iqm"]["ci95"][1]
    md, page = (out / "report.md").read_text(), (out / "report.html").read_text()
    for image in ("aggregates.png", "performance_profile.png", "learning_curves.png"):
        assert (out / image).stat().st_size > 1000 and image in md and f'src="{image}"' in page
    assert "Probability of improvement" in md and "<table>" in page
    assert "a: IQM" in capsys.readouterr().out


def test_a_grid_folder_gives_one_method_per_setting_and_bad_input_is_named(tmp_path, capsys):
    folder = fake_run(
        tmp_path / "grid", "gymnax:Pendulum-v1", [1.0, 2.0, 3.0, 4.0], normalized=False, grid=[1e-3, 3e-4]
    )
    methods, score = load_runs([str(folder)])
    assert score == "eval_return" and [m.label for m in methods] == ["grid [actor_lr=0.001]", "grid [actor_lr=0.0003]"]
    assert methods[1].scores["gymnax:Pendulum-v1"].tolist() == [3.0, 4.0]
    assert main(["report", str(tmp_path / "missing"), "--out", str(tmp_path / "r")]) == 2
    assert "no such run folder" in capsys.readouterr().err
    normalized = fake_run(tmp_path / "norm", "gymnax:Pendulum-v1", [1.0, 2.0])
    with pytest.raises(ValueError, match="compare like with like"):
        load_runs([str(folder), str(normalized)])
