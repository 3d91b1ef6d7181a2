"""Agents: each a class built from (static config, env spec) exposing init / update / act.

    agent = SAC(SACConfig(), env.spec)
    state = agent.init(key)
    state, metrics = agent.update(state, batch, key, hparams)
    action = agent.act(state, obs, key, deterministic)

Agents see arrays (Batch), never envs or files; `jaxrl_hybrid.training.make_train` joins them with envs.
"""

from jaxrl_hybrid.agents.ppo import PPO, PPOConfig, PPOHParams
from jaxrl_hybrid.agents.sac import SAC, SACConfig, SACHParams
from jaxrl_hybrid.agents.td3 import TD3, TD3Config, TD3HParams

AGENTS = {"sac": SAC, "td3": TD3, "ppo": PPO}


__all__ = [
    "AGENTS",
    "PPO",
    "SAC",
    "TD3",
    "PPOConfig",
    "PPOHParams",
    "SACConfig",
    "SACHParams",
    "TD3Config",
    "TD3HParams",
]
