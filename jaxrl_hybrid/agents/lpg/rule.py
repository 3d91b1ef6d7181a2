"""LPG's learned update rule (Oh et al., 2020): a backward recurrent network over a rollout that
outputs the agent's targets, here a GRU whose parameters are plain arrays (a population of
rules vmaps like any traced hyperparameter). TA-LPG (Jackson et al., 2024) also gives it the
training progress n / N and log N.

Per step t the rule reads [r_t, d_t, gamma, pi(a_t|s_t), phi(y(s_t)), phi(y(s_t+1))] (+ [n/N, log N]),
where y is the agent's categorical prediction vector and phi a small learned embedding of it,
runs backwards in time (the carried state is reset where an episode ended), and outputs

    pi_hat_t  the weight of grad log pi(a_t|s_t) in the agent's update (a learned advantage)
    y_hat_t   a distribution the agent's y(s_t) is moved towards (a learned bootstrap target)
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

NUM_STEP_FEATURES = 6
NUM_TIME_FEATURES = 2


@dataclasses.dataclass(frozen=True)
class LPGRule:
    """Sizes of the rule: GRU `hidden` units, y embedding `embed` units, `prediction_dim` m."""

    hidden: int = 16
    embed: int = 16
    prediction_dim: int = 30
    temporal: bool = False

    def __post_init__(self):
        for name in ("hidden", "embed", "prediction_dim"):
            if getattr(self, name) < 1:
                raise ValueError(f"LPGRule.{name} must be >= 1, got {getattr(self, name)}")

    @property
    def name(self) -> str:
        return "ta-lpg" if self.temporal else "lpg"

    def init_params(self, key=None) -> dict:
        """All-zero parameters (the usual ES starting mean: pi_hat = 0, y_hat uniform); with
        `key`, random ones (scaled 1/sqrt(fan-in))."""
        h, e, m = self.hidden, self.embed, self.prediction_dim
        d_in = NUM_STEP_FEATURES + (NUM_TIME_FEATURES if self.temporal else 0)
        shapes = {
            "phi_w1": (m, e),
            "phi_b1": (e,),
            "phi_w2": (e, 1),
            "gru_wi": (d_in, 3 * h),
            "gru_wh": (h, 3 * h),
            "gru_b": (3 * h,),
            "pi_w": (h, 1),
            "pi_b": (1,),
            "y_w": (h, m),
            "y_b": (m,),
        }
        if key is None:
            return {k: jnp.zeros(s, jnp.float32) for k, s in shapes.items()}
        keys = jax.random.split(key, len(shapes))
        return {
            k: jax.random.normal(kk, s, jnp.float32) / jnp.sqrt(float(s[0] if len(s) > 1 else 1))
            for kk, (k, s) in zip(keys, sorted(shapes.items()), strict=True)
        }


def embed_prediction(params, y_probs):
    """phi(y): (..., m) probabilities -> (...,) scalar."""
    h = jax.nn.relu(y_probs @ params["phi_w1"] + params["phi_b1"])
    return (h @ params["phi_w2"])[..., 0]


def gru_cell(params, x, h):
    """One GRU step (Cho et al., 2014): x (..., d_in), h (..., H) -> new h."""
    hidden = h.shape[-1]
    gi = x @ params["gru_wi"] + params["gru_b"]
    gh = h @ params["gru_wh"]
    z = jax.nn.sigmoid(gi[..., :hidden] + gh[..., :hidden])
    r = jax.nn.sigmoid(gi[..., hidden : 2 * hidden] + gh[..., hidden : 2 * hidden])
    n = jnp.tanh(gi[..., 2 * hidden :] + r * gh[..., 2 * hidden :])
    return (1.0 - z) * n + z * h


def rule_targets(
    rule: LPGRule, params, reward, terminated, done, gamma, pi_a, y_t, y_tp1, progress=None, log_budget=None
):
    """(pi_hat (T, B), y_hat (T, B, m)) for a time-major rollout.

    reward, terminated (the episode ended in a terminal state), done (terminated or truncated:
    the carried state is reset there), pi_a = pi(a_t|s_t) are (T, B); y_t, y_tp1 the agent's
    prediction probabilities at s_t and s_t+1, (T, B, m).
    """
    if rule.temporal and (progress is None or log_budget is None):
        raise ValueError("a temporally-aware rule (TA-LPG) needs progress and log_budget")
    feats = [
        reward,
        terminated.astype(jnp.float32),
        jnp.broadcast_to(gamma, reward.shape),
        pi_a,
        embed_prediction(params, y_t),
        embed_prediction(params, y_tp1),
    ]
    if rule.temporal:
        feats += [jnp.broadcast_to(progress, reward.shape), jnp.broadcast_to(log_budget, reward.shape)]
    x = jnp.stack(feats, axis=-1).astype(jnp.float32)

    def step(h, inputs):
        x_t, done_t = inputs
        h = gru_cell(params, x_t, h * (1.0 - done_t[..., None]))  # nothing flows back across an episode end
        return h, h

    h0 = jnp.zeros((*reward.shape[1:], rule.hidden), jnp.float32)
    _, hs = jax.lax.scan(step, h0, (x, done.astype(jnp.float32)), reverse=True)
    pi_hat = (hs @ params["pi_w"] + params["pi_b"])[..., 0]
    y_hat = jax.nn.softmax(hs @ params["y_w"] + params["y_b"], axis=-1)
    return pi_hat, y_hat
