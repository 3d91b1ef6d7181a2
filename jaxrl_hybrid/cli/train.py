"""`jaxrl-hybrid train`: online (sac, td3, ppo, dqn, pqn) in an env, or offline (bc, cql, calql, iql, riql,
td3bc, rebrac, arsq, iqlearn) on a dataset, for many seeds and a hyperparameter grid in one vmapped program.

    jaxrl-hybrid train --algo sac --env gymnax:Pendulum-v1 --num-seeds 16 \
        --total-steps 20000 --critic-loss hl_gauss --seed 0 --out runs/sac_pendulum
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Literal

import tyro

from jaxrl_hybrid.agents.registry import DISTRIBUTIONAL, OFFLINE, ON_POLICY, TRAINABLE, agent_class, agent_info
from jaxrl_hybrid.cli.options import (
    RunOptions,
    check_out_early,
    critic_loss_from,
    eval_every_or_default,
    out_or_default,
    pairs,
    positive,
    reward_scale_from,
    run_and_report,
)
from jaxrl_hybrid.envs.names import DEFAULT_ENV

DEFAULT_TOTAL_STEPS, DEFAULT_UPDATES = 20_000, 100_000  # online env steps, offline updates per seed


@dataclasses.dataclass
class Train(RunOptions):
    """Train an agent on many seeds (and a hyperparameter grid) in one vmapped program.

    Online (sac, td3, ppo; dqn, pqn for discrete actions) in --env; offline (bc, cql, calql, iql,
    riql, td3bc, rebrac, arsq; iqlearn imitates the data's actions) on --dataset for --updates
    gradient steps, evaluated in the env the dataset's metadata names.
    """

    algo: Literal[TRAINABLE] = "sac"  # agents.registry: every agent `train` offers
    env: str | None = None
    """online env (default gymnax:Pendulum-v1); offline runs evaluate in the env the dataset
    records, and --env, if given, must name that env (or supply one the dataset lacks)"""
    dataset: str | None = None
    """offline dataset: HDF5 file, Minari folder or local Minari id"""
    num_seeds: int = 8
    seed: int = 0
    total_steps: int | None = None
    """online: env steps per seed; default 20000"""
    updates: int | None = None
    """offline: gradient updates per seed; default 100000"""
    critic_loss: Literal["mse", "huber", "hl_gauss", "two_hot", "c51"] = "mse"
    """critic loss: regression (mse, huber) or classification (hl_gauss, two_hot; c51 for dqn and pqn)"""
    num_bins: int = 101
    """bins of the classification critic losses"""
    v_min: float | None = None
    """lower end of the value support (hl_gauss / two_hot / c51); defaults per env"""
    v_max: float | None = None
    out: str | None = None
    """run folder; default runs/<algo>_<env>_s<seed>"""
    overwrite: bool = False
    """replace a non-empty run folder (only once the new run has finished)"""
    num_envs: int | None = None
    """parallel envs per seed; default 1 for SAC/TD3, 4 for PPO and DQN (one update per 4 env steps), 32 for PQN"""
    eval_every: int | None = None
    """env steps (offline: updates) between evaluations; default a tenth of the run"""
    num_eval_episodes: int = 10
    learning_starts: int = 1_000
    buffer_size: int = 100_000
    batch_size: int | None = None
    """minibatch size; default 256 (ReBRAC 1024)"""
    utd: int = 1
    num_critics: int | None = None
    """critic ensemble size; default 2 (RIQL 5)"""
    hidden_dims: tuple[int, ...] | None = None
    """network widths; default 256 256 for SAC/TD3 and the offline agents (ReBRAC 256x3), 64 64 for PPO"""
    layer_norm: bool | None = None
    """LayerNorm in the critic; default off (ReBRAC on)"""
    activation: str | None = None
    """SAC: hidden-layer activation of actor and critics, relu (default), swish, tanh, gelu or elu"""
    num_actions: int | None = None
    """CQL / Cal-QL: sampled actions per set (uniform, policy, next-state policy); default 10"""
    critic_out_init: float | None = None
    """SAC family: the critics' output-layer init scale (std / sqrt(fan_avg)); default 1, Cal-QL 0.07
    (its reference code's small output layer; see agents.sac.config.SACConfig)"""
    n_step: int | None = None
    """DQN: steps per return before bootstrapping; default 3 (Rainbow's)"""
    action_levels: int | None = None
    """ARSQ: coarse-to-fine levels per action dimension; default 3"""
    action_bins: int | None = None
    """ARSQ: bins per level; default 5 (3 x 5 resolves [-1, 1] to 2/125)"""
    hparam: Annotated[tuple[str, ...], tyro.conf.UseAppendAction] = ()
    """traced hyperparameter, NAME=V or a grid NAME=V1,V2 (repeatable), e.g. actor_lr=1e-3,3e-4"""
    grid: Annotated[tuple[str, ...], tyro.conf.UseAppendAction] = ()
    """same as --hparam, e.g. --grid cql_alpha=1,5,10"""
    env_override: Annotated[tuple[str, ...], tyro.conf.UseAppendAction] = ()
    """dynamics parameter NAME=VALUE (repeatable), e.g. gravity=15"""
    model_rollouts: bool = False
    """offline cql/iql/riql/td3bc: mix short rollouts of a learned dynamics model into every batch (MOPO)"""
    rollout_horizon: int = 5
    rollout_penalty: float = 1.0
    """MOPO's lambda: model rewards minus lambda * the ensemble's largest predicted std norm"""
    rollout_real_fraction: float = 0.5
    """share of dataset rows in each batch with --model-rollouts"""
    model_hidden_dims: tuple[int, ...] = (200, 200, 200)
    """dynamics ensemble widths (--model-rollouts)"""
    model_epochs: int = 100
    extract: Literal["policy", "best-of-n"] = "policy"
    """offline: the evaluated policy, the agent's actor or Digi-Q's best of --n policy samples by Q"""
    n: int = 16
    """candidate actions of --extract best-of-n"""
    demo_episodes: int | None = None
    """offline: train on the dataset's first N episodes only (e.g. iqlearn on 5 expert demonstrations)"""
    reward_scale: str | None = None
    """offline: multiply the data's rewards by none | return_range (1000 / the episode-return range) | a
    number; default the algorithm's (IQL and RIQL: return_range, as the IQL paper; others none).
    Scores stay in the env's rewards"""


def check_counts(args: Train) -> None:
    """Every count flag is a positive integer (0 is refused by name, never read as a default)."""
    for flag in (
        "total_steps",
        "updates",
        "num_seeds",
        "num_eval_episodes",
        "num_envs",
        "batch_size",
        "utd",
        "num_critics",
        "eval_every",
        "num_bins",
        "n_step",
        "n",
        "action_levels",
        "demo_episodes",
    ):
        positive(getattr(args, flag), "--" + flag.replace("_", "-"))
    positive(args.action_bins, "--action-bins", minimum=2)
    positive(args.learning_starts, "--learning-starts", minimum=0)
    positive(args.buffer_size, "--buffer-size")


def offline_env(env_flag: str | None, dataset, path) -> str:
    """The env an offline run evaluates in: `--env` when given (for data that records none, or
    overriding the recorded one: the data must fit it, checked when the program is built), else
    the one `dataset` (loaded from `path`) records."""
    env = env_flag or dataset.metadata.get("env")
    if not env:
        raise ValueError(f"dataset {path}: its metadata names no env; pass --env NAME to evaluate in")
    return env


def agent_config(args: Train, env: str):
    """The agent's static config: its own defaults, overridden only by the flags the user gave."""
    cls = agent_class(args.algo).Config
    fields = {f.name for f in dataclasses.fields(cls)}
    given = {
        "hidden_dims": args.hidden_dims,
        "num_critics": args.num_critics,
        "critic_layer_norm": args.layer_norm,
        "layer_norm": args.layer_norm,
        "num_actions": args.num_actions,
        "critic_out_init": args.critic_out_init,
        "activation": args.activation,
        "n_step": args.n_step,
        "levels": args.action_levels,
        "bins": args.action_bins,
    }
    if args.critic_out_init is not None and "critic_out_init" not in fields:
        raise ValueError(f"--critic-out-init is a SAC-family setting; --algo {args.algo} keeps its own critic init")
    kwargs = {k: v for k, v in given.items() if k in fields and v is not None}
    if "critic_loss" in fields and (args.algo != "riql" or args.critic_loss != "mse"):
        kwargs["critic_loss"] = critic_loss_from(args, env)  # RIQL keeps its Huber default unless asked
    if "num_min_critics" in fields and "num_critics" in kwargs:
        # SAC's target takes the min over every critic; CQL / Cal-QL over two of the ensemble.
        n = kwargs["num_critics"]
        kwargs["num_min_critics"] = n if args.algo == "sac" else min(2, n)
    return cls(**kwargs)


def build_config(args: Train, dataset=None):
    """TrainConfig from CLI arguments: the configs' own defaults, and the flags given.

    Offline algorithms read the env from the dataset's metadata: pass the loaded `dataset`
    to avoid reading `args.dataset` again.
    """
    from jaxrl_hybrid.training import TrainConfig

    check_counts(args)
    if args.num_actions is not None and args.algo not in ("cql", "calql"):
        raise ValueError(f"--num-actions is a CQL / Cal-QL setting; --algo {args.algo} samples no actions")
    if args.activation is not None and args.algo != "sac":
        raise ValueError(f"--activation is a SAC setting; --algo {args.algo} keeps its own activations")
    if args.extract != "policy" and args.algo not in OFFLINE:
        raise ValueError(
            f"--extract {args.extract} re-ranks an offline agent's actions; --algo {args.algo} trains online"
        )
    if args.extract == "best-of-n" and args.algo == "bc":
        raise ValueError("--extract best-of-n ranks actions by a critic; --algo bc has none")
    if args.n_step is not None and args.algo != "dqn":
        raise ValueError(f"--n-step is a DQN setting; --algo {args.algo} has no n-step returns")
    for flag in ("action_levels", "action_bins"):
        if getattr(args, flag) is not None and args.algo != "arsq":
            raise ValueError(
                f"--{flag.replace('_', '-')} is an ARSQ setting; --algo {args.algo} does not code its actions"
            )
    if args.critic_loss == "c51" and args.algo not in DISTRIBUTIONAL:
        raise ValueError(
            f"--critic-loss c51 is distributional: it needs an agent that bootstraps its own next-state "
            f"distribution ({', '.join(DISTRIBUTIONAL)}); --algo {args.algo} takes mse, huber, hl_gauss or two_hot"
        )
    if args.critic_loss != "mse" and "critic_loss" not in {
        f.name for f in dataclasses.fields(agent_class(args.algo).Config)
    }:
        raise ValueError(
            f"--critic-loss {args.critic_loss}: --algo {args.algo} has no regression or classification critic "
            "to train with it (IQ-Learn's soft Q minimises its own inverse objective; BC has no critic)"
        )
    if args.algo in OFFLINE:
        if args.dataset is None:
            raise ValueError(f"--algo {args.algo} is an offline algorithm: pass --dataset FILE")
        if dataset is None:
            from jaxrl_hybrid.data import load

            dataset = load(args.dataset)
        env = offline_env(args.env, dataset, args.dataset)
        rollouts = None
        if args.model_rollouts:
            from jaxrl_hybrid.models.dynamics import DynamicsConfig
            from jaxrl_hybrid.models.rollouts import ModelRollouts

            rollouts = ModelRollouts(
                horizon=args.rollout_horizon,
                penalty=args.rollout_penalty,
                real_fraction=args.rollout_real_fraction,
                dynamics=DynamicsConfig(hidden_dims=args.model_hidden_dims, max_epochs=args.model_epochs),
            )
        if args.total_steps is not None:
            raise ValueError(
                f"--total-steps counts env steps of online training; --algo {args.algo} trains offline for --updates N"
            )
        updates = args.updates if args.updates is not None else DEFAULT_UPDATES
        return TrainConfig(
            algo=args.algo,
            env=env,
            total_steps=updates,
            eval_every=eval_every_or_default(args.eval_every, updates),
            num_eval_episodes=args.num_eval_episodes,
            batch_size=args.batch_size,
            utd=args.utd,
            reward_scale=reward_scale_from(args.reward_scale),
            agent=agent_config(args, env),
            dataset=args.dataset,
            model_rollouts=rollouts,
            extract=args.extract,
            extract_n=args.n,
            demo_episodes=args.demo_episodes,
        )
    if args.dataset is not None:
        raise ValueError(f"--algo {args.algo} trains online; --dataset is for the offline algorithms")
    if args.updates is not None:
        raise ValueError(
            f"--updates counts offline gradient updates; --algo {args.algo} trains online for --total-steps N"
        )
    total_steps = args.total_steps if args.total_steps is not None else DEFAULT_TOTAL_STEPS
    if args.model_rollouts:
        raise ValueError(f"--model-rollouts augments offline datasets; --algo {args.algo} trains online")
    if args.reward_scale is not None:
        raise ValueError(f"--reward-scale scales offline datasets; --algo {args.algo} trains online")
    if args.demo_episodes is not None:
        raise ValueError(f"--demo-episodes selects offline data; --algo {args.algo} trains online")
    env = args.env if args.env is not None else DEFAULT_ENV
    on_policy = args.algo in ON_POLICY
    if on_policy and (args.batch_size is not None or args.utd != 1):
        raise ValueError(f"--batch-size and --utd are off-policy settings; --algo {args.algo} sets its own minibatches")
    return TrainConfig(
        algo=args.algo,
        env=env,
        env_overrides=pairs(args.env_override, "env-override"),
        total_steps=total_steps,
        num_envs=args.num_envs or agent_info(args.algo).num_envs,
        learning_starts=0 if on_policy else args.learning_starts,
        buffer_size=args.buffer_size,
        eval_every=eval_every_or_default(args.eval_every, total_steps),
        num_eval_episodes=args.num_eval_episodes,
        batch_size=args.batch_size,
        utd=args.utd,
        agent=agent_config(args, env),
    )


def train(args: Train) -> dict:
    from jaxrl_hybrid.envs.names import check_env_name

    check_counts(args)  # these before JAX is imported or the dataset read
    check_out_early(args, args.out)
    if args.env is not None:
        check_env_name(args.env, "--env")
    from jaxrl_hybrid.experiment import parse_grid

    grid = parse_grid((*args.hparam, *args.grid), agent_class(args.algo).HParams)
    dataset = None
    if args.algo in OFFLINE and args.dataset is not None:
        from jaxrl_hybrid.data import load

        dataset = load(args.dataset)  # once: for the config, the program and the fingerprint
    config = build_config(args, dataset)
    # config.json's `cli` holds the flags with both budgets' defaults filled, as it did when the
    # two flags had defaults (before 01f5d68): a run started then still resumes (the resume check
    # compares this record), and the train config beside it holds the budget the run trains.
    args = dataclasses.replace(
        args,
        total_steps=args.total_steps if args.total_steps is not None else DEFAULT_TOTAL_STEPS,
        updates=args.updates if args.updates is not None else DEFAULT_UPDATES,
    )
    env_slug = config.env.replace(":", "_").replace("/", "_")
    out = out_or_default(args.out, f"runs/{args.algo}_{env_slug}_s{args.seed}")
    return run_and_report(config, args, out=out, grid=grid, dataset=dataset)
