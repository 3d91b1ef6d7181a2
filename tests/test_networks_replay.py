"""Networks (ensemble shapes, subset min, tanh-Gaussian log-prob) and the replay buffer."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl_hybrid.agents import CalQLConfig, CQLConfig, SACConfig
from jaxrl_hybrid.agents.cql.agent import CalQL
from jaxrl_hybrid.agents.h2o import H2OConfig
from jaxrl_hybrid.agents.sac.agent import SAC
from jaxrl_hybrid.networks import MLP, QEnsemble, min_over_subset, tanh_gaussian_sample
from jaxrl_hybrid.training import replay
from jaxrl_hybrid.types import EnvSpec, Transition


def test_q_ensemble_is_one_batched_module_with_independent_members():
    net = QEnsemble((16, 16), num_members=5, out_dim=7, layer_norm=True)
    params = net.init(jax.random.PRNGKey(0), jnp.zeros((1, 3)), jnp.zeros((1, 2)))
    out = net.apply(params, jnp.ones((4, 3)), jnp.ones((4, 2)))
    assert out.shape == (5, 4, 7)
    assert all(leaf.shape[0] == 5 for leaf in jax.tree.leaves(params))
    assert float(jnp.abs(out[0] - out[1]).max()) > 1e-4  # members differ


def test_critic_out_init_scales_only_the_critics_output_layer():
    """`critic_out_init` (default 1) sets the std of the critics' output kernel to
    critic_out_init / sqrt(fan_avg), for every SAC-family agent, and leaves the hidden layers as
    they were; 0 or less is refused by name."""
    assert SACConfig().critic_out_init == CQLConfig().critic_out_init == H2OConfig().critic_out_init == 1.0
    assert CalQLConfig().critic_out_init == 0.07  # Cal-QL's reference code (JaxCQL's output layer)
    spec = EnvSpec("toy", obs_shape=(3,), action_dim=1, discrete=False, max_episode_steps=10)
    fan_avg = (256 + 1) / 2
    kernels = {}
    for scale in (1.0, 0.01):
        for agent in (SAC(SACConfig(critic_out_init=scale), spec), CalQL(CalQLConfig(critic_out_init=scale), spec)):
            params = agent.init(jax.random.PRNGKey(0)).critic.params
            kernels[agent.name, scale] = params
            (out_kernel,) = [leaf for leaf in jax.tree.leaves(params) if leaf.shape == (2, 256, 1)]
            np.testing.assert_allclose(np.std(np.asarray(out_kernel)), scale / np.sqrt(fan_avg), rtol=0.15)
    hidden = [leaf for leaf in jax.tree.leaves(kernels["calql", 1.0]) if leaf.shape == (2, 256, 256)]
    small = [leaf for leaf in jax.tree.leaves(kernels["calql", 0.01]) if leaf.shape == (2, 256, 256)]
    np.testing.assert_array_equal(np.asarray(hidden[0]), np.asarray(small[0]))
    with pytest.raises(ValueError, match="critic_out_init must be > 0"):
        SACConfig(critic_out_init=0.0)
    # The CLIs' --critic-out-init reaches the agent's config (train here; finetune alike).
    from jaxrl_hybrid.cli.train import Train, agent_config

    assert agent_config(Train(algo="calql", critic_out_init=0.01), "gymnax:Pendulum-v1").critic_out_init == 0.01
    assert agent_config(Train(algo="calql"), "gymnax:Pendulum-v1").critic_out_init == 0.07


def test_mlp_layer_norm_option_adds_parameters():
    plain = MLP((8,), 1).init(jax.random.PRNGKey(0), jnp.zeros((1, 2)))
    normed = MLP((8,), 1, layer_norm=True).init(jax.random.PRNGKey(0), jnp.zeros((1, 2)))
    assert len(jax.tree.leaves(normed)) == len(jax.tree.leaves(plain)) + 2


def test_min_over_subset():
    values = jnp.array([[3.0, 1.0], [2.0, 5.0], [4.0, 0.0], [9.0, 9.0]])
    np.testing.assert_allclose(min_over_subset(values, jax.random.PRNGKey(0), 4), [2.0, 0.0])
    # A subset of 2 gives the min over two distinct members, different per key.
    seen = set()
    for i in range(30):
        out = np.asarray(min_over_subset(values, jax.random.PRNGKey(i), 2))
        assert any(np.allclose(out, np.minimum(values[a], values[b])) for a in range(4) for b in range(4) if a != b)
        seen.add(tuple(out))
    assert len(seen) > 1
    with pytest.raises(ValueError):
        min_over_subset(values, jax.random.PRNGKey(0), 5)


def test_tanh_gaussian_log_prob_matches_change_of_variables():
    mean, log_std = jnp.array([[0.3, -0.5]]), jnp.array([[-0.2, 0.1]])
    action, log_prob = tanh_gaussian_sample(mean, log_std, jax.random.PRNGKey(3))
    u = np.arctanh(np.asarray(action, np.float64))
    std = np.exp(np.asarray(log_std, np.float64))
    gauss = -0.5 * ((u - np.asarray(mean)) / std) ** 2 - np.log(std) - 0.5 * np.log(2 * np.pi)
    want = (gauss - np.log(1 - np.tanh(u) ** 2)).sum(-1)
    np.testing.assert_allclose(log_prob, want, rtol=1e-4)
    assert np.all(np.abs(np.asarray(action)) < 1)


def _transitions(start, n):
    x = jnp.arange(start, start + n, dtype=jnp.float32)
    return Transition(
        obs=x[:, None],
        action=x[:, None],
        reward=x,
        next_obs=x[:, None] + 1,
        terminated=jnp.zeros(n, bool),
        truncated=jnp.zeros(n, bool),
    )


def test_replay_buffer_wraps_and_samples_only_stored():
    example = jax.tree.map(lambda x: x[0], _transitions(0, 1))
    buf = replay.init_buffer(5, example)
    buf = replay.add_batch(buf, _transitions(0, 3))
    assert int(buf.size) == 3 and int(buf.position) == 3
    sample = replay.sample(buf, jax.random.PRNGKey(0), (200,))
    assert set(np.asarray(sample.reward).tolist()) <= {0.0, 1.0, 2.0}
    buf = replay.add_batch(buf, _transitions(3, 4))  # 7 added, capacity 5: 0 and 1 overwritten
    assert int(buf.size) == 5 and int(buf.position) == 2
    np.testing.assert_allclose(np.sort(np.asarray(buf.data.reward)), [2, 3, 4, 5, 6])
    sample = replay.sample(buf, jax.random.PRNGKey(1), (4, 8))
    assert sample.obs.shape == (4, 8, 1)
    np.testing.assert_allclose(sample.next_obs, sample.obs + 1)
    with pytest.raises(ValueError):
        replay.init_buffer(0, example)


def test_mixed_batches_take_the_configured_fraction_from_each_source():
    from jaxrl_hybrid.data import from_arrays

    n = 50
    offline = from_arrays(
        observations=np.zeros((n, 3), np.float32),
        actions=np.zeros((n, 1), np.float32),
        rewards=np.full(n, -1.0, np.float32),  # offline rows are marked by reward -1
        next_observations=np.zeros((n, 3), np.float32),
        terminals=np.zeros(n, bool),
        timeouts=np.eye(1, n, n - 1, dtype=bool)[0],
    )
    example = Transition(
        jnp.zeros(3), jnp.zeros(1), jnp.zeros(()), jnp.zeros(3), jnp.zeros((), bool), jnp.zeros((), bool)
    )
    buffer = replay.init_buffer(20, example)
    online = jax.tree.map(lambda x: jnp.broadcast_to(x, (10, *x.shape)), example.replace(reward=jnp.ones(())))
    buffer = replay.add_batch(buffer, online)  # online rows: reward +1

    def draw(key, fraction):
        return replay.sample_mixed(offline, buffer, key, (2, 16), fraction)

    for fraction, want in [(0.5, 8), (0.25, 4), (0.0, 0), (1.0, 16)]:
        keys = jax.random.split(jax.random.PRNGKey(0), 3)
        batch = jax.jit(jax.vmap(lambda k, f=fraction: draw(k, f)))(keys)  # vmaps over seeds
        rewards = np.asarray(batch.reward)
        assert rewards.shape == (3, 2, 16) and batch.obs.shape == (3, 2, 16, 3)
        assert np.all((rewards == -1).sum(-1) == want) and np.all(rewards[..., :want] == -1)
        assert batch.mc_return is None and batch.next_action is None
    with pytest.raises(ValueError, match="offline_fraction"):
        draw(jax.random.PRNGKey(0), 1.5)
