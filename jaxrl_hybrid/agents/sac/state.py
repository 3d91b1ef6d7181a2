"""SAC training state."""

from __future__ import annotations

import jax
from flax import struct

from jaxrl_hybrid.optim import ModelState


@struct.dataclass
class SACState:
    actor: ModelState
    critic: ModelState  # with target_params
    log_temp: ModelState
    step: jax.Array
