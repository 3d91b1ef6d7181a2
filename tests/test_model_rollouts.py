"""Model-based augmentation for offline agents: MOPO's penalty against numpy, rollouts chained
through the learned model, the offline program with `--model-rollouts`, and its refusals."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import heavy_pole_real_data

from jaxrl_hybrid.agents import CQLConfig, IQLConfig
from jaxrl_hybrid.models.dynamics import DynamicsConfig, fit, predict
from jaxrl_hybrid.models.rollouts import ModelRollouts, model_rollout, mopo_uncertainty
from jaxrl_hybrid.training import TrainConfig, make_program

ROLLOUTS = ModelRollouts(
    horizon=3, rollout_batch=4, buffer_size=64, dynamics=DynamicsConfig(num_members=2, hidden_dims=(16,), max_epochs=2)
)


def test_rollouts_chain_through_the_model_and_pay_mopo_penalty():
    data = heavy_pole_real_data(n=300)

    @jax.jit
    def run():
        model = fit(jax.random.PRNGKey(0), data, ROLLOUTS.dynamics)[0]
        start = data.observations[:4]
        policy = lambda obs, k: jax.random.uniform(k, (obs.shape[0], 1), minval=-1, maxval=1)  # noqa: E731
        plain = model_rollout(model, jax.random.PRNGKey(1), start, policy, 3, 0.0)
        penalised = model_rollout(model, jax.random.PRNGKey(1), start, policy, 3, 2.0)
        return model, plain, penalised, predict(model, plain.obs, plain.action)

    model, plain, penalised, pred = run()
    assert plain.obs.shape == (12, 3) and plain.action.shape == (12, 1) and plain.reward.shape == (12,)
    np.testing.assert_array_equal(np.asarray(plain.obs[:4]), np.asarray(data.observations[:4]))
    # Row t*4 + i continues row (t-1)*4 + i: each step starts where the model left off.
    np.testing.assert_array_equal(np.asarray(plain.obs[4:]), np.asarray(plain.next_obs[:8]))
    assert not bool(plain.terminated.any() or plain.truncated.any())
    # Same key, same transitions; the reward differs by exactly lambda * max_k ||sigma_k||.
    np.testing.assert_array_equal(np.asarray(plain.next_obs), np.asarray(penalised.next_obs))
    sigma_norm = np.sqrt(np.asarray(pred.member_var)[..., :3].sum(-1)).max(0)
    np.testing.assert_allclose(np.asarray(mopo_uncertainty(pred, 3)), sigma_norm, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(plain.reward - penalised.reward), 2.0 * sigma_norm, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("algo, agent", [("cql", CQLConfig(hidden_dims=(16,), num_actions=2)),
                                         ("iql", IQLConfig(hidden_dims=(16,)))])  # fmt: skip
def test_offline_program_with_model_rollouts_traces(algo, agent):
    config = TrainConfig(
        algo=algo,
        total_steps=20,
        eval_every=10,
        num_eval_episodes=1,
        batch_size=8,
        agent=agent,
        model_rollouts=ROLLOUTS,
    )
    out = jax.eval_shape(make_program(config, dataset=heavy_pole_real_data(n=300)).train, jax.random.PRNGKey(0))
    runner = out["runner"]
    assert runner.model_buffer.data.obs.shape == (64, 3) and runner.model is not None
    assert config.to_dict()["model_rollouts"]["horizon"] == 3
    assert "model_rollouts" not in dataclasses.replace(config, model_rollouts=None).to_dict()


def test_model_rollouts_refusals():
    data = heavy_pole_real_data(n=300)
    with pytest.raises(ValueError, match="not 'calql'"):
        make_program(TrainConfig(algo="calql", model_rollouts=ROLLOUTS), dataset=data)
    terminal = dataclasses.replace(data, terminals=jnp.ones_like(data.terminals))
    with pytest.raises(NotImplementedError, match="does not predict termination"):
        make_program(TrainConfig(algo="iql", model_rollouts=ROLLOUTS), dataset=terminal)
    with pytest.raises(ValueError, match="real_fraction"):
        ModelRollouts(real_fraction=1.0)
