"""TD3 training state."""

from __future__ import annotations

import jax
from flax import struct

from jaxrl_hybrid.optim import ModelState


@struct.dataclass
class TD3State:
    actor: ModelState  # with target_params
    critic: ModelState  # with target_params
    step: jax.Array
