"""The critic loss as a static choice: regression (MSE / Huber) or classification (HL-Gauss, two-hot).

A critic head emits `CriticLoss.output_dim` numbers per input: 1 for regression, `num_bins`
logits for classification. `values` reads a scalar value from those outputs whatever the
choice, and `loss` scores them against a scalar TD target. Every agent trains its critics
through these two functions, so switching the loss never touches an agent's update.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Literal

import jax

from jaxrl_hybrid.losses import categorical, regression

CriticLossKind = Literal["mse", "huber", "hl_gauss", "two_hot"]
CRITIC_LOSS_KINDS: tuple[str, ...] = ("mse", "huber", "hl_gauss", "two_hot")


@dataclasses.dataclass(frozen=True)
class CriticLoss:
    """Static critic-loss configuration (selects the compiled program).

    `v_min`/`v_max` bound the value support of the classification losses; choose them to
    cover the returns of the task (a target outside is clipped). `sigma_ratio` is HL-Gauss's
    sigma in bin widths.
    """

    kind: CriticLossKind = "mse"
    num_bins: int = 51
    v_min: float = -100.0
    v_max: float = 100.0
    sigma_ratio: float = 0.75
    huber_delta: float = 1.0

    def __post_init__(self):
        if self.kind not in CRITIC_LOSS_KINDS:
            raise ValueError(f"critic loss kind {self.kind!r} is not one of {', '.join(CRITIC_LOSS_KINDS)}")
        if self.is_categorical:
            if self.num_bins < 2:
                raise ValueError(f"critic loss num_bins must be >= 2, got {self.num_bins}")
            if not self.v_max > self.v_min:
                raise ValueError(f"critic loss needs v_max > v_min, got v_min={self.v_min}, v_max={self.v_max}")

    @property
    def is_categorical(self) -> bool:
        return self.kind in ("hl_gauss", "two_hot")

    @property
    def output_dim(self) -> int:
        return self.num_bins if self.is_categorical else 1

    @property
    def value_scale(self) -> float:
        """The spread, in value units, of the distribution this loss trains towards: the
        standard deviation of the target over the bin centres (1 for regression).

        At its optimum (logits = log p), the cheapest way for the cross-entropy to move the
        expected value Q by dQ is to tilt the logits along the bin values, which costs
        dQ^2 / (2 Var_p(z)) nats: a TD loss that is 0.5 (Q - y)^2 / Var_p(z), i.e. MSE divided
        by the target's variance. HL-Gauss: Var = sigma^2 + w^2 / 12 (the Gaussian binned into
        bins of width w). Two-hot: Var = f (1 - f) w^2 for a target a fraction f across its bin,
        w^2 / 6 on average. Huber stays at 1 (its gradient is bounded by `huber_delta` in value
        units, as the penalties' own).
        """
        if not self.is_categorical:
            return 1.0
        width = categorical.bin_width(self.v_min, self.v_max, self.num_bins)
        if self.kind == "hl_gauss":
            return math.sqrt((self.sigma_ratio * width) ** 2 + width**2 / 12.0)
        return width / math.sqrt(6.0)

    @property
    def penalty_scale(self) -> float:
        """Factor on a critic penalty written in value units (CQL's alpha, H2O's beta) so that it
        weighs against this loss as the paper's coefficient weighs against 0.5 (Q - y)^2:
        1 / value_scale^2 (1 for MSE and Huber). On Pendulum's default support (101 bins over
        [-1700, 100]) HL-Gauss gives 1 / 14.3^2: alpha 5 becomes 0.024.

        The papers that train CQL with a cross-entropy TD loss (Kumar et al., 2023, "Offline
        Q-learning on diverse multi-task data both scales and generalizes", with C51; Farebrother
        et al., 2024, "Stop regressing", with HL-Gauss) work on Atari, where clipped rewards keep
        the support a few units wide, and state no rescaling of alpha. Here the regulariser acts
        on the scalar Q read from the distribution (`values`), and this 1 / Var_p(z) is our
        derivation from the curvature above, not theirs: unscaled, a penalty of alpha = 5 per
        value unit swamps a loss of a few nats on a support hundreds of units wide.
        """
        return 1.0 / self.value_scale**2

    def values(self, outputs: jax.Array) -> jax.Array:
        """Scalar values from head outputs of shape (..., output_dim) -> (...)."""
        if self.is_categorical:
            return categorical.logits_to_value(outputs, self.v_min, self.v_max)
        return outputs[..., 0]

    def target_probs(self, target: jax.Array) -> jax.Array:
        """Classification target distribution for scalar targets (categorical kinds only)."""
        if self.kind == "hl_gauss":
            sigma = self.sigma_ratio * categorical.bin_width(self.v_min, self.v_max, self.num_bins)
            return categorical.hl_gauss_probs(target, self.v_min, self.v_max, self.num_bins, sigma)
        if self.kind == "two_hot":
            return categorical.two_hot_probs(target, self.v_min, self.v_max, self.num_bins)
        raise ValueError(f"critic loss {self.kind!r} has no target distribution")

    def loss(self, outputs: jax.Array, target: jax.Array) -> jax.Array:
        """Unreduced loss of head outputs (..., output_dim) against scalar targets (...).

        The target is wrapped in a stop-gradient here, where it is turned into what the
        head is trained towards.
        """
        target = jax.lax.stop_gradient(target)
        if self.kind == "mse":
            return regression.squared_error(outputs[..., 0], target)
        if self.kind == "huber":
            return regression.huber(outputs[..., 0], target, self.huber_delta)
        return categorical.categorical_cross_entropy(outputs, self.target_probs(target))
