"""Minari I/O: our save is read by `minari.load_dataset`, and our load gives back the same arrays."""

import json
import warnings

import numpy as np
import pytest
from test_data_dataset import make_arrays

from jaxrl_hybrid.data import from_arrays, load, minari_path, save

FIELDS = ("observations", "actions", "rewards", "next_observations", "terminals", "timeouts", "episode_ids")


def contiguous_arrays(n=12, obs_dim=3):
    """Episodes of one observation sequence each (next_obs[t] == obs[t+1] inside an episode)."""
    arrays = make_arrays(n, obs_dim)
    arrays["terminals"] = np.zeros(n, bool)
    arrays["timeouts"] = np.zeros(n, bool)
    arrays["terminals"][3] = True
    arrays["timeouts"][7] = True  # the data's last step ends the third episode
    obs = np.random.default_rng(1).normal(size=(n + 3, obs_dim)).astype(np.float32)
    observations, next_obs, k = [], [], 0
    for start, end in ((0, 4), (4, 8), (8, n)):
        length = end - start
        observations.append(obs[k : k + length])
        next_obs.append(obs[k + 1 : k + length + 1])
        k += length + 1
    arrays["observations"] = np.concatenate(observations)
    arrays["next_observations"] = np.concatenate(next_obs)
    return arrays


META = {
    "env": "gymnax:Pendulum-v1",
    "shift": "pendulum-heavy-pole",
    "side": "real",
    "policy": {"algo": "sac", "train_steps": 100},
    "reference_returns": {"random": -1200.0, "expert": -150.0},
    "action_bounds": [-1.0, 1.0],
}


@pytest.fixture
def minari_home(tmp_path, monkeypatch):
    root = tmp_path / "minari"
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(root))
    return root


def test_minari_round_trip_through_minari_itself(minari_home):
    import minari

    ds = from_arrays(**contiguous_arrays(), gamma=0.95, metadata=META)
    path = save(ds, minari_path("jaxrl/pendulum-medium-v0"), format="minari")
    assert path == minari_home / "jaxrl/pendulum-medium-v0"

    theirs = minari.load_dataset("jaxrl/pendulum-medium-v0")
    assert theirs.total_episodes == 3 and theirs.total_steps == 12
    episodes = list(theirs.iterate_episodes())
    arrays = contiguous_arrays()
    np.testing.assert_array_equal(np.concatenate([e.observations[:-1] for e in episodes]), arrays["observations"])
    np.testing.assert_array_equal(np.concatenate([e.observations[1:] for e in episodes]), arrays["next_observations"])
    np.testing.assert_array_equal(np.concatenate([e.actions for e in episodes]), arrays["actions"])
    np.testing.assert_array_equal(np.concatenate([e.rewards for e in episodes]), arrays["rewards"])
    assert [bool(e.terminations[-1]) for e in episodes] == [True, False, False]
    assert [bool(e.truncations[-1]) for e in episodes] == [False, True, True]
    # Minari's own normalised score uses the reference returns we stored.
    np.testing.assert_allclose(minari.get_normalized_score(theirs, np.array([-675.0])), [0.5])

    for source in ("jaxrl/pendulum-medium-v0", path, path / "data"):
        back = load(source)
        for field in (*FIELDS, "returns_to_go"):
            np.testing.assert_array_equal(np.asarray(getattr(back, field)), np.asarray(getattr(ds, field)), field)
        assert back.gamma == 0.95
        assert {k: back.metadata[k] for k in META} == META


def test_minari_refuses_data_it_cannot_represent_and_writes_nothing(tmp_path):
    arrays = make_arrays()
    arrays["next_observations"] = arrays["next_observations"].copy()
    arrays["next_observations"][0] += 1.0  # no longer the following observation (e.g. corrupted dynamics)
    ds = from_arrays(**arrays)
    with pytest.raises(ValueError, match=r"next_observations\[0\] differs from observations\[1\].*HDF5"):
        save(ds, tmp_path / "broken-v0", format="minari")
    with pytest.raises(ValueError, match="malformed"):
        save(from_arrays(**contiguous_arrays()), tmp_path / "no_version", format="minari")
    assert list(tmp_path.iterdir()) == []


def test_minari_overwrite_is_explicit_and_atomic(tmp_path):
    ds = from_arrays(**contiguous_arrays(), metadata=META)
    path = save(ds, tmp_path / "pend-v0", format="minari")
    with pytest.raises(FileExistsError, match="overwrite"):
        save(ds, path, format="minari")
    scaled = ds.replace(rewards=2 * ds.rewards)
    save(scaled, path, format="minari", overwrite=True)
    np.testing.assert_array_equal(np.asarray(load(path).rewards), 2 * np.asarray(ds.rewards))
    assert [p.name for p in tmp_path.iterdir()] == ["pend-v0"]


def test_malformed_minari_episode_names_folder_and_episode(tmp_path):
    import h5py

    path = save(from_arrays(**contiguous_arrays()), tmp_path / "pend-v0", format="minari")
    with h5py.File(path / "data" / "main_data.hdf5", "a") as f:
        rewards = f["episode_1/rewards"][()]
        del f["episode_1/rewards"]
        f["episode_1/rewards"] = np.r_[rewards, 0.0]
    with pytest.raises(ValueError) as err:
        load(path)
    assert str(path / "data") in str(err.value) and "episode 1" in str(err.value)

    meta = json.loads((path / "data" / "metadata.json").read_text())
    meta["action_space"] = json.dumps({"type": "Box", "dtype": "float32", "shape": [2], "low": [-0.5] * 2,
                                       "high": [0.5] * 2})  # fmt: skip
    (path / "data" / "metadata.json").write_text(json.dumps(meta))
    with h5py.File(path / "data" / "main_data.hdf5", "a") as f:
        del f["episode_1/rewards"]
        f["episode_1/rewards"] = rewards
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load(path)
    assert any("'actions' leave the env's bounds" in str(w.message) for w in caught)
