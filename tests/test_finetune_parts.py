"""The pieces of offline-to-online fine-tuning, checked without training an agent.

Monte-Carlo returns written back into the replay buffer (numpy reference), the exact offline
share of retained-data batches, MOORL's task choice and Reptile step, and that every method's
whole program traces.
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import toy_pendulum_dataset

from jaxrl_hybrid.agents import CalQLConfig, CQLConfig, IQLConfig, IQLearnConfig, SACConfig
from jaxrl_hybrid.agents.common import ModelState
from jaxrl_hybrid.agents.sac import SACState
from jaxrl_hybrid.data import discounted_returns_to_go, from_arrays, reward_scale_factor
from jaxrl_hybrid.training import replay
from jaxrl_hybrid.training.finetune import (
    METHODS,
    FinetuneConfig,
    make_finetune_program,
    mixed_learn,
    moorl_learn,
    reptile_step,
)
from jaxrl_hybrid.types import Transition


def _transition(n, obs_value, reward=None, mc=False):
    return Transition(
        obs=jnp.full((n, 3), obs_value, jnp.float32),
        action=jnp.zeros((n, 1)),
        reward=jnp.zeros((n,)) if reward is None else jnp.asarray(reward, jnp.float32),
        next_obs=jnp.zeros((n, 3)),
        terminated=jnp.zeros((n,), bool),
        truncated=jnp.zeros((n,), bool),
        mc_return=jnp.full((n,), -jnp.inf) if mc else None,
    )


def test_buffer_writes_back_discounted_returns_when_each_env_episode_ends():
    """Two envs with episodes of different lengths, interleaved in the buffer as the loop adds them."""
    gamma, num_envs, max_len, steps = 0.9, 2, 6, 11
    rng = np.random.default_rng(0)
    rewards = rng.normal(size=(steps, num_envs)).astype(np.float32)
    done = np.zeros((steps, num_envs), bool)
    done[[3, 9], 0] = True  # env 0: episodes of 4 and 6 steps, then one still running
    done[[4, 5], 1] = True  # env 1: episodes of 5 and 1 steps, then one still running
    buffer = replay.init_buffer(64, jax.tree.map(lambda x: x[0], _transition(1, 0.0, mc=True)))
    tracker = replay.init_episode_tracker(num_envs)
    step = jax.jit(lambda b, t, r, d: replay.track_mc_returns(*_add(b, t, r), d, gamma, max_len))
    for t in range(steps):
        buffer, tracker = step(buffer, tracker, rewards[t], done[t])
    mc = np.asarray(buffer.data.mc_return)[: steps * num_envs].reshape(steps, num_envs)
    for e in range(num_envs):
        last_done = np.flatnonzero(done[:, e]).max()
        expected = discounted_returns_to_go(
            rewards[: last_done + 1, e], done[: last_done + 1, e], np.zeros(last_done + 1, bool), gamma
        )
        np.testing.assert_allclose(mc[: last_done + 1, e], expected, rtol=1e-5, atol=1e-5)
        assert np.all(np.isneginf(mc[last_done + 1 :, e])), "a running episode's returns are still unknown"


def _add(buffer, tracker, rewards):
    position = buffer.position
    return replay.add_batch(buffer, _transition(rewards.shape[0], 0.0, rewards, mc=True)), tracker, position


class RecordingAgent:
    """Stands in for an agent: its update reports which source each minibatch row came from."""

    def update(self, state, batch, key, hparams):
        offline = (batch.obs[..., 0] > 0).astype(jnp.float32)  # offline rows hold +1, online rows -1
        return state + 1, {"offline_share": offline.mean(), "rows": jnp.float32(offline.size)}


def _sources():
    n = 50
    ones = np.ones((n, 3), np.float32)
    dataset = from_arrays(ones, np.zeros((n, 1)), np.zeros(n), ones, np.zeros(n), np.zeros(n))
    buffer = replay.add_batch(
        replay.init_buffer(20, jax.tree.map(lambda x: x[0], _transition(1, 0.0))), _transition(20, -1.0)
    )
    return dataset, buffer


@pytest.mark.parametrize("fraction", [0.5, 0.25, 0.0])
def test_retained_data_updates_draw_the_configured_fraction_from_each_buffer(fraction):
    dataset, buffer = _sources()
    learn = mixed_learn(RecordingAgent(), dataset, num_updates=3, offline_fraction=fraction, shape=(2, 8))
    state, metrics = jax.jit(lambda s, k: learn(s, buffer, jax.random.split(k), None))(
        jnp.int32(0), jax.random.PRNGKey(0)
    )
    assert int(state) == 3
    assert float(metrics["offline_share"]) == fraction  # exact in every minibatch, not on average
    assert float(metrics["rows"]) == 16.0


def test_moorl_adapts_on_one_buffer_per_meta_step_chosen_at_random():
    dataset, buffer = _sources()
    learn = moorl_learn(
        _ToyAgent(), dataset, num_updates=400, inner_steps=2, meta_lr=0.5, offline_prob=0.5, shape=(1, 8)
    )
    _, metrics = jax.jit(lambda k: learn(_toy_state(0.0), buffer, jax.random.split(k), None))(jax.random.PRNGKey(1))
    # each meta-step's batches all come from one source: the per-step share is 0 or 1, and it equals the choice
    assert float(metrics["offline_share"]) == pytest.approx(float(metrics["moorl_offline"]))
    assert 0.4 < float(metrics["moorl_offline"]) < 0.6


def _toy_state(value):
    model = ModelState(params={"w": jnp.full((2,), value)}, opt_state=(), target_params={"w": jnp.full((2,), value)})
    return SACState(actor=model, critic=model, log_temp=ModelState(jnp.float32(value), ()), step=jnp.int32(0))


class _ToyAgent(RecordingAgent):
    def update(self, state, batch, key, hparams):
        bump = lambda m: m.replace(params={"w": m.params["w"] + 1.0})  # noqa: E731
        new = state.replace(actor=bump(state.actor), critic=bump(state.critic), step=state.step + 1)
        return new, {"offline_share": (batch.obs[..., 0] > 0).mean()}


def test_reptile_step_moves_parameters_towards_the_adapted_ones():
    meta, adapted = _toy_state(1.0), _toy_state(3.0).replace(step=jnp.int32(5))
    new = reptile_step(meta, adapted, 0.25)
    np.testing.assert_allclose(new.actor.params["w"], 1.5)
    np.testing.assert_allclose(new.critic.params["w"], 1.5)
    np.testing.assert_allclose(new.critic.target_params["w"], 1.5)
    assert float(new.log_temp.params) == 3.0 and int(new.step) == 5  # the rest comes from the adapted state
    # K inner steps of +1 each, then a meta step of 0.5: the meta-parameters move by K / 2
    dataset, buffer = _sources()
    learn = moorl_learn(_ToyAgent(), dataset, num_updates=1, inner_steps=4, meta_lr=0.5, offline_prob=0.5, shape=(1, 8))
    state, _ = learn(_toy_state(0.0), buffer, jax.random.split(jax.random.PRNGKey(0)), None)
    np.testing.assert_allclose(state.actor.params["w"], 2.0)


@pytest.fixture(scope="module")
def toy_dataset():
    return toy_pendulum_dataset()


@pytest.mark.parametrize("method", METHODS)
def test_every_method_traces_as_one_program(method, toy_dataset):
    agents = {"cql": CQLConfig, "iql": IQLConfig, "sac": SACConfig, "moorl": SACConfig, "iqlearn": IQLearnConfig}
    agent = agents.get(method, CalQLConfig)(hidden_dims=(8,))
    if isinstance(agent, CQLConfig):
        agent = dataclasses.replace(agent, num_actions=2)
    config = FinetuneConfig(
        method=method,
        agent=agent,
        batch_size=4,
        pretrain_updates=0 if method in ("sac", "moorl") else 20,
        online_steps=300,
        eval_every=100,
        warmup_steps=100,
        buffer_size=400,
        num_eval_episodes=2,
    )
    program = make_finetune_program(config, toy_dataset)
    out = jax.eval_shape(jax.vmap(program.train), jax.random.split(jax.random.PRNGKey(0), 2))
    assert out["metrics"]["eval_returns"].shape == (2, 2, 2)  # seeds x online evaluations x episodes
    assert out["start_eval_returns"].shape == (2, 2)
    assert (out["pretrain_metrics"] is None) == (method in ("sac", "moorl"))
    has_mc = out["runner"].buffer.data.mc_return is not None
    assert has_mc == (method == "calql")  # only Cal-QL's bound needs online Monte-Carlo returns


def test_config_errors_name_the_problem(toy_dataset):
    with pytest.raises(ValueError, match="method must be one of"):
        FinetuneConfig(method="rlpd")
    with pytest.raises(ValueError, match="from scratch"):
        FinetuneConfig(method="sac", pretrain_updates=10)
    with pytest.raises(ValueError, match="pretrains calql or cql"):
        make_finetune_program(FinetuneConfig(method="wsrl", agent=IQLConfig()), toy_dataset)
    with pytest.raises(ValueError, match="leaves no training after warmup_steps"):
        make_finetune_program(FinetuneConfig(method="wsrl", online_steps=1000, warmup_steps=1000), toy_dataset)
    with pytest.raises(ValueError, match="cannot hold one episode"):
        make_finetune_program(
            FinetuneConfig(method="calql", buffer_size=100, online_steps=300, eval_every=100), toy_dataset
        )


def test_wsrl_defaults_are_the_papers(toy_dataset):
    config = FinetuneConfig(method="wsrl", online_steps=6000)
    program = make_finetune_program(config, toy_dataset)
    cfg = program.online_agent.config
    assert (cfg.num_critics, cfg.num_min_critics, cfg.critic_layer_norm) == (10, 2, True)
    assert config.online_shape == (4, 256) and config.resolved_batch_size == 256  # online (utd, batch); pretraining
    assert program.online.warmup_steps == 5000
    hp = program.default_hparams
    assert (float(hp.actor_lr), float(hp.critic_lr)) == pytest.approx((1e-4, 3e-4))
    assert program.pretrain.total_env_steps == 10_000


def test_reward_scale_multiplies_offline_and_online_rewards_alike(toy_dataset):
    """IQL fine-tuning scales by its paper's return-range rule; an explicit factor reaches the
    online transitions too (same warm-up, twice the stored rewards)."""
    iql = FinetuneConfig(method="iql", agent=IQLConfig(hidden_dims=(8,)), batch_size=4, pretrain_updates=20,
                         online_steps=300, eval_every=100, buffer_size=400, num_eval_episodes=1)  # fmt: skip
    assert make_finetune_program(iql, toy_dataset).reward_scale == reward_scale_factor(toy_dataset, "return_range")
    base = dict(method="sac", agent=SACConfig(hidden_dims=(8,)), batch_size=4, pretrain_updates=0, online_steps=300,
                eval_every=100, warmup_steps=100, buffer_size=400, num_eval_episodes=1)  # fmt: skip
    plain = make_finetune_program(FinetuneConfig(**base), toy_dataset)
    scaled = make_finetune_program(FinetuneConfig(**base, reward_scale=2.0), toy_dataset)
    assert (plain.reward_scale, scaled.reward_scale) == (1.0, 2.0)
    key = jax.random.PRNGKey(0)
    state = plain.fresh_agent(key)
    r1 = np.asarray(jax.jit(plain.start_online)(state, key, plain.default_hparams).buffer.data.reward)
    r2 = np.asarray(jax.jit(scaled.start_online)(state, key, scaled.default_hparams).buffer.data.reward)
    assert np.any(r1[:100] != 0)
    np.testing.assert_allclose(r2, 2.0 * r1, rtol=1e-6)


def test_observation_normalised_agents_fine_tune_on_raw_buffers(toy_dataset):
    """The online agent normalises inside act and update with the offline data's statistics:
    replay and offline rows stay raw, the agent sees (obs - mean) / std."""
    from jaxrl_hybrid.data import obs_normalizer
    from jaxrl_hybrid.training.offline import NormalizedAgent

    seen = {}

    class Stub:
        config, name = None, "stub"

        def update(self, state, batch, key, hparams):
            seen["obs"], seen["next_obs"] = batch.obs, batch.next_obs
            return state, {}

    norm = obs_normalizer(toy_dataset)
    batch = _transition(6, 2.0)
    NormalizedAgent(Stub(), norm).update(0, batch, None, None)
    np.testing.assert_allclose(seen["obs"], (np.asarray(batch.obs) - norm.mean) / norm.std, rtol=1e-6)
    np.testing.assert_allclose(seen["next_obs"], (np.asarray(batch.next_obs) - norm.mean) / norm.std, rtol=1e-6)
    config = FinetuneConfig(method="iql", agent=IQLConfig(hidden_dims=(8,)), batch_size=4, pretrain_updates=20,
                            online_steps=300, eval_every=100, buffer_size=400, num_eval_episodes=1,
                            normalize_observations=True)  # fmt: skip
    program = make_finetune_program(config, toy_dataset)
    assert isinstance(program.online_agent, NormalizedAgent)
    out = jax.eval_shape(jax.vmap(program.train), jax.random.split(jax.random.PRNGKey(0), 2))
    assert out["metrics"]["eval_returns"].shape == (2, 3, 1)


def test_saved_hparams_of_finetune_and_train_checkpoints_and_their_differences():
    from jaxrl_hybrid.experiment.finetune import hparams_differences, saved_hparams

    finetune_meta = {"algo": "calql", "hparams": {"cql_alpha": 10.0, "gamma": 0.99}}
    assert saved_hparams(finetune_meta) == [{"cql_alpha": 10.0, "gamma": 0.99}]
    train_meta = {"train": {"algo": "calql"}, "hparams": {"cql_alpha": 5.0, "gamma": 0.99},
                  "grid": [{"cql_alpha": 1.0}, {}]}  # fmt: skip
    assert saved_hparams(train_meta) == [{"cql_alpha": 1.0, "gamma": 0.99}, {"cql_alpha": 5.0, "gamma": 0.99}]
    assert saved_hparams({"algo": "calql"}) is None  # a checkpoint written before they were recorded
    given = {"cql_alpha": 5.0, "gamma": 0.99, "online_only": 1.0}
    assert hparams_differences(saved_hparams(train_meta), given) == ["cql_alpha: pretrained with 1, this run 5"]
    assert hparams_differences(None, given) == []
    # A grid records the typed value, a run's hparams its float32 rounding: the same hyperparameter.
    typed = {"train": {}, "hparams": {"actor_lr": 1e-3}, "grid": [{"actor_lr": 3e-4}]}
    assert hparams_differences(saved_hparams(typed), {"actor_lr": float(np.float32(3e-4))}) == []


def test_finetune_cli_critic_out_init_reaches_the_pretrained_agents_config(toy_dataset):
    """`finetune --critic-out-init` sets the pretrained agent's output-layer init; without it each
    agent keeps its own default (Cal-QL's reference code's 0.07, so WSRL's too; CQL 1)."""
    from jaxrl_hybrid.cli.finetune import Finetune, build_finetune_config

    def out_init(**kw):
        return build_finetune_config(Finetune(dataset="toy.hdf5", **kw), toy_dataset).agent.critic_out_init

    assert out_init(algo="wsrl") == out_init(algo="calql") == 0.07
    assert out_init(algo="cql") == 1.0
    assert out_init(algo="wsrl", critic_out_init=0.01) == 0.01


def test_saved_agent_config_of_finetune_and_train_checkpoints_and_its_differences():
    from jaxrl_hybrid.experiment.finetune import agent_differences, saved_agent

    agent = {"type": "CalQLConfig", "hidden_dims": [16, 16], "critic_out_init": 1.0}
    assert saved_agent({"algo": "calql", "agent": agent}) == agent
    assert saved_agent({"train": {"algo": "calql", "agent": agent}}) == agent
    assert saved_agent({"algo": "calql"}) is None
    given = {**agent, "critic_out_init": 0.07, "online_only": 1}
    assert agent_differences(agent, given) == ["critic_out_init: pretrained with 1.0, this run 0.07"]
    assert agent_differences(agent, agent) == [] and agent_differences(None, given) == []
