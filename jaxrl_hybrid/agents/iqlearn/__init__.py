"""IQ-Learn: inverse soft-Q imitation (Garg et al., 2021, "IQ-Learn: Inverse soft-Q Learning for
Imitation"), from expert demonstrations, for continuous and discrete actions: offline
(`train --algo iqlearn`) and online (`finetune --algo iqlearn`: the agent's own transitions
beside the demonstrations, `IQLearnConfig.expert_rows`).

One soft Q-function is learned whose implied reward r(s, a) = Q(s, a) - gamma V(s') makes the
demonstrations optimal; no reward is read from the data. Per expert row the critic minimises
(`losses.iq.offline_objective`, the paper's offline "value_expert" loss with its chi-squared
regulariser on expert rows)

    -r(s, a) + (V(s) - gamma V(s')) + r(s, a)^2 / (4 alpha)

- **Continuous** (`spec.discrete` False): SAC's networks and actor (`agents.sac`): V(s) =
  min_i Q_i(s, a) - temperature log pi(a|s), a ~ pi(s), as IQ-Learn's SAC agent with its
  double-Q critic (each member on its own implied reward, the members' losses averaged); the
  actor takes SAC's step (`sac.update.actor_and_temperature_step`) on the learned Q.
- **Discrete**: one Q head per action (`networks.DiscreteQNetwork`), V(s) = temperature *
  logsumexp(Q(s, .) / temperature) and the policy softmax(Q / temperature), IQ-Learn's soft-Q agent.

Online (the paper's "value" form with the regulariser on every row, `losses.iq.online_objective`)
the expert term stays on demonstration rows and the value and chi-squared terms take every row.

V(s') is read from a Polyak-averaged target critic (IQ-Learn's `use_target` option; the
gradient flows through Q(s, a) and V(s) only). Defaults are IQ-Learn's MuJoCo settings: chi-squared
`chi2_alpha` 0.5, critic lr 3e-4, actor lr 3e-5, a fixed temperature 0.01 (`learn_temperature`
False), 256x256 networks, tau 0.005.

`recovered_reward(state, obs, action, next_obs, terminated, key)` is the learned reward as a
pure function, for other agents (`jaxrl-hybrid dataset relabel --reward-model RUN`).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
from flax import struct

from jaxrl_hybrid.agents.common import init_model, make_optimizer, q_values
from jaxrl_hybrid.agents.common.qlearning import q_network
from jaxrl_hybrid.agents.sac import losses as sac_losses
from jaxrl_hybrid.agents.sac.agent import SACNetworks
from jaxrl_hybrid.agents.sac.update import actor_and_temperature_step
from jaxrl_hybrid.losses import iq
from jaxrl_hybrid.losses.critic import CriticLoss
from jaxrl_hybrid.networks import QEnsemble, TanhGaussianPolicy, tanh_gaussian_sample
from jaxrl_hybrid.optim import ModelState, apply_gradients, as_float32, soft_update
from jaxrl_hybrid.types import Batch, EnvSpec


@dataclasses.dataclass(frozen=True)
class IQLearnConfig:
    """Static IQ-Learn settings. `num_critics` members (continuous actions; 2 is IQ-Learn's double
    Q), `init_temperature` (fixed unless `learn_temperature`, continuous only), `torso` of the
    discrete Q network ("auto": a CNN on image observations). `expert_rows`: None, every row is
    a demonstration (offline); n, the first n rows of every minibatch are demonstrations and the
    rest the agent's own transitions (online IQ-Learn, `finetune --algo iqlearn`, which sets it
    from the mixed batches' split)."""

    hidden_dims: tuple[int, ...] = (256, 256)
    num_critics: int = 2
    critic_layer_norm: bool = False
    init_temperature: float = 0.01
    learn_temperature: bool = False
    torso: str = "auto"
    expert_rows: int | None = None

    def __post_init__(self):
        if self.expert_rows is not None and self.expert_rows < 1:
            raise ValueError(f"IQLearnConfig.expert_rows must be >= 1 (or None: every row), got {self.expert_rows}")
        if self.num_critics < 1:
            raise ValueError(f"IQLearnConfig.num_critics must be >= 1, got {self.num_critics}")
        if self.init_temperature <= 0:
            raise ValueError(f"IQLearnConfig.init_temperature must be positive, got {self.init_temperature}")

    # What SAC's networks and actor loss read from a config (IQ-Learn's Q is not a regression
    # head: its critic is scalar, whatever --critic-loss says elsewhere).
    critic_loss = CriticLoss()
    actor_layer_norm = False
    activation = "relu"


@struct.dataclass
class IQLearnHParams:
    """Traced IQ-Learn hyperparameters (the paper's MuJoCo defaults)."""

    actor_lr: jnp.ndarray = 3e-5
    critic_lr: jnp.ndarray = 3e-4
    temp_lr: jnp.ndarray = 3e-4
    gamma: jnp.ndarray = 0.99
    tau: jnp.ndarray = 0.005
    chi2_alpha: jnp.ndarray = 0.5  # the chi-squared regulariser r^2 / (4 alpha)
    target_entropy_per_dim: jnp.ndarray = -1.0  # with learn_temperature


def default_hparams(**overrides) -> IQLearnHParams:
    return as_float32(IQLearnHParams(**overrides))


@struct.dataclass
class IQLearnState:
    """The soft Q critic (with target parameters), the actor (None for discrete actions, whose
    policy is the softmax of Q), the log temperature and the updates made."""

    critic: ModelState
    actor: ModelState | None
    log_temp: ModelState
    step: jax.Array


class IQLearn:
    """Offline IQ-Learn on expert demonstrations (the offline loop trains it; rewards unused)."""

    name = "iqlearn"
    Config = IQLearnConfig
    HParams = IQLearnHParams
    losses = sac_losses.LOSSES  # continuous actions: SAC's actor loss on the learned Q

    def __init__(self, config: IQLearnConfig, spec: EnvSpec):
        if spec.discrete and config.learn_temperature:
            raise ValueError("IQ-Learn learns the temperature for continuous actions only (SAC's entropy target)")
        self.config, self.spec = config, spec
        self.discrete = spec.discrete
        self.tx = make_optimizer()
        if self.discrete:
            self.q_net = q_network(spec, config.critic_loss, config.hidden_dims, config.critic_layer_norm, config.torso)
        else:
            self.nets = SACNetworks(
                actor=TanhGaussianPolicy(config.hidden_dims, spec.action_dim),
                critic=QEnsemble(config.hidden_dims, config.num_critics, 1, config.critic_layer_norm),
                action_dim=spec.action_dim,
            )

    def default_hparams(self, **overrides) -> IQLearnHParams:
        return default_hparams(**overrides)

    def init(self, key: jax.Array) -> IQLearnState:
        key_actor, key_critic = jax.random.split(key)
        obs = jnp.zeros((1, *self.spec.obs_shape))
        if self.discrete:
            critic, actor = self.q_net.init(key_critic, obs), None
        else:
            action = jnp.zeros((1, self.spec.action_dim))
            critic = self.nets.critic.init(key_critic, obs, action)
            actor = init_model(self.nets.actor.init(key_actor, obs), self.tx)
        return IQLearnState(
            critic=init_model(critic, self.tx, with_target=True),
            actor=actor,
            log_temp=init_model(jnp.log(jnp.asarray(self.config.init_temperature, jnp.float32)), self.tx),
            step=jnp.zeros((), jnp.int32),
        )

    # -- values ------------------------------------------------------------------------------
    def temperature(self, state: IQLearnState) -> jax.Array:
        return jax.lax.stop_gradient(jnp.exp(state.log_temp.params))

    def _q_all(self, params, obs):
        """Discrete: Q(s, .) of every action, (..., A)."""
        return self.config.critic_loss.values(self.q_net.apply(params, obs))

    def soft_value(self, state: IQLearnState, params, obs, key) -> jax.Array:
        """V(s) under `params`: the soft maximum over actions (discrete), or min_i Q_i(s, a) -
        temperature log pi(a|s) at one policy sample a ~ pi(s) (continuous)."""
        temp = self.temperature(state)
        if self.discrete:
            return iq.soft_value_discrete(self._q_all(params, obs), temp)
        mean, log_std = self.nets.actor.apply(state.actor.params, obs)
        action, log_prob = tanh_gaussian_sample(mean, log_std, key)
        return q_values(self, params, obs, jax.lax.stop_gradient(action)).min(axis=0) - temp * log_prob

    def q_taken(self, params, obs, action) -> jax.Array:
        """Q(s, a) of the taken actions: (batch,) discrete, (members, batch) continuous."""
        if self.discrete:
            q = self._q_all(params, obs)
            return jnp.take_along_axis(q, action.astype(jnp.int32)[..., None], axis=-1)[..., 0]
        return q_values(self, params, obs, action)

    def recovered_reward(self, state: IQLearnState, obs, action, next_obs, terminated, key, hparams=None):
        """The reward the critic explains, r = Q(s, a) - gamma (1 - terminated) V(s') (online
        critic; min over members for continuous actions): what IQ-Learn exports for other agents."""
        hparams = self.default_hparams() if hparams is None else hparams
        q = self.q_taken(state.critic.params, obs, action)
        q = q if self.discrete else q.min(axis=0)
        next_v = self.soft_value(state, state.critic.params, next_obs, key)
        return iq.implied_reward(q, next_v, terminated, hparams.gamma)

    def _expert_weight(self, rows: int) -> jax.Array:
        """1 / (share of expert rows) on the first `expert_rows` rows, 0 on the policy's."""
        n = self.config.expert_rows
        if n > rows:
            raise ValueError(f"IQLearnConfig.expert_rows={n} is more than the minibatch's {rows} rows")
        return jnp.where(jnp.arange(rows) < n, rows / n, 0.0)

    # -- update ------------------------------------------------------------------------------
    def update(self, state: IQLearnState, batch: Batch, key: jax.Array, hparams: IQLearnHParams):
        """One critic step per minibatch along `batch`'s leading (UTD) axis, then (continuous)
        one actor step on all rows. Rows are demonstrations (the first `expert_rows` of each
        minibatch when set, else all); rewards are never read."""
        key_critic, key_actor = jax.random.split(key)

        def step(critic, xs):
            minibatch, k = xs
            k_next, k_pi = jax.random.split(k)
            current = state.replace(critic=critic)
            next_v = jax.lax.stop_gradient(self.soft_value(current, critic.target_params, minibatch.next_obs, k_next))

            def objective(params):
                q = self.q_taken(params, minibatch.obs, minibatch.action)
                v = self.soft_value(current, params, minibatch.obs, k_pi)
                terms = (q, v, next_v, minibatch.terminated, hparams.gamma, hparams.chi2_alpha)
                if self.config.expert_rows is None:
                    per_example = iq.offline_objective(*terms)
                else:
                    per_example = iq.online_objective(*terms, self._expert_weight(minibatch.terminated.shape[-1]))
                return per_example.mean(), (q, v)

            (loss, (q, v)), grads = jax.value_and_grad(objective, has_aux=True)(critic.params)
            critic = soft_update(apply_gradients(critic, grads, self.tx, hparams.critic_lr), hparams.tau)
            reward = iq.implied_reward(q, next_v, minibatch.terminated, hparams.gamma)
            return critic, {"iq_loss": loss, "q_mean": q.mean(), "v_mean": v.mean(), "reward_mean": reward.mean()}

        num_updates = jax.tree.leaves(batch)[0].shape[0]
        critic, metrics = jax.lax.scan(step, state.critic, (batch, jax.random.split(key_critic, num_updates)))
        state = state.replace(critic=critic, step=state.step + 1)
        metrics = {k: v[-1] for k, v in metrics.items()}
        if self.discrete:
            return state, metrics
        rows = jax.tree.map(lambda x: x.reshape(-1, *x.shape[2:]), batch)
        state, actor_metrics = actor_and_temperature_step(
            self, state, rows, key_actor, hparams, self.config.learn_temperature
        )
        return state, {**metrics, **actor_metrics}

    def act(self, state: IQLearnState, obs: jax.Array, key: jax.Array, deterministic: bool, hparams=None):
        """Continuous: tanh of the policy mean, or a policy sample. Discrete: the greedy action of
        Q, or a sample of softmax(Q / temperature)."""
        if self.discrete:
            q = self._q_all(state.critic.params, obs)
            if deterministic:
                return jnp.argmax(q, axis=-1).astype(jnp.int32)
            return jax.random.categorical(key, q / self.temperature(state), axis=-1).astype(jnp.int32)
        mean, log_std = self.nets.actor.apply(state.actor.params, obs)
        if deterministic:
            return jnp.tanh(mean)
        return tanh_gaussian_sample(mean, log_std, key)[0]


__all__ = ["IQLearn", "IQLearnConfig", "IQLearnHParams", "IQLearnState", "default_hparams"]
