"""Loops that join agents with envs and data: `make_train(config)` -> pure `train(key, hparams)`."""

from __future__ import annotations

from typing import Any

from jaxrl_hybrid.training.config import TrainConfig
from jaxrl_hybrid.training.program import TrainProgram

ALGOS = ("sac", "td3", "ppo")


def make_agent(config: TrainConfig, spec):
    """The agent object of `config.algo` for an env spec (agent config defaults if None)."""
    from jaxrl_hybrid.agents import AGENTS

    if config.algo not in AGENTS:
        raise ValueError(f"unknown algo {config.algo!r}; known algos: {sorted(AGENTS)}")
    cls = AGENTS[config.algo]
    agent_config = config.agent if config.agent is not None else cls.Config()
    if not isinstance(agent_config, cls.Config):
        raise TypeError(f"algo {config.algo!r} takes a {cls.Config.__name__}, got {type(agent_config).__name__}")
    return cls(agent_config, spec)


def make_program(config: TrainConfig) -> TrainProgram:
    """Build the env, the agent and the loop that `config` names."""
    from jaxrl_hybrid.envs import make_env

    env, env_params = make_env(config.env, **dict(config.env_overrides))
    agent = make_agent(config, env.spec)
    if config.algo == "ppo":
        from jaxrl_hybrid.training.onpolicy import make_onpolicy_program

        return make_onpolicy_program(agent, env, env_params, config)
    from jaxrl_hybrid.training.offpolicy import make_offpolicy_program

    return make_offpolicy_program(agent, env, env_params, config)


def make_train(config: TrainConfig):
    """Pure `train(key, hparams=None) -> {"runner", "metrics"}`; jit and vmap it freely."""
    return make_program(config).train


def default_hparams(config: TrainConfig) -> Any:
    """The traced hyperparameters of `config.algo`, at their defaults."""
    return make_program(config).default_hparams


__all__ = [
    "ALGOS",
    "TrainConfig",
    "TrainProgram",
    "default_hparams",
    "make_agent",
    "make_program",
    "make_train",
]
