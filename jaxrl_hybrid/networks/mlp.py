"""Multi-layer perceptron with optional LayerNorm."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import flax.linen as nn
import jax

# Hidden-layer activations by the name a static config gives (`activation="swish"`).
ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "relu": nn.relu,
    "tanh": nn.tanh,
    "swish": nn.swish,
    "gelu": nn.gelu,
    "elu": nn.elu,
}


def activation_fn(name: str) -> Callable[[jax.Array], jax.Array]:
    """The activation called `name`; a clear error for an unknown one."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; known: {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]


def scaled_init(scale: float) -> nn.initializers.Initializer:
    """Uniform variance-scaling init with std = scale / sqrt(fan_avg), LAPACK-free.

    Not flax's orthogonal init: it calls LAPACK's QR, and jaxlib 0.10's CPU runtime can
    deadlock when that custom call runs concurrently with a while loop of the same
    program (seen on 2-core machines: a vmapped `train` hung in 3 of 4 runs). Gains match
    the orthogonal convention (sqrt(2) hidden, 1 or 0.01 for heads).
    """
    return nn.initializers.variance_scaling(scale**2, "fan_avg", "uniform")


def flatten_obs(obs: jax.Array, obs_ndim: int) -> jax.Array:
    """Observations with their last `obs_ndim` axes (the env's observation shape) flattened into
    one: a dense layer on an image observation (MinAtar's 10x10xC) would otherwise act on its
    channel axis alone and keep the pixel axes as batch axes."""
    if obs_ndim == 1:
        return obs
    return obs.reshape((*obs.shape[: obs.ndim - obs_ndim], -1))


class MLP(nn.Module):
    """Dense layers with an activation (and LayerNorm before it, if asked) between them.

    The last layer has `out_dim` units and no activation; `out_dim=None` ends on the last
    hidden layer (activated), for use as a torso.
    """

    hidden_dims: Sequence[int]
    out_dim: int | None = None
    layer_norm: bool = False
    activation: Callable[[jax.Array], jax.Array] = nn.relu
    kernel_init_scale: float = 1.0
    final_init_scale: float = 1.0

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        for width in self.hidden_dims:
            x = nn.Dense(width, kernel_init=scaled_init(self.kernel_init_scale * math.sqrt(2.0)))(x)
            if self.layer_norm:
                x = nn.LayerNorm()(x)
            x = self.activation(x)
        if self.out_dim is not None:
            x = nn.Dense(self.out_dim, kernel_init=scaled_init(self.final_init_scale))(x)
        return x
