"""Corruption (RIQL): the requested fraction of rows, only the requested field, the paper's noise."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl_hybrid.data import corrupt, corruption_mask, from_arrays, load, save
from jaxrl_hybrid.data.dataset import discounted_returns_to_go

FIELDS = ("observations", "actions", "rewards", "next_observations", "terminals", "timeouts")
TARGET_FIELD = {"observations": "observations", "actions": "actions", "rewards": "rewards",
                "dynamics": "next_observations"}  # fmt: skip


def make_dataset(n=4000, obs_dim=3, act_dim=2):
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(n + 1, obs_dim)).astype(np.float32) * np.array([1.0, 5.0, 0.1], np.float32)
    timeouts = np.zeros(n, bool)
    timeouts[199::200] = True
    return from_arrays(
        observations=obs[:-1],
        actions=rng.uniform(-0.5, 0.5, (n, act_dim)).astype(np.float32),
        rewards=rng.normal(size=n).astype(np.float32),
        next_observations=obs[1:],
        terminals=np.zeros(n, bool),
        timeouts=timeouts,
        metadata={"action_bounds": [-1.0, 1.0]},
    )


def rows_changed(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return np.flatnonzero((a != b).reshape(len(a), -1).any(axis=1))


@pytest.mark.parametrize("target", ["observations", "actions", "rewards", "dynamics"])
def test_random_corruption_touches_rate_of_rows_and_only_its_field(target):
    ds = make_dataset()
    key = jax.random.PRNGKey(7)
    out = corrupt(ds, key, target=target, kind="random", rate=0.3, scale=1.0)
    field = TARGET_FIELD[target]
    mask = np.asarray(corruption_mask(jax.random.split(key)[0], ds.size, 0.3))
    changed = rows_changed(getattr(out, field), getattr(ds, field))
    np.testing.assert_array_equal(changed, np.flatnonzero(mask))
    assert abs(len(changed) / ds.size - 0.3) < 0.03  # 4000 rows: 3 standard deviations is 0.022
    for other in FIELDS:
        if other != field:
            np.testing.assert_array_equal(np.asarray(getattr(out, other)), np.asarray(getattr(ds, other)), other)
    meta = out.metadata["corruption"]
    assert meta == [{"target": target, "kind": "random", "rate": 0.3, "scale": 1.0, "num_corrupted": len(changed)}]

    new, old = np.asarray(getattr(out, field))[changed], np.asarray(getattr(ds, field))[changed]
    if target == "rewards":
        # Replaced by Uniform[-30 eps, 30 eps]; returns-to-go follow.
        assert np.all(np.abs(new) <= 30.0) and new.std() > 10.0
        want = discounted_returns_to_go(np.asarray(out.rewards), ds.terminals, ds.timeouts, ds.gamma)
        np.testing.assert_allclose(np.asarray(out.returns_to_go), want)
    else:
        # Shifted by u * std with u ~ Uniform[-eps, eps] per dimension.
        std = np.asarray(getattr(ds, field)).std(axis=0)
        u = (new - old) / std
        if target == "actions":
            inside = np.all(np.abs(old + u * std) < 1.0, axis=1)  # clipped ones excluded
            u = u[inside]
        assert np.all(np.abs(u) <= 1.0 + 1e-4)
        assert np.all(u.std(axis=0) > 0.5)  # uniform on [-1, 1] has std 0.58
        np.testing.assert_array_equal(np.asarray(out.returns_to_go), np.asarray(ds.returns_to_go))


def test_corruption_is_deterministic_per_key_and_scales():
    ds = make_dataset()
    a = corrupt(ds, jax.random.PRNGKey(1), "observations")
    b = corrupt(ds, jax.random.PRNGKey(1), "observations")
    c = corrupt(ds, jax.random.PRNGKey(2), "observations")
    np.testing.assert_array_equal(np.asarray(a.observations), np.asarray(b.observations))
    assert not np.array_equal(np.asarray(a.observations), np.asarray(c.observations))
    small = corrupt(ds, jax.random.PRNGKey(1), "observations", scale=0.1)
    d_small = np.abs(np.asarray(small.observations) - np.asarray(ds.observations)).max(axis=0)
    d_full = np.abs(np.asarray(a.observations) - np.asarray(ds.observations)).max(axis=0)
    np.testing.assert_allclose(d_small, 0.1 * d_full, rtol=1e-3)
    none = corrupt(ds, jax.random.PRNGKey(1), "rewards", rate=0.0)
    np.testing.assert_array_equal(np.asarray(none.rewards), np.asarray(ds.rewards))


def test_adversarial_rewards_and_linear_critic_attacks_are_exact():
    ds = make_dataset()
    key = jax.random.PRNGKey(3)
    idx = np.flatnonzero(np.asarray(corruption_mask(jax.random.split(key)[0], ds.size, 0.3)))
    out = corrupt(ds, key, "rewards", "adversarial", scale=0.5)
    np.testing.assert_allclose(np.asarray(out.rewards)[idx], -0.5 * np.asarray(ds.rewards)[idx])

    # Q = sum(actions): the worst actions within eps * std are a - eps * std (clipped to [-1, 1]).
    critic = lambda obs, actions: jnp.sum(actions, axis=-1)
    out = corrupt(ds, key, "actions", "adversarial", scale=1.0, critic=critic, attack_steps=300, step_size=0.01)
    std = np.asarray(ds.actions).std(axis=0)
    want = np.clip(np.asarray(ds.actions)[idx] - std, -1.0, 1.0)
    np.testing.assert_allclose(np.asarray(out.actions)[idx], want, atol=1e-5)

    # Q = w . obs on the next state: next observations move by -eps * std * sign(w).
    w = jnp.array([1.0, -2.0, 0.5])
    critic = lambda obs, actions: obs @ w + 0.0 * actions.sum(-1)
    policy = lambda obs: jnp.zeros((obs.shape[0], 2))
    out = corrupt(ds, key, "dynamics", "adversarial", scale=0.2, critic=critic, policy=policy,
                  attack_steps=250, chunk_size=500)  # fmt: skip
    std = np.asarray(ds.next_observations).std(axis=0)
    want = np.asarray(ds.next_observations)[idx] - 0.2 * std * np.sign(np.asarray(w))
    np.testing.assert_allclose(np.asarray(out.next_observations)[idx], want, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(np.asarray(out.observations), np.asarray(ds.observations))


def test_bad_arguments_are_named():
    ds = make_dataset(n=400)
    key = jax.random.PRNGKey(0)
    with pytest.raises(ValueError, match="unknown corruption target 'obs'"):
        corrupt(ds, key, "obs")
    with pytest.raises(ValueError, match="needs a pretrained critic"):
        corrupt(ds, key, "observations", "adversarial")
    with pytest.raises(ValueError, match="needs a pretrained critic and policy"):
        corrupt(ds, key, "dynamics", "adversarial", critic=lambda o, a: o.sum(-1))
    with pytest.raises(ValueError, match=r"rate must be in \[0, 1\]"):
        corrupt(ds, key, "rewards", rate=1.5)


def test_cli_corrupt_writes_corrupted_copy_and_leaves_nothing_on_failure(tmp_path, capsys):
    from jaxrl_hybrid.cli.main import main

    src = save(make_dataset(n=1000), tmp_path / "clean.hdf5")
    out = tmp_path / "corrupted.hdf5"
    argv = ["dataset", "corrupt", str(src), "--target", "rewards", "--rate", "0.2", "--seed", "4", "--out", str(out)]
    assert main(argv) == 0
    clean, dirty = load(src), load(out)
    changed = rows_changed(dirty.rewards, clean.rewards)
    assert 0.15 < len(changed) / 1000 < 0.25
    assert dirty.metadata["corruption"][0]["num_corrupted"] == len(changed)
    assert "corrupted: random rewards" in capsys.readouterr().out

    # A malformed input fails with the file named, and no output appears.
    import h5py

    bad = tmp_path / "bad.hdf5"
    with h5py.File(bad, "w") as f:
        f["observations"] = np.zeros((5, 3))
        f["actions"] = np.zeros((5, 1))
        f["rewards"] = np.array([0.0, 1.0, np.nan, 0.0, 0.0])
        f["terminals"] = np.zeros(5)
        f["timeouts"] = np.zeros(5)
    assert main(["dataset", "corrupt", str(bad), "--out", str(tmp_path / "never.hdf5")]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "'rewards' is not finite at index 2" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.hdf5", "clean.hdf5", "corrupted.hdf5"]
    # Adversarial attacks need to know which env to pretrain the attacked critic on.
    assert main(["dataset", "corrupt", str(src), "--kind", "adversarial", "--out", str(tmp_path / "a.hdf5")]) == 2
    assert "names no env" in capsys.readouterr().err
