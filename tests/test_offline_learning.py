"""Every offline algorithm learns from a small generated Pendulum medium dataset, deterministically.

The dataset is 10,000 transitions (50 episodes) of the medium policy of conftest's `policies`
(SAC trained 4,000 steps; medium = the snapshot nearest a third of the expert's normalised
score), so its own mean normalised score is about 32.

Thresholds, from measurements of these exact settings (mean final normalised score of the 4
seeds, 50 episodes each): BC 29.8, TD3+BC (HL-Gauss critic) 26.8, ReBRAC 27.2, IQL 33.3, RIQL 39.3,
CQL 32.8, Cal-QL 27.9, ARSQ 57.2; single seeds range from 20 to 44. CQL's networks are 64x64
since its alpha acts in the reference code's units (half the former weight, `CriticLoss.penalty_weight`):
at 32x32 it then scored 18.9. Doing nothing (zero torque) scores 12.3
over the same 200 episodes (9.5 over another 100), and a policy that pushes the wrong way scores
below 0. Every algorithm must beat the dataset's score minus 12 (about 20: eight points, three
standard errors of a 200-episode mean, above doing nothing), and BC, which only imitates, must
reach the dataset's level within 6.
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import PENDULUM_SUPPORT

from jaxrl_hybrid.agents import OFFLINE_AGENTS
from jaxrl_hybrid.data import episode_returns, normalized_score, sample
from jaxrl_hybrid.losses import SCALAR_TARGET_KINDS, CriticLoss
from jaxrl_hybrid.training import TrainConfig, make_agent, make_program
from jaxrl_hybrid.training.evaluation import evaluate
from jaxrl_hybrid.training.offline import dataset_env
from jaxrl_hybrid.training.program import seed_keys

pytestmark = pytest.mark.xdist_group("collect")  # shares the session `policies` with test_collect

UPDATES, NUM_SEEDS, EVAL_EPISODES = 3000, 4, 50
MARGIN, BC_MARGIN = 12.0, 6.0
# Static settings per algorithm: small networks; CQL/Cal-QL sample 4 actions per set (not 10)
# to keep their penalty affordable on CI; TD3+BC trains a classification critic.
SETTINGS = {
    "bc": {"hidden_dims": (64, 64)},
    "td3bc": {"hidden_dims": (64, 64), "critic_loss": CriticLoss("hl_gauss", **PENDULUM_SUPPORT)},
    "rebrac": {"hidden_dims": (64, 64)},
    "iql": {"hidden_dims": (64, 64)},
    "riql": {"hidden_dims": (64, 64)},
    "cql": {"hidden_dims": (64, 64), "num_actions": 4},
    "arsq": {"hidden_dims": (64, 64)},
}
# Cal-QL's offline learning test is the pretraining in test_finetune.py (same settings, discount 0.9).


def _score(dataset, returns):
    refs = dataset.metadata["reference_returns"]
    return normalized_score(np.asarray(returns), refs["random"], refs["expert"])


def test_doing_nothing_stays_below_every_threshold(medium):
    _, env, params = dataset_env(medium)
    zero = lambda obs, key: jnp.zeros((obs.shape[0], 1))
    returns = jax.jit(lambda k: evaluate(k, env, params, zero, NUM_SEEDS * EVAL_EPISODES))(jax.random.PRNGKey(7))
    data_score = float(_score(medium, episode_returns(medium).mean()))
    print(f"zero torque: {float(_score(medium, np.mean(returns))):.1f}")
    assert float(_score(medium, np.mean(returns))) < data_score - MARGIN - 3.0


@pytest.mark.parametrize("algo", sorted(SETTINGS))
def test_offline_agent_learns_from_medium_data_and_a_4_seed_run_is_deterministic(algo, medium):
    cls = OFFLINE_AGENTS[algo]
    config = TrainConfig(
        algo=algo,
        total_steps=UPDATES,
        eval_every=UPDATES // 2,
        num_eval_episodes=EVAL_EPISODES,
        batch_size=64,
        agent=cls.Config(**SETTINGS[algo]),
    )
    program = make_program(config, dataset=medium)
    hparams = program.default_hparams
    # The CLI's path: init and one compiled chunk, looped on the host.
    init = jax.jit(jax.vmap(program.init, in_axes=(0, None)))
    run_chunk = jax.jit(jax.vmap(program.run_chunk, in_axes=(0, None)))
    keys = seed_keys(0, NUM_SEEDS)
    first, first_metrics = run_chunk(init(keys, hparams), hparams)
    final, final_metrics = run_chunk(first, hparams)

    # Determinism: the first chunk again, from scratch, gives bit-identical states and metrics.
    again, again_metrics = run_chunk(init(keys, hparams), hparams)
    for x, y in zip(jax.tree.leaves((first, first_metrics)), jax.tree.leaves((again, again_metrics)), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))

    for name, value in final_metrics.items():
        assert np.all(np.isfinite(np.asarray(value))), name
    if algo in ("cql", "calql"):
        assert np.all(np.asarray(final_metrics["cql_gap"]) > 0)  # data actions are not the lse's maximum
    seed0 = jax.tree.map(lambda x: x[0], final.agent_state)
    agent = make_agent(config, dataset_env(medium).env.spec)
    action = agent.act(seed0, jnp.asarray(medium.observations[:8]), jax.random.PRNGKey(1), False, hparams)
    assert action.shape == (8, 1) and np.all(np.abs(np.asarray(action)) <= 1.0)

    per_seed = _score(medium, np.asarray(final_metrics["eval_returns"]).mean(-1))
    data_score = float(_score(medium, episode_returns(medium).mean()))
    print(f"{algo}: per-seed {per_seed.round(1).tolist()} mean {per_seed.mean():.1f} data {data_score:.1f}")
    margin = BC_MARGIN if algo == "bc" else MARGIN
    assert per_seed.mean() > data_score - margin, (algo, per_seed.round(1).tolist(), round(data_score, 1))
    assert len(set(per_seed.tolist())) == NUM_SEEDS  # seeds differ


@pytest.mark.parametrize("algo", sorted(OFFLINE_AGENTS))
def test_every_offline_agent_accepts_every_critic_loss(algo, medium):
    """Shapes and dtypes of one update for each scalar-target --critic-loss (traced, not compiled:
    cheap); C51, whose target is a distribution, is refused by name."""
    cls = OFFLINE_AGENTS[algo]
    _, env, _ = dataset_env(medium)
    has_loss = "critic_loss" in {f.name for f in dataclasses.fields(cls.Config)}
    # ARSQ's Q is a sum of a value and advantages: regression only (`critic_loss_kinds`)
    kinds = getattr(cls, "critic_loss_kinds", SCALAR_TARGET_KINDS) if has_loss else [None]
    for kind in kinds:
        kw = {} if kind is None else {"critic_loss": CriticLoss(kind, **PENDULUM_SUPPORT)}
        agent = cls(cls.Config(hidden_dims=(8, 8), **kw), env.spec)
        key = jax.random.PRNGKey(0)
        state = jax.eval_shape(agent.init, key)
        batch = jax.eval_shape(lambda k: sample(medium, k, (1, 16)), key)
        new_state, metrics = jax.eval_shape(agent.update, state, batch, key, agent.default_hparams())
        assert jax.tree.structure(new_state) == jax.tree.structure(state), (algo, kind)
        for a, b in zip(jax.tree.leaves(new_state), jax.tree.leaves(state), strict=True):
            assert a.shape == b.shape and a.dtype == b.dtype, (algo, kind)
        assert all(m.shape == () for m in jax.tree.leaves(metrics)), (algo, kind)
    for kind in set(SCALAR_TARGET_KINDS) - set(kinds) if has_loss else ():
        with pytest.raises(ValueError, match="must be mse or huber"):
            cls.Config(hidden_dims=(8, 8), critic_loss=CriticLoss(kind, **PENDULUM_SUPPORT))
    if has_loss and "critic_loss_kinds" not in vars(cls):
        agent = cls(cls.Config(hidden_dims=(8, 8), critic_loss=CriticLoss("c51", **PENDULUM_SUPPORT)), env.spec)
        state = jax.eval_shape(agent.init, key)
        with pytest.raises(ValueError, match="critic loss 'c51' needs the next state's value distribution"):
            jax.eval_shape(agent.update, state, batch, key, agent.default_hparams())
