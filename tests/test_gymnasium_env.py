"""Users' real data (issue 25): gymnasium envs stepped on the host inside the compiled program,
Minari datasets recorded with Minari's DataCollector and loaded by id, their env spec and reference
scores read from the metadata, D4RL's reference returns for D4RL-layout files, offline training,
evaluation in gymnasium. Host-stepped fine-tuning, killed and resumed with identical numbers, is
tests/test_cli_finetune.py's run (its dataset names gymnasium's Pendulum)."""

from __future__ import annotations

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl_hybrid.cli.main import main


def swing_up(noise: float):
    """A scripted Pendulum-v1 controller in gymnasium's units: energy pumping (H = w^2/2 + 15 cos th
    towards the upright's 15), a PD law near the top; Gaussian noise of `noise` on the torque.
    Measured over 20 episodes: -150 without noise, -311 with noise 2 (uniform random: -1253)."""

    def policy(obs, rng):
        c, s, w = (float(x) for x in obs)
        th = np.arctan2(s, c)
        u = -(10.0 * th + 2.0 * w) if c > 0.9 else 0.5 * (15.0 - (0.5 * w * w + 15.0 * c)) * w
        return np.clip(np.array([u + noise * rng.normal()], np.float32), -2.0, 2.0)

    policy.__name__ = f"swing-up controller (torque noise {noise})"
    return policy


@pytest.fixture(scope="module")
def minari_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("minari")
    before = os.environ.get("MINARI_DATASETS_PATH")
    os.environ["MINARI_DATASETS_PATH"] = str(root)
    yield root
    if before is None:
        os.environ.pop("MINARI_DATASETS_PATH")
    else:
        os.environ["MINARI_DATASETS_PATH"] = before


@pytest.fixture(scope="module")
def pendulum_id(minari_root):
    """30 episodes of the noisy swing-up in gymnasium's Pendulum-v1, reference returns -1253 / -150."""
    from jaxrl_hybrid.training.collect.minari_record import record_minari

    record_minari("gymnasium:Pendulum-v1", "test/pendulum/swingup-v0", swing_up(2.0), 30, seed=0,
                  reference_returns=(-1253.0, -150.0), stream=None)  # fmt: skip
    return "test/pendulum/swingup-v0"


def _rollout(env_name, actions, key):
    from jaxrl_hybrid.envs import make_env

    env, params = make_env(env_name)

    @jax.jit
    def run(key):
        obs, state = env.reset(key, params)

        def step(state, a):
            r = env.step(key, state, a, params)
            return r.state, (r.obs, r.reward, r.terminated, r.truncated)

        return obs, jax.lax.scan(step, state, jnp.asarray(actions))[1]

    return env, run(key)


@pytest.mark.parametrize("env_id", ["HalfCheetah-v5", "Hopper-v5", "Ant-v5", "Pendulum-v1"])
def test_the_pure_env_repeats_gymnasium_bit_for_bit(env_id):
    """From the same seed and actions, the compiled env's observations, rewards and termination
    equal a plain `gym.make` env's exactly (Ant reads body positions before its step; Hopper
    terminates); the same episodes stepped in a vmapped batch give the same numbers."""
    import gymnasium as gym

    steps = 120
    actions = np.random.default_rng(1).uniform(-1, 1, (steps, gym.spec(env_id).make().action_space.shape[0]))
    actions = actions.astype(np.float32)
    key = jax.random.PRNGKey(7)
    env, (obs0, (obs, reward, terminated, truncated)) = _rollout(f"gymnasium:{env_id}", actions, key)
    plain = gym.make(env_id)
    k = np.asarray(jax.random.key_data(key))
    first, _ = plain.reset(seed=(int(k[0]) << 32) | int(k[-1]))
    np.testing.assert_array_equal(np.float32(first), obs0)
    env_actions = env.env_action(actions)  # float64 on the host; exactly `actions` where the bounds are [-1, 1]
    assert env_id == "Pendulum-v1" or np.array_equal(env_actions, actions)
    for t in range(steps):
        o, r, term, trunc, _ = plain.step(env_actions[t])
        np.testing.assert_array_equal(np.float32(o), obs[t], err_msg=f"{env_id} step {t}")
        assert np.float32(r) == reward[t] and bool(term) == bool(terminated[t]), (env_id, t)
        if term:
            assert not reward[t + 1 :].any() and not terminated[t + 1 :].any()  # an ended episode stays ended
            break
    else:
        assert env_id != "Hopper-v5", "random actions should topple the Hopper within 120 steps"

    from jaxrl_hybrid.envs import make_env

    env, params = make_env(f"gymnasium:{env_id}")
    keys = jnp.stack([jax.random.PRNGKey(3), key, jax.random.PRNGKey(5)])
    batch_obs, _ = jax.jit(jax.vmap(env.reset, in_axes=(0, None)))(keys, params)
    np.testing.assert_array_equal(batch_obs[1], obs0)


def test_time_limit_and_spec():
    from jaxrl_hybrid.envs import make_env

    env, params = make_env("gymnasium:Pendulum-v1")
    assert (env.spec.obs_shape, env.spec.action_dim, env.spec.max_episode_steps) == ((3,), 1, 200)
    zeros = np.zeros((205, 1), np.float32)
    _, (_, (obs, reward, terminated, truncated)) = _rollout("gymnasium:Pendulum-v1", zeros, jax.random.PRNGKey(0))
    assert np.flatnonzero(truncated).tolist() == [199] and not terminated.any()
    assert (reward[200:] == 0).all() and (reward[:200] < 0).all()
    with pytest.raises(ValueError, match="bad env argument"):
        make_env("gymnasium:Pendulum-v1", no_such_argument=1.0)
    with pytest.raises(ValueError, match="unknown env"):
        make_env("gymnasium:CartPole-v1")  # discrete, and its state is not restorable here
    slow, _ = make_env("gymnasium:HalfCheetah-v5", frame_skip=10, max_steps_in_episode=50)
    assert slow.spec.max_episode_steps == 50 and slow.kwargs == {"frame_skip": 10}


def test_minari_recording_reads_back_with_its_env_bounds_and_scores(pendulum_id, minari_root):
    from jaxrl_hybrid.data import load

    ds = load(pendulum_id)
    meta = ds.metadata
    assert meta["env"] == "gymnasium:Pendulum-v1" and meta["dynamics"] == {"max_steps_in_episode": 200}
    assert meta["action_bounds"] == [[-2.0], [2.0]]
    assert meta["reference_returns"]["random"] == -1253.0 and meta["reference_returns"]["expert"] == -150.0
    assert ds.size == 30 * 200 and ds.num_episodes == 30 and float(np.abs(ds.actions).max()) > 1.5
    from jaxrl_hybrid.training.offline import dataset_env

    fitted, env, _ = dataset_env(ds, pendulum_id)
    np.testing.assert_allclose(np.asarray(fitted.actions), np.asarray(ds.actions) / 2.0, atol=1e-7)
    assert fitted.metadata["action_bounds"] == [-1.0, 1.0] and env.spec.name == "gymnasium:Pendulum-v1"

    # Recording again into an existing id is refused and leaves the dataset untouched.
    folder = minari_root / pendulum_id
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert main(["dataset", "record", "--env", "gymnasium:Pendulum-v1", "--dataset-id", pendulum_id]) == 2
    assert main(["dataset", "record", "--env", "gymnax:Pendulum-v1", "--dataset-id", "test/x/y-v0"]) == 2
    assert main(["dataset", "record", "--env", "gymnasium:Pendulum-v1", "--dataset-id", "no version"]) == 2
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in minari_root.iterdir()) == ["test"]  # nothing half-made beside it


def test_env_spec_prefers_the_eval_env_and_d4rl_fills_in_reference_returns(tmp_path):
    from jaxrl_hybrid.data import from_arrays
    from jaxrl_hybrid.data.d4rl import d4rl_reference_returns
    from jaxrl_hybrid.data.minari_io import env_from_spec
    from jaxrl_hybrid.training.offline import dataset_env

    spec = {"id": "HalfCheetah-v5", "max_episode_steps": 1000, "kwargs": {"render_mode": None, "frame_skip": 5}}
    raw = {"env_spec": json.dumps({**spec, "id": "HalfCheetah-v4"}), "eval_env_spec": json.dumps(spec)}
    assert env_from_spec(raw, "x") == {
        "env": "gymnasium:HalfCheetah-v5",
        "dynamics": {"frame_skip": 5, "max_steps_in_episode": 1000},
    }
    assert d4rl_reference_returns("gymnasium:Hopper-v5")["expert"] == 3234.3
    assert d4rl_reference_returns("gymnax:Pendulum-v1") is None

    # A D4RL-layout file that names no env and carries no reference returns: --env names the task
    # and D4RL's table gives the scores; another env's shapes are refused.
    n = 50
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(n, 11)).astype(np.float32)
    ds = from_arrays(obs, rng.uniform(-1, 1, (n, 3)), np.ones(n), obs, np.zeros(n, bool), np.zeros(n, bool))
    fitted, env, _ = dataset_env(ds, "hopper.hdf5", "gymnasium:Hopper-v5")
    assert fitted.metadata["reference_returns"]["random"] == -20.272305
    with pytest.raises(ValueError, match="does not fit gymnasium:HalfCheetah-v5"):
        dataset_env(ds, "hopper.hdf5", "gymnasium:HalfCheetah-v5")


@pytest.mark.slow
def test_cli_trains_iql_and_td3bc_on_minari_data_and_evaluates_in_gymnasium(pendulum_id, minari_root, tmp_path):
    """The Pendulum recording (data score 85) learned by both from the CLI, evaluated in gymnasium's
    Pendulum, normalised by the dataset's own reference returns; a HalfCheetah recording by
    Minari's collector (random policy, D4RL's reference returns) trains IQL and scores the same way."""
    scores = {}
    for algo in ("iql", "td3bc"):
        out = tmp_path / algo
        argv = ["train", "--algo", algo, "--dataset", pendulum_id, "--updates", "3000", "--eval-every", "3000",
                "--num-seeds", "2", "--num-eval-episodes", "5", "--hidden-dims", "64", "64",
                "--out", str(out)]  # fmt: skip
        assert main(argv) == 0
        summary = json.loads((out / "summary.json").read_text())
        assert summary["env"] == "gymnasium:Pendulum-v1"
        scores[algo] = summary["normalized"]["final_score"]
    assert min(min(s) for s in scores.values()) > 50, scores  # a random policy scores 0, the data 85

    assert main(["dataset", "record", "--env", "gymnasium:HalfCheetah-v5", "--dataset-id",
                 "test/halfcheetah/random-v0", "--episodes", "2"]) == 0  # fmt: skip
    # IQL, which rescales rewards (undone in the scores); TD3+BC trains on the Pendulum recording above
    out = tmp_path / "cheetah-iql"
    assert main(["train", "--algo", "iql", "--dataset", "test/halfcheetah/random-v0", "--updates", "200",
                 "--eval-every", "200", "--num-seeds", "2", "--num-eval-episodes", "1", "--hidden-dims", "16",
                 "16", "--out", str(out)]) == 0  # fmt: skip
    summary = json.loads((out / "summary.json").read_text())
    assert summary["env"] == "gymnasium:HalfCheetah-v5" and (out / "checkpoints").is_dir()
    final = np.asarray(summary["final_return"])
    d4rl = 100 * (final + 280.178953) / (12135.0 + 280.178953)  # D4RL's HalfCheetah random / expert returns
    np.testing.assert_allclose(summary["normalized"]["final_score"], d4rl, rtol=1e-5)


def test_mujoco_writes_no_log_into_the_working_directory(tmp_path, monkeypatch):
    """Making HalfCheetah (whose XML MuJoCo 4 warns about) under MuJoCo's default handler, as in a
    user's process, leaves the working directory empty; other MuJoCo warnings become Python ones."""
    import mujoco

    from jaxrl_hybrid.envs import make_env
    from jaxrl_hybrid.envs.quiet import mujoco_warnings

    monkeypatch.chdir(tmp_path)
    previous = mujoco.get_mju_user_warning()
    mujoco.set_mju_user_warning(None)
    try:
        make_env("gymnasium:HalfCheetah-v5")
        make_env("mjx:HalfCheetah-v5")
        with mujoco_warnings(), pytest.warns(RuntimeWarning, match="MuJoCo: something else"):
            mujoco.get_mju_user_warning()("something else")
    finally:
        mujoco.set_mju_user_warning(previous)
    assert list(tmp_path.iterdir()) == []
