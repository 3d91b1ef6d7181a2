"""benchmarks/peer_policy.py: a peer's exported MLP policy is checked against the peer's own
actions before our evaluation scores it in the file's env (the parity suite's second rule)."""

from __future__ import annotations

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
