"""PPO's value head trains through the classification losses: a short run stays finite and fits its
targets (the other agents x loss kinds are covered where the comment below says)."""

import jax
import numpy as np
import pytest
from helpers import seed_keys, tiny_ppo

from jaxrl_hybrid.training import make_program


def _run(config):
    program = make_program(config)
    out = jax.jit(jax.vmap(program.train, in_axes=(0, None)))(seed_keys(2), program.default_hparams)
    return jax.tree.map(np.asarray, out["metrics"])


# HL-Gauss through TD3's update is trained by TD3+BC in test_offline_learning.py (and traced there
# for every offline agent x loss); SAC's HL-Gauss in test_learning.py; the Huber critic by RIQL's
# learning test; SAC's larger ensembles at UTD > 1 by WSRL in test_finetune.py.
@pytest.mark.parametrize(
    "name, config",
    [
        ("ppo-continuous-hl_gauss", tiny_ppo(env="gymnax:Pendulum-v1", loss="hl_gauss")),
        ("ppo-discrete-two_hot", tiny_ppo(loss="two_hot")),
    ],
)
def test_agent_trains_with_loss_kind(name, config):
    metrics = _run(config)
    for key, value in metrics.items():
        if key != "train_episode_return":
            assert np.all(np.isfinite(value)), (name, key)
    loss_key = "value_loss" if config.algo == "ppo" else "td_loss"
    # The critic fits its targets better after training than at the first chunk's start.
    assert metrics[loss_key][:, -1].mean() < metrics[loss_key][:, 0].mean() * 1.5, metrics[loss_key]
