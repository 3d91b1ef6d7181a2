"""Deep Q-networks: double, n-step, target network, any critic loss (C51 included)."""

from jaxrl_hybrid.agents.dqn.agent import DQN, DQNConfig, DQNHParams, DQNState, default_hparams

__all__ = ["DQN", "DQNConfig", "DQNHParams", "DQNState", "default_hparams"]
