"""The in-memory Dataset: episode ids, returns-to-go (numpy reference), validation, vmapped sampling."""

import jax
import numpy as np
import pytest

from jaxrl_hybrid.data import (
    episode_returns,
    from_arrays,
    normalize_observations,
    normalized_score,
    obs_normalizer,
    reward_scale_factor,
    sample,
    scale_rewards,
)


def make_arrays(n=10, obs_dim=3):
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(n + 1, obs_dim)).astype(np.float32)
    return {
        "observations": obs[:-1],
        "actions": rng.uniform(-1, 1, size=(n, 2)).astype(np.float32),
        "rewards": np.arange(1, n + 1, dtype=np.float32),
        "next_observations": obs[1:],
        "terminals": np.array([0, 0, 1, 0, 0, 0, 0, 1, 0, 0][:n]),
        "timeouts": np.array([0, 0, 0, 0, 0, 1, 0, 0, 0, 0][:n]),
    }


def np_rtg(rewards, done, gamma):
    out, g = np.zeros(len(rewards)), 0.0
    for t in reversed(range(len(rewards))):
        g = rewards[t] + (0.0 if done[t] else gamma * g)
        out[t] = g
    return out


def test_episode_ids_and_returns_to_go():
    arrays = make_arrays()
    ds = from_arrays(**arrays, gamma=0.9)
    np.testing.assert_array_equal(np.asarray(ds.episode_ids), [0, 0, 0, 1, 1, 1, 2, 2, 3, 3])
    assert ds.num_episodes == 4 and ds.size == 10
    assert bool(ds.timeouts[-1])  # the end of the data closes the last episode
    done = np.asarray(ds.terminals) | np.asarray(ds.timeouts)
    np.testing.assert_allclose(np.asarray(ds.returns_to_go), np_rtg(arrays["rewards"], done, 0.9), rtol=1e-6)
    np.testing.assert_allclose(episode_returns(ds), [6, 15, 15, 19])


@pytest.mark.parametrize(
    "change, message",
    [
        ({"rewards": np.ones(9, np.float32)}, "'observations' has 10 rows, expected 9"),
        ({"rewards": np.array([1, 2, np.nan, 4, 5, 6, 7, 8, 9, 10], np.float32)}, "'rewards' is not finite at index 2"),
        (
            {"terminals": np.array([0, 0, 2, 0, 0, 0, 0, 1, 0, 0])},
            "'terminals' must be a 1-D array of 0/1 flags; bad at index 2",
        ),
        ({"actions": np.array(["a"] * 10)}, "'actions' has dtype <U1"),
        ({"next_observations": np.zeros((10, 4), np.float32)}, "'next_observations' has shape (10, 4)"),
    ],
)
def test_validation_names_source_field_and_index(change, message):
    arrays = {**make_arrays(), **change}
    with pytest.raises(ValueError) as err:
        from_arrays(**arrays, source="toy.hdf5")
    assert str(err.value).startswith("toy.hdf5: ") and message in str(err.value)


def test_sampling_vmaps_over_seeds_with_one_copy_of_the_data():
    ds = from_arrays(**make_arrays())
    keys = jax.random.split(jax.random.PRNGKey(0), 8)
    batches = jax.jit(jax.vmap(sample, in_axes=(None, 0, None)), static_argnums=2)(ds, keys, 16)
    assert batches.obs.shape == (8, 16, 3)
    rewards = np.asarray(batches.reward)
    assert len({tuple(r) for r in rewards}) == 8  # each seed its own batch
    again = jax.jit(jax.vmap(sample, in_axes=(None, 0, None)), static_argnums=2)(ds, keys, 16)
    np.testing.assert_array_equal(rewards, np.asarray(again.reward))
    # Rows stay aligned: reward r sits with its own transition.
    idx = rewards.astype(int) - 1
    np.testing.assert_array_equal(np.asarray(batches.obs), np.asarray(ds.observations)[idx])


def test_normalisation_reward_scaling_and_score():
    ds = from_arrays(**make_arrays(), gamma=0.5)
    norm = obs_normalizer(ds)
    nds = normalize_observations(ds, norm)
    np.testing.assert_allclose(np.asarray(nds.observations).mean(0), 0.0, atol=1e-5)
    np.testing.assert_allclose(np.asarray(nds.observations).std(0), 1.0, atol=1e-4)
    sds = scale_rewards(ds, scale=2.0, shift=-1.0)
    done = np.asarray(ds.terminals) | np.asarray(ds.timeouts)
    np.testing.assert_allclose(np.asarray(sds.returns_to_go), np_rtg(2 * np.arange(1, 11) - 1, done, 0.5), rtol=1e-6)
    assert normalized_score(50.0, random_return=0.0, expert_return=200.0) == 25.0
    with pytest.raises(ValueError, match="undefined"):
        normalized_score(1.0, 3.0, 3.0)


def test_reward_scale_factor_is_iqls_return_range_rule():
    """Episodes (split at terminals and timeouts) return 6, 15, 15 and 19: IQL's scale is
    1000 / (19 - 6); "none" is 1, a number is itself, anything else is refused by name."""
    ds = from_arrays(**make_arrays(), gamma=0.5)
    np.testing.assert_allclose(np.sort(episode_returns(ds)), [6, 15, 15, 19])
    assert reward_scale_factor(ds, "return_range") == pytest.approx(1000 / 13)
    assert reward_scale_factor(ds, "none") == 1.0 and reward_scale_factor(ds, 0.25) == 0.25
    with pytest.raises(ValueError, match="must be 'none', 'return_range' or a positive number"):
        reward_scale_factor(ds, "minmax")
    with pytest.raises(ValueError, match="must be > 0"):
        reward_scale_factor(ds, -1.0)
    flat = from_arrays(**{**make_arrays(), "rewards": np.zeros(10, np.float32)}, gamma=0.5)
    with pytest.raises(ValueError, match="all return 0"):
        reward_scale_factor(flat, "return_range")
