"""Agents: each a class built from (static config, env spec) exposing init / update / act.

    agent = SAC(SACConfig(), env.spec)
    state = agent.init(key)
    state, metrics = agent.update(state, batch, key, hparams)
    action = agent.act(state, obs, key, deterministic)

Agents see arrays (Batch), never envs or files; `jaxrl_hybrid.training.make_program` joins
them with envs and data. `registry.REGISTRY` is the one list of agents (the contract is its
`Agent` protocol); `AGENTS`, `ONLINE_AGENTS`, `OFFLINE_AGENTS` and `ON_POLICY_AGENTS` are
derived from it. Names resolve on first use (PEP 562), so the registry imports no JAX.
"""

from __future__ import annotations

_CLASSES = {
    "BC": "bc", "BCConfig": "bc", "BCHParams": "bc",
    "DQN": "dqn", "DQNConfig": "dqn", "DQNHParams": "dqn",
    "PQN": "pqn", "PQNConfig": "pqn", "PQNHParams": "pqn",
    "CQL": "cql", "CalQL": "cql", "CalQLConfig": "cql", "CQLConfig": "cql", "CQLHParams": "cql",
    "IQLearn": "iqlearn", "IQLearnConfig": "iqlearn", "IQLearnHParams": "iqlearn",
    "IQL": "iql", "RIQL": "iql", "IQLConfig": "iql", "IQLHParams": "iql", "RIQLConfig": "iql",
    "LPG": "lpg", "LPGConfig": "lpg", "LPGHParams": "lpg",
    "PPO": "ppo", "PPOConfig": "ppo", "PPOHParams": "ppo",
    "SAC": "sac", "SACConfig": "sac", "SACHParams": "sac",
    "TD3": "td3", "TD3Config": "td3", "TD3HParams": "td3",
    "TD3BC": "td3bc", "ReBRAC": "td3bc", "ReBRACConfig": "td3bc", "TD3BCConfig": "td3bc", "TD3BCHParams": "td3bc",
}  # fmt: skip
_LISTS = ("AGENTS", "ONLINE_AGENTS", "OFFLINE_AGENTS", "ON_POLICY_AGENTS")

__all__ = sorted([*_CLASSES, *_LISTS])


def __getattr__(name: str):
    import importlib

    registry = importlib.import_module("jaxrl_hybrid.agents.registry")

    if name == "AGENTS":
        value = {n: registry.agent_class(n) for n in registry.REGISTRY}
    elif name == "ONLINE_AGENTS":
        value = {n: registry.agent_class(n) for n in registry.ONLINE}
    elif name == "OFFLINE_AGENTS":
        value = {n: registry.agent_class(n) for n in registry.OFFLINE}
    elif name == "ON_POLICY_AGENTS":
        value = registry.ON_POLICY
    elif name in _CLASSES:
        value = getattr(importlib.import_module(f"jaxrl_hybrid.agents.{_CLASSES[name]}"), name)
    else:
        raise AttributeError(f"module 'jaxrl_hybrid.agents' has no attribute {name!r}")
    globals()[name] = value
    return value
