"""PQN: parallelised Q-learning without replay buffer or target network."""

from jaxrl_hybrid.agents.pqn.agent import PQN, PQNConfig, PQNHParams, PQNState, default_hparams

__all__ = ["PQN", "PQNConfig", "PQNHParams", "PQNState", "default_hparams"]
