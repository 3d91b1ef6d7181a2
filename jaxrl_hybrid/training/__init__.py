"""Loops that join agents with envs and data: `make_train(config)` -> pure `train(key, hparams)`."""

from __future__ import annotations

from typing import Any

from jaxrl_hybrid.agents.registry import agent_class, agent_info
from jaxrl_hybrid.training.config import DEFAULT_ENV, TrainConfig
from jaxrl_hybrid.training.program import TrainProgram


def make_agent(config: TrainConfig, spec):
    """The agent object of `config.algo` for an env spec (agent config defaults if None)."""
    cls = agent_class(config.algo)
    agent_config = config.agent if config.agent is not None else cls.Config()
    if not isinstance(agent_config, cls.Config):
        raise TypeError(f"algo {config.algo!r} takes a {cls.Config.__name__}, got {type(agent_config).__name__}")
    return cls(agent_config, spec)


def make_program(config: TrainConfig, dataset=None) -> TrainProgram:
    """Build the env, the agent and the loop that `config` names.

    Offline algorithms read `config.dataset` (or take an already loaded `dataset`) and
    evaluate in the env its metadata names. A `training.hybrid.HybridConfig` builds the
    hybrid (simulator + real data) program.
    """
    from jaxrl_hybrid.envs import make_env
    from jaxrl_hybrid.training.hybrid import HybridConfig, make_hybrid_program

    if isinstance(config, HybridConfig):
        if dataset is None:
            if config.dataset is None:
                raise ValueError("hybrid training needs the real dataset (HybridConfig.dataset / --dataset)")
            from jaxrl_hybrid.data import load

            dataset = load(config.dataset)
        return make_hybrid_program(config, dataset)

    info = agent_info(config.algo)
    if info.data == "offline":
        from jaxrl_hybrid.training.offline import dataset_env, make_offline_program

        if dataset is None:
            if config.dataset is None:
                raise ValueError(f"offline algorithm {config.algo!r} needs a dataset (TrainConfig.dataset / --dataset)")
            from jaxrl_hybrid.data import load

            dataset = load(config.dataset)
        # The data's own env, unless config.env overrides it (shapes checked); there is no
        # default env for offline data.
        dataset, env, env_params = dataset_env(dataset, config.dataset or "the dataset", config.env)
        return make_offline_program(make_agent(config, env.spec), dataset, env, env_params, config)
    if dataset is not None or config.dataset is not None:
        raise ValueError(f"online algorithm {config.algo!r} does not train on a dataset")
    env, env_params = make_env(config.env or DEFAULT_ENV, **dict(config.env_overrides))
    agent = make_agent(config, env.spec)
    if info.loop == "sqirl":
        from jaxrl_hybrid.training.sqirl import make_sqirl_program

        return make_sqirl_program(agent, env, env_params, config)
    if info.loop == "on_policy":
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
    "TrainConfig",
    "TrainProgram",
    "default_hparams",
    "make_agent",
    "make_program",
    "make_train",
]
