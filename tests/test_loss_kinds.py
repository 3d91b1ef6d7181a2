"""Every agent trains its critic through each loss kind: a short run stays finite and learns something."""

import dataclasses

import jax
import numpy as np
import pytest
from helpers import seed_keys, tiny_ppo, tiny_sac, tiny_td3

from jaxrl_hybrid.agents import TD3Config
from jaxrl_hybrid.losses import CriticLoss
from jaxrl_hybrid.training import make_program


def _run(config):
    program = make_program(config)
    out = jax.jit(jax.vmap(program.train, in_axes=(0, None)))(seed_keys(2), program.default_hparams)
    return jax.tree.map(np.asarray, out["metrics"])


# Two-hot critics are also trained by TD3+BC, and HL-Gauss by Cal-QL, in test_offline_agents.py.
@pytest.mark.parametrize(
    "name, config",
    [
        ("sac-huber-ensemble", tiny_sac(loss="huber", num_critics=5, num_min_critics=2, utd=2)),
        (
            "td3-hl_gauss",
            dataclasses.replace(
                tiny_td3(),
                agent=TD3Config(
                    hidden_dims=(16, 16), batch_size=32, critic_loss=CriticLoss("hl_gauss", 51, -1700.0, 100.0)
                ),
            ),
        ),
        ("ppo-continuous-hl_gauss", tiny_ppo(env="gymnax:Pendulum-v1", loss="hl_gauss")),
        ("ppo-discrete-two_hot", tiny_ppo(loss="two_hot")),
    ],
)
def test_agent_trains_with_loss_kind(name, config):
    metrics = _run(config)
    for key, value in metrics.items():
        if key != "train_episode_return":
            assert np.all(np.isfinite(value)), (name, key)
    loss_key = "value_loss" if config.algo == "ppo" else "critic_loss"
    # The critic fits its targets better after training than at the first chunk's start.
    assert metrics[loss_key][:, -1].mean() < metrics[loss_key][:, 0].mean() * 1.5, metrics[loss_key]
