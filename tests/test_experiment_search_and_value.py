"""The issue-23 experiment scripts at toy scale: qstar_puzzle end to end (a network trained
briefly, both searches, the table, a rerun reusing the network), and the table logic of
sqirl_sticky, arsq_offline and feedback_pendulum (their runs are `kept_run` CLI programs, exercised by
test_experiment_stop_regressing)."""

import json

import pytest
from helpers import load_script


@pytest.mark.slow
def test_qstar_puzzle_toy_run_writes_its_table_and_reuses_the_network(tmp_path, monkeypatch):
    qp = load_script("experiments/qstar_puzzle/run.py", "qstar_puzzle_run")
    readme = tmp_path / "README.md"
    readme.write_text(f"# mine\n{qp.BEGIN}\nold\n{qp.END}\nkept\n")
    monkeypatch.setattr(qp, "README", readme)
    argv = ["--out", str(tmp_path / "out"), "--boards", "3", "--scramble", "6", "--updates", "100"]
    argv += ["--target-every", "10", "--max-generated", "300"]
    assert qp.main([*argv, "--write-readme"]) == 0
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert set(results["searches"]) == {
        "Q* weight 1.0 batch 1",
        "A* weight 1.0 batch 1",
        "Q* weight 0.7 batch 10",
        "A* weight 0.7 batch 10",
    }
    for rows in results["searches"].values():
        assert len(rows) == 3 and all(r["length"] >= r["optimal"] for r in rows if r["solved"])
    text = readme.read_text()
    assert text.startswith("# mine\n") and text.endswith(f"{qp.END}\nkept\n") and "| Q* weight 1.0 batch 1 |" in text
    network = tmp_path / "out" / "network.pkl"
    mtime = network.stat().st_mtime_ns
    assert qp.main(argv) == 0 and network.stat().st_mtime_ns == mtime  # trained before: reused


def _agg(iqm, low, high):
    return {"iqm": {"value": iqm, "ci95": [low, high]}}


def test_sqirl_sticky_names_the_winner_or_the_tie():
    ss = load_script("experiments/sqirl_sticky/run.py", "sqirl_sticky_run")
    assert ss.winner({"sqirl": _agg(400, 380, 420), "ppo": _agg(200, 150, 250), "dqn": _agg(300, 250, 370)}) == "sqirl"
    assert (
        ss.winner({"sqirl": _agg(400, 380, 420), "ppo": _agg(390, 370, 410), "dqn": _agg(10, 5, 15)})
        == "tie: sqirl, ppo"
    )


def test_arsq_offline_table_shows_every_algo_beside_the_data():
    ao = load_script("experiments/arsq_offline/run.py", "arsq_offline_run")

    class Args:
        updates, num_seeds, episodes, hidden_dims, algos = 1000, 2, 5, [64, 64], ["arsq", "iql", "cql"]

    cells = {"arsq": (91.2, [90.0, 92.0], 12.0), "iql": (40.0, [30.0, 50.0], 10.0), "cql": (60.0, [55.0, 65.0], 50.0)}
    body = ao.table([(ao.DATASETS[0], 29.7, 100_000, cells)], Args)
    row = next(line for line in body.splitlines() if line.startswith("| pendulum-medium (100,000 transitions) |"))
    assert "| 29.7 |" in row and "91.2 [90.0, 92.0] (12 s)" in row and row.count("[") == 3


def test_feedback_pendulum_table_shows_every_reward_source(tmp_path):
    """experiments/feedback_pendulum's table from finished runs (its steps are `jaxrl-hybrid`
    commands, each tested in test_preferences.py)."""
    from helpers import toy_pendulum_dataset

    from jaxrl_hybrid.data import save

    fp = load_script("experiments/feedback_pendulum/run.py", "feedback_pendulum_run")
    data = save(toy_pendulum_dataset(), tmp_path / "data.hdf5")
    runs, seconds = {}, {}
    for i, label in enumerate(("iql-true", "iql-learned-clean", "iql-learned-noise20", "bc")):
        runs[label] = tmp_path / label
        runs[label].mkdir()
        summary = {"normalized": {"iqm": 90.0 - 10 * i, "ci95": [85.0 - 10 * i, 95.0 - 10 * i]}}
        (runs[label] / "summary.json").write_text(json.dumps(summary))
        seconds[label] = 100.0 + i
    quality = {f"learned-{t}": {"heldout_accuracy": a, "true_accuracy": b, "reward_correlation": c}
               for t, a, b, c in (("clean", 0.97, 0.96, 0.9), ("noise20", 0.78, 0.93, 0.8))}  # fmt: skip
    poi = {f"{a} > {b}": {"value": 0.25, "ci95": [0.1, 0.4]} for a in runs for b in runs if a != b}

    class Args:
        updates, num_seeds, episodes, pairs, segment_length = 1000, 8, 10, 1000, 25

    body = fp.table(runs, seconds, quality, {"probability_of_improvement": poi}, data, Args)
    rows = {line.split("|")[1].strip(): line for line in body.splitlines() if line.startswith("| ")}
    assert "70.0 [65.0, 75.0]" in rows["learned-noise20"] and "0.780 | 0.930 | 0.800 | 102 |" in rows["learned-noise20"]
    assert "90.0 [85.0, 95.0]" in rows["true"] and "| - | - | - | 100 |" in rows["true"]
    assert rows["none (BC)"].split("|")[2].strip() == "bc"
    assert "P(iql-learned-noise20 > iql-true) = 0.25 [0.10, 0.40]" in body
