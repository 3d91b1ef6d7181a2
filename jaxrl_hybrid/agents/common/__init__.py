"""Pieces every agent shares: optimiser steps with traced learning rates, target nets, critics."""

from jaxrl_hybrid.agents.common.critic import Losses, q_values, td_loss, utd_critic_updates
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
    "Losses",
    "ModelState",
    "apply_gradients",
    "as_float32",
    "init_model",
    "make_optimizer",
    "q_values",
    "require_continuous",
    "soft_update",
    "td_loss",
    "utd_critic_updates",
]
