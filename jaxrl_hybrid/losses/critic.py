"""The critic loss as a static choice: regression (MSE / Huber) or classification (HL-Gauss,
two-hot, C51).

A critic head emits `CriticLoss.output_dim` numbers per input: 1 for regression, `num_bins`
logits for classification. `values` reads a scalar value from those outputs whatever the
choice, and `loss` scores them against a scalar TD target. Every agent trains its critics
through these two functions, so switching the loss never touches an agent's update.

C51 (Bellemare et al., 2017) is distributional: its target is the next state's whole value
distribution, shifted by the reward and discount and projected back onto the support, not a
scalar. Agents that bootstrap from the next state's head outputs (DQN, PQN) write their
backups with `bootstrap` / `backup` / `loss_to`, which work for every kind: a scalar target
for the others, a projected distribution for C51. Agents whose target is a scalar built
otherwise (an ensemble minimum, an expectile) call `loss`, which refuses C51 by name.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Literal

import jax
import jax.numpy as jnp

from jaxrl_hybrid.losses import categorical, regression

CriticLossKind = Literal["mse", "huber", "hl_gauss", "two_hot", "c51"]
CRITIC_LOSS_KINDS: tuple[str, ...] = ("mse", "huber", "hl_gauss", "two_hot", "c51")
# Kinds trained towards a scalar target, usable by every agent; C51 needs a distributional backup.
SCALAR_TARGET_KINDS: tuple[str, ...] = ("mse", "huber", "hl_gauss", "two_hot")
# The reference code's TD loss is (Q - y)^2, ours 0.5 (Q - y)^2: a penalty coefficient taken from
# that code (CQL's alpha, H2O's beta) acts at this fraction here (`CriticLoss.penalty_weight`).
PENALTY_TD_SCALE = 0.5


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
        """The head emits bin logits (HL-Gauss, two-hot, C51)."""
        return self.kind in ("hl_gauss", "two_hot", "c51")

    @property
    def is_distributional(self) -> bool:
        """The target is a distribution on the support (C51), not a scalar."""
        return self.kind == "c51"

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
        if self.kind == "c51":
            raise ValueError("C51's target is a distribution of its own width: no fixed value scale")
        if self.kind == "hl_gauss":
            return math.sqrt((self.sigma_ratio * width) ** 2 + width**2 / 12.0)
        return width / math.sqrt(6.0)

    @property
    def penalty_scale(self) -> float:
        """1 / value_scale^2: the largest variance factor `penalty_weight` applies (1 for MSE and
        Huber). On Pendulum's default support (101 bins over [-1700, 100]) HL-Gauss gives
        1 / 14.3^2.
        """
        return 1.0 / self.value_scale**2

    def penalty_weight(self, outputs: jax.Array) -> jax.Array:
        """Factor on a critic penalty whose coefficient is given in the reference code's units
        (CQL's alpha, H2O's beta), from the head outputs (..., batch, output_dim) at the batch's
        data actions -> (...): `PENALTY_TD_SCALE` (0.5) for MSE and Huber; for a classification
        loss 0.5 / the variance of the predicted distributions over the bin centres, averaged over
        the batch, under a stop-gradient, and floored at the target's own variance (so at most
        0.5 * `penalty_scale`).

        The 0.5. The papers' code trains its critics on the mean of (Q - y)^2 with no 1/2
        (rlkit's CQL: nn.MSELoss; JaxCQL and Cal-QL: mean(square); H2O: F.mse_loss; d3rlpy's
        continuous critics: F.mse_loss), and its alpha = 5 / beta = 0.01 were set against that
        loss. This project's TD loss is 0.5 (Q - y)^2 (`losses.regression.squared_error`), so
        the same penalty weighs half as much here as there: alpha * 0.5 keeps the code's ratio
        (and the same optimum: Q shifted by alpha / 2 on the data's actions).

        Why the *predicted* variance. A penalty c * Q added to a cross-entropy moves the critic's
        optimum: minimising CE(p_bar, softmax(l)) - c * E[z] over the logits l gives
        p_i (1 - c (z_i - Q)) = p_bar_i, so Q shifts by about c * Var(p_bar), where p_bar is what
        the critic is trained towards at that input: the average of the target distributions over
        the TD targets it sees there (sampled next actions, bootstrapped values), which is what
        the critic predicts. Under 0.5 (Q - y)^2 the same penalty shifts Q by c whatever the
        targets' spread. So c / Var(predicted) keeps the weight MSE gives c. The earlier factor,
        1 / one target's variance, is right only while the targets do not vary. Under a
        conservative penalty they do. On Pendulum medium-replay Cal-QL's predicted std was 37.9
        against the target's 14.3, so the penalty weighed about 7 times the intended weight and
        held Q far above its TD target (experiments/offline_pendulum/README.md). The weight is
        self-limiting: a penalty that widens the distributions lowers its own weight.

        Literature: the papers that train CQL with a cross-entropy TD loss (Kumar et al., 2023,
        "Offline Q-learning on diverse multi-task data both scales and generalizes", with C51;
        Farebrother et al., 2024, "Stop regressing", with HL-Gauss) work on Atari, where clipped
        rewards keep the support a few units wide, and state no rescaling of alpha. This factor is
        our derivation from the optimum above, tested in tests/test_losses_categorical.py, not
        theirs: unscaled, a penalty of alpha = 5 per value unit swamps a loss of a few nats on a
        support hundreds of units wide.

        Cost: the softmax at the data actions is the one `values` computes there; XLA's common
        subexpression elimination keeps one (one `exponential` in the compiled CQL penalty with
        and without this factor, HL-Gauss, JAX 0.10.2), so the factor adds only its reductions.
        """
        if not self.is_categorical:
            return jnp.full(outputs.shape[:-2], PENALTY_TD_SCALE, outputs.dtype)
        variance = categorical.logits_variance(outputs, self.v_min, self.v_max).mean(axis=-1)
        return PENALTY_TD_SCALE / jnp.maximum(jax.lax.stop_gradient(variance), self.value_scale**2)

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
        if self.is_distributional:
            raise ValueError(
                "critic loss 'c51' needs the next state's value distribution (`bootstrap` / `backup` / "
                "`loss_to`): only agents that bootstrap from their own head (dqn, pqn) support it"
            )
        target = jax.lax.stop_gradient(target)
        if self.kind == "mse":
            return regression.squared_error(outputs[..., 0], target)
        if self.kind == "huber":
            return regression.huber(outputs[..., 0], target, self.huber_delta)
        return categorical.categorical_cross_entropy(outputs, self.target_probs(target))

    # Backups that bootstrap from a head's outputs, for every kind. A "target" is a scalar array
    # (...) for the scalar kinds and probabilities (..., num_bins) for C51; both are linear, so
    # mixtures of targets (n-step, lambda-returns) are weighted sums of them.

    def bootstrap(self, outputs: jax.Array) -> jax.Array:
        """The target a head's outputs (..., output_dim) stand for: their values, or C51's probabilities."""
        if self.is_distributional:
            return jax.nn.softmax(outputs, axis=-1)
        return self.values(outputs)

    def backup(self, r_t: jax.Array, discount_t: jax.Array, target: jax.Array) -> jax.Array:
        """The target of `r_t + discount_t * target`: a scalar, or C51's projection of the shifted atoms."""
        if self.is_distributional:
            return categorical.c51_project(r_t, discount_t, target, self.v_min, self.v_max)
        return r_t + discount_t * target

    def mix(self, weight: jax.Array, a: jax.Array, b: jax.Array) -> jax.Array:
        """`weight * a + (1 - weight) * b` of two targets (a lambda-return's mixture)."""
        if self.is_distributional:
            weight = weight[..., None]
        return weight * a + (1.0 - weight) * b

    def target_value(self, target: jax.Array) -> jax.Array:
        """A target's scalar value (its mean for C51), for metrics."""
        if self.is_distributional:
            return jnp.sum(target * categorical.bin_centres(self.v_min, self.v_max, self.num_bins), axis=-1)
        return target

    def loss_to(self, outputs: jax.Array, target: jax.Array) -> jax.Array:
        """Unreduced loss of head outputs (..., output_dim) against a target from `backup`:
        `loss` for the scalar kinds, cross-entropy to the projected distribution for C51."""
        if self.is_distributional:
            return categorical.categorical_cross_entropy(outputs, jax.lax.stop_gradient(target))
        return self.loss(outputs, target)
