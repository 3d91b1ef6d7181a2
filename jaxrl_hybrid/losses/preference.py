"""The Bradley-Terry preference loss (Christiano et al., 2017, "Deep Reinforcement Learning from
Human Preferences"), pure and unreduced (numpy reference in tests/test_preferences.py).

A reward model r(s, a) scores a segment by its summed reward R; the probability that segment a
is preferred to segment b is sigmoid(R_a - R_b). The label y = P(a preferred) is 1, 0, or 0.5
for "equally good".
"""

from __future__ import annotations

import jax


def bradley_terry_loss(return_a: jax.Array, return_b: jax.Array, label: jax.Array) -> jax.Array:
    """Per pair cross-entropy -[y log sigmoid(R_a - R_b) + (1 - y) log sigmoid(R_b - R_a)]."""
    logit = return_a - return_b
    return -(label * jax.nn.log_sigmoid(logit) + (1.0 - label) * jax.nn.log_sigmoid(-logit))
