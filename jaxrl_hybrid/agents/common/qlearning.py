"""Pieces the value-based agents share (DQN, PQN): Q heads over discrete actions, greedy
bootstraps for every critic loss, epsilon-greedy exploration and its schedule.

A discrete Q head (`networks.DiscreteQNetwork`) emits (..., num_actions, output_dim): one scalar
or `num_bins` logits per action. `CriticLoss.values` reads Q(s, a) for every action from it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from jaxrl_hybrid.losses.critic import CriticLoss
from jaxrl_hybrid.networks import DiscreteQNetwork
from jaxrl_hybrid.optim import ModelState, as_float32, init_model, make_optimizer
from jaxrl_hybrid.types import EnvSpec


@struct.dataclass
class QState:
    """A value-based agent's named state: the Q network (with target parameters for DQN) and
    the number of updates made."""

    q: ModelState
    step: jax.Array


class QAgent:
    """What DQN and PQN share: the Q network their config describes (`hidden_dims`, `torso`,
    `layer_norm`, `critic_loss`, `max_grad_norm`), its state, and greedy / epsilon-greedy acting.
    Subclasses set `with_target` and `epsilon(state, hparams)`, the rate of stochastic `act`."""

    with_target = False

    def __init__(self, config, spec: EnvSpec):
        self.config, self.spec = config, spec
        self.net = q_network(spec, config.critic_loss, config.hidden_dims, config.layer_norm, config.torso)
        self.tx = make_optimizer(config.max_grad_norm)

    def default_hparams(self, **overrides):
        return as_float32(self.HParams(**overrides))

    def init(self, key: jax.Array) -> QState:
        params = self.net.init(key, jnp.zeros((1, *self.spec.obs_shape)))
        return QState(q=init_model(params, self.tx, with_target=self.with_target), step=jnp.zeros((), jnp.int32))

    def q_values(self, params, obs: jax.Array) -> jax.Array:
        """Q(s, a) of every action, (..., A)."""
        return self.config.critic_loss.values(self.net.apply(params, obs))

    def epsilon(self, state: QState, hparams) -> jax.Array:
        raise NotImplementedError(f"{type(self).__name__} must define its exploration rate")

    def act(self, state: QState, obs, key, deterministic: bool, hparams=None):
        """The greedy action, or an epsilon-greedy one at `epsilon(state, hparams)`."""
        q = self.q_values(state.q.params, obs)
        if deterministic:
            return jnp.argmax(q, axis=-1).astype(jnp.int32)
        hparams = self.default_hparams() if hparams is None else hparams
        return epsilon_greedy(key, q, self.epsilon(state, hparams))


def q_network(spec: EnvSpec, loss: CriticLoss, hidden_dims, layer_norm: bool, torso: str) -> DiscreteQNetwork:
    """The Q network of a discrete-action `spec`; `torso` "auto" is a CNN for image (H, W, C)
    observations and an MLP otherwise."""
    if not spec.discrete:
        raise ValueError(f"value-based agents need a discrete action space; {spec.name} is continuous")
    obs_ndim = len(spec.obs_shape)
    if torso == "auto":
        torso = "cnn" if obs_ndim == 3 else "mlp"
    return DiscreteQNetwork(tuple(hidden_dims), spec.action_dim, loss.output_dim, layer_norm, "relu", torso, obs_ndim)


def taken(outputs: jax.Array, action: jax.Array) -> jax.Array:
    """The head outputs of the taken action: (..., A, D) and integer actions (...) -> (..., D)."""
    index = action.astype(jnp.int32)[..., None, None]
    return jnp.take_along_axis(outputs, index, axis=-2)[..., 0, :]


def q_loss(loss: CriticLoss, outputs: jax.Array, action: jax.Array, target: jax.Array) -> jax.Array:
    """Per-example loss of the taken action's head outputs ((..., A, D), actions (...)) against a
    target from `CriticLoss.backup` (a scalar, or C51's distribution)."""
    return loss.loss_to(taken(outputs, action), target)


def greedy_bootstrap(loss: CriticLoss, select_outputs: jax.Array, eval_outputs: jax.Array) -> jax.Array:
    """The bootstrap target of the greedy action: chosen by `select_outputs`' values, read from
    `eval_outputs` (double Q-learning: online selects, target evaluates; pass the same array for
    the plain max). A scalar for the scalar losses, C51's probabilities of that action otherwise."""
    best = jnp.argmax(loss.values(select_outputs), axis=-1)
    return loss.bootstrap(taken(eval_outputs, best))


def linear_epsilon(progress: jax.Array, start: jax.Array, finish: jax.Array, decay: jax.Array) -> jax.Array:
    """Exploration rate falling linearly from `start` to `finish` over the first `decay` of
    training (`progress` and `decay` in the same units: updates, or fractions of the run)."""
    frac = jnp.clip(progress / jnp.maximum(decay, 1e-8), 0.0, 1.0)
    return start + frac * (finish - start)


def epsilon_greedy(key: jax.Array, q: jax.Array, epsilon: jax.Array) -> jax.Array:
    """Greedy actions of Q-values (..., A), each replaced by a uniform one with probability epsilon."""
    key_explore, key_action = jax.random.split(key)
    greedy = jnp.argmax(q, axis=-1)
    random = jax.random.randint(key_action, greedy.shape, 0, q.shape[-1])
    explore = jax.random.uniform(key_explore, greedy.shape) < epsilon
    return jnp.where(explore, random, greedy).astype(jnp.int32)
