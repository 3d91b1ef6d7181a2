"""benchmarks/peer_policy.py: a peer's exported MLP policy is checked against the peer's own
actions before our evaluation scores it in the file's env (the parity suite's second rule)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import load_script
from test_offline_agents import tiny_dataset

from jaxrl_hybrid.data import save


def peer_policy():
    return load_script("benchmarks/peer_policy.py", "peer_policy")


def export(path, rng, tamper=0.0):
    """An exported policy as d3rlpy's exporter writes it: W (out, in) layers, numpy's actions."""
    w = [rng.normal(size=(16, 3)) / 2, rng.normal(size=(16, 16)) / 4]
    b = [rng.normal(size=16) / 10, rng.normal(size=16) / 10]
    head_w, head_b = rng.normal(size=(1, 16)) / 4, rng.normal(size=1) / 10
    obs = rng.normal(size=(256, 3))
    h = obs
    for wi, bi in zip(w, b, strict=True):
        h = np.maximum(h @ wi.T + bi, 0.0)
    actions = np.tanh(h @ head_w.T + head_b) + tamper
    arrays = {"W0": w[0], "b0": b[0], "W1": w[1], "b1": b[1], "head_W": head_w, "head_b": head_b}
    arrays = {k: v.astype(np.float32) for k, v in arrays.items()}
    np.savez(path, **arrays, check_obs=obs.astype(np.float32), check_actions=actions.astype(np.float32))


def pendulum_file(path):
    save(tiny_dataset(), path)  # 600 Pendulum rows, reference returns random -1200, expert -150


def test_exported_policy_is_checked_then_scored_in_the_files_env(tmp_path):
    module = peer_policy()
    rng = np.random.default_rng(0)
    export(tmp_path / "policy.npz", rng)
    data = tmp_path / "data.hdf5"
    pendulum_file(data)
    result = module.score(str(tmp_path / "policy.npz"), str(data), episodes=3, seed=0)
    assert result["env"] == "gymnax:Pendulum-v1" and result["episodes"] == 3
    assert -3300 < result["mean_return"] < 0  # 200 Pendulum steps of at most 16.3 cost each
    np.testing.assert_allclose(result["score"], 100 * (result["mean_return"] + 1200) / 1050, rtol=1e-5)


def test_a_policy_that_does_not_reproduce_the_peers_actions_is_refused(tmp_path):
    module = peer_policy()
    export(tmp_path / "off.npz", np.random.default_rng(0), tamper=1e-3)
    with pytest.raises(ValueError, match=r"off\.npz: our forward pass differs"):
        module.load_policy(str(tmp_path / "off.npz"))
    np.savez(tmp_path / "other.npz", W0=np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"other\.npz: not an exported policy"):
        module.load_policy(str(tmp_path / "other.npz"))


def test_parity_readme_table_keeps_the_cells_a_run_did_not_measure():
    """Run folders are not committed: writing the table of some cells keeps the README's rows of
    the others, and a re-measured cell replaces its old row."""
    parity = load_script("benchmarks/parity.py", "parity")
    header = "| dataset | data | algorithm | ours | d3rlpy | d3rlpy, our env | ours s / process | d3rlpy s / seed |"
    rule = "|---|---|---|---|---|---|---|---|"
    readme = "\n".join([
        "text", parity.README_BEGIN, "old caption", "", header, rule,
        "| medium | 29.7 | bc | 27.2 | 29.8 | - | 124 | 157 |",
        "| medium | 29.7 | iql | 35.2 | 35.7 | - | 603 | 1851 |",
        "| medium-replay | -5.9 | bc | -5.5 | -0.1 | - | 265 | 204 |",
        parity.README_END, "more text",
    ])  # fmt: skip
    new = ["new caption", "", header, rule, "| medium | 29.7 | iql | 36.0 | 35.7 | - | 600 | 1800 |",
           "| hopper-medium | 30.8 | bc | 40.0 | 39.0 | 38.0 | 200 | 100 |"]  # fmt: skip
    merged = parity.merged_rows(new, readme)
    assert merged[:4] == ["new caption", "", header, rule]
    assert [line.split("|")[1:4:2] for line in merged[4:]] == [
        [" medium ", " bc "], [" medium ", " iql "], [" medium-replay ", " bc "], [" hopper-medium ", " bc "],
    ]  # fmt: skip
    assert "36.0" in merged[5] and "35.2" not in "\n".join(merged)


FAKE_PEER = """#!{python}
# stands in for `python peers/d3rlpy_parity.py ... --seed S --out T`: writes T like the peer does
import json, sys, time
from pathlib import Path
argv = sys.argv[2:]
opt = lambda name: argv[argv.index(name) + 1]
seed, out = int(opt("--seed")), Path(opt("--out"))
(out.parent / f"started{{seed}}").touch()
if seed == {fail_seed}:
    sys.exit(3)
if {wait}:  # every seed waits until all have started: finishes only if they run at once
    deadline = time.time() + 60
    while len(list(out.parent.glob("started*"))) < {seeds} and time.time() < deadline:
        time.sleep(0.05)
    if len(list(out.parent.glob("started*"))) < {seeds}:
        sys.exit(4)
config = dict(data=opt("--data"), algo=opt("--algo"), updates=int(opt("--updates")),
              episodes=int(opt("--episodes")), seed=seed)
out.write_text(json.dumps(dict(config=config, curve=[dict(score=10.0 + seed)], final_score=10.0 + seed,
                               wall_seconds=1.0 + seed)))
"""


def fake_peer(tmp_path, seeds, wait, fail_seed=-1):
    import sys

    script = tmp_path / "fake-python"
    script.write_text(FAKE_PEER.format(python=sys.executable, seeds=seeds, wait=wait, fail_seed=fail_seed))
    script.chmod(0o755)
    return script


def peer_args(tmp_path, seeds, jobs):
    import argparse

    parity = load_script("benchmarks/parity.py", "parity")
    args = argparse.Namespace(
        env=parity.ENV, peer_seeds=seeds, peer_jobs=jobs, updates=20, eval_every=10, episodes=2
    )
    return parity, args


def test_parity_peer_seeds_run_at_once_and_are_kept(tmp_path):
    """`--peer-jobs 3`: the three seeds' processes run together (each fake seed waits until all
    have started, so one at a time would fail); their scores come back in seed order, and a
    second call keeps the finished seeds instead of running them again."""
    parity, args = peer_args(tmp_path, seeds=3, jobs=3)
    out, data = tmp_path / "cell", tmp_path / "data.hdf5"
    row = parity.run_peer("iql", data, out, args, fake_peer(tmp_path, 3, wait=True))
    recorded = [json.loads((out / f"seed{seed}.json").read_text()) for seed in range(3)]
    assert row["scores"] == [r["final_score"] for r in recorded] == [10.0, 11.0, 12.0]
    assert row["seconds"] == np.mean([r["wall_seconds"] for r in recorded])  # the fake's records, not a timing
    assert row["scores_our_env"] == []
    for started in out.glob("started*"):
        started.unlink()
    again = parity.run_peer("iql", data, out, args, fake_peer(tmp_path, 3, wait=False, fail_seed=0))
    assert again == row and not list(out.glob("started*"))  # nothing ran


def test_parity_a_failed_peer_seed_is_named_and_the_finished_ones_kept(tmp_path):
    parity, args = peer_args(tmp_path, seeds=2, jobs=1)
    out, data = tmp_path / "cell", tmp_path / "data.hdf5"
    with pytest.raises(SystemExit, match=r"d3rlpy iql on data\.hdf5: seed 1 failed \(exit 3\)"):
        parity.run_peer("iql", data, out, args, fake_peer(tmp_path, 2, wait=False, fail_seed=1))
    assert (out / "seed0.json").exists() and not (out / "seed1.json").exists()
