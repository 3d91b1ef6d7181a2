"""Offline dataset generation: train SAC behaviour policies, roll them out in vmapped envs.

    policies = train_behaviour_policies(CollectConfig(env="gymnax:Pendulum-v1"), seed=0)
    medium = collect(policies, "medium", size=100_000, seed=0)

As D4RL does it: one SAC run is trained and snapshotted along the way. `expert` is the best
snapshot (its stochastic policy), `medium` the snapshot whose normalised score is closest
to a third of the expert's, `medium-replay` the training replay buffer up to the moment the
medium snapshot was taken, `medium-expert` half medium and half expert rollouts, `random`
uniform actions. Reference returns (random policy, expert policy) are measured here and
stored with every dataset, so normalised scores need no table copied from elsewhere.

Rollouts run `num_envs` auto-resetting envs in one scan and are stored env-major: each env's
stream is contiguous, and its last step ends an episode (timeout unless it terminated).
Everything is a function of (config, seed).
"""

from __future__ import annotations

from jaxrl_hybrid.training.collect.behaviour import (
    FALLBACK_TRAIN_STEPS,
    KINDS,
    BehaviourPolicies,
    CollectConfig,
    SACRun,
    q_and_policy,
    train_behaviour_policies,
    train_sac,
)
from jaxrl_hybrid.training.collect.datasets import cached_dataset, collect, generate
from jaxrl_hybrid.training.collect.rollout import rollout, rollout_shape, stitch_next_obs, with_actor

__all__ = [
    "FALLBACK_TRAIN_STEPS",
    "KINDS",
    "BehaviourPolicies",
    "CollectConfig",
    "SACRun",
    "cached_dataset",
    "collect",
    "generate",
    "q_and_policy",
    "rollout",
    "rollout_shape",
    "stitch_next_obs",
    "train_behaviour_policies",
    "train_sac",
    "with_actor",
]
