"""PQN as an agent namespace (Gallici et al., 2024, "Simplifying Deep Temporal Difference Learning").

Many parallel envs collect a short rollout with an epsilon-greedy policy; Q(lambda) returns are
computed on it with the current network (no target network), and the network is trained on
them for a few epochs of minibatches, then the rollout is dropped (no replay buffer). LayerNorm
in the network is what keeps this stable (the paper's analysis). The on-policy loop trains it,
like PPO; the critic loss is any of `losses.CriticLoss`'s, C51 with distributional lambda-returns.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
from flax import struct

from jaxrl_hybrid.agents.common.batching import shuffled_minibatches
from jaxrl_hybrid.agents.common.qlearning import (
    QAgent,
    QState,
    epsilon_greedy,
    greedy_bootstrap,
    linear_epsilon,
    q_loss,
)
from jaxrl_hybrid.losses.critic import CriticLoss
from jaxrl_hybrid.losses.td import bootstrap_discount, lambda_returns
from jaxrl_hybrid.optim import apply_gradients, as_float32


@dataclasses.dataclass(frozen=True)
class PQNConfig:
    """Static PQN settings: purejaxql's CartPole config (32 envs x `num_steps` 64, 4 epochs of 16
    minibatches, LayerNorm, gradient norm 10, linearly annealed learning rate) with 256x256
    layers; its MinAtar config takes 128 envs x 32 steps, 2 epochs of 32 minibatches and lambda
    0.65. Each update sees `num_steps` steps of every env and makes `update_epochs` passes over
    them in `num_minibatches` minibatches."""

    hidden_dims: tuple[int, ...] = (256, 256)
    torso: str = "auto"
    layer_norm: bool = True
    critic_loss: CriticLoss = CriticLoss()
    num_steps: int = 64
    update_epochs: int = 4
    num_minibatches: int = 16
    max_grad_norm: float = 10.0
    anneal_lr: bool = True

    def __post_init__(self):
        for name in ("num_steps", "update_epochs", "num_minibatches"):
            if getattr(self, name) < 1:
                raise ValueError(f"PQNConfig.{name} must be >= 1")
        if self.torso not in ("auto", "mlp", "cnn"):
            raise ValueError(f"PQNConfig.torso must be auto, mlp or cnn, got {self.torso!r}")


@struct.dataclass
class PQNHParams:
    """Traced PQN hyperparameters; exploration decays over `eps_decay` of the run (a fraction).

    `reward_scale` multiplies the training rewards (purejaxql's CartPole REW_SCALE 0.1; returns
    are reported in the env's rewards), so Q-values and a classification loss's support are in
    scaled units: CartPole's default support [-10, 110] then holds Q in [0, 10]. The learning
    rate is purejaxql's MinAtar 5e-4: its CartPole 1e-4 is tuned for 500k env steps and reached
    a mean of 109 at 100k (4 seeds, HL-Gauss), against 500 at 5e-4; 16 envs x 32 steps at 5e-4
    reached 500 with the reward scale and 287 without (`tests/test_learning.py` keeps the run).
    """

    lr: jnp.ndarray = 5e-4
    gamma: jnp.ndarray = 0.99
    q_lambda: jnp.ndarray = 0.95
    eps_start: jnp.ndarray = 1.0
    eps_finish: jnp.ndarray = 0.05
    eps_decay: jnp.ndarray = 0.2
    reward_scale: jnp.ndarray = 0.1


def default_hparams(**overrides) -> PQNHParams:
    return as_float32(PQNHParams(**overrides))


PQNState = QState  # the Q network (no target) and the updates made


class PQN(QAgent):
    """Parallelised Q-network for discrete actions (the on-policy loop trains it)."""

    name = "pqn"
    Config = PQNConfig
    HParams = PQNHParams

    def epsilon(self, state: PQNState, hparams: PQNHParams) -> jax.Array:
        """Stochastic `act` (outside training) explores at the schedule's final rate."""
        return hparams.eps_finish

    def sample(self, state: PQNState, obs, key, hparams: PQNHParams | None = None, progress=None):
        """(epsilon-greedy action, 0): the on-policy loop's exploration, epsilon at `progress` (0..1) of the run."""
        hparams = self.default_hparams() if hparams is None else hparams
        progress = jnp.zeros(()) if progress is None else progress
        epsilon = linear_epsilon(progress, hparams.eps_start, hparams.eps_finish, hparams.eps_decay)
        action = epsilon_greedy(key, self.q_values(state.q.params, obs), epsilon)
        return action, jnp.zeros(action.shape, jnp.float32)

    def targets(self, params, rollout, hparams: PQNHParams) -> jax.Array:
        """Q(lambda) targets of a time-major rollout, from the current network's greedy bootstraps."""
        loss = self.config.critic_loss
        next_outputs = self.net.apply(params, rollout.next_obs)
        bootstrap = greedy_bootstrap(loss, next_outputs, next_outputs)
        return lambda_returns(
            hparams.reward_scale * rollout.reward,
            bootstrap_discount(rollout.terminated, hparams.gamma),
            bootstrap,
            jnp.logical_or(rollout.terminated, rollout.truncated),
            hparams.q_lambda,
            backup=loss.backup,
            mix=loss.mix,
        )

    def update(self, state: PQNState, rollout, key, hparams: PQNHParams, total_updates: int | None = None):
        """Epochs of minibatch steps on a rollout of shape (num_steps, num_envs, ...)."""
        config, loss = self.config, self.config.critic_loss
        target = self.targets(state.q.params, rollout, hparams)
        flat = jax.tree.map(lambda x: x.reshape((-1, *x.shape[2:])), (rollout.obs, rollout.action, target))

        def epoch(model, key_epoch):
            minibatches = shuffled_minibatches(key_epoch, flat, config.num_minibatches)

            def step(model, minibatch):
                obs, action, y = minibatch

                def objective(params):
                    outputs = self.net.apply(params, obs)
                    return q_loss(loss, outputs, action, y).mean(), outputs

                (value, outputs), grads = jax.value_and_grad(objective, has_aux=True)(model.params)
                metrics = {"td_loss": value, "q_mean": loss.values(outputs).mean()}
                return apply_gradients(model, grads, self.tx, hparams.lr), metrics

            return jax.lax.scan(step, model, minibatches)

        model, metrics = jax.lax.scan(epoch, state.q, jax.random.split(key, config.update_epochs))
        metrics = jax.tree.map(jnp.mean, metrics)
        metrics["target_mean"] = loss.target_value(target).mean()
        return state.replace(q=model, step=state.step + 1), metrics
