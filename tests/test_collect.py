"""Dataset generation: every kind, env-major rollouts, round trips, determinism through the CLI."""

import json

import jax
import numpy as np
import pytest
from helpers import CLI_FLAGS

from jaxrl_hybrid.data import episode_returns, load, save
from jaxrl_hybrid.envs import make_env
from jaxrl_hybrid.training.collect import (
    KINDS,
    CollectConfig,
    collect,
    q_and_policy,
    rollout,
    rollout_shape,
    train_behaviour_policies,
)

# Every test that uses the session `policies` fixture (conftest.py) runs on one xdist worker, so
# the behaviour policies are trained once (module-scoped fixtures are rebuilt when xdist
# interleaves other modules' tests).
pytestmark = pytest.mark.xdist_group("collect")

FIELDS = ("observations", "actions", "rewards", "next_observations", "terminals", "timeouts", "returns_to_go")


@pytest.fixture(scope="session")
def datasets(policies):
    return {kind: collect(policies, kind, 1000) for kind in KINDS}


def test_rollout_is_env_major_and_ends_every_stream():
    env, params = make_env("gymnax:Pendulum-v1")
    policy = lambda obs, key: jax.random.uniform(key, (obs.shape[0], 1), minval=-1, maxval=1)
    traj = jax.jit(lambda k: rollout(env, params, policy, k, 3, 250))(jax.random.PRNGKey(0))
    assert traj.obs.shape == (3, 250, 3) and traj.action.shape == (3, 250, 1)
    truncated = np.asarray(traj.truncated)
    # Pendulum's 200-step limit, then the end of each stream.
    assert [list(np.flatnonzero(row)) for row in truncated] == [[199, 249]] * 3
    # Inside an episode the next observation is the following observation.
    np.testing.assert_array_equal(np.asarray(traj.next_obs[:, :199]), np.asarray(traj.obs[:, 1:200]))
    assert rollout_shape(1000, 200, 64) == (5, 200) and rollout_shape(100, 200, 64) == (1, 200)


def test_every_kind_has_its_size_metadata_and_whole_episodes(policies, datasets):
    # SAC learned (random is about -1200 on Pendulum): a broken trainer or rollout cannot get here.
    assert policies.expert_return > policies.random_return + 400
    returns = {kind: episode_returns(ds).mean() for kind, ds in datasets.items()}
    assert returns["expert"] > returns["random"] + 300, returns
    assert returns["random"] < returns["medium"] < returns["expert"], returns
    assert policies.snapshot_steps[policies.medium_index] <= policies.snapshot_steps[policies.expert_index]
    for kind, ds in datasets.items():
        meta = ds.metadata
        assert meta["kind"] == kind and meta["env"] == "gymnax:Pendulum-v1"
        assert meta["reference_returns"]["random"] == pytest.approx(policies.random_return)
        assert meta["reference_returns"]["expert"] == pytest.approx(policies.expert_return)
        assert np.all(np.abs(np.asarray(ds.actions)) <= 1.0)
        # Pendulum never terminates: every episode is a 200-step time limit (or a cut stream).
        assert not np.asarray(ds.terminals).any()
        lengths = np.bincount(np.asarray(ds.episode_ids))
        assert np.all(lengths <= 200), kind
        if kind != "medium-replay":
            assert ds.size == 1000, kind
    medium_replay = datasets["medium-replay"]
    medium_step = int(policies.snapshot_steps[policies.medium_index])
    assert medium_replay.size <= min(1000, medium_step)
    # medium-expert is medium rollouts followed by expert rollouts: 500 + 500 steps, five cut episodes.
    assert datasets["medium-expert"].num_episodes >= 6
    # uniform random actions spread over [-1, 1]; policy actions differ from them
    random_actions = np.asarray(datasets["random"].actions)
    assert random_actions.min() < -0.9 and random_actions.max() > 0.9


def test_generate_save_load_round_trip(datasets, tmp_path):
    for kind in ("medium", "medium-replay", "medium-expert"):
        ds = datasets[kind]
        for path, fmt in ((tmp_path / f"{kind}.hdf5", "hdf5"), (tmp_path / f"{kind}-v0", "minari")):
            back = load(save(ds, path, format=fmt))
            for field in FIELDS:
                np.testing.assert_array_equal(np.asarray(getattr(back, field)), np.asarray(getattr(ds, field)), field)
            assert {k: back.metadata[k] for k in ds.metadata} == ds.metadata


def test_shifted_random_data_records_its_dynamics_and_can_be_attacked(tmp_path, capsys):
    from jaxrl_hybrid.cli.main import main

    out = tmp_path / "random.hdf5"
    argv = ["dataset", "generate", "--kind", "random", "--size", "400", "--train-steps", "0", "--out", str(out)]
    assert main([*argv, "--shift", "pendulum-high-gravity", "--num-reference-episodes", "4"]) == 0
    ds = load(out)
    meta = ds.metadata
    assert meta["shift"] == "pendulum-high-gravity" and meta["side"] == "real" and meta["dynamics"] == {"gravity": 14.0}
    assert "expert" not in meta["reference_returns"] and meta["policy"] == {"algo": "uniform-random"}
    assert "normalised score unavailable" in capsys.readouterr().out
    # Pendulum dynamics: thdot' = thdot + (3 g / (2 l) sin(th) + 3 u / (m l^2)) dt with max torque 2, dt 0.05.
    obs, nxt, act = (np.asarray(x, np.float64) for x in (ds.observations, ds.next_observations, ds.actions))
    g = (nxt[:, 2] - obs[:, 2] - 3.0 * 2.0 * act[:, 0] * 0.05) / (1.5 * obs[:, 1] * 0.05)
    inside = (np.abs(nxt[:, 2]) < 7.9) & (np.abs(obs[:, 1]) > 0.3)
    np.testing.assert_allclose(np.median(g[inside]), 14.0, rtol=1e-3)
    with pytest.raises(ValueError, match="only allows 'random'"):
        collect(
            train_behaviour_policies(CollectConfig(train_steps=0, num_reference_episodes=2), stream=None), "expert", 10
        )

    # The CLI's adversarial attack pretrains SAC on the dataset's env and shift, then attacks it.
    attacked = tmp_path / "attacked.hdf5"
    argv = ["dataset", "corrupt", str(out), "--kind", "adversarial", "--target", "observations", "--out", str(attacked)]
    assert main([*argv, "--attack-train-steps", "600", "--attack-steps", "20"]) == 0
    dirty = load(attacked)
    changed = np.flatnonzero(np.any(np.asarray(dirty.observations) != obs, axis=1))
    assert 0.2 < len(changed) / ds.size < 0.4
    np.testing.assert_array_equal(np.asarray(dirty.next_observations), np.asarray(ds.next_observations))
    assert dirty.metadata["corruption"][0]["kind"] == "adversarial"


def test_collection_is_deterministic_per_seed(policies, datasets):
    again = collect(policies, "medium", 1000)
    np.testing.assert_array_equal(np.asarray(again.observations), np.asarray(datasets["medium"].observations))
    other = collect(policies, "medium", 1000, seed=1)
    assert not np.array_equal(np.asarray(other.observations), np.asarray(datasets["medium"].observations))


def test_cli_generate_reproduces_the_library_run_and_info_reports_it(datasets, tmp_path, capsys):
    from jaxrl_hybrid.cli.main import main

    out = tmp_path / "mr.hdf5"
    argv = ["dataset", "generate", "--kind", "medium-replay", "--size", "1000", "--seed", "0", "--out", str(out)]
    assert main([*argv, *CLI_FLAGS]) == 0
    ds, want = load(out), datasets["medium-replay"]
    for field in FIELDS:
        np.testing.assert_array_equal(np.asarray(getattr(ds, field)), np.asarray(getattr(want, field)), field)
    capsys.readouterr()
    assert main(["dataset", "info", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    returns = episode_returns(want)
    refs = want.metadata["reference_returns"]
    assert info["size"] == want.size and info["episodes"] == want.num_episodes
    assert info["return_mean"] == pytest.approx(returns.mean()) and info["return_min"] == pytest.approx(returns.min())
    assert info["normalized_score"] == pytest.approx(
        100 * (returns.mean() - refs["random"]) / (refs["expert"] - refs["random"])
    )
    assert info["env"] == "gymnax:Pendulum-v1" and info["kind"] == "medium-replay"
    # The output exists now: a second run refuses before training anything.
    assert main([*argv, *CLI_FLAGS]) == 2
    assert "already exists" in capsys.readouterr().err


def test_adversarial_attack_lowers_the_pretrained_q(policies, datasets):
    from jaxrl_hybrid.data import corrupt, corruption_mask

    critic, policy = q_and_policy(policies.agent, policies.final_state)
    ds = datasets["medium"]
    key = jax.random.PRNGKey(3)
    idx = np.flatnonzero(np.asarray(corruption_mask(jax.random.split(key)[0], ds.size, 0.3)))
    adversarial = corrupt(ds, key, "actions", "adversarial", critic=critic, attack_steps=20)
    randomised = corrupt(ds, key, "actions", "random")
    q = lambda d: np.asarray(critic(d.observations[idx], d.actions[idx])).mean()
    assert q(adversarial) < q(randomised) - 1e-3 and q(adversarial) < q(ds) - 1e-3
    moved = np.abs(np.asarray(adversarial.actions) - np.asarray(ds.actions))
    std = np.asarray(ds.actions).std(axis=0)
    assert np.all(moved <= std + 1e-5)  # the attack stays inside scale * std
    dyn = corrupt(ds, key, "dynamics", "adversarial", critic=critic, policy=policy, attack_steps=20)
    s_next = lambda d: d.next_observations[idx]
    assert (
        np.asarray(critic(s_next(dyn), policy(s_next(dyn)))).mean()
        < np.asarray(critic(s_next(ds), policy(s_next(ds)))).mean()
    )
