"""Offline-to-online: offline pretraining, then online fine-tuning, in one pure program per seed.

    program = make_finetune_program(FinetuneConfig(method="wsrl", pretrain_updates=10_000), dataset)
    out = jax.jit(jax.vmap(program.train))(keys, hparams)      # every seed at once

Methods (`FinetuneConfig.method`):

- `wsrl` (Zhou et al., 2024): pretrain Cal-QL or CQL, load the weights into SAC, drop the
  offline data, collect `warmup_steps` steps with the frozen pretrained policy, then update
  online only (the WSRL paper: UTD 4, batch 1024 split into 4 critic minibatches of 256 and one
  actor step on all 1024 rows, actor lr 1e-4, critic lr 3e-4).
- `calql`, `cql`, `iql`: the pretrained agent keeps its own update (penalty included) online,
  on batches with an exact `offline_fraction` of offline rows (50/50, RLPD-style symmetric
  sampling). Cal-QL's online transitions get Monte-Carlo returns when their episode ends.
- `moorl` (Chaudhary et al., 2025): a SAC meta-policy; every step picks the offline or the
  online buffer at random, adapts a copy of the actor and critic with `moorl_inner_steps`
  SAC updates on it, and moves the meta-parameters towards the result by `moorl_meta_lr`
  (Reptile). No extra networks. Starts from scratch, or from pretrained Cal-QL/CQL weights.
- `iqlearn` (Garg et al., 2021): online IQ-Learn, by default from scratch (pretraining is
  offline IQ-Learn): every minibatch holds `offline_fraction` demonstration rows and the
  agent's own transitions, and no reward is read, the env's or the data's.
- `sac`: SAC from scratch on the same env, with `warmup_steps` uniform random steps.

The pretraining phase is `training.offline`'s program; the online phase is
`training.offpolicy.make_online_phase`, started from the pretrained agent state. Their keys
are named and independent (`fold_in(key, PHASE)`), so an online phase started from a saved
pretraining checkpoint is identical to the uninterrupted run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxrl_hybrid.agents.registry import FINETUNE_METHODS, FINETUNE_PRETRAINERS
from jaxrl_hybrid.data import Dataset, first_episodes, obs_normalizer, reward_scale_factor, scale_rewards
from jaxrl_hybrid.data import sample as sample_dataset
from jaxrl_hybrid.data.stats import check_reward_scale
from jaxrl_hybrid.training import replay
from jaxrl_hybrid.training.evaluation import evaluate
from jaxrl_hybrid.training.offline import (
    NormalizedAgent,
    dataset_env,
    dataset_reference_returns,
    make_offline_program,
)
from jaxrl_hybrid.training.offpolicy import (
    make_online_phase,
    mixed_learn,
    online_schedule,
    replay_learn,
    scan_updates,
)
from jaxrl_hybrid.training.program import TrainProgram

METHODS = FINETUNE_METHODS
# What each method can start from when FinetuneConfig.pretrain_updates > 0.
PRETRAINERS = FINETUNE_PRETRAINERS
# Methods that fine-tune their own pretrained agent on mixed offline / online batches.
KEEPS_DATA = tuple(m for m, agents in PRETRAINERS.items() if agents == (m,))
# fold_in indices of a seed's key: one independent stream per phase.
PRETRAIN_KEY, ONLINE_KEY, FRESH_AGENT_KEY, START_EVAL_KEY = 0, 1, 2, 3


# WSRL's paper settings (ALGORITHMS.md): a 10-critic LayerNorm ensemble with a min over a random
# 2, pretrained and fine-tuned; online UTD 4 with batch 1024, which WSRL's code (RLPD's high-UTD
# update) splits into 4 critic minibatches of 256 and one actor step on all 1024 rows.
WSRL_CRITICS = {"num_critics": 10, "num_min_critics": 2, "critic_layer_norm": True}
WSRL_ONLINE = {"online_batch_size": 256, "online_utd": 4}


def _default_agent_config(method: str):
    from jaxrl_hybrid.agents import CalQLConfig, CQLConfig, IQLConfig, IQLearnConfig, SACConfig

    if method == "wsrl":
        return CalQLConfig(**WSRL_CRITICS)
    return {"calql": CalQLConfig, "cql": CQLConfig, "iql": IQLConfig, "iqlearn": IQLearnConfig}.get(method, SACConfig)()


@dataclasses.dataclass(frozen=True)
class FinetuneConfig:
    """Static description of an offline-to-online run (seeds and traced hparams are separate).

    `agent` is the static config of the agent that is pretrained (CalQLConfig, CQLConfig,
    IQLConfig) or, for `sac` and MOORL from scratch, a SACConfig; None takes the method's
    default. `pretrain_updates` offline updates are evaluated every `pretrain_eval_every`
    (default: a fifth of them). Online, `online_steps` env steps per seed include the
    `warmup_steps` without updates (default: WSRL 5000 frozen-policy steps, SAC 1000 random
    steps, IQ-Learn 1000 steps of its own policy, else 0), with an evaluation every `eval_every`
    steps after the warm-up. Pretraining
    updates get `utd` minibatches of `batch_size` rows (default: the pretrained algorithm's, 256);
    online ones `online_utd` of `online_batch_size` (default: WSRL's 4 x 256, else the
    pretraining ones). WSRL's default agent is Cal-QL with WSRL's critic ensemble (`WSRL_CRITICS`).
    `reward_scale` (default: the pretrained algorithm's, `agents.registry`) multiplies the
    offline data's rewards and every online transition's alike (`data.reward_scale_factor`).
    `normalize_observations` (default: the pretrained algorithm's) trains on observations
    normalised by the offline data's statistics, offline and online alike: the agent
    normalises inside `act` and `update` (`NormalizedAgent`), both buffers stay raw.
    `demo_episodes`: only the dataset's first N episodes are used, offline and online.
    `env`: the env to fine-tune and evaluate in, for data that names none or to override the
    recorded one (shapes checked; `training.offline.dataset_env`).
    """

    method: str = "wsrl"
    agent: Any = None
    pretrain_updates: int = 10_000
    pretrain_eval_every: int | None = None
    online_steps: int = 20_000
    eval_every: int = 1_000
    warmup_steps: int | None = None
    batch_size: int | None = None
    utd: int = 1
    online_batch_size: int | None = None
    online_utd: int | None = None
    reward_scale: str | float | None = None
    normalize_observations: bool | None = None
    offline_fraction: float = 0.5
    num_envs: int = 1
    buffer_size: int = 100_000
    num_eval_episodes: int = 10
    moorl_inner_steps: int = 2
    moorl_meta_lr: float = 0.5
    moorl_offline_prob: float = 0.5
    dataset: str | None = None
    demo_episodes: int | None = None
    env: str | None = None

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"FinetuneConfig.method must be one of {METHODS}, got {self.method!r}")
        for name in ("online_steps", "eval_every", "num_envs", "buffer_size", "num_eval_episodes", "moorl_inner_steps",
                     "utd", "batch_size", "online_batch_size", "online_utd"):  # fmt: skip
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ValueError(f"FinetuneConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.pretrain_updates < 0:
            raise ValueError(f"FinetuneConfig.pretrain_updates must be >= 0, got {self.pretrain_updates}")
        if self.warmup_steps is not None and self.warmup_steps < 0:
            raise ValueError(f"FinetuneConfig.warmup_steps must be >= 0, got {self.warmup_steps}")
        if not 0.0 <= self.offline_fraction <= 1.0:
            raise ValueError(f"FinetuneConfig.offline_fraction must be in [0, 1], got {self.offline_fraction}")
        if not 0.0 < self.moorl_meta_lr <= 1.0 or not 0.0 <= self.moorl_offline_prob <= 1.0:
            raise ValueError(
                f"FinetuneConfig: moorl_meta_lr must be in (0, 1] and moorl_offline_prob in [0, 1], got "
                f"{self.moorl_meta_lr}, {self.moorl_offline_prob}"
            )
        if self.reward_scale is not None:
            try:
                check_reward_scale(self.reward_scale)
            except ValueError as e:
                raise ValueError(f"FinetuneConfig.{e}") from None
        if self.demo_episodes is not None and self.demo_episodes < 1:
            raise ValueError(f"FinetuneConfig.demo_episodes must be >= 1, got {self.demo_episodes}")
        if self.method == "sac" and self.pretrain_updates:
            raise ValueError("FinetuneConfig: method 'sac' trains from scratch; set pretrain_updates=0")

    @property
    def agent_config(self):
        return self.agent if self.agent is not None else _default_agent_config(self.method)

    @property
    def resolved_pretrain_eval_every(self) -> int:
        """Default: five evaluations when the updates split evenly, else one at the end."""
        if self.pretrain_eval_every is not None:
            return self.pretrain_eval_every
        return self.pretrain_updates // 5 if self.pretrain_updates % 5 == 0 else self.pretrain_updates

    @property
    def resolved_batch_size(self) -> int:
        """Pretraining minibatch rows: `batch_size`, else the pretrained algorithm's default."""
        return self._loop_setting("batch_size")

    @property
    def resolved_reward_scale(self) -> str | float:
        """`reward_scale`, else the pretrained algorithm's default ("none" from scratch)."""
        return self._loop_setting("reward_scale")

    @property
    def resolved_normalize_observations(self) -> bool:
        """`normalize_observations`, else the pretrained algorithm's default (False from scratch)."""
        return self._loop_setting("normalize_observations")

    def _loop_setting(self, name: str):
        """The field `name` if given, else the registry's default for the pretrained algorithm
        (for a run from scratch, SAC's: the online agent)."""
        from jaxrl_hybrid.agents.registry import agent_info

        value = getattr(self, name)
        if value is not None:
            return value
        return getattr(agent_info(pretrain_algo(self) or "sac"), name)

    @property
    def online_shape(self) -> tuple[int, int]:
        """(utd, batch_size) of the online updates."""
        defaults = WSRL_ONLINE if self.method == "wsrl" else {}
        batch_size = self.online_batch_size or defaults.get("online_batch_size") or self.resolved_batch_size
        return self.online_utd or defaults.get("online_utd") or self.utd, batch_size

    @property
    def resolved_warmup_steps(self) -> int:
        if self.warmup_steps is not None:
            return self.warmup_steps
        return {"wsrl": 5_000, "sac": 1_000, "iqlearn": 1_000}.get(self.method, 0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view with the settings that ran: the agent config and the loop settings
        a None left to the pretrained algorithm's default."""
        out = dataclasses.asdict(self)
        agent = self.agent_config
        out["agent"] = {"type": type(agent).__name__, **dataclasses.asdict(agent)}
        for name in ("batch_size", "reward_scale", "normalize_observations"):
            out[name] = self._loop_setting(name)
        return out


def pretrain_algo(config: FinetuneConfig) -> str | None:
    """The offline algorithm pretrained for `config` (None: no pretraining)."""
    from jaxrl_hybrid.agents import OFFLINE_AGENTS

    if config.pretrain_updates == 0:
        return None
    cfg_type = type(config.agent_config)
    algo = next((name for name, cls in OFFLINE_AGENTS.items() if cls.Config is cfg_type), None)
    allowed = PRETRAINERS.get(config.method, ())
    if algo not in allowed:
        raise ValueError(
            f"method {config.method!r} pretrains {' or '.join(allowed) or 'nothing'}; "
            f"FinetuneConfig.agent is a {cfg_type.__name__}"
        )
    return algo


def _online_agent(config: FinetuneConfig, spec):
    """The agent that acts and learns online: SAC for wsrl/moorl/sac (the pretrained
    CQL/Cal-QL state has SAC's structure), else the pretrained algorithm itself."""
    from jaxrl_hybrid.agents import AGENTS, SAC

    cfg = config.agent_config
    if config.method in ("wsrl", "moorl", "sac"):
        return SAC(cfg, spec)  # a CQL / Cal-QL config is a SACConfig: its SAC part builds the agent
    if config.method == "iqlearn":  # online IQ-Learn: the mixed batches' offline rows are the demonstrations
        rows = replay.offline_rows(config.online_shape[1], config.offline_fraction)
        if rows < 1:
            raise ValueError(
                "finetune --algo iqlearn imitates its demonstrations: offline_fraction must leave them rows"
            )
        cfg = dataclasses.replace(cfg, expert_rows=rows)
    return AGENTS[config.method](cfg, spec)


def reptile_step(meta, adapted, meta_lr: float):
    """Reptile: actor and critic parameters (and critic targets) move from `meta` towards
    `adapted` by `meta_lr`; optimiser moments, temperature and counters come from `adapted`."""

    def towards(m, a):
        return jax.tree.map(lambda x, y: x + meta_lr * (y - x), m, a)

    actor = adapted.actor.replace(params=towards(meta.actor.params, adapted.actor.params))
    critic = adapted.critic.replace(
        params=towards(meta.critic.params, adapted.critic.params),
        target_params=towards(meta.critic.target_params, adapted.critic.target_params),
    )
    return adapted.replace(actor=actor, critic=critic)


def moorl_learn(
    agent,
    dataset: Dataset,
    num_updates: int,
    inner_steps: int,
    meta_lr: float,
    offline_prob: float,
    shape: tuple[int, int],
):
    """MOORL's meta-update per env step: pick the offline or online buffer (probability
    `offline_prob` for offline), `inner_steps` SAC updates from the meta-state on it, then
    a Reptile step of size `meta_lr`. Returns `learn` and reports `moorl_offline` (the share
    of meta-steps that adapted on offline data). `shape` is (utd, batch_size) of each update."""
    shape = (inner_steps, *shape)

    def learn(agent_state, buffer, keys, hparams):
        def meta_step(meta, k_sample, k_inner):
            k_task, k_off, k_on = jax.random.split(k_sample, 3)
            use_offline = jax.random.bernoulli(k_task, offline_prob)
            offline = sample_dataset(dataset, k_off, shape).replace(next_action=None, mc_return=None)
            online = replay.sample(buffer, k_on, shape)
            batches = jax.tree.map(lambda a, b: jnp.where(use_offline, a.astype(b.dtype), b), offline, online)
            inner_keys = jax.random.split(k_inner, inner_steps)
            adapted, metrics = jax.lax.scan(
                lambda s, xs: agent.update(s, xs[0], xs[1], hparams), meta, (batches, inner_keys)
            )
            metrics = {name: v[-1] for name, v in metrics.items()}
            metrics["moorl_offline"] = use_offline.astype(jnp.float32)
            return reptile_step(meta, adapted, meta_lr), metrics

        return scan_updates(meta_step, agent_state, keys, num_updates)

    return learn


@dataclasses.dataclass(frozen=True)
class FinetuneProgram:
    """The phases of an offline-to-online run as pure functions.

    `pretrain` is the offline program (None without pretraining); `begin_online(agent_state,
    key, hparams)` evaluates the starting policy (`start_eval_returns`, also `start_eval`) and
    runs the warm-up (`start_online`);
    `online` runs the online chunks. `train(key, hparams)` chains them for one seed;
    the CLI runs the same pieces chunk by chunk, checkpointing in between.
    """

    pretrain: TrainProgram | None
    online: TrainProgram
    fresh_agent: Callable[[jax.Array], Any]
    begin_online: Callable[[Any, jax.Array, Any], tuple[Any, jax.Array]]
    start_eval: Callable[[Any, jax.Array, Any], jax.Array]  # begin_online's evaluation alone
    start_online: Callable[[Any, jax.Array, Any], Any]  # begin_online's runner alone
    default_hparams: Any
    reference_returns: tuple[float, float] | None
    method: str
    online_agent: Any  # acts with the states `online` produces (`agent.act(state, obs, key, True)`)
    reward_scale: float = 1.0  # the factor offline and online training rewards were multiplied by

    @staticmethod
    def phase_key(key: jax.Array, phase: int) -> jax.Array:
        return jax.random.fold_in(key, phase)

    def pretrained_agent(self, key: jax.Array, hparams: Any) -> tuple[Any, dict[str, jax.Array] | None]:
        """The agent state the online phase starts from, and the pretraining metrics."""
        if self.pretrain is None:
            return self.fresh_agent(self.phase_key(key, FRESH_AGENT_KEY)), None
        runner = self.pretrain.init(self.phase_key(key, PRETRAIN_KEY), hparams)
        runner, metrics = jax.lax.scan(
            lambda r, _: self.pretrain.run_chunk(r, hparams), runner, None, length=self.pretrain.num_chunks
        )
        return runner.agent_state, metrics

    def online_from(self, agent_state: Any, key: jax.Array, hparams: Any) -> dict[str, Any]:
        runner, start_eval = self.begin_online(agent_state, key, hparams)
        runner, metrics = jax.lax.scan(
            lambda r, _: self.online.run_chunk(r, hparams), runner, None, length=self.online.num_chunks
        )
        return {"runner": runner, "start_eval_returns": start_eval, "metrics": metrics}

    def train(self, key: jax.Array, hparams: Any = None) -> dict[str, Any]:
        """Pretraining then fine-tuning of one seed: {"runner", "start_eval_returns",
        "metrics" (online chunks), "pretrain_metrics" (None without pretraining)}."""
        if hparams is None:
            hparams = self.default_hparams
        agent_state, pretrain_metrics = self.pretrained_agent(key, hparams)
        out = self.online_from(agent_state, key, hparams)
        out["pretrain_metrics"] = pretrain_metrics
        return out


def make_finetune_program(config: FinetuneConfig, dataset: Dataset) -> FinetuneProgram:
    """Build both phases for `config` on `dataset` (which also names the env to fine-tune in)."""
    from jaxrl_hybrid.agents import AGENTS
    from jaxrl_hybrid.training.config import TrainConfig

    dataset, env, env_params = dataset_env(dataset, config.dataset or "the dataset", config.env)
    if config.demo_episodes is not None:
        dataset = first_episodes(dataset, config.demo_episodes, config.dataset or "the dataset")
    reward_scale = reward_scale_factor(dataset, config.resolved_reward_scale)
    if reward_scale != 1.0:  # the offline data and, below, every online transition alike
        dataset = scale_rewards(dataset, reward_scale)
    algo = pretrain_algo(config)
    online_agent = _online_agent(config, env.spec)
    normalize = config.resolved_normalize_observations
    if normalize:  # the pretraining program normalises its copy of the data with the same statistics
        online_agent = NormalizedAgent(online_agent, obs_normalizer(dataset))
    pretrain = None
    hparams_owner = online_agent
    if algo is not None:
        pretrain_agent = AGENTS[algo](config.agent_config, env.spec)
        pretrain_config = TrainConfig(
            algo=algo,
            env=env.spec.name,
            total_steps=config.pretrain_updates,
            eval_every=config.resolved_pretrain_eval_every,
            num_eval_episodes=config.num_eval_episodes,
            batch_size=config.resolved_batch_size,
            utd=config.utd,
            reward_scale="none",  # scaled above
            normalize_observations=normalize,
            agent=config.agent_config,
        )
        pretrain = make_offline_program(pretrain_agent, dataset, env, env_params, pretrain_config)
        hparams_owner = pretrain_agent  # e.g. CQLHParams: SAC's fields plus the penalty's

    num_envs = config.num_envs
    warmup_iters, iters_per_chunk, steps_per_chunk, num_chunks = online_schedule(
        ("online_steps", config.online_steps),
        ("warmup_steps", config.resolved_warmup_steps),
        config.eval_every,
        num_envs,
    )
    if config.method in KEEPS_DATA:
        learn = mixed_learn(online_agent, dataset, num_envs, config.offline_fraction, config.online_shape)
    elif config.method == "moorl":
        learn = moorl_learn(
            online_agent,
            dataset,
            num_envs,
            config.moorl_inner_steps,
            config.moorl_meta_lr,
            config.moorl_offline_prob,
            config.online_shape,
        )
    else:
        learn = replay_learn(online_agent, num_envs, config.online_shape)
    start, run_chunk = make_online_phase(
        online_agent,
        env,
        env_params,
        num_envs=num_envs,
        buffer_size=config.buffer_size,
        iters_per_chunk=iters_per_chunk,
        num_eval_episodes=config.num_eval_episodes,
        warmup_iters=warmup_iters,
        warmup_policy="random" if config.method == "sac" else "agent",
        learn=learn,
        mc_gamma=dataset.gamma if config.method == "calql" else None,
        reward_scale=reward_scale,
    )

    def start_eval(agent_state, key, hparams):
        return evaluate(
            FinetuneProgram.phase_key(key, START_EVAL_KEY),
            env,
            env_params,
            lambda obs, k: online_agent.act(agent_state, obs, k, True, hparams),
            config.num_eval_episodes,
        )

    def start_online(agent_state, key, hparams):
        keys = tuple(jax.random.split(FinetuneProgram.phase_key(key, ONLINE_KEY), 3))
        return start(agent_state, keys, hparams)

    def begin_online(agent_state, key, hparams):
        return start_online(agent_state, key, hparams), start_eval(agent_state, key, hparams)

    online = TrainProgram(
        init=lambda key, hparams: start_online(online_agent.init(key), key, hparams),
        run_chunk=run_chunk,
        num_chunks=num_chunks,
        steps_per_chunk=steps_per_chunk,
        warmup_steps=warmup_iters * num_envs,
        default_hparams=hparams_owner.default_hparams(),
        reference_returns=dataset_reference_returns(dataset),
    )
    return FinetuneProgram(
        pretrain=pretrain,
        online=online,
        fresh_agent=online_agent.init,
        begin_online=begin_online,
        start_eval=start_eval,
        start_online=start_online,
        default_hparams=hparams_owner.default_hparams(),
        reference_returns=dataset_reference_returns(dataset),
        method=config.method,
        online_agent=online_agent,
        reward_scale=reward_scale,
    )
