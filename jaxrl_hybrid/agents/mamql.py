"""Multi-agent inverse soft-Q learning, MAMQL-style (Haynam et al., 2024, "Multi-Agent Marginal
Q-Learning from Demonstrations"): per-agent rewards recovered from joint demonstrations.

Each agent i has a critic over the joint action, Q_i(s, a_1, ..., a_N) (s: every agent's
observation, concatenated), and acts by its marginal

    Qbar_i(s, a_i) = sum_{a_-i} prod_{j != i} pi_j(a_j | s) Q_i(s, a_i, a_-i),
    pi_i(. | s)    = softmax(Qbar_i(s, .) / temperature),

a fixed point computed by `policy_iterations` rounds from uniform policies (the others' policies
held fixed inside the gradient). Each agent's marginal Q is trained with IQ-Learn's offline
objective on the demonstrations (`losses.iq.offline_objective`: the expert term on the
demonstrated a_i, the value term and the chi-squared regulariser), V_i = temperature *
logsumexp(Qbar_i / temperature), V_i(s') from a Polyak-averaged target. The recovered reward of
agent i for a joint transition is r_i(s, a) = Q_i(s, a) - gamma (1 - terminated) V_i(s').

Pure functions: `MAMQL(config, spec).init / update / act / recovered_rewards`, and `train(key,
demos, hparams)` for a whole run (jit and vmap it over seeds). Batches are dicts of `obs` (B,
agents, obs_dim), `actions` (B, agents), `next_obs`, `terminated` (B,).
"""

from __future__ import annotations

import dataclasses
import string

import jax
import jax.numpy as jnp
from flax import struct

from jaxrl_hybrid.losses import iq
from jaxrl_hybrid.networks import ValueNetwork
from jaxrl_hybrid.networks.critics import ensemble
from jaxrl_hybrid.optim import ModelState, apply_gradients, as_float32, init_model, make_optimizer, soft_update


@dataclasses.dataclass(frozen=True)
class MAMQLConfig:
    """Static settings: critic widths, the fixed temperature (IQ-Learn's discrete 0.01), the
    marginal-policy fixed-point rounds, and the run's updates and minibatch rows."""

    hidden_dims: tuple[int, ...] = (64, 64)
    temperature: float = 0.01
    policy_iterations: int = 3
    updates: int = 5_000
    batch_size: int = 128

    def __post_init__(self):
        if self.temperature <= 0 or self.policy_iterations < 1 or self.updates < 1 or self.batch_size < 1:
            raise ValueError(f"MAMQLConfig: temperature must be positive and counts >= 1, got {self}")


@struct.dataclass
class MAMQLHParams:
    lr: jnp.ndarray = 3e-4
    gamma: jnp.ndarray = 0.99
    tau: jnp.ndarray = 0.005
    chi2_alpha: jnp.ndarray = 0.5


@struct.dataclass
class MAMQLState:
    critic: ModelState  # every agent's joint-action critic, leading agent axis; with target params
    step: jax.Array


def marginal_q(q: jax.Array, policies: jax.Array) -> jax.Array:
    """Each agent's marginal Q: q (agents, B, A, ..., A) with one action axis per agent, policies
    (agents, B, A) -> (agents, B, A), agent i's table contracted with every other agent's policy."""
    n = q.shape[0]
    letters = string.ascii_lowercase[:n]
    out = []
    for i in range(n):
        others = [j for j in range(n) if j != i]
        spec = "z" + letters + "".join(f",z{letters[j]}" for j in others) + "->z" + letters[i]
        out.append(jnp.einsum(spec, q[i], *[policies[j] for j in others]))
    return jnp.stack(out)


def marginal_policies(q: jax.Array, temperature: float, iterations: int) -> tuple[jax.Array, jax.Array]:
    """(policies (agents, B, A), marginal Q (agents, B, A)) after `iterations` rounds of
    pi_i <- softmax(Qbar_i(pi_-i) / temperature) from uniform policies."""
    n, batch, actions = q.shape[0], q.shape[1], q.shape[-1]
    policies = jnp.full((n, batch, actions), 1.0 / actions)
    for _ in range(iterations):
        qbar = marginal_q(q, policies)
        policies = jax.nn.softmax(qbar / temperature, axis=-1)
    return policies, marginal_q(q, policies)


class MAMQL:
    """Offline multi-agent IQ-Learn on joint demonstrations of a `MultiAgentSpec` env."""

    name = "mamql"

    def __init__(self, config: MAMQLConfig, spec):
        self.config, self.spec = config, spec
        n, a = spec.num_agents, spec.num_actions
        self.net = ensemble(ValueNetwork, n)(config.hidden_dims, a**n)  # one joint-action head per agent
        self.tx = make_optimizer()

    def default_hparams(self, **overrides) -> MAMQLHParams:
        return as_float32(MAMQLHParams(**overrides))

    def init(self, key: jax.Array) -> MAMQLState:
        obs = jnp.zeros((1, self.spec.num_agents * self.spec.obs_dim))
        return MAMQLState(
            critic=init_model(self.net.init(key, obs), self.tx, with_target=True), step=jnp.zeros((), jnp.int32)
        )

    def q_tables(self, params, obs: jax.Array) -> jax.Array:
        """Q_i(s, a_1, ..., a_N) of every agent: obs (B, agents, obs_dim) -> (agents, B, A, ..., A)."""
        n, a = self.spec.num_agents, self.spec.num_actions
        flat = self.net.apply(params, obs.reshape(obs.shape[0], -1))
        return flat.reshape(n, obs.shape[0], *([a] * n))

    def values(self, params, obs: jax.Array):
        """(policies, marginal Q, V) of every agent, each (agents, B[, A])."""
        cfg = self.config
        policies, qbar = marginal_policies(self.q_tables(params, obs), cfg.temperature, cfg.policy_iterations)
        return policies, qbar, iq.soft_value_discrete(qbar, cfg.temperature)

    def update(self, state: MAMQLState, batch: dict, key: jax.Array, hparams: MAMQLHParams):
        del key  # the objective is exact: no sampled actions
        cfg, n = self.config, self.spec.num_agents
        _, _, next_v = self.values(state.critic.target_params, batch["next_obs"])
        next_v = jax.lax.stop_gradient(next_v)
        taken = jnp.swapaxes(batch["actions"], 0, 1).astype(jnp.int32)  # (agents, B)

        def objective(params):
            q = self.q_tables(params, batch["obs"])
            policies, _ = marginal_policies(jax.lax.stop_gradient(q), cfg.temperature, cfg.policy_iterations)
            qbar = marginal_q(q, policies)  # the others' policies held fixed
            v = iq.soft_value_discrete(qbar, cfg.temperature)
            q_expert = jnp.take_along_axis(qbar, taken[..., None], axis=-1)[..., 0]
            per_example = iq.offline_objective(
                q_expert, v, next_v, batch["terminated"], hparams.gamma, hparams.chi2_alpha
            )
            return per_example.mean(axis=1).sum(), (q_expert, v)

        (loss, (q_expert, v)), grads = jax.value_and_grad(objective, has_aux=True)(state.critic.params)
        critic = soft_update(apply_gradients(state.critic, grads, self.tx, hparams.lr), hparams.tau)
        metrics = {"iq_loss": loss / n, "q_mean": q_expert.mean(), "v_mean": v.mean()}
        return state.replace(critic=critic, step=state.step + 1), metrics

    def act(self, state: MAMQLState, obs: jax.Array, key: jax.Array, deterministic: bool) -> jax.Array:
        """Every agent's action from its marginal policy: obs (agents, obs_dim) -> (agents,)."""
        policies, _, _ = self.values(state.critic.params, obs[None])
        if deterministic:
            return jnp.argmax(policies[:, 0], axis=-1).astype(jnp.int32)
        return jax.random.categorical(key, jnp.log(policies[:, 0] + 1e-12), axis=-1).astype(jnp.int32)

    def recovered_rewards(self, state: MAMQLState, batch: dict, hparams: MAMQLHParams | None = None) -> jax.Array:
        """r_i(s, a) = Q_i(s, a) - gamma (1 - terminated) V_i(s') of the joint transitions: (B, agents)."""
        hparams = self.default_hparams() if hparams is None else hparams
        n = self.spec.num_agents
        q = self.q_tables(state.critic.params, batch["obs"])  # (agents, B, A, ..., A)
        actions = batch["actions"].astype(jnp.int32)
        rows = jnp.arange(actions.shape[0])
        q_joint = jnp.stack([q[i][(rows, *[actions[:, j] for j in range(n)])] for i in range(n)])
        _, _, next_v = self.values(state.critic.params, batch["next_obs"])
        return iq.implied_reward(q_joint, next_v, batch["terminated"], hparams.gamma).T

    def train(self, key: jax.Array, demos: dict, hparams: MAMQLHParams | None = None) -> tuple[MAMQLState, dict]:
        """`config.updates` updates on minibatches drawn uniformly from `demos`, transitions with a
        leading row axis (`envs.marl.transitions`). Pure: jit and vmap over keys."""
        hparams = self.default_hparams() if hparams is None else hparams
        rows = demos
        size = rows["terminated"].shape[0]
        key_init, key_train = jax.random.split(key)

        def step(state, k):
            idx = jax.random.randint(k, (self.config.batch_size,), 0, size)
            return self.update(state, jax.tree.map(lambda x: x[idx], rows), k, hparams)

        return jax.lax.scan(step, self.init(key_init), jax.random.split(key_train, self.config.updates))
