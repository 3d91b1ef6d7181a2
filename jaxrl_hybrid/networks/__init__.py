"""Flax modules: MLP, critic ensembles, value heads and policies."""

from jaxrl_hybrid.networks.critics import DiscreteQNetwork, QEnsemble, QNetwork, ValueNetwork, min_over_subset
from jaxrl_hybrid.networks.mlp import MLP
from jaxrl_hybrid.networks.policies import (
    CategoricalPolicy,
    DeterministicPolicy,
    GaussianPolicy,
    TanhGaussianPolicy,
    TanhMeanGaussianPolicy,
    tanh_gaussian_sample,
)

__all__ = [
    "MLP",
    "CategoricalPolicy",
    "DeterministicPolicy",
    "DiscreteQNetwork",
    "GaussianPolicy",
    "QEnsemble",
    "QNetwork",
    "TanhGaussianPolicy",
    "TanhMeanGaussianPolicy",
    "ValueNetwork",
    "min_over_subset",
    "tanh_gaussian_sample",
]
