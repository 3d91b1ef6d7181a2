"""ARSQ: Auto-Regressive Soft Q-learning (Zhang et al., 2025, "Learning from Suboptimal Data in
Continuous Control via Auto-Regressive Soft Q-Network"), offline.

A continuous action is chosen as a coarse-to-fine code (`coding`: L levels of B bins per
dimension), one (level, dimension) step at a time; one network predicts the state's soft value
V(s) and, per step, the soft advantages of its B bins given the partial action so far
(`losses`: Q = V + sum_k A_k, each A_k normalised at the temperature). Training is
teacher-forced on the data's own action codes, so every step's advantages come out of one
batched pass; acting decodes step by step (greedy for evaluation, Boltzmann samples otherwise).

Offline, the TD loss alone would bootstrap from actions the data never took. The paper trains
online with demonstrations mixed in; here the critic carries CQL(H)'s conservative penalty
(Kumar et al., 2020) at weight `cql_alpha`, which under this parametrisation is exact and costs
no action samples: V(s) - Q(s, a_data) = -sum_k A_k(a_data) (`losses.conservative_penalty`).
The value is an ensemble of `num_critics` networks, each trained on the same target, the
minimum of their target networks' soft values (clipped double Q); acting uses the members'
mean advantages.
"""

from __future__ import annotations

import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp
from flax import struct

from jaxrl_hybrid.agents.arsq import coding
from jaxrl_hybrid.agents.arsq import losses as arsq_losses
from jaxrl_hybrid.agents.common import ModelState, apply_gradients, init_model, make_optimizer, require_continuous
from jaxrl_hybrid.losses.critic import CriticLoss
from jaxrl_hybrid.networks.critics import ensemble
from jaxrl_hybrid.networks.mlp import MLP, scaled_init
from jaxrl_hybrid.optim import as_float32, soft_update
from jaxrl_hybrid.types import Batch, EnvSpec


@dataclasses.dataclass(frozen=True)
class ARSQConfig:
    """Static ARSQ settings: `levels` x `bins` per action dimension (3 x 5 resolves [-1, 1] to
    2/125, CQN's default coarse-to-fine grid), the networks' widths, `num_critics` ensemble members.

    The critic loss is a regression (mse, huber): Q is the sum of a value and per-step
    advantages, a scalar; a classification head over Q would need Q's distribution, which a sum
    of separately predicted terms does not give.
    """

    hidden_dims: tuple[int, ...] = (256, 256)
    num_critics: int = 2
    critic_layer_norm: bool = False
    critic_loss: CriticLoss = CriticLoss()
    levels: int = 3
    bins: int = 5

    def __post_init__(self):
        if self.critic_loss.kind not in ARSQ.critic_loss_kinds:
            raise ValueError(
                f"ARSQ's Q is V(s) plus a sum of per-step soft advantages, a scalar: its critic loss must be "
                f"mse or huber, got {self.critic_loss.kind!r}"
            )
        if self.levels < 1:
            raise ValueError(f"ARSQConfig.levels must be >= 1, got {self.levels}")
        if self.bins < 2:
            raise ValueError(f"ARSQConfig.bins must be >= 2, got {self.bins}")
        if self.num_critics < 1:
            raise ValueError(f"ARSQConfig.num_critics must be >= 1, got {self.num_critics}")


@struct.dataclass
class ARSQHParams:
    """Traced ARSQ hyperparameters: Adam's `lr`, the soft-Q `temperature` (value units), the
    conservative weight `cql_alpha` (CQL's 5, in value units as CQL's own). The paper's
    temperature is for its online setting; 0.1 and 5 were the first values tried here, not tuned
    (on generated Pendulum medium data, 2 seeds, 3,000 updates at 64x64: 91.2 normalised against
    the data's 29.7)."""

    lr: jnp.ndarray = 3e-4
    gamma: jnp.ndarray = 0.99
    tau: jnp.ndarray = 0.005
    temperature: jnp.ndarray = 0.1
    cql_alpha: jnp.ndarray = 5.0


def default_hparams(**overrides) -> ARSQHParams:
    return as_float32(ARSQHParams(**overrides))


class ARSQNetwork(nn.Module):
    """V(s) and per-step bin scores: a torso on the observation; a value head; an advantage head
    on [torso features, partial action (D,), one-hot step (K,)] with `bins` outputs.

    `__call__(obs (*b, obs), context (*b, S, D) | None, steps (S,))` -> (V (*b,), scores (*b, S, B)
    or None): S steps scored at once (teacher forcing passes all K, decoding one)."""

    hidden_dims: tuple[int, ...]
    action_dim: int
    levels: int
    bins: int
    layer_norm: bool = False

    @nn.compact
    def __call__(self, obs: jax.Array, context: jax.Array | None = None, steps: jax.Array | None = None):
        h = MLP(self.hidden_dims, None, self.layer_norm)(obs)
        value = nn.Dense(1, kernel_init=scaled_init(1.0))(h)[..., 0]
        if context is None:
            return value, None
        onehot = jax.nn.one_hot(steps, coding.num_steps(self.levels, self.action_dim))  # (S, K)
        s = context.shape[-2]
        x = jnp.concatenate(
            [
                jnp.broadcast_to(h[..., None, :], (*h.shape[:-1], s, h.shape[-1])),
                context,
                jnp.broadcast_to(onehot, (*context.shape[:-1], onehot.shape[-1])),
            ],
            axis=-1,
        )
        scores = MLP(self.hidden_dims[-1:], self.bins, self.layer_norm, final_init_scale=0.01)(x)
        return value, scores


class ARSQEnsemble(nn.Module):
    """`num_members` ARSQ networks as one batched module; outputs gain a leading member axis."""

    hidden_dims: tuple[int, ...]
    action_dim: int
    levels: int
    bins: int
    layer_norm: bool = False
    num_members: int = 2

    @nn.compact
    def __call__(self, obs, context=None, steps=None):
        members = ensemble(ARSQNetwork, self.num_members)
        return members(self.hidden_dims, self.action_dim, self.levels, self.bins, self.layer_norm)(obs, context, steps)


@struct.dataclass
class ARSQState:
    critic: ModelState  # the value/advantage ensemble, with target parameters
    step: jax.Array


@dataclasses.dataclass(frozen=True)
class ARSQNetworks:
    critic: ARSQEnsemble


class ARSQ:
    """Offline ARSQ on continuous actions in [-1, 1] (the offline loop trains it)."""

    name = "arsq"
    Config = ARSQConfig
    HParams = ARSQHParams
    critic_loss_kinds = ("mse", "huber")  # the CLI's --critic-loss choices for ARSQ

    def __init__(self, config: ARSQConfig, spec: EnvSpec):
        require_continuous(self.name, spec)
        self.config, self.spec = config, spec
        self.action_dim = spec.action_dim
        self.num_steps = coding.num_steps(config.levels, spec.action_dim)
        self.nets = ARSQNetworks(
            critic=ARSQEnsemble(
                tuple(config.hidden_dims),
                spec.action_dim,
                config.levels,
                config.bins,
                config.critic_layer_norm,
                config.num_critics,
            )
        )
        self.tx = make_optimizer()

    def default_hparams(self, **overrides) -> ARSQHParams:
        return default_hparams(**overrides)

    def init(self, key: jax.Array) -> ARSQState:
        obs = jnp.zeros((1, *self.spec.obs_shape))
        context = jnp.zeros((1, self.num_steps, self.action_dim))
        params = self.nets.critic.init(key, obs, context, jnp.arange(self.num_steps))
        return ARSQState(critic=init_model(params, self.tx, with_target=True), step=jnp.zeros((), jnp.int32))

    def teacher_forced(self, params, obs: jax.Array, action: jax.Array):
        """V (members, *b) and every step's scores (members, *b, K, B) along the code of `action`,
        with that code's choices (*b, K)."""
        codes = coding.encode(action, self.config.levels, self.config.bins)
        context = coding.step_contexts(codes, self.config.bins)
        value, scores = self.nets.critic.apply(params, obs, context, jnp.arange(self.num_steps))
        return value, scores, coding.step_choices(codes)

    def q_value(self, state: ARSQState, obs: jax.Array, action: jax.Array, hparams=None) -> jax.Array:
        """Q(s, a) of every member, (members, *b), for continuous actions (read at their code's bins)."""
        hparams = self.default_hparams() if hparams is None else hparams
        value, scores, choices = self.teacher_forced(state.critic.params, obs, action)
        return value + arsq_losses.taken_advantage(scores, choices, hparams.temperature)

    def update(self, state: ARSQState, batch: Batch, key: jax.Array, hparams: ARSQHParams):
        """One gradient step per minibatch along `batch`'s leading (UTD) axis."""
        del key  # the update is deterministic given the batch
        loss = self.config.critic_loss

        def step(state: ARSQState, minibatch: Batch):
            next_value, _ = self.nets.critic.apply(state.critic.target_params, minibatch.next_obs)
            target = arsq_losses.td_target(
                minibatch.reward, minibatch.terminated, next_value.min(axis=0), hparams.gamma
            )

            def objective(params):
                value, scores, choices = self.teacher_forced(params, minibatch.obs, minibatch.action)
                taken = arsq_losses.taken_advantage(scores, choices, hparams.temperature)
                q = value + taken
                td = arsq_losses.td_loss(loss, q, target)  # (members, batch)
                penalty = arsq_losses.conservative_penalty(taken)
                total = td.mean(axis=1).sum() + hparams.cql_alpha * penalty.mean(axis=1).sum()
                return total, (q, td.mean(), penalty.mean(), value)

            (_, (q, td, penalty, value)), grads = jax.value_and_grad(objective, has_aux=True)(state.critic.params)
            critic = soft_update(apply_gradients(state.critic, grads, self.tx, hparams.lr), hparams.tau)
            metrics = {
                "td_loss": td,
                "cql_penalty": penalty,
                "q_mean": q.mean(),
                "v_mean": value.mean(),
                "target_mean": target.mean(),
            }
            return ARSQState(critic=critic, step=state.step + 1), metrics

        state, metrics = jax.lax.scan(step, state, batch)
        return state, {k: v[-1] for k, v in metrics.items()}

    def advantages_fn(self, params, obs: jax.Array, temperature: jax.Array):
        """`scores(context, step)` for `coding.autoregressive_decode`: the members' mean soft
        advantages of one step's bins."""

        def scores(context, step):
            _, z = self.nets.critic.apply(params, obs, context[..., None, :], step[None])
            return arsq_losses.soft_advantages(z[..., 0, :], temperature).mean(axis=0)

        return scores

    def act(self, state: ARSQState, obs, key, deterministic: bool, hparams=None):
        """The greedy code's action (each step's best bin), or one sampled from the Boltzmann
        policy step by step (softmax of the mean advantages over the temperature)."""
        hparams = self.default_hparams() if hparams is None else hparams
        scores = self.advantages_fn(state.critic.params, obs, hparams.temperature)
        codes = coding.autoregressive_decode(
            scores,
            obs.shape[: obs.ndim - len(self.spec.obs_shape)],
            self.config.levels,
            self.action_dim,
            self.config.bins,
            key=None if deterministic else key,
            temperature=hparams.temperature,
        )
        return coding.decode(codes, self.config.bins)
