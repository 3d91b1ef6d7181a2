"""The inner loop of meta-learning: a whole PPO run whose policy objective is a parameter
(or an LPG agent's run, whose update rule is).

`make_inner(objective, config)` returns `train(key, objective_params) -> final returns`, a
pure function that `jit(vmap(vmap(train)))` turns into population x seeds runs in one program.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

from jaxrl_hybrid.agents.lpg import LPGConfig, LPGRule
from jaxrl_hybrid.agents.ppo import PPOConfig
from jaxrl_hybrid.training import TrainConfig, make_program

# PPO settings per env for the inner runs (PureJaxRL's, with budgets sized for CPU meta-training).
INNER_PRESETS: dict[str, dict[str, Any]] = {
    "gymnax:CartPole-v1": {"total_steps": 65_536, "num_envs": 4, "num_steps": 128, "lr": 2.5e-3},
    "gymnax:Acrobot-v1": {"total_steps": 131_072, "num_envs": 4, "num_steps": 128, "lr": 2.5e-3},
    "gymnax:MountainCar-v0": {"total_steps": 262_144, "num_envs": 8, "num_steps": 128, "lr": 2.5e-3},
    "gymnax:FourRooms-misc": {"total_steps": 32_768, "num_envs": 4, "num_steps": 128, "lr": 2.5e-3},
}
GENERIC_PRESET: dict[str, Any] = {"total_steps": 131_072, "num_envs": 4, "num_steps": 128, "lr": 2.5e-4}


@dataclasses.dataclass(frozen=True)
class InnerConfig:
    """One inner PPO run: the env, its budget and PPO's static settings.

    The fitness of an objective is the mean return of `num_eval_episodes` deterministic
    episodes of the final policy. `eval_points` > 1 also evaluates along the way (meta-eval's
    learning curves); meta-training evaluates only at the end.
    """

    env: str = "gymnax:CartPole-v1"
    total_steps: int = 65_536
    num_envs: int = 4
    num_steps: int = 128
    update_epochs: int = 4
    num_minibatches: int = 4
    hidden_dims: tuple[int, ...] = (64, 64)
    lr: float = 2.5e-3
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_eps: float = 0.2
    ent_coef: float = 0.01
    num_eval_episodes: int = 8
    eval_points: int = 1

    def __post_init__(self):
        steps_per_iter = self.num_envs * self.num_steps
        if self.total_steps < steps_per_iter * self.eval_points:
            raise ValueError(
                f"InnerConfig.total_steps={self.total_steps} is less than {self.eval_points} evaluation "
                f"point(s) of num_envs x num_steps = {steps_per_iter} steps"
            )
        if self.eval_points < 1:
            raise ValueError(f"InnerConfig.eval_points must be >= 1, got {self.eval_points}")

    @classmethod
    def for_env(cls, env: str, **overrides) -> InnerConfig:
        """The preset of `env` (INNER_PRESETS, else GENERIC_PRESET) with `overrides` (None skipped)."""
        settings = {**INNER_PRESETS.get(env, GENERIC_PRESET), "env": env}
        settings.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**settings)


def make_inner_program(objective, config: InnerConfig):
    """(TrainProgram, base hparams) of one inner run: PPO with a policy objective (clip, LPO,
    TA-LPO), or the LPG agent for an update rule (LPG, TA-LPG)."""
    if isinstance(objective, LPGRule):
        algo = "lpg"
        agent = LPGConfig(hidden_dims=config.hidden_dims, num_steps=config.num_steps, rule=objective)
        hparams = {"lr": config.lr, "gamma": config.gamma, "ent_coef": config.ent_coef}
    else:
        algo = "ppo"
        agent = PPOConfig(
            hidden_dims=config.hidden_dims,
            num_steps=config.num_steps,
            update_epochs=config.update_epochs,
            num_minibatches=config.num_minibatches,
            objective=objective,
        )
        hparams = {
            "lr": config.lr,
            "gamma": config.gamma,
            "gae_lambda": config.gae_lambda,
            "clip_eps": config.clip_eps,
            "ent_coef": config.ent_coef,
        }
    train_config = TrainConfig(
        algo=algo,
        env=config.env,
        total_steps=config.total_steps,
        num_envs=config.num_envs,
        learning_starts=0,
        eval_every=config.total_steps // config.eval_points,
        num_eval_episodes=config.num_eval_episodes,
        agent=agent,
    )
    program = make_program(train_config)
    return program, program.default_hparams.replace(**{k: jnp.float32(v) for k, v in hparams.items()})


def num_updates(program, config: InnerConfig) -> int:
    """The run's updates (rollout + gradient steps) as the on-policy loop counts them: N of
    TA-LPG's n / N; TA-LPO's N is this times update_epochs x num_minibatches."""
    return program.total_env_steps // (config.num_envs * config.num_steps)


def make_inner(objective, config: InnerConfig):
    """`train(key, objective_params) -> eval returns (eval_points, num_eval_episodes)`: one PPO run."""
    program, hparams = make_inner_program(objective, config)

    def train(key: jax.Array, objective_params) -> jax.Array:
        out = program.train(key, hparams.replace(objective=objective_params))
        return out["metrics"]["eval_returns"]

    return train
