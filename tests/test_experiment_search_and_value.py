"""The issue-23 experiment scripts at toy scale: qstar_puzzle end to end (a network trained
briefly, both searches, the table, a rerun reusing the network), and the table logic of
sqirl_sticky and arsq_offline (their runs are `kept_run` CLI programs, exercised by
test_experiment_stop_regressing)."""

import json

from helpers import load_script


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
