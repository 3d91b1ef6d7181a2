"""Meta-learning policy objectives with evolution strategies (LPO, TA-LPO).

    from jaxrl_hybrid.meta import MetaConfig, InnerConfig, meta_train
    meta_train(MetaConfig(objective="ta-lpo", population=64, generations=32,
                          inner=InnerConfig.for_env("gymnax:CartPole-v1")), out="runs/meta")

The objectives themselves (PPO's clip, LPO's and TA-LPO's learned drift) are pure losses in
`jaxrl_hybrid.losses.policy`, plugged into PPO through `PPOConfig.objective` with their
parameters traced in `PPOHParams.objective`.
"""

from jaxrl_hybrid.losses.policy import ClipObjective, DriftObjective, get_objective, learned_drift
from jaxrl_hybrid.meta.es import generation_key, make_generation, make_strategy, strategy_names
from jaxrl_hybrid.meta.inner import INNER_PRESETS, InnerConfig, make_inner
from jaxrl_hybrid.meta.train import MetaConfig, meta_train, read_config

__all__ = [
    "INNER_PRESETS",
    "ClipObjective",
    "DriftObjective",
    "InnerConfig",
    "MetaConfig",
    "generation_key",
    "get_objective",
    "learned_drift",
    "make_generation",
    "make_inner",
    "make_strategy",
    "meta_train",
    "read_config",
    "strategy_names",
]
