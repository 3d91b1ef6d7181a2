"""D4RL-layout HDF5: round trips, next_observations derived at episode ends, malformed files."""

import h5py
import numpy as np
import pytest
from test_data_dataset import make_arrays

from jaxrl_hybrid.data import from_arrays, load, save


def write_d4rl(path, arrays, drop=("next_observations",)):
    with h5py.File(path, "w") as f:
        for k, v in arrays.items():
            if k not in drop:
                f.create_dataset(k, data=v)
        f.create_dataset("infos/qpos", data=np.zeros((len(arrays["rewards"]), 2)))  # ignored


def test_round_trip_keeps_every_array_and_metadata(tmp_path):
    meta = {"env": "gymnax:Pendulum-v1", "shift": None, "reference_returns": {"random": -1200.0}}
    ds = from_arrays(**make_arrays(), gamma=0.9, metadata=meta)
    path = save(ds, tmp_path / "d.hdf5")
    back = load(path)
    for field in (
        "observations",
        "actions",
        "rewards",
        "next_observations",
        "terminals",
        "timeouts",
        "episode_ids",
        "returns_to_go",
    ):
        np.testing.assert_array_equal(np.asarray(getattr(back, field)), np.asarray(getattr(ds, field)), err_msg=field)
    assert back.metadata == meta and back.gamma == 0.9
    assert [p.name for p in tmp_path.iterdir()] == ["d.hdf5"]


def test_next_observations_derived_at_episode_boundaries(tmp_path):
    arrays = make_arrays()  # terminal at 2 and 7, timeout at 5, data ends at 9
    write_d4rl(tmp_path / "d4rl.hdf5", arrays)
    ds = load(tmp_path / "d4rl.hdf5")
    obs = arrays["observations"]
    # Step 5 (timeout) and step 9 (end of data) have no recorded successor: dropped.
    kept = [0, 1, 2, 3, 4, 6, 7, 8]
    np.testing.assert_array_equal(np.asarray(ds.rewards), arrays["rewards"][kept])
    want_next = np.stack([obs[1], obs[2], obs[2], obs[4], obs[5], obs[7], obs[7], obs[9]])
    np.testing.assert_array_equal(np.asarray(ds.next_observations), want_next)
    np.testing.assert_array_equal(np.asarray(ds.terminals), [0, 0, 1, 0, 0, 0, 1, 0])
    # The steps before the dropped ones now end their episodes by timeout.
    np.testing.assert_array_equal(np.asarray(ds.timeouts), [0, 0, 0, 0, 1, 0, 0, 1])
    np.testing.assert_array_equal(np.asarray(ds.episode_ids), [0, 0, 0, 1, 1, 2, 2, 3])


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda a: a.pop("timeouts"), "missing key(s) ['timeouts']"),
        (lambda a: a.update(actions=a["actions"][:7]), "'actions' has 7 rows, expected 10"),
        (lambda a: a["rewards"].__setitem__(4, np.nan), "'rewards' is not finite at index 4"),
        (lambda a: a.update(actions=np.array([b"x"] * 10)), "'actions' has dtype |S1"),
    ],
)
def test_malformed_files_name_file_key_and_expectation(tmp_path, mutate, message):
    arrays = make_arrays()
    mutate(arrays)
    path = tmp_path / "bad.hdf5"
    write_d4rl(path, arrays, drop=())
    with pytest.raises(ValueError) as err:
        load(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_truncated_and_missing_files(tmp_path):
    path = tmp_path / "cut.hdf5"
    write_d4rl(path, make_arrays(), drop=())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="cut.hdf5"):
        load(path)
    with pytest.raises(FileNotFoundError, match="nowhere.hdf5"):
        load(tmp_path / "nowhere.hdf5")


def test_failed_save_leaves_nothing_behind(tmp_path):
    ds = from_arrays(**make_arrays())
    target = tmp_path / "out.hdf5"
    target.write_bytes(b"previous contents")
    bad = ds.replace(timeouts=np.array([{"not": "a flag"}] * 10, dtype=object))  # fails mid-write
    with pytest.raises(FileExistsError, match="overwrite"):
        save(ds, target)  # an existing file is never replaced by default
    with pytest.raises(TypeError):
        save(bad, target, overwrite=True)
    assert target.read_bytes() == b"previous contents"
    assert [p.name for p in tmp_path.iterdir()] == ["out.hdf5"]


def test_unknown_format_and_missing_source_say_where_they_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    ds = from_arrays(**make_arrays())
    with pytest.raises(ValueError, match="unknown dataset format"):
        save(ds, tmp_path / "x", format="csv")
    with pytest.raises(FileNotFoundError) as err:
        load("pendulum/expert-v0")
    assert str(tmp_path / "minari" / "pendulum/expert-v0") in str(err.value)
    assert not (tmp_path / "minari").exists()  # looking wrote nothing


def test_actions_outside_declared_bounds_warn_with_first_index(tmp_path):
    arrays = make_arrays()
    arrays["actions"][6, 1] = 1.5
    ds = from_arrays(**arrays, metadata={"action_bounds": [-1.0, 1.0]})
    path = save(ds, tmp_path / "wide.hdf5")
    with pytest.warns(UserWarning, match=r"wide.hdf5: 'actions' leave the env's bounds .* at index 6 \(1 of 10 rows\)"):
        load(path)
