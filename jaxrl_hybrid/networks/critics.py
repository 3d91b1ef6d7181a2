"""Critics: Q ensembles as one batched module, and state-value heads.

A head's `out_dim` is 1 for a scalar value and `num_bins` for a categorical one; read values
and losses through `jaxrl_hybrid.losses.CriticLoss`, which knows which it is.
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxrl_hybrid.networks.mlp import MLP, activation_fn, flatten_obs


class QNetwork(nn.Module):
    """Q(s, a) for a continuous action: MLP over [obs, action].

    `out_init` scales the output layer's init (`MLP.final_init_scale`: std out_init /
    sqrt(fan_avg)); 1 is the hidden layers' convention, 0.01 starts every Q near 0.
    """

    hidden_dims: Sequence[int]
    out_dim: int = 1
    layer_norm: bool = False
    activation: str = "relu"
    out_init: float = 1.0

    @nn.compact
    def __call__(self, obs: jax.Array, action: jax.Array) -> jax.Array:
        x = jnp.concatenate([obs, action], axis=-1)
        act = activation_fn(self.activation)
        return MLP(self.hidden_dims, self.out_dim, self.layer_norm, act, final_init_scale=self.out_init)(x)


def ensemble(module: type[nn.Module], num_members: int, in_axes: int | None = None) -> type[nn.Module]:
    """`module` as `num_members` independent copies in one batched module (nn.vmap): parameters
    and outputs gain a leading member axis; inputs are shared (`in_axes` None) or split along
    `in_axes` (one slice per member)."""
    return nn.vmap(
        module,
        variable_axes={"params": 0},
        split_rngs={"params": True},
        in_axes=in_axes,
        out_axes=0,
        axis_size=num_members,
    )


class QEnsemble(nn.Module):
    """`num_members` independent Q networks evaluated as one batched module (nn.vmap).

    Returns outputs of shape (num_members, *batch, out_dim); parameters carry a leading
    member axis, so the whole ensemble is one set of matrix multiplies.
    """

    hidden_dims: Sequence[int]
    num_members: int = 2
    out_dim: int = 1
    layer_norm: bool = False
    activation: str = "relu"
    out_init: float = 1.0

    @nn.compact
    def __call__(self, obs: jax.Array, action: jax.Array) -> jax.Array:
        members = ensemble(QNetwork, self.num_members)
        return members(self.hidden_dims, self.out_dim, self.layer_norm, self.activation, self.out_init)(obs, action)


class ValueNetwork(nn.Module):
    """V(s): MLP over the observation (its `obs_ndim` axes flattened) with `out_dim` outputs
    (1 scalar or num_bins logits)."""

    hidden_dims: Sequence[int]
    out_dim: int = 1
    layer_norm: bool = False
    activation: str = "relu"
    obs_ndim: int = 1

    @nn.compact
    def __call__(self, obs: jax.Array) -> jax.Array:
        x = flatten_obs(obs, self.obs_ndim)
        return MLP(self.hidden_dims, self.out_dim, self.layer_norm, activation_fn(self.activation))(x)


class DiscreteQNetwork(nn.Module):
    """Q(s, .) of every discrete action at once: outputs (*batch, num_actions, out_dim).

    `torso` "mlp" flattens the observation; "cnn" (image observations such as MinAtar's
    10x10xC) first applies one 3x3 convolution of `conv_channels` with ReLU, as the MinAtar
    paper's and PQN's networks, then flattens. LayerNorm (PQN's default) goes before every
    hidden activation, the convolution's included.
    """

    hidden_dims: Sequence[int]
    num_actions: int
    out_dim: int = 1
    layer_norm: bool = False
    activation: str = "relu"
    torso: str = "mlp"
    obs_ndim: int = 1
    conv_channels: int = 16

    @nn.compact
    def __call__(self, obs: jax.Array) -> jax.Array:
        if self.torso == "cnn":
            if self.obs_ndim != 3:
                raise ValueError(f"the cnn torso needs (H, W, C) observations; these have {self.obs_ndim} axes")
            batch = obs.shape[:-3]
            x = obs.reshape((-1, *obs.shape[-3:]))
            x = nn.Conv(self.conv_channels, (3, 3), padding="VALID")(x)
            if self.layer_norm:
                x = nn.LayerNorm()(x)
            x = nn.relu(x).reshape((*batch, -1))
        elif self.torso == "mlp":
            x = flatten_obs(obs, self.obs_ndim)
        else:
            raise ValueError(f"unknown torso {self.torso!r}; expected 'mlp' or 'cnn'")
        x = MLP(self.hidden_dims, self.num_actions * self.out_dim, self.layer_norm, activation_fn(self.activation))(x)
        return x.reshape((*x.shape[:-1], self.num_actions, self.out_dim))


def min_over_subset(values: jax.Array, key: jax.Array, subset_size: int) -> jax.Array:
    """Minimum over a random subset of `subset_size` ensemble members (axis 0).

    With subset_size == ensemble size this is the clipped double-Q minimum; smaller subsets
    give the REDQ / WSRL target. The subset is drawn without replacement from `key`.
    """
    num_members = values.shape[0]
    if subset_size > num_members:
        raise ValueError(f"subset of {subset_size} from an ensemble of {num_members} members")
    if subset_size == num_members:
        return jnp.min(values, axis=0)
    idx = jax.random.choice(key, num_members, (subset_size,), replace=False)
    return jnp.min(values[idx], axis=0)
