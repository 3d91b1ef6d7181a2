"""A reward model learned from pairwise segment preferences (Bradley-Terry; Christiano et al., 2017).

An ensemble of `num_members` MLPs r(s, a) (`networks.QNetwork`s, one per member, each on its own inputs),
inputs standardised by the training segments' statistics; each member trains on its own
bootstrap minibatches of pairs with the Bradley-Terry loss (`losses.preference`), as PEBBLE's
ensemble does; the reward is the members' mean. Discrete actions enter one-hot.

    model, history = fit_reward_model(key, RewardModelConfig(), train_segments, num_actions=None)
    r = predict_reward(model, obs, action)
    accuracy = preference_accuracy(model, held_out_segments)

A segment batch is a dict with `obs_a`, `act_a`, `obs_b`, `act_b` shaped (pairs, L, ...) and
`labels` (pairs,) = P(a preferred). `save_reward_model` / `load_reward_model` keep a model in one
file (flax msgpack) with its settings and metadata.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import serialization, struct

from jaxrl_hybrid.losses.preference import bradley_terry_loss
from jaxrl_hybrid.networks import QNetwork
from jaxrl_hybrid.networks.critics import ensemble

FORMAT = "jaxrl_hybrid.reward_model/1"


class RewardEnsemble(nn.Module):
    """`num_members` reward MLPs as one batched module; inputs and outputs carry a leading member
    axis, so every member can see its own bootstrap minibatch in one call."""

    hidden_dims: tuple[int, ...]
    num_members: int

    @nn.compact
    def __call__(self, obs: jax.Array, action: jax.Array) -> jax.Array:
        return ensemble(QNetwork, self.num_members, in_axes=0)(self.hidden_dims, 1)(obs, action)[..., 0]


@dataclasses.dataclass(frozen=True)
class RewardModelConfig:
    """Static settings of the ensemble and its training (PEBBLE's: 3 members, 256x256, Adam 3e-4)."""

    num_members: int = 3
    hidden_dims: tuple[int, ...] = (256, 256)
    batch_size: int = 64  # pairs per step
    learning_rate: float = 3e-4
    epochs: int = 50
    steps_per_epoch: int | None = None  # default: one pass over the pairs

    def __post_init__(self):
        for name in ("num_members", "batch_size", "epochs"):
            if getattr(self, name) < 1:
                raise ValueError(f"RewardModelConfig.{name} must be >= 1, got {getattr(self, name)}")


@struct.dataclass
class RewardModel:
    """Trained ensemble parameters and the input statistics; `num_actions` is set for discrete actions."""

    params: Any
    obs_mean: jax.Array
    obs_std: jax.Array
    hidden_dims: tuple[int, ...] = struct.field(pytree_node=False, default=(256, 256))
    num_members: int = struct.field(pytree_node=False, default=3)
    num_actions: int | None = struct.field(pytree_node=False, default=None)

    def module(self) -> RewardEnsemble:
        return RewardEnsemble(self.hidden_dims, self.num_members)

    def inputs(self, obs: jax.Array, action: jax.Array) -> tuple[jax.Array, jax.Array]:
        obs = (
            obs.reshape(*obs.shape[: obs.ndim - self.obs_mean.ndim], -1) - self.obs_mean.ravel()
        ) / self.obs_std.ravel()
        if self.num_actions is not None:
            action = jax.nn.one_hot(action.astype(jnp.int32), self.num_actions)
        return obs, action.astype(jnp.float32)


def member_rewards(model: RewardModel, params, obs: jax.Array, action: jax.Array, per_member: bool = False):
    """r(s, a) of every member: (members, *batch). With `per_member` the inputs already carry the
    leading member axis (each member its own rows); otherwise every member sees the same rows."""
    x, a = model.inputs(obs, action)
    if not per_member:
        x = jnp.broadcast_to(x, (model.num_members, *x.shape))
        a = jnp.broadcast_to(a, (model.num_members, *a.shape))
    return model.module().apply(params, x, a)


def predict_reward(model: RewardModel, obs: jax.Array, action: jax.Array) -> jax.Array:
    """The learned reward: the members' mean r(s, a), shape (*batch,)."""
    return member_rewards(model, model.params, obs, action).mean(axis=0)


def segment_logits(model: RewardModel, params, batch: dict, per_member: bool = False) -> jax.Array:
    """R_a - R_b of every member and pair: (members, pairs)."""
    ra = member_rewards(model, params, batch["obs_a"], batch["act_a"], per_member).sum(axis=-1)
    rb = member_rewards(model, params, batch["obs_b"], batch["act_b"], per_member).sum(axis=-1)
    return ra - rb


def preference_accuracy(model: RewardModel, batch: dict) -> float:
    """Share of the decided pairs (label not 0.5) whose preferred segment the model scores higher."""
    logits = segment_logits(model, model.params, batch).mean(axis=0)
    labels = np.asarray(batch["labels"])
    decided = labels != 0.5
    if not decided.any():
        raise ValueError("preference_accuracy: every pair is a tie (label 0.5); nothing to be right about")
    return float(np.mean((np.asarray(logits)[decided] > 0) == (labels[decided] > 0.5)))


def fit_reward_model(
    key: jax.Array, config: RewardModelConfig, batch: dict, num_actions: int | None = None
) -> tuple[RewardModel, dict[str, jax.Array]]:
    """Train the ensemble on labelled segment pairs (pure: jit it with `config` and
    `num_actions` static). Returns the model and `train_loss` per epoch (members' mean)."""
    key_init, key_train = jax.random.split(key)
    obs = jnp.concatenate([batch["obs_a"], batch["obs_b"]]).astype(jnp.float32)
    obs_dims = obs.shape[2:]
    flat = obs.reshape(-1, *obs_dims)
    model = RewardModel(
        params=None,
        obs_mean=flat.mean(axis=0),
        obs_std=flat.std(axis=0) + 1e-6,
        hidden_dims=tuple(config.hidden_dims),
        num_members=config.num_members,
        num_actions=num_actions,
    )
    x, a = model.inputs(batch["obs_a"][:1, 0], batch["act_a"][:1, 0])
    params = model.module().init(key_init, jnp.broadcast_to(x, (config.num_members, *x.shape)),
                                 jnp.broadcast_to(a, (config.num_members, *a.shape)))  # fmt: skip
    tx = optax.adam(config.learning_rate)
    opt_state = tx.init(params)
    n, k = batch["labels"].shape[0], config.num_members
    steps = config.steps_per_epoch or max(1, n // config.batch_size)

    def loss_fn(p, idx):
        picked = jax.tree.map(lambda v: v[idx], batch)  # (members, batch, ...): a bootstrap per member
        logits = segment_logits(model, p, picked, per_member=True)
        return bradley_terry_loss(logits, jnp.zeros_like(logits), picked["labels"]).mean() * k

    def step(carry, key_step):
        p, o = carry
        idx = jax.random.randint(key_step, (k, config.batch_size), 0, n)
        loss, grads = jax.value_and_grad(loss_fn)(p, idx)
        updates, o = tx.update(grads, o, p)
        return (optax.apply_updates(p, updates), o), loss / k

    def epoch(carry, key_epoch):
        carry, losses = jax.lax.scan(step, carry, jax.random.split(key_epoch, steps))
        return carry, losses.mean()

    (params, _), train_loss = jax.lax.scan(epoch, (params, opt_state), jax.random.split(key_train, config.epochs))
    return model.replace(params=params), {"train_loss": train_loss}


def save_reward_model(
    model: RewardModel, path: str | os.PathLike, metadata: dict | None = None, overwrite: bool = False
) -> Path:
    """One msgpack file: the format tag, the static settings, the arrays and `metadata` (JSON);
    written through a temporary file, so an existing file is replaced only by a complete one."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path}: already exists; pass overwrite to replace it")
    settings = {"hidden_dims": list(model.hidden_dims), "num_members": model.num_members,
                "num_actions": model.num_actions}  # fmt: skip
    body = {
        "format": FORMAT,
        "settings": json.dumps(settings),
        "metadata": json.dumps(metadata or {}, sort_keys=True),
        "arrays": serialization.to_state_dict(
            {"params": model.params, "obs_mean": model.obs_mean, "obs_std": model.obs_std}
        ),
    }
    body["arrays"] = jax.tree.map(np.asarray, body["arrays"])
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(serialization.msgpack_serialize(body))
    os.replace(tmp, path)
    return path


def load_reward_model(path: str | os.PathLike) -> tuple[RewardModel, dict]:
    """(model, metadata) from `save_reward_model`'s file; a clear error for anything else."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such reward model file")
    try:
        body = serialization.msgpack_restore(path.read_bytes())
    except Exception as e:  # msgpack raises several unrelated types on foreign bytes
        raise ValueError(f"{path}: not a reward model file ({type(e).__name__})") from None
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise ValueError(f"{path}: not a reward model file (expected format {FORMAT!r})")
    settings, arrays = json.loads(body["settings"]), body["arrays"]
    model = RewardModel(
        params=jax.tree.map(jnp.asarray, arrays["params"]),
        obs_mean=jnp.asarray(arrays["obs_mean"]),
        obs_std=jnp.asarray(arrays["obs_std"]),
        hidden_dims=tuple(settings["hidden_dims"]),
        num_members=int(settings["num_members"]),
        num_actions=settings["num_actions"],
    )
    return model, json.loads(body["metadata"])
