"""The experiment config: which algorithm, which env, how long, and the agent's own config."""

from __future__ import annotations

import dataclasses
from typing import Any

from jaxrl_hybrid.agents.registry import agent_info
from jaxrl_hybrid.envs.names import DEFAULT_ENV  # noqa: F401  (re-exported for the loops)


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Static description of one training run (the seed and traced hparams are separate).

    `agent` is the algorithm's static config (SACConfig, TD3Config, PPOConfig, IQLConfig...);
    None takes its defaults. `env_overrides` are dynamics-parameter overrides passed to
    `make_env`. Off-policy loops spend `learning_starts` steps on random actions before updating.
    Offline algorithms train on `dataset` (a path `jaxrl_hybrid.data.load` reads): then
    `total_steps` and `eval_every` count updates, and evaluation runs in the env (and
    dynamics) the dataset's metadata names; with `model_rollouts` their batches also mix in
    short rollouts of a learned dynamics model (`jaxrl_hybrid.models.rollouts`).

    Loop settings: every agent update gets `utd` minibatches of `batch_size` transitions
    (one critic step each); offline loops first `normalize_observations` by the dataset's
    statistics and multiply its rewards by `reward_scale` ("none", "return_range": 1000 / the
    episode-return range, or a number; `data.reward_scale_factor`). None takes the algorithm's
    paper default (`agents.registry`: batch 256, ReBRAC 1024; RIQL normalises; IQL and RIQL
    scale by the return range); on-policy agents set their own minibatches (batch_size None).
    Evaluation returns and normalised scores are always in the env's own rewards.

    `extract` is how an offline agent's evaluated policy comes out of its networks: "policy" (its
    actor) or "best-of-n" (Digi-Q: the highest-Q of `extract_n` samples of its policy,
    `agents.common.extract.BestOfN`); agents without a critic (BC) take only "policy".
    """

    algo: str = "sac"
    env: str | None = None  # online: DEFAULT_ENV when None; offline: the dataset's own env
    env_overrides: tuple[tuple[str, float], ...] = ()
    total_steps: int = 20_000
    num_envs: int = 1
    learning_starts: int = 1_000
    buffer_size: int = 100_000
    eval_every: int = 2_000
    num_eval_episodes: int = 10
    batch_size: int | None = None
    utd: int = 1
    normalize_observations: bool | None = None
    reward_scale: str | float | None = None
    agent: Any = None
    dataset: str | None = None
    model_rollouts: Any = None  # models.rollouts.ModelRollouts: MBPO/MOPO augmentation of offline batches
    extract: str = "policy"
    extract_n: int = 16
    demo_episodes: int | None = None

    def __post_init__(self):
        info = agent_info(self.algo)
        if self.batch_size is None:
            object.__setattr__(self, "batch_size", info.batch_size)
        elif info.batch_size is None:
            raise ValueError(f"TrainConfig.batch_size: {self.algo} sets its own minibatches in its agent config")
        if self.normalize_observations is None:
            object.__setattr__(self, "normalize_observations", info.normalize_observations)
        elif self.normalize_observations and info.loop != "offline":
            raise ValueError(f"TrainConfig.normalize_observations is an offline-loop setting; {self.algo} is online")
        if self.reward_scale is None:
            object.__setattr__(self, "reward_scale", info.reward_scale)
        elif self.reward_scale != "none" and info.loop != "offline":
            raise ValueError(f"TrainConfig.reward_scale is an offline-loop setting; {self.algo} is online")
        from jaxrl_hybrid.data.stats import check_reward_scale

        try:
            check_reward_scale(self.reward_scale)
        except ValueError as e:
            raise ValueError(f"TrainConfig.{e}") from None
        for name in ("total_steps", "num_envs", "buffer_size", "eval_every", "num_eval_episodes", "utd"):
            if getattr(self, name) < 1:
                raise ValueError(f"TrainConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.batch_size is not None and self.batch_size < 1:
            raise ValueError(f"TrainConfig.batch_size must be >= 1, got {self.batch_size}")
        if self.extract not in ("policy", "best-of-n"):
            raise ValueError(f"TrainConfig.extract must be 'policy' or 'best-of-n', got {self.extract!r}")
        if self.extract != "policy" and info.loop != "offline":
            raise ValueError(f"TrainConfig.extract is an offline-agent setting; {self.algo} is online")
        if self.extract_n < 1:
            raise ValueError(f"TrainConfig.extract_n must be >= 1, got {self.extract_n}")
        if self.learning_starts < 0:
            raise ValueError(f"TrainConfig.learning_starts must be >= 0, got {self.learning_starts}")
        if self.demo_episodes is not None:
            if self.demo_episodes < 1:
                raise ValueError(f"TrainConfig.demo_episodes must be >= 1, got {self.demo_episodes}")
            if info.loop != "offline":
                raise ValueError(f"TrainConfig.demo_episodes selects offline data; {self.algo} trains online")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view (the agent config included, with its class name)."""
        out = dataclasses.asdict(self)
        out["env_overrides"] = dict(self.env_overrides)
        if self.agent is not None:
            out["agent"] = {"type": type(self.agent).__name__, **dataclasses.asdict(self.agent)}
        if self.model_rollouts is None:
            out.pop("model_rollouts")
        return out
