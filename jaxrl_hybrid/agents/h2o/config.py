"""H2O configuration (Niu et al., 2022): SAC's, plus the dynamics-gap machinery."""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
from flax import struct

from jaxrl_hybrid.agents.sac.config import SACConfig, SACHParams
from jaxrl_hybrid.models.dynamics import DynamicsConfig
from jaxrl_hybrid.models.gap import GAP_KINDS, DiscriminatorConfig
from jaxrl_hybrid.optim import as_float32


@dataclasses.dataclass(frozen=True)
class H2OConfig(SACConfig):
    """Static H2O settings. Every batch holds `real_fraction` real rows first, then sim rows.

    `gap` picks the estimator of log P_real / P_sim for sim transitions: "discriminator"
    (H2O's D_sa / D_sas, trained alongside) or "model" (our learned real-dynamics ensemble,
    fitted on the real data before training). H2O's u(s, a) averages -log_ratio over
    `num_next_samples` copies of s' perturbed by `next_state_noise`; the model gap is
    evaluated at s' itself, its densities smoothed by `model_smoothing` (`models.gap`).
    """

    backup_entropy: bool = False
    real_fraction: float = 0.5
    gap: str = "discriminator"
    discriminator: DiscriminatorConfig = DiscriminatorConfig()
    dynamics: DynamicsConfig = DynamicsConfig()
    num_next_samples: int = 10
    next_state_noise: float = 0.1
    model_smoothing: float = 0.1
    ratio_clip: tuple[float, float] = (1e-5, 1.0)
    gap_clip: tuple[float, float] = (1e-10, 10.0)

    def __post_init__(self):
        super().__post_init__()
        if self.gap not in GAP_KINDS:
            raise ValueError(f"H2OConfig.gap must be one of {GAP_KINDS}, got {self.gap!r}")
        if not 0.0 < self.real_fraction < 1.0:
            raise ValueError(f"H2OConfig.real_fraction must be in (0, 1), got {self.real_fraction}")

    def num_real(self, batch_size: int) -> int:
        """Real rows at the front of a minibatch of `batch_size` rows (static); both halves non-empty."""
        n_real = int(round(batch_size * self.real_fraction))
        if not 0 < n_real < batch_size:
            raise ValueError(
                f"batch_size={batch_size} with real_fraction={self.real_fraction} leaves no real or no sim rows"
            )
        return n_real


@struct.dataclass
class H2OHParams(SACHParams):
    """SAC's traced hyperparameters plus the penalty weight beta and the discriminators' rate."""

    h2o_beta: jnp.ndarray = 0.01
    disc_lr: jnp.ndarray = 3e-4


def default_hparams(**overrides) -> H2OHParams:
    """H2O's defaults: beta 0.01, learning rates 3e-4."""
    return as_float32(H2OHParams(**overrides))
