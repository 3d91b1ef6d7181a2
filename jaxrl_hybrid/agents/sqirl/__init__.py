"""SQIRL: shallow Q-iteration via reinforcement learning (Laidlaw et al., 2023, "Bridging RL
Theory and Practice with the Effective Horizon").

Many MDPs are solved by a few steps of value iteration on the *random* policy's Q-function
followed by acting greedily. SQIRL learns one greedy policy per timestep t = 0, 1, ...: it
collects episodes that follow the already learned policies up to t and act uniformly at random
from t on, fits head 1 of a Q-network to the Monte-Carlo returns of the random continuation
(the random policy's Q), heads 2..k by k-1 steps of fitted-Q iteration
(Q_j(s, a) <- r + gamma max_a' Q_{j-1}(s', a')), and freezes the network as timestep t's policy
(greedy in head k). The authors' code trains one network continually over the growing buffer
and keeps a frozen copy per timestep; so does this one. The loop is `training.sqirl`.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
from flax import struct

from jaxrl_hybrid.agents.common.qlearning import q_network, taken
from jaxrl_hybrid.losses.critic import CriticLoss
from jaxrl_hybrid.optim import ModelState, apply_gradients, as_float32, init_model, make_optimizer
from jaxrl_hybrid.types import EnvSpec


@dataclasses.dataclass(frozen=True)
class SQIRLConfig:
    """Static SQIRL settings (the authors' defaults: 64x64 MLP, batch 256, gradient norm 10).

    `planning_depth` k: heads fitted (1 = greedy on the random policy's Q). `horizon`: timesteps
    that get their own policy; later steps act with the last one. Each stage (one timestep)
    collects one episode per env of the loop and makes `updates_per_stage` gradient steps.
    """

    hidden_dims: tuple[int, ...] = (64, 64)
    torso: str = "auto"
    layer_norm: bool = False
    critic_loss: CriticLoss = CriticLoss()
    planning_depth: int = 2
    horizon: int = 50
    updates_per_stage: int = 200
    max_grad_norm: float = 10.0

    def __post_init__(self):
        for name in ("planning_depth", "horizon", "updates_per_stage"):
            if getattr(self, name) < 1:
                raise ValueError(f"SQIRLConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.critic_loss.is_distributional:
            raise ValueError(
                "SQIRL regresses Monte-Carlo returns: its critic loss must be mse, huber, hl_gauss or two_hot"
            )


@struct.dataclass
class SQIRLHParams:
    lr: jnp.ndarray = 1e-3
    gamma: jnp.ndarray = 0.99


def default_hparams(**overrides) -> SQIRLHParams:
    return as_float32(SQIRLHParams(**overrides))


@struct.dataclass
class SQIRLState:
    q: ModelState  # the network being fitted
    frozen: object  # its parameters frozen at the end of each stage: leaves (horizon, ...)
    num_frozen: jax.Array  # stages finished (policies learned)


class SQIRL:
    """k-head Q-network; `update` fits it on a batch of transitions with Monte-Carlo returns."""

    name = "sqirl"
    Config = SQIRLConfig
    HParams = SQIRLHParams

    def __init__(self, config: SQIRLConfig, spec: EnvSpec):
        self.config, self.spec = config, spec
        net = q_network(spec, config.critic_loss, config.hidden_dims, config.layer_norm, config.torso)
        # one head of `output_dim` per planning step: the network's last axis holds k x output_dim
        self.net = net.clone(out_dim=config.planning_depth * config.critic_loss.output_dim)
        self.tx = make_optimizer(config.max_grad_norm)

    def default_hparams(self, **overrides) -> SQIRLHParams:
        return default_hparams(**overrides)

    def init(self, key: jax.Array) -> SQIRLState:
        params = self.net.init(key, jnp.zeros((1, *self.spec.obs_shape)))
        frozen = jax.tree.map(lambda p: jnp.zeros((self.config.horizon, *p.shape), p.dtype), params)
        return SQIRLState(q=init_model(params, self.tx), frozen=frozen, num_frozen=jnp.zeros((), jnp.int32))

    def heads(self, params, obs: jax.Array) -> jax.Array:
        """Outputs of every head: (..., k, A, output_dim)."""
        out = self.net.apply(params, obs)  # (..., A, k * D)
        k = self.config.planning_depth
        out = out.reshape((*out.shape[:-1], k, -1))
        return jnp.moveaxis(out, -2, -3)

    def greedy(self, params, obs: jax.Array) -> jax.Array:
        """The greedy action of the deepest head (the policy SQIRL acts with)."""
        return jnp.argmax(self.config.critic_loss.values(self.heads(params, obs)[..., -1, :, :]), axis=-1)

    def policy_params(self, state: SQIRLState, timestep: jax.Array):
        """The frozen parameters of `timestep`'s policy (the last learned one past them)."""
        index = jnp.clip(jnp.minimum(timestep, state.num_frozen - 1), 0, self.config.horizon - 1)
        return jax.tree.map(lambda f: f[index], state.frozen)

    def act(self, state: SQIRLState, obs, key, deterministic: bool = True, hparams=None, timestep=None):
        """Greedy action of `timestep`'s policy (default: the last learned one)."""
        timestep = state.num_frozen - 1 if timestep is None else timestep
        return self.greedy(self.policy_params(state, timestep), obs).astype(jnp.int32)

    def update(self, state: SQIRLState, batch, key, hparams: SQIRLHParams):
        """One gradient step: head 1 to the batch's Monte-Carlo returns, head j to
        r + gamma max_a' Q_{j-1}(s', a') (no bootstrap after a termination)."""
        del key
        loss = self.config.critic_loss
        next_q = jax.lax.stop_gradient(loss.values(self.heads(state.q.params, batch.next_obs)))  # (B, k, A)
        discount = hparams.gamma * (1.0 - batch.terminated.astype(jnp.float32))
        fitted = batch.reward[:, None] + discount[:, None] * next_q[:, :-1].max(axis=-1)  # (B, k-1)
        targets = jnp.concatenate([batch.mc_return[:, None], fitted], axis=1)  # (B, k)

        def objective(params):
            outputs = taken(self.heads(params, batch.obs), batch.action[:, None])  # (B, k, D)
            per_head = loss.loss(outputs, targets)  # (B, k)
            return per_head.mean(axis=0).sum(), per_head.mean(axis=0)

        (_, per_head), grads = jax.value_and_grad(objective, has_aux=True)(state.q.params)
        q = apply_gradients(state.q, grads, self.tx, hparams.lr)
        metrics = {"td_loss": per_head.mean(), "mc_loss": per_head[0], "mc_return_mean": batch.mc_return.mean()}
        return state.replace(q=q), metrics

    def freeze(self, state: SQIRLState) -> SQIRLState:
        """Keep the current network as the next timestep's policy."""
        index = jnp.minimum(state.num_frozen, self.config.horizon - 1)
        frozen = jax.tree.map(lambda f, p: f.at[index].set(p), state.frozen, state.q.params)
        return state.replace(frozen=frozen, num_frozen=state.num_frozen + 1)
