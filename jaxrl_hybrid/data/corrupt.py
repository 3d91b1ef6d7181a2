"""Data corruption for robustness studies, as in RIQL (Yang et al., 2023).

A fraction `rate` of the transitions, drawn independently per row, has one field corrupted:

- random: observations, actions or next observations (target "dynamics") get
  `u * std(field)` added, u ~ Uniform[-scale, scale] per dimension; rewards are replaced by
  Uniform[-30 scale, 30 scale].
- adversarial: the perturbation u in [-scale, scale]^d (times the field's std) is found by
  projected signed-gradient descent on a pretrained Q function, minimising
  Q(s + u std, a) (observations), Q(s, a + u std) (actions) or Q(s' + u std, pi(s' + u std))
  (dynamics); rewards become -scale * r.

The attacked Q function (and the policy, for dynamics) are arguments: this package knows
nothing of agents. Corrupted actions are clipped to the data's action bounds when it
declares them (RIQL does not clip; our tanh policies cannot represent actions outside).
"""

from __future__ import annotations

import json
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl_hybrid.data.dataset import Dataset, discounted_returns_to_go, next_actions_within_episodes

TARGETS = ("observations", "actions", "rewards", "dynamics")
KINDS = ("random", "adversarial")
FIELD = {"observations": "observations", "actions": "actions", "rewards": "rewards", "dynamics": "next_observations"}


def corruption_mask(key: jax.Array, size: int, rate: float) -> jax.Array:
    """Which rows are corrupted: each row independently with probability `rate`."""
    return jax.random.uniform(key, (size,)) < rate


def pgd_attack(
    loss_fn: Callable[[jax.Array], jax.Array],
    u0: jax.Array,
    scale: float,
    num_steps: int,
    step_size: float,
) -> jax.Array:
    """Minimise `loss_fn(u)` (per-row losses, summed) over u in [-scale, scale] by signed gradient steps.

    Each step moves every coordinate by `step_size * scale` against the sign of its gradient,
    then clips back into the box: L-infinity projected gradient descent.
    """
    grad_fn = jax.grad(lambda u: loss_fn(u).sum())

    def step(u, _):
        u = u - step_size * scale * jnp.sign(grad_fn(u))
        return jnp.clip(u, -scale, scale), None

    u, _ = jax.lax.scan(step, u0, None, length=num_steps)
    return u


def _field_std(x: jax.Array) -> jax.Array:
    return jnp.std(x.reshape(x.shape[0], -1).astype(jnp.float32), axis=0).reshape(x.shape[1:])


def corrupt(
    dataset: Dataset,
    key: jax.Array,
    target: str = "observations",
    kind: str = "random",
    rate: float = 0.3,
    scale: float = 1.0,
    critic: Callable[[jax.Array, jax.Array], jax.Array] | None = None,
    policy: Callable[[jax.Array], jax.Array] | None = None,
    attack_steps: int = 100,
    step_size: float = 0.01,
    chunk_size: int = 16_384,
) -> Dataset:
    """The dataset with `target` corrupted on a `rate` fraction of rows (see module doc).

    `critic(obs, actions) -> Q` (any shape whose sum over non-batch axes is per-row, e.g. an
    ensemble's (members, batch)) and, for target "dynamics", `policy(obs) -> actions` are
    needed for kind "adversarial". Only the targeted field changes (returns-to-go follow the
    rewards); the metadata records the corruption. Deterministic given `key`.
    """
    if target not in TARGETS:
        raise ValueError(f"unknown corruption target {target!r}; expected one of {TARGETS}")
    if kind not in KINDS:
        raise ValueError(f"unknown corruption kind {kind!r}; expected one of {KINDS}")
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"corruption rate must be in [0, 1], got {rate}")
    if scale < 0:
        raise ValueError(f"corruption scale must be >= 0, got {scale}")
    if jnp.issubdtype(dataset.actions.dtype, jnp.integer) and target == "actions":
        raise ValueError("action corruption needs continuous actions; this dataset's actions are integers")
    key_mask, key_noise = jax.random.split(key)
    mask = corruption_mask(key_mask, dataset.size, rate)
    idx = np.flatnonzero(np.asarray(mask))
    field = FIELD[target]
    values = getattr(dataset, field)
    if kind == "adversarial" and target != "rewards":
        if critic is None or (target == "dynamics" and policy is None):
            need = "critic and policy" if target == "dynamics" else "critic"
            raise ValueError(f"adversarial corruption of {target} needs a pretrained {need} (Q function arguments)")

    if idx.size == 0:
        new_values = values
    elif target == "rewards":
        if kind == "random":
            noise = jax.random.uniform(key_noise, (idx.size,), minval=-30.0 * scale, maxval=30.0 * scale)
        else:
            noise = -scale * values[idx]
        new_values = values.at[idx].set(noise.astype(values.dtype))
    else:
        std = _field_std(values)
        rows = values[idx]
        u0 = jax.random.uniform(key_noise, rows.shape, minval=-scale, maxval=scale)
        if kind == "adversarial":
            u = _adversarial(dataset, target, idx, rows, u0, std, scale, critic, policy, attack_steps, step_size,
                             chunk_size)  # fmt: skip
        else:
            u = u0
        new_rows = rows + u * std
        if target == "actions":
            bounds = dataset.metadata.get("action_bounds")
            if bounds is not None:
                new_rows = jnp.clip(new_rows, bounds[0], bounds[1])
        new_values = values.at[idx].set(new_rows.astype(values.dtype))

    out = dataset.replace(**{field: new_values})
    if target == "rewards":
        rtg = discounted_returns_to_go(new_values, dataset.terminals, dataset.timeouts, dataset.gamma)
        out = out.replace(returns_to_go=jnp.asarray(rtg))
    if target == "actions":  # as if the corrupted file were loaded again
        nxt = next_actions_within_episodes(np.asarray(new_values), np.asarray(dataset.episode_ids))
        out = out.replace(next_actions=jnp.asarray(nxt))
    metadata = dataset.metadata
    metadata.setdefault("corruption", []).append(
        {"target": target, "kind": kind, "rate": rate, "scale": scale, "num_corrupted": int(idx.size)}
    )
    return out.replace(metadata_json=json.dumps(metadata, sort_keys=True))


def _adversarial(dataset, target, idx, rows, u0, std, scale, critic, policy, attack_steps, step_size, chunk_size):
    """Run the PGD attack over the corrupted rows in fixed-size chunks (one compile)."""
    if target == "observations":
        other = dataset.actions[idx]

        def loss(u, x, a):
            return critic(x + u * std, a)
    elif target == "actions":
        other = dataset.observations[idx]

        def loss(u, x, s):
            return critic(s, x + u * std)
    else:

        def loss(u, x, _):
            s = x + u * std
            return critic(s, policy(s))

        other = jnp.zeros((idx.size,), jnp.float32)

    @jax.jit
    def attack(u0, x, o):
        return pgd_attack(lambda u: loss(u, x, o), u0, scale, attack_steps, step_size)

    n = idx.size
    chunk = min(chunk_size, n)
    pad = (-n) % chunk

    def padded(a):
        return jnp.concatenate([a, jnp.repeat(a[-1:], pad, axis=0)]) if pad else a

    u0p, xp, op = padded(u0), padded(rows), padded(other)
    out = [attack(u0p[i : i + chunk], xp[i : i + chunk], op[i : i + chunk]) for i in range(0, n + pad, chunk)]
    return jnp.concatenate(out)[:n]
