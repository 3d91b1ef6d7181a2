"""Policy objectives of PPO-style updates as drift functions (Mirror Learning; Kuba et al., 2022).

Every objective here is a per-example loss `-(r A - drift(r, A))`, r = pi / pi_old. PPO's
clipped surrogate is the drift `relu((r - clip(r, 1 - eps, 1 + eps)) A)`; LPO (Lu et al., 2022)
learns the drift with a small network f; TA-LPO (Jackson et al., 2024) also feeds f the
training progress n / N and the log of the budget N:

    drift = relu(f(x, t) - f(0, t) + relu((r - clip(r)) A) - 1e-4)
    x = [1 - r, (1 - r)^2, log r, (log r)^2] x (1, A)        (8 features, all 0 at r = 1)
    t = [n / N, log N]  (TA-LPO; empty for LPO)
    f(x, t) = tanh(x W_x + t W_t) W_out                       (no biases)

Subtracting f(0, t) keeps the drift exactly 0 at r = 1 for any parameters, which LPO gets
for free (no biases, x = 0) and TA-LPO would otherwise lose to its time inputs; the outer relu
keeps it non-negative. Those are the two properties a drift needs for Mirror Learning's
guarantees. The -1e-4 gives a dead zone around the clip drift's kink, as in the paper.

Parameters are plain dicts of arrays, so a population of them vmaps like any traced
hyperparameter. Pure and unreduced; imports only jax.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

NUM_DRIFT_FEATURES = 8
NUM_TIME_FEATURES = 2
DRIFT_MARGIN = 1e-4


def clipped_surrogate(ratio, advantage, clip_eps):
    """PPO's per-example loss -min(r A, clip(r, 1 - eps, 1 + eps) A)."""
    return -jnp.minimum(ratio * advantage, jnp.clip(ratio, 1.0 - clip_eps, 1.0 + clip_eps) * advantage)


def clip_drift(ratio, advantage, clip_eps):
    """PPO's drift relu((r - clip(r, 1 - eps, 1 + eps)) A): r A minus it is PPO's surrogate."""
    return jax.nn.relu((ratio - jnp.clip(ratio, 1.0 - clip_eps, 1.0 + clip_eps)) * advantage)


def drift_objective(ratio, advantage, drift):
    """Per-example loss -(r A - drift) of a drift-regularised policy objective."""
    return -(ratio * advantage - drift)


def drift_features(ratio, advantage):
    """(..., 8) inputs of the learned drift: [1-r, (1-r)^2, log r, (log r)^2] times 1 and A."""
    one_minus, log_r = 1.0 - ratio, jnp.log(ratio)
    base = jnp.stack([one_minus, jnp.square(one_minus), log_r, jnp.square(log_r)], axis=-1)
    return jnp.concatenate([base, base * advantage[..., None]], axis=-1)


def time_features(progress, log_budget, shape):
    """(..., 2) inputs [n / N, log N] broadcast to `shape` (the ratio's shape)."""
    t = jnp.stack([jnp.asarray(progress, jnp.float32), jnp.asarray(log_budget, jnp.float32)])
    return jnp.broadcast_to(t, (*shape, NUM_TIME_FEATURES))


def drift_network(params, x, t=None):
    """f(x, t) = tanh(x W_x + t W_t) W_out, no biases; (...,) from x (..., 8) and t (..., 2)."""
    h = x @ params["w_x"]
    if t is not None:
        h = h + t @ params["w_t"]
    return (jnp.tanh(h) @ params["w_out"])[..., 0]


def learned_drift(params, ratio, advantage, clip_eps, progress=None, log_budget=None):
    """relu(f(x, t) - f(0, t) + clip_drift - 1e-4): zero at r = 1 and non-negative for any params.

    `params` holds "w_x", "w_out" and, for a temporally-aware drift, "w_t"; then `progress`
    (n / N) and `log_budget` (log N) are required.
    """
    temporal = "w_t" in params
    if temporal and (progress is None or log_budget is None):
        raise ValueError("a temporally-aware drift (params with 'w_t') needs progress and log_budget")
    x = drift_features(ratio, advantage)
    t = time_features(progress, log_budget, jnp.shape(ratio)) if temporal else None
    f = drift_network(params, x, t) - drift_network(params, jnp.zeros_like(x), t)
    return jax.nn.relu(f + clip_drift(ratio, advantage, clip_eps) - DRIFT_MARGIN)


@dataclasses.dataclass(frozen=True)
class ClipObjective:
    """PPO's clipped surrogate (no parameters)."""

    name = "clip"
    temporal = False

    def init_params(self, key=None) -> dict:
        return {}

    def drift(self, params, ratio, advantage, clip_eps, progress=None, log_budget=None):
        return clip_drift(ratio, advantage, clip_eps)

    def loss(self, params, ratio, advantage, clip_eps, progress=None, log_budget=None):
        """Per-example -min(r A, clip(r) A), exactly PPO's loss."""
        return clipped_surrogate(ratio, advantage, clip_eps)


@dataclasses.dataclass(frozen=True)
class DriftObjective:
    """LPO's learned drift (temporal=False) or TA-LPO's (temporal=True); `hidden` units in f."""

    hidden: int = 128
    temporal: bool = False

    def __post_init__(self):
        if self.hidden < 1:
            raise ValueError(f"DriftObjective.hidden must be >= 1, got {self.hidden}")

    @property
    def name(self) -> str:
        return "ta-lpo" if self.temporal else "lpo"

    def init_params(self, key=None) -> dict:
        """All-zero parameters (f = 0: the drift is PPO's clip drift minus the margin), the
        usual ES starting mean; with `key`, small random ones (a population member's shape)."""
        shapes = {"w_x": (NUM_DRIFT_FEATURES, self.hidden), "w_out": (self.hidden, 1)}
        if self.temporal:
            shapes["w_t"] = (NUM_TIME_FEATURES, self.hidden)
        if key is None:
            return {k: jnp.zeros(s, jnp.float32) for k, s in shapes.items()}
        keys = jax.random.split(key, len(shapes))
        return {
            k: 0.1 * jax.random.normal(kk, s, jnp.float32)
            for kk, (k, s) in zip(keys, sorted(shapes.items()), strict=True)
        }

    def drift(self, params, ratio, advantage, clip_eps, progress=None, log_budget=None):
        return learned_drift(params, ratio, advantage, clip_eps, progress, log_budget)

    def loss(self, params, ratio, advantage, clip_eps, progress=None, log_budget=None):
        return drift_objective(ratio, advantage, self.drift(params, ratio, advantage, clip_eps, progress, log_budget))


OBJECTIVE_NAMES = ("clip", "lpo", "ta-lpo")


def get_objective(name: str, hidden: int = 128):
    """The policy objective called `name`: "clip" (PPO), "lpo" or "ta-lpo" (a learned drift)."""
    if name == "clip":
        return ClipObjective()
    if name in ("lpo", "ta-lpo"):
        return DriftObjective(hidden=hidden, temporal=name == "ta-lpo")
    raise ValueError(f"unknown policy objective {name!r}; expected one of {OBJECTIVE_NAMES}")
