"""Sticky actions: the previous action repeats with probability p, never on an episode's first step."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl_hybrid.envs.registry import make_env


def _rollout(env, params, actions, key):
    """Step one env through `actions` (auto-reset not needed: CartPole survives alternating pushes
    for a while); returns executed actions and observations."""
    obs, state = env.reset(key, params)

    def step(state, xs):
        k, a = xs
        res = env.step(k, state, a, params)
        return res.state, (res.info.get("executed_action", a), res.obs)

    keys = jax.random.split(key, len(actions))
    _, (executed, observations) = jax.lax.scan(step, state, (keys, actions))
    return executed, observations


def test_sticky_actions_repeat_at_their_rate_and_zero_is_the_plain_env():
    env, params = make_env("gymnax:CartPole-v1", sticky_actions=0.25)
    actions = jnp.arange(20) % 2  # alternating: every repeat differs from the agent's action
    keys = jax.random.split(jax.random.PRNGKey(0), 400)
    executed, _ = jax.jit(jax.vmap(lambda k: _rollout(env, params, actions, k)))(keys)
    executed = np.asarray(executed)
    assert np.all(executed[:, 0] == 0)  # the first step has nothing to repeat
    agent, previous, now = np.asarray(actions)[None, 1:], executed[:, :-1], executed[:, 1:]
    # an action other than the agent's is always the previous executed one
    assert np.all(now[now != agent] == previous[now != agent])
    # where a repeat is visible (the previous executed action differs from the agent's), it
    # happens at the rate p
    visible = previous != agent
    rate = np.mean(now[visible] == previous[visible])
    assert visible.sum() > 5000 and abs(rate - 0.25) < 0.03, (rate, visible.sum())

    plain, plain_params = make_env("gymnax:CartPole-v1")
    zero_params = env.params_with(sticky_actions=0.0)
    _, obs_sticky = jax.jit(lambda k: _rollout(env, zero_params, actions, k))(keys[0])
    _, obs_plain = jax.jit(lambda k: _rollout(plain, plain_params, actions, k))(keys[0])
    np.testing.assert_allclose(obs_sticky, obs_plain, rtol=1e-5, atol=1e-6)  # CartPole ignores the key


def test_sticky_actions_refuse_a_non_probability():
    with pytest.raises(ValueError, match=r"sticky_actions=1.5: expected a probability in \[0, 1\)"):
        make_env("gymnax:CartPole-v1", sticky_actions=1.5)
    env, _ = make_env("gymnax:Acrobot-v1", sticky_actions=0.1)
    with pytest.raises(ValueError, match="expected a probability"):
        env.params_with(sticky_actions=-0.1)


def test_sticky_env_rebuilds_a_state_from_an_observation():
    """The sim-to-real tools step envs from observed states: a sticky env's first step from an
    observation is the plain env's (nothing to repeat yet)."""
    env, params = make_env("gymnax:CartPole-v1", sticky_actions=0.25)
    plain, plain_params = make_env("gymnax:CartPole-v1")
    obs = jnp.array([0.01, -0.02, 0.03, 0.04])
    key = jax.random.PRNGKey(0)
    res = env.step_from_obs(key, obs, jnp.int32(1), params)
    ref = plain.step_from_obs(key, obs, jnp.int32(1), plain_params)
    np.testing.assert_allclose(res.obs, ref.obs, rtol=1e-6)
    assert int(res.info["executed_action"]) == 1
