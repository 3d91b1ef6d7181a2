"""Named model state and optimiser steps whose learning rate is a traced hyperparameter.

Below every layer that trains something (models, agents): it imports only jax, optax and flax.

The optimiser transforms gradients into Adam directions; the learning rate multiplies them
at update time, so it can be vmapped over a grid without living in the optimiser state.
"""

from __future__ import annotations

from typing import Any

import jax
import optax
from flax import struct


@struct.dataclass
class ModelState:
    """Parameters, optional target parameters and optimiser state of one network."""

    params: Any
    opt_state: Any
    target_params: Any = None


def make_optimizer(max_grad_norm: float | None = None, eps: float = 1e-8) -> optax.GradientTransformation:
    """Adam direction (no learning rate), optionally after global-norm clipping."""
    parts = [optax.clip_by_global_norm(max_grad_norm)] if max_grad_norm else []
    return optax.chain(*parts, optax.scale_by_adam(eps=eps))


def init_model(params: Any, tx: optax.GradientTransformation, with_target: bool = False) -> ModelState:
    """ModelState for fresh `params` (a copy as target if asked)."""
    return ModelState(params=params, opt_state=tx.init(params), target_params=params if with_target else None)


def apply_gradients(
    model: ModelState, grads: Any, tx: optax.GradientTransformation, learning_rate: jax.Array
) -> ModelState:
    """One optimiser step: params <- params - learning_rate * direction(grads)."""
    direction, opt_state = tx.update(grads, model.opt_state, model.params)
    params = jax.tree.map(lambda p, d: p - learning_rate * d, model.params, direction)
    return model.replace(params=params, opt_state=opt_state)


def soft_update(model: ModelState, tau: jax.Array) -> ModelState:
    """Polyak average: target <- tau * online + (1 - tau) * target."""
    target = jax.tree.map(lambda t, p: (1.0 - tau) * t + tau * p, model.target_params, model.params)
    return model.replace(target_params=target)


def as_float32(tree: Any) -> Any:
    """Every leaf as a float32 array (traced hyperparameters are arrays, never Python floats)."""
    return jax.tree.map(lambda x: jax.numpy.asarray(x, jax.numpy.float32), tree)
