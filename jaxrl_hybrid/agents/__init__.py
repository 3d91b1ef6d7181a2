"""Agents: each a class built from (static config, env spec) exposing init / update / act.

    agent = SAC(SACConfig(), env.spec)
    state = agent.init(key)
    state, metrics = agent.update(state, batch, key, hparams)
    action = agent.act(state, obs, key, deterministic)

Agents see arrays (Batch), never envs or files; `jaxrl_hybrid.training.make_train` joins them with envs.
"""

from jaxrl_hybrid.agents.bc import BC, BCConfig, BCHParams
from jaxrl_hybrid.agents.cql import CQL, CalQL, CalQLConfig, CQLConfig, CQLHParams
from jaxrl_hybrid.agents.iql import IQL, RIQL, IQLConfig, IQLHParams, RIQLConfig
from jaxrl_hybrid.agents.lpg import LPG, LPGConfig, LPGHParams
from jaxrl_hybrid.agents.ppo import PPO, PPOConfig, PPOHParams
from jaxrl_hybrid.agents.sac import SAC, SACConfig, SACHParams
from jaxrl_hybrid.agents.td3 import TD3, TD3Config, TD3HParams
from jaxrl_hybrid.agents.td3bc import TD3BC, ReBRAC, ReBRACConfig, TD3BCConfig, TD3BCHParams

ONLINE_AGENTS = {"sac": SAC, "td3": TD3, "ppo": PPO, "lpg": LPG}  # lpg: trained by a learned rule (meta)
ON_POLICY_AGENTS = ("ppo", "lpg")
OFFLINE_AGENTS = {"bc": BC, "cql": CQL, "calql": CalQL, "iql": IQL, "riql": RIQL, "td3bc": TD3BC, "rebrac": ReBRAC}
AGENTS = {**ONLINE_AGENTS, **OFFLINE_AGENTS}


__all__ = [
    "AGENTS",
    "BC",
    "CQL",
    "IQL",
    "LPG",
    "LPGConfig",
    "LPGHParams",
    "ON_POLICY_AGENTS",
    "OFFLINE_AGENTS",
    "ONLINE_AGENTS",
    "RIQL",
    "BCConfig",
    "BCHParams",
    "CQLConfig",
    "CQLHParams",
    "CalQL",
    "CalQLConfig",
    "IQLConfig",
    "IQLHParams",
    "RIQLConfig",
    "ReBRAC",
    "ReBRACConfig",
    "TD3BC",
    "TD3BCConfig",
    "TD3BCHParams",
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
