"""Learning tests: thresholds a broken agent cannot reach (random is about -1200 on Pendulum, ~20 on CartPole)."""

import jax
import numpy as np
import pytest
from helpers import PENDULUM_SUPPORT, final_eval, seed_keys

from jaxrl_hybrid.agents import PPOConfig, SACConfig, TD3Config
from jaxrl_hybrid.losses import CriticLoss
from jaxrl_hybrid.training import TrainConfig, make_program

pytestmark = pytest.mark.slow


def _pendulum(algo, agent, hparams):
    config = TrainConfig(
        algo=algo,
        env="gymnax:Pendulum-v1",
        total_steps=7_000,
        learning_starts=1_000,
        eval_every=1_000,
        buffer_size=10_000,
        num_eval_episodes=5,
        batch_size=128,
        agent=agent,
    )
    program = make_program(config)
    hp = program.default_hparams.replace(**hparams)
    out = jax.jit(jax.vmap(program.train, in_axes=(0, None)))(seed_keys(2), hp)
    return np.asarray(final_eval(out))


# SAC with the HL-Gauss critic (the hot path); TD3 below covers the MSE critic step, and
# tests/test_loss_kinds.py trains every loss kind.
@pytest.mark.parametrize("loss", ["hl_gauss"])
def test_sac_learns_pendulum(loss):
    agent = SACConfig(hidden_dims=(64, 64), critic_loss=CriticLoss(loss, **PENDULUM_SUPPORT))
    returns = _pendulum("sac", agent, {"actor_lr": 1e-3, "critic_lr": 1e-3, "temp_lr": 1e-3})
    assert returns.mean() > -400, returns


def test_td3_learns_pendulum():
    agent = TD3Config(hidden_dims=(64, 64))
    returns = _pendulum("td3", agent, {"actor_lr": 1e-3, "critic_lr": 1e-3})
    assert returns.mean() > -400, returns


def test_ppo_solves_cartpole():
    config = TrainConfig(
        algo="ppo",
        env="gymnax:CartPole-v1",
        total_steps=100_000,
        num_envs=4,
        eval_every=25_000,
        num_eval_episodes=5,
        agent=PPOConfig(hidden_dims=(64, 64), num_steps=128),
    )
    program = make_program(config)
    hp = program.default_hparams.replace(lr=1e-3)
    out = jax.jit(jax.vmap(program.train, in_axes=(0, None)))(seed_keys(2), hp)
    returns = np.asarray(final_eval(out))
    assert returns.mean() > 400, returns
