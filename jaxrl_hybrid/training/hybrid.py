"""The hybrid loop: a fixed real dataset and a fast, vmapped, imperfect simulator at once.

Every iteration steps `num_envs` simulator envs (the sim side of a `envs.shifts` pair) with
the agent's policy into a replay buffer and makes `num_envs` updates; evaluation runs in the
real dynamics, where the dataset came from. Methods:

- "h2o": H2O (`agents.h2o`): batches `real_fraction` real rows + sim rows, importance
  weights and the dynamics-gap penalty from discriminators or the learned real-dynamics model;
- "sac-mix": naive mixing, SAC on the same half-real, half-sim batches;
- "sac-sim": SAC on simulator data only (the dataset is not used).

CQL on the real data only is the offline loop (`jaxrl-hybrid train --algo cql`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax

from jaxrl_hybrid.data import Dataset
from jaxrl_hybrid.training import replay
from jaxrl_hybrid.training.offline import dataset_reference_returns
from jaxrl_hybrid.training.offpolicy import make_offpolicy_program, mixed_learn
from jaxrl_hybrid.training.program import TrainProgram

HYBRID_METHODS = ("h2o", "sac-mix", "sac-sim")


@dataclasses.dataclass(frozen=True)
class HybridConfig:
    """Static description of a hybrid run (the seed and traced hparams are separate).

    `total_steps`, `learning_starts` and `eval_every` count simulator env steps. Every update
    gets `utd` minibatches of `batch_size` rows, `real_fraction` of them real. `agent` is the
    agent's config: an H2OConfig for "h2o" (None: H2O's defaults; `gap` and `real_fraction`
    override its own), a SACConfig (an H2OConfig's SAC part will do) for the SAC methods.
    """

    method: str = "h2o"
    shift: str = "pendulum-heavy-pole"
    gap: str = "discriminator"
    total_steps: int = 20_000
    learning_starts: int = 1_000
    eval_every: int = 2_000
    num_envs: int = 1
    buffer_size: int = 100_000
    num_eval_episodes: int = 10
    real_fraction: float = 0.5
    batch_size: int = 256
    utd: int = 1
    agent: Any = None
    dataset: str | None = None

    def __post_init__(self):
        if self.method not in HYBRID_METHODS:
            raise ValueError(f"HybridConfig.method must be one of {HYBRID_METHODS}, got {self.method!r}")
        for name in ("total_steps", "num_envs", "buffer_size", "eval_every", "num_eval_episodes", "batch_size", "utd"):
            if getattr(self, name) < 1:
                raise ValueError(f"HybridConfig.{name} must be >= 1, got {getattr(self, name)}")
        n_real = replay.offline_rows(self.batch_size, self.real_fraction)  # the rows mixed_learn takes
        if self.method != "sac-sim" and not 0 < n_real < self.batch_size:
            raise ValueError(
                f"HybridConfig: batch_size={self.batch_size} with real_fraction={self.real_fraction} "
                "leaves no real or no sim rows"
            )

    @property
    def algo(self) -> str:
        return self.method if self.method != "h2o" else f"h2o-{self.gap}"

    @property
    def env(self) -> str:
        from jaxrl_hybrid.envs.shifts import get_shift

        return get_shift(self.shift).env_name

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        if self.agent is not None:
            out["agent"] = {"type": type(self.agent).__name__, **dataclasses.asdict(self.agent)}
        return out


def hybrid_agent(config: HybridConfig, spec):
    """H2O for "h2o" (gap and real fraction from `config`), else SAC, on `config.agent`."""
    from jaxrl_hybrid.agents import SAC, SACConfig
    from jaxrl_hybrid.agents.h2o import H2O, H2OConfig

    if config.method == "h2o":
        cfg = config.agent if config.agent is not None else H2OConfig()
        if not isinstance(cfg, H2OConfig):
            raise ValueError(f"HybridConfig.agent: method 'h2o' needs an H2OConfig, got a {type(cfg).__name__}")
        return H2O(dataclasses.replace(cfg, gap=config.gap, real_fraction=config.real_fraction), spec)
    cfg = config.agent if config.agent is not None else SACConfig()
    if not isinstance(cfg, SACConfig):
        raise ValueError(f"HybridConfig.agent: method {config.method!r} needs a SACConfig, got a {type(cfg).__name__}")
    return SAC(cfg, spec)


def check_real_dataset(dataset: Dataset, shift: str, source: str = "the dataset") -> None:
    """The dataset must come from the shift's env with its real-side dynamics."""
    from jaxrl_hybrid.envs.shifts import get_shift

    s = get_shift(shift)
    meta = dataset.metadata
    if meta.get("env") != s.env_name:
        raise ValueError(f"{source}: metadata env is {meta.get('env')!r}, but shift {shift!r} is for {s.env_name}")
    dynamics = {k: float(v) for k, v in (meta.get("dynamics") or {}).items()}
    real = {k: float(v) for k, v in s.real.items()}
    if dynamics != real:
        raise ValueError(
            f"{source}: metadata dynamics {dynamics} are not the real side of {shift!r} ({real}); "
            "hybrid training needs data from the real system"
        )


def make_hybrid_program(config: HybridConfig, dataset: Dataset) -> TrainProgram:
    """`init` (agent, optional dynamics-model fit, random warm-up in the simulator) and chunks of
    simulator steps with updates, evaluated in the real dynamics."""
    from jaxrl_hybrid.envs.registry import make_pair

    check_real_dataset(dataset, config.shift, config.dataset or "the dataset")
    pair = make_pair(config.shift)
    agent = hybrid_agent(config, pair.env.spec)
    if config.method == "sac-sim":
        learn = None  # replay samples only
    else:
        learn = mixed_learn(agent, dataset, config.num_envs, config.real_fraction, (config.utd, config.batch_size))
    init_agent = None
    if config.method == "h2o" and config.gap == "model":

        def init_agent(key):
            from jaxrl_hybrid.models.dynamics import fit

            key_agent, key_model = jax.random.split(key)
            return agent.init(key_agent, dynamics=fit(key_model, dataset, agent.config.dynamics)[0])

    return make_offpolicy_program(
        agent,
        pair.env,
        pair.sim_params,
        config,
        learn=learn,
        eval_params=pair.real_params,
        init_agent=init_agent,
        reference_returns=dataset_reference_returns(dataset),
    )
