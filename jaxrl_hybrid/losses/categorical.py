"""Value distributions on a fixed support: HL-Gauss, two-hot, C51 projection, cross-entropy.

"Stop Regressing: Training Value Functions via Classification" (Farebrother et al., 2024).
The support is `num_bins` bins evenly spanning [v_min, v_max]; bin i has edges
v_min + i*w and v_min + (i+1)*w with w = (v_max - v_min) / num_bins, and its centre is the
value it stands for. All functions are pure and unreduced: leading axes are kept.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import erf


def bin_width(v_min: float, v_max: float, num_bins: int) -> float:
    """Width of one bin of the support."""
    return (v_max - v_min) / num_bins


def bin_centres(v_min: float, v_max: float, num_bins: int) -> jax.Array:
    """Values the bins stand for, shape (num_bins,)."""
    w = bin_width(v_min, v_max, num_bins)
    return v_min + w * (jnp.arange(num_bins, dtype=jnp.float32) + 0.5)


def bin_edges(v_min: float, v_max: float, num_bins: int) -> jax.Array:
    """Bin boundaries, shape (num_bins + 1,)."""
    return jnp.linspace(v_min, v_max, num_bins + 1, dtype=jnp.float32)


def hl_gauss_probs(
    target: jax.Array, v_min: float, v_max: float, num_bins: int, sigma: float | None = None
) -> jax.Array:
    """Mass a Normal(target, sigma) puts on each bin, renormalised over the support.

    `sigma` defaults to 0.75 bin widths (the paper's ratio). Targets outside [v_min, v_max]
    are clipped to it. Returns probabilities of shape `target.shape + (num_bins,)`.
    """
    if sigma is None:
        sigma = 0.75 * bin_width(v_min, v_max, num_bins)
    target = jnp.clip(target, v_min, v_max)
    edges = bin_edges(v_min, v_max, num_bins)
    cdf = 0.5 * (1.0 + erf((edges - target[..., None]) / (jnp.sqrt(2.0) * sigma)))
    mass = cdf[..., 1:] - cdf[..., :-1]
    return mass / (cdf[..., -1:] - cdf[..., :1])


def _triangular_weights(points: jax.Array, centres: jax.Array) -> jax.Array:
    """Linear-interpolation weights of each point on its two neighbouring centres.

    `points` are assumed inside [centres[0], centres[-1]]; returns shape
    `points.shape + (num_bins,)` with rows summing to one.
    """
    w = centres[1] - centres[0]
    return jnp.clip(1.0 - jnp.abs(points[..., None] - centres) / w, 0.0, 1.0)


def two_hot_probs(target: jax.Array, v_min: float, v_max: float, num_bins: int) -> jax.Array:
    """Mass split between the two nearest bin centres, linear in distance.

    Targets beyond the outermost centres are clipped to them (all mass on the end bin).
    Returns probabilities of shape `target.shape + (num_bins,)`.
    """
    centres = bin_centres(v_min, v_max, num_bins)
    if num_bins == 1:
        return jnp.ones(target.shape + (1,), jnp.float32)
    target = jnp.clip(target, centres[0], centres[-1])
    return _triangular_weights(target, centres)


def c51_project(
    r_t: jax.Array,
    discount_t: jax.Array,
    probs_t: jax.Array,
    v_min: float,
    v_max: float,
) -> jax.Array:
    """Categorical (C51) projection of the distribution of `r_t + discount_t * Z_t` onto the support.

    `probs_t` has shape `r_t.shape + (num_bins,)`: the next-state value distribution on the
    bin centres. Shifted atoms outside the support are clipped to its outermost centres.
    Returns the projected probabilities, same shape as `probs_t`.
    """
    num_bins = probs_t.shape[-1]
    centres = bin_centres(v_min, v_max, num_bins)
    atoms = r_t[..., None] + discount_t[..., None] * centres
    atoms = jnp.clip(atoms, centres[0], centres[-1])
    weights = _triangular_weights(atoms, centres)  # (..., source atom j, target bin i)
    return jnp.einsum("...j,...ji->...i", probs_t, weights)


def logits_to_value(logits: jax.Array, v_min: float, v_max: float) -> jax.Array:
    """Expected value of softmax(logits) over the bin centres; drops the last axis."""
    centres = bin_centres(v_min, v_max, logits.shape[-1])
    return jnp.sum(jax.nn.softmax(logits, axis=-1) * centres, axis=-1)


def logits_variance(logits: jax.Array, v_min: float, v_max: float) -> jax.Array:
    """Variance of the bin centres under softmax(logits); drops the last axis."""
    centres = bin_centres(v_min, v_max, logits.shape[-1])
    probs = jax.nn.softmax(logits, axis=-1)
    mean = jnp.sum(probs * centres, axis=-1, keepdims=True)
    return jnp.sum(probs * (centres - mean) ** 2, axis=-1)


def categorical_cross_entropy(logits: jax.Array, target_probs: jax.Array) -> jax.Array:
    """Cross-entropy -sum(p * log softmax(logits)) over the last axis, unreduced otherwise.

    Computed as logsumexp(logits) - sum(p * logits), which equals it when p sums to one (every
    target distribution here does): one exp pass and no log-softmax array; its gradient is
    softmax(logits) - p.
    """
    return jax.nn.logsumexp(logits, axis=-1) - jnp.sum(target_probs * logits, axis=-1)
