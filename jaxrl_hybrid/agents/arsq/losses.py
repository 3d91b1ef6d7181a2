"""ARSQ's objective as pure, unreduced functions (numpy references in tests/test_arsq.py).

Soft Q-learning with the action's soft advantage split auto-regressively over the coarse-to-fine
decision steps (`coding`): Q(s, a) = V(s) + sum_k A_k(s, a_<k, a_k), each step's soft advantage
normalised so that temperature * logsumexp(A_k / temperature) = 0 over its B bins. Then the
Boltzmann policy pi(a | s) = exp((Q(s, a) - V(s)) / temperature) = prod_k exp(A_k / temperature)
is the product of the steps' softmaxes, and V(s) is exactly the soft value
temperature * log sum_a exp(Q(s, a) / temperature) of all B^(L*D) actions: the TD target
r + gamma V'(s') needs no sum over actions.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrl_hybrid.losses.critic import CriticLoss


def soft_advantages(scores: jax.Array, temperature: jax.Array) -> jax.Array:
    """Scores (..., B) -> soft advantages A = scores - temperature * logsumexp(scores / temperature),
    so that sum_b exp(A_b / temperature) = 1 and every A_b <= 0."""
    return scores - temperature * jax.nn.logsumexp(scores / temperature, axis=-1, keepdims=True)


def taken_advantage(scores: jax.Array, choices: jax.Array, temperature: jax.Array) -> jax.Array:
    """Sum over steps of the chosen bins' soft advantages: scores (..., K, B), choices (..., K)
    (broadcast against the scores' leading axes, e.g. an ensemble's) -> (...)."""
    advantages = soft_advantages(scores, temperature)
    index = jnp.broadcast_to(choices[..., None], advantages.shape[:-1] + (1,))
    return jnp.take_along_axis(advantages, index, axis=-1)[..., 0].sum(axis=-1)


def td_target(reward: jax.Array, terminated: jax.Array, next_value: jax.Array, gamma: jax.Array) -> jax.Array:
    """Soft TD target r + gamma (1 - terminated) V'(s'); V' is the target network's soft value
    (the ensemble minimum), already the soft maximum over next actions."""
    return reward + gamma * (1.0 - terminated) * next_value


def td_loss(loss: CriticLoss, q: jax.Array, target: jax.Array) -> jax.Array:
    """Per-member, per-example regression loss of Q = V + sum_k A_k: (members, batch) -> same."""
    return loss.loss(q[..., None], target)


def conservative_penalty(taken: jax.Array) -> jax.Array:
    """CQL(H)'s penalty (Kumar et al., 2020, eq. 4) at the critic's own temperature:
    temperature * log sum_a exp(Q(s, a) / temperature) - Q(s, a_data) = V(s) - Q(s, a_data)
    = -sum_k A_k(a_data), the temperature times the Boltzmann policy's negative log-likelihood of
    the data's action. With normalised auto-regressive advantages the sum over all actions is
    exact and free. (..., ) -> (...), >= 0."""
    return -taken
