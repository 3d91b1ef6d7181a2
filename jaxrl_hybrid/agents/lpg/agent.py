"""LPG agent: a policy and a prediction vector, updated towards the learned rule's targets.

    loss = mean(-pi_hat * log pi(a|s) + y_coef * CE(y_hat, y(s))) - ent_coef * entropy

pi_hat and y_hat come from the rule (agents.lpg.rule) and are targets: no gradient flows into
them. The rollout layout and the on-policy loop are PPO's.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from jaxrl_hybrid.agents.common import apply_gradients, init_model, make_optimizer
from jaxrl_hybrid.agents.common.categorical import categorical_act, categorical_log_prob, categorical_sample
from jaxrl_hybrid.agents.lpg.config import LPGConfig, LPGHParams, default_hparams
from jaxrl_hybrid.agents.lpg.rule import rule_targets
from jaxrl_hybrid.agents.ppo.state import Rollout
from jaxrl_hybrid.losses.categorical import categorical_cross_entropy
from jaxrl_hybrid.networks import CategoricalPolicy
from jaxrl_hybrid.optim import ModelState
from jaxrl_hybrid.types import EnvSpec


@struct.dataclass
class LPGState:
    model: ModelState  # params = {"actor": ..., "predictor": ...}
    step: jax.Array


class LPG:
    """Learned policy gradient agent (discrete actions)."""

    name = "lpg"
    Config = LPGConfig
    HParams = LPGHParams

    def __init__(self, config: LPGConfig, spec: EnvSpec):
        if not spec.discrete:
            raise ValueError("the LPG agent has a categorical policy: it needs a discrete-action env")
        self.config, self.spec = config, spec
        obs_ndim = len(spec.obs_shape)  # image observations (MinAtar) are flattened
        self.actor = CategoricalPolicy(config.hidden_dims, spec.action_dim, config.activation, obs_ndim)
        self.predictor = CategoricalPolicy(config.hidden_dims, config.rule.prediction_dim, config.activation, obs_ndim)
        self.tx = make_optimizer(config.max_grad_norm, eps=1e-5)

    def default_hparams(self, **overrides) -> LPGHParams:
        return default_hparams(**overrides)

    def init(self, key: jax.Array) -> LPGState:
        key_actor, key_predictor = jax.random.split(key)
        obs = jnp.zeros((1, *self.spec.obs_shape))
        params = {"actor": self.actor.init(key_actor, obs), "predictor": self.predictor.init(key_predictor, obs)}
        return LPGState(model=init_model(params, self.tx), step=jnp.zeros((), jnp.int32))

    def sample(self, state: LPGState, obs, key, hparams=None, progress=None):
        return categorical_sample(self.actor.apply(state.model.params["actor"], obs), key)

    def act(self, state: LPGState, obs, key, deterministic: bool, hparams=None):
        return categorical_act(self.actor.apply(state.model.params["actor"], obs), key, deterministic)

    def update(self, state: LPGState, rollout: Rollout, key, hparams: LPGHParams, total_updates: int | None = None):
        """One gradient step on a (num_steps, num_envs) rollout towards the rule's targets."""
        rule = self.config.rule
        if rule.temporal and total_updates is None:
            raise ValueError("the ta-lpg rule needs the run's total_updates (training progress)")
        progress = state.step.astype(jnp.float32) / float(total_updates or 1)
        log_budget = jnp.log(float(total_updates or 1))
        params = state.model.params
        y_tp1 = jax.nn.softmax(self.predictor.apply(params["predictor"], rollout.next_obs))
        done = jnp.logical_or(rollout.terminated, rollout.truncated)

        def loss_fn(params):
            log_p = jax.nn.log_softmax(self.actor.apply(params["actor"], rollout.obs))
            log_pi_a = categorical_log_prob(log_p, rollout.action)
            y_logits = self.predictor.apply(params["predictor"], rollout.obs)
            pi_hat, y_hat = rule_targets(
                rule,
                hparams.objective,
                rollout.reward,
                rollout.terminated,
                done,
                hparams.gamma,
                jax.lax.stop_gradient(jnp.exp(log_pi_a)),
                jax.lax.stop_gradient(jax.nn.softmax(y_logits)),
                y_tp1,
                progress,
                log_budget,
            )
            pi_hat, y_hat = jax.lax.stop_gradient(pi_hat), jax.lax.stop_gradient(y_hat)
            pg = -(pi_hat * log_pi_a).mean()
            y_loss = categorical_cross_entropy(y_logits, y_hat).mean()
            entropy = -jnp.sum(jnp.exp(log_p) * log_p, axis=-1).mean()
            total = pg + hparams.y_coef * y_loss - hparams.ent_coef * entropy
            return total, {"policy_loss": pg, "prediction_loss": y_loss, "entropy": entropy, "pi_hat": pi_hat.mean()}

        (_, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
        model = apply_gradients(state.model, grads, self.tx, hparams.lr)
        return state.replace(model=model, step=state.step + 1), metrics
