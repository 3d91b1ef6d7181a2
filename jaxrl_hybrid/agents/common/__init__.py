"""Pieces every agent shares: optimiser steps with traced learning rates, target nets, critics."""

from jaxrl_hybrid.agents.common.critic import critic_regression_step, ensemble_values, utd_critic_updates
from jaxrl_hybrid.agents.common.spec import require_continuous
from jaxrl_hybrid.optim import (
    ModelState,
    apply_gradients,
    as_float32,
    init_model,
    make_optimizer,
    soft_update,
)

__all__ = [
    "ModelState",
    "apply_gradients",
    "as_float32",
    "critic_regression_step",
    "ensemble_values",
    "init_model",
    "make_optimizer",
    "require_continuous",
    "soft_update",
    "utd_critic_updates",
]
