"""Pure, unreduced loss functions (import only jax, chex and jaxrl_hybrid.types)."""

from jaxrl_hybrid.losses import categorical, iq, policy, preference, regression, td
from jaxrl_hybrid.losses.categorical import (
    bin_centres,
    c51_project,
    categorical_cross_entropy,
    hl_gauss_probs,
    logits_to_value,
    two_hot_probs,
)
from jaxrl_hybrid.losses.critic import CRITIC_LOSS_KINDS, SCALAR_TARGET_KINDS, CriticLoss
from jaxrl_hybrid.losses.regression import huber, squared_error
from jaxrl_hybrid.losses.td import bootstrap_discount, gae_advantages, td_target

__all__ = [
    "CRITIC_LOSS_KINDS",
    "CriticLoss",
    "SCALAR_TARGET_KINDS",
    "bin_centres",
    "bootstrap_discount",
    "c51_project",
    "categorical",
    "categorical_cross_entropy",
    "gae_advantages",
    "hl_gauss_probs",
    "huber",
    "iq",
    "logits_to_value",
    "policy",
    "preference",
    "regression",
    "squared_error",
    "td",
    "td_target",
    "two_hot_probs",
]
