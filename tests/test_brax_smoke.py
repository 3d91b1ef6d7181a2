"""The one brax test (brax compiles slowly on CPU): the API works and gravity is data."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl_hybrid.envs import make_pair


@pytest.mark.slow
def test_brax_hopper_gravity_shift_runs_and_differs():
    pair = make_pair("hopper-high-gravity")
    env = pair.env  # without AutoReset: its reset branch doubles the compile
    assert pair.env.spec.name == "brax:hopper" and pair.env.spec.action_dim == 3
    params = jax.tree.map(lambda a, b: jnp.stack([a, b]), pair.sim_params, pair.real_params)

    def run(params):
        obs, state = env.reset(jax.random.PRNGKey(0), params)

        def body(carry, k):
            res = env.step(k, carry, jnp.zeros(3), params)
            return res.state, (res.obs, res.reward, res.terminated, res.truncated)

        return jax.lax.scan(body, state, jax.random.split(jax.random.PRNGKey(1), 5))[1]

    obs, reward, terminated, truncated = jax.jit(jax.vmap(run))(params)
    assert obs.shape == (2, 5, pair.env.spec.obs_shape[0])
    assert np.all(np.isfinite(np.asarray(obs)))
    # Same start, same actions: only gravity differs, so the trajectories must.
    assert np.abs(np.asarray(obs[0, -1] - obs[1, -1])).max() > 1e-4
    assert not bool(truncated.any())
