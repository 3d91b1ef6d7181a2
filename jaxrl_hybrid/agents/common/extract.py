"""Policy extraction from a trained critic: Best-of-N re-ranking (Digi-Q, Bai et al., 2025).

Digi-Q trains Q by offline TD and extracts its policy by sampling N actions from a behaviour
(BC) policy and taking the one the critic scores highest, instead of a policy-gradient step
through the critic. `BestOfN` applies that rule to any offline agent that has a critic and a
stochastic actor: the candidates are N samples of the agent's own policy (IQL's and RIQL's
AWR policy is the closest to the data's behaviour; CQL's and Cal-QL's tanh-Gaussian; TD3+BC's
and ReBRAC's deterministic actor with its exploration noise), ranked by the minimum over the
critic ensemble (the pessimistic value the agents' own targets use). With N = 1 it is the
agent's sampled policy. An agent whose Q is not one critic call on (obs, action) (ARSQ's sum of
a value and per-step advantages) ranks by its own `q_value(state, obs, action, hparams)`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrl_hybrid.agents.common.critic import q_values

EXTRACTIONS = ("policy", "best-of-n")


def check_extractable(agent, extract: str) -> None:
    """Refuse an extraction the agent cannot do, naming it."""
    if extract not in EXTRACTIONS:
        raise ValueError(f"extract {extract!r}: expected one of {', '.join(EXTRACTIONS)}")
    if extract == "best-of-n" and not hasattr(getattr(agent, "nets", None), "critic"):
        raise ValueError(f"--extract best-of-n ranks actions by a critic; {agent.name} has none")


class BestOfN:
    """`agent` whose `act` samples `n` actions from its policy and returns the one of highest Q.

    `act` ranks candidates for both deterministic and stochastic calls (evaluation included);
    its keys come from the caller, so runs stay reproducible. Everything else (update, init,
    nets...) is the agent's own.
    """

    def __init__(self, agent, n: int):
        if n < 1:
            raise ValueError(f"best-of-n needs n >= 1, got {n}")
        check_extractable(agent, "best-of-n")
        self.agent, self.n = agent, n

    def __getattr__(self, name):
        return getattr(self.agent, name)

    def candidates(self, state, obs, key, hparams=None) -> jax.Array:
        """`n` sampled actions per observation: (n, *obs batch, action_dim)."""
        keys = jax.random.split(key, self.n)
        return jax.vmap(lambda k: self.agent.act(state, obs, k, False, hparams))(keys)

    def act(self, state, obs, key, deterministic: bool = True, hparams=None):
        actions = self.candidates(state, obs, key, hparams)
        q = jax.vmap(lambda a: ranking_q(self.agent, state, obs, a, hparams))(actions)  # (n, ...)
        best = jnp.argmax(q, axis=0)
        return jnp.take_along_axis(actions, best[None, ..., None], axis=0)[0]


def ranking_q(agent, state, obs: jax.Array, action: jax.Array, hparams=None) -> jax.Array:
    """The value Best-of-N ranks an action by: the minimum over the agent's critic ensemble."""
    if hasattr(agent, "q_value"):
        return agent.q_value(state, obs, action, hparams).min(axis=0)
    return q_values(agent, state.critic.params, obs, action).min(axis=0)
