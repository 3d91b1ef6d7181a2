"""The env API: overrides, auto-reset keeping the final observation, episode stats, shifts."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl_hybrid.envs import SHIFTS, AutoReset, EpisodeStats, make_env, make_pair, wrap_for_training
from jaxrl_hybrid.envs.core import rescale_action


def rollout(env, params, action, num_steps, key=0):
    obs, state = env.reset(jax.random.PRNGKey(key), params)

    def body(carry, k):
        obs, state = carry
        res = env.step(k, state, action, params)
        return (res.obs, res.state), (obs, res)

    _, (obs_seq, res) = jax.lax.scan(body, (obs, state), jax.random.split(jax.random.PRNGKey(key + 1), num_steps))
    return obs_seq, res


def test_make_env_returns_spec_and_params():
    env, params = make_env("gymnax:Pendulum-v1")
    assert env.spec.obs_shape == (3,) and env.spec.action_dim == 1 and not env.spec.discrete
    assert env.spec.max_episode_steps == 200
    env, params = make_env("gymnax:CartPole-v1")
    assert env.spec.discrete and env.spec.action_dim == 2 and env.spec.action_shape == ()


def test_static_env_names_match_the_libraries():
    # envs.names keeps the names as data (a typo is caught without importing JAX); the
    # libraries' registries at the locked versions are the truth.
    from jaxrl_hybrid.envs import brax_env, gymnax_env, names

    assert list(names.GYMNAX_IDS) == gymnax_env.registered_names()
    assert list(names.BRAX_IDS) == brax_env.registered_names()
    import gymnasium as gym

    assert set(names.GYMNASIUM_IDS) <= set(gym.registry)  # every listed gymnasium env is registered


def test_unknown_env_lists_known_names():
    with pytest.raises(ValueError, match="known envs:.*gymnax:Pendulum-v1"):
        make_env("gymnax:Pendulm-v1")
    with pytest.raises(ValueError, match="did you mean 'gymnax:Pendulum-v1'"):
        make_env("gymnax:Pendulm-v1")
    with pytest.raises(ValueError, match="did you mean 'gymnax:Pendulum-v1'"):
        make_env("Pendulum-v1")  # the backend forgotten: matched on the id alone
    with pytest.raises(ValueError, match="backend"):
        make_env("Pendulum-v1")


def test_overrides_are_data_and_unknown_fields_fail():
    env, params = make_env("gymnax:Pendulum-v1", gravity=15.0, length=1.5)
    assert params.g == 15.0 and params.l == 1.5
    _, cp = make_env("gymnax:CartPole-v1", mass_pole=0.3)
    assert cp.total_mass == pytest.approx(1.3) and cp.polemass_length == pytest.approx(0.15)
    with pytest.raises(ValueError, match="no dynamics parameter 'gravty'.*gravity"):
        make_env("gymnax:Pendulum-v1", gravty=3.0)


def test_gravity_changes_the_dynamics():
    env, p_lo = make_env("gymnax:Pendulum-v1")
    _, p_hi = make_env("gymnax:Pendulum-v1", gravity=15.0)
    obs_lo, _ = rollout(env, p_lo, jnp.zeros(1), 20)
    obs_hi, _ = rollout(env, p_hi, jnp.zeros(1), 20)
    assert np.abs(np.asarray(obs_lo) - np.asarray(obs_hi)).max() > 1e-2


def test_actions_are_rescaled_from_unit_box():
    np.testing.assert_allclose(rescale_action(jnp.array([-1.0, 0.0, 1.0, 3.0]), -2.0, 2.0), [-2, 0, 2, 2])
    env, params = make_env("gymnax:Pendulum-v1")
    obs, state = env.reset(jax.random.PRNGKey(0), params)
    res = env.step(jax.random.PRNGKey(1), state, jnp.array([1.0]), params)
    assert float(res.state.last_u) == pytest.approx(2.0)  # +1 -> max torque 2.0


def test_pendulum_truncates_and_never_terminates():
    env, params = make_env("gymnax:Pendulum-v1")
    _, res = rollout(AutoReset(env), params, jnp.zeros(1), 450)
    assert not bool(res.terminated.any())
    np.testing.assert_array_equal(np.where(np.asarray(res.truncated))[0], [199, 399])


def test_auto_reset_keeps_true_final_observation():
    env, params = make_env("gymnax:Pendulum-v1", max_steps_in_episode=5)
    obs_seq, res = rollout(AutoReset(env), params, jnp.array([0.5]), 12)
    trunc = np.asarray(res.truncated)
    assert trunc[4] and trunc[9]
    final, nxt = np.asarray(res.info["final_obs"]), np.asarray(res.obs)
    # On a truncation the returned obs is a fresh reset, but final_obs continues the episode.
    assert np.abs(final[4] - nxt[4]).max() > 1e-3
    np.testing.assert_allclose(final[~trunc], nxt[~trunc])
    # Continuity: the obs fed into the step after a reset is the reset obs.
    np.testing.assert_allclose(np.asarray(obs_seq)[5], nxt[4])


def test_cartpole_terminates():
    env, params = make_env("gymnax:CartPole-v1")
    _, res = rollout(AutoReset(env), params, jnp.array(1), 300)
    assert bool(res.terminated.any())
    assert not bool((res.terminated & res.truncated).any())


def test_episode_stats_sum_rewards():
    env, params = make_env("gymnax:Pendulum-v1", max_steps_in_episode=10)
    _, res = rollout(wrap_for_training(env), params, jnp.array([0.2]), 30)
    done = np.asarray(res.info["episode_done"])
    np.testing.assert_array_equal(np.where(done)[0], [9, 19, 29])
    rewards = np.asarray(res.reward)
    np.testing.assert_allclose(np.asarray(res.info["episode_return"])[done], rewards.reshape(3, 10).sum(1), rtol=1e-5)
    np.testing.assert_array_equal(np.asarray(res.info["episode_length"])[done], [10, 10, 10])
    assert isinstance(wrap_for_training(env), EpisodeStats)


def test_env_vmaps_over_params():
    env, p = make_env("gymnax:Pendulum-v1")
    grav = jnp.array([8.0, 10.0, 14.0])
    params = jax.vmap(lambda g: p.replace(g=g))(grav)
    obs, state = jax.vmap(env.reset, in_axes=(None, 0))(jax.random.PRNGKey(0), params)
    res = jax.vmap(env.step, in_axes=(None, 0, None, 0))(jax.random.PRNGKey(1), state, jnp.zeros(1), params)
    assert res.obs.shape == (3, 3)
    assert len(set(np.round(np.asarray(res.obs[:, 2]), 6))) == 3


@pytest.mark.parametrize("name", sorted(n for n, s in SHIFTS.items() if s.env_name.startswith("gymnax:")))
def test_gymnax_shift_pairs_differ(name):
    pair = make_pair(name)
    assert pair.sim_params != pair.real_params
    obs_sim, res_sim = rollout(
        pair.env, pair.sim_params, jnp.ones(pair.env.spec.action_shape) * (1 if not pair.env.spec.discrete else 1), 60
    )
    obs_real, res_real = rollout(pair.env, pair.real_params, jnp.ones(pair.env.spec.action_shape), 60)
    assert np.abs(np.asarray(obs_sim) - np.asarray(obs_real)).max() > 1e-3, name


def test_shift_lookup_errors():
    with pytest.raises(ValueError, match="known shifts"):
        make_pair("pendulum-on-the-moon")
    with pytest.raises(ValueError, match="defined for gymnax:Pendulum-v1"):
        make_env("gymnax:CartPole-v1", shift="pendulum-heavy-pole")
    _, real = make_env("gymnax:Pendulum-v1", shift="pendulum-heavy-pole")
    _, sim = make_env("gymnax:Pendulum-v1", shift="pendulum-heavy-pole", side="sim")
    assert real.m == 1.6 and sim.m == 1.0


def test_shift_table_covers_required_envs():
    envs = [s.env_name for s in SHIFTS.values()]
    assert envs.count("gymnax:Pendulum-v1") >= 3
    assert "gymnax:MountainCarContinuous-v0" in envs
    assert any(e.startswith("brax:") for e in envs)
