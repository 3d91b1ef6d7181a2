"""`jaxrl-hybrid`: the command line. The only code that reads argv.

    jaxrl-hybrid train --algo sac --env gymnax:Pendulum-v1 --num-seeds 16 \
        --total-steps 20000 --critic-loss hl_gauss --seed 0 --out runs/sac_pendulum
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Annotated, Literal

import tyro

from jaxrl_hybrid.cli.options import RunOptions, check_out_early, eval_every_or_default, out_or_default, positive
from jaxrl_hybrid.envs.names import DEFAULT_ENV

# Value supports for the classification critic losses, per env (returns at gamma = 0.99).
DEFAULT_VALUE_RANGES: dict[str, tuple[float, float]] = {
    "gymnax:Pendulum-v1": (-1700.0, 100.0),
    "gymnax:CartPole-v1": (-10.0, 110.0),
    "gymnax:MountainCarContinuous-v0": (-100.0, 200.0),
    "gymnax:Acrobot-v1": (-110.0, 10.0),
}


@dataclasses.dataclass
class Train(RunOptions):
    """Train an agent on many seeds (and a hyperparameter grid) in one vmapped program.

    Online (sac, td3, ppo) in --env; offline (bc, cql, calql, iql, riql, td3bc, rebrac) on
    --dataset for --updates gradient steps, evaluated in the env the dataset's metadata names.
    """

    algo: Literal["sac", "td3", "ppo", "bc", "cql", "calql", "iql", "riql", "td3bc", "rebrac"] = "sac"
    env: str | None = None
    """online env (default gymnax:Pendulum-v1); offline runs evaluate in the env the dataset
    records, and --env, if given, must name that env (or supply one the dataset lacks)"""
    dataset: str | None = None
    """offline dataset: HDF5 file, Minari folder or local Minari id"""
    num_seeds: int = 8
    seed: int = 0
    total_steps: int = 20_000
    """online: env steps per seed"""
    updates: int = 100_000
    """offline: gradient updates per seed"""
    critic_loss: Literal["mse", "huber", "hl_gauss", "two_hot"] = "mse"
    num_bins: int = 101
    """bins of the classification critic losses"""
    v_min: float | None = None
    """lower end of the value support (hl_gauss / two_hot); defaults per env"""
    v_max: float | None = None
    out: str | None = None
    """run folder; default runs/<algo>_<env>_s<seed>"""
    overwrite: bool = False
    """replace a non-empty run folder (only once the new run has finished)"""
    num_envs: int | None = None
    """parallel envs per seed; default 1 for SAC/TD3, 4 for PPO"""
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


def _pairs(specs, flag):
    out = []
    for spec in specs:
        name, sep, value = spec.partition("=")
        if not sep:
            raise ValueError(f"--{flag} {spec!r}: expected NAME=VALUE")
        try:
            out.append((name.strip(), float(value)))
        except ValueError as e:
            raise ValueError(f"--{flag} {spec!r}: VALUE must be a number") from e
    return tuple(out)


def _critic_loss(args: Train, env: str):
    from jaxrl_hybrid.losses import CriticLoss

    loss_kwargs = {"kind": args.critic_loss, "num_bins": args.num_bins}
    if args.critic_loss in ("hl_gauss", "two_hot"):
        v_min, v_max = DEFAULT_VALUE_RANGES.get(env, (None, None))
        v_min = args.v_min if args.v_min is not None else v_min
        v_max = args.v_max if args.v_max is not None else v_max
        if v_min is None or v_max is None:
            raise ValueError(
                f"--critic-loss {args.critic_loss} needs a value support for {env}: "
                f"pass --v-min and --v-max (known defaults: {sorted(DEFAULT_VALUE_RANGES)})"
            )
        loss_kwargs.update(v_min=v_min, v_max=v_max)
    return CriticLoss(**loss_kwargs)


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
    ):
        positive(getattr(args, flag), "--" + flag.replace("_", "-"))
    positive(args.learning_starts, "--learning-starts", minimum=0)
    positive(args.buffer_size, "--buffer-size")


def offline_env(env_flag: str | None, dataset, path) -> str:
    """The env an offline run evaluates in: the one `dataset` (loaded from `path`) records;
    `--env` may only repeat it, or name one for a dataset that records none."""
    recorded = dataset.metadata.get("env")
    if recorded and env_flag is not None and env_flag != recorded:
        raise ValueError(
            f"--env {env_flag}: dataset {path} was recorded in {recorded}; drop --env (offline runs "
            f"evaluate in the dataset's env) or pass a dataset of {env_flag}"
        )
    env = recorded or env_flag
    if not env:
        raise ValueError(f"dataset {path}: its metadata names no env; pass --env NAME to evaluate in")
    return env


def build_config(args: Train, dataset=None):
    """TrainConfig from CLI arguments (defaults filled per algorithm and env).

    Offline algorithms read the env from the dataset's metadata: pass the loaded `dataset`
    to avoid reading `args.dataset` again.
    """
    from jaxrl_hybrid.agents import AGENTS, OFFLINE_AGENTS
    from jaxrl_hybrid.training import TrainConfig

    cls = AGENTS[args.algo]
    check_counts(args)
    if args.num_actions is not None and args.algo not in ("cql", "calql"):
        raise ValueError(f"--num-actions is a CQL / Cal-QL setting; --algo {args.algo} samples no actions")
    if args.activation is not None and args.algo != "sac":
        raise ValueError(f"--activation is a SAC setting; --algo {args.algo} keeps its own activations")
    if args.algo in OFFLINE_AGENTS:
        if args.dataset is None:
            raise ValueError(f"--algo {args.algo} is an offline algorithm: pass --dataset FILE")
        if dataset is None:
            from jaxrl_hybrid.data import load

            dataset = load(args.dataset)
        env = offline_env(args.env, dataset, args.dataset)
        fields = {f.name for f in dataclasses.fields(cls.Config)}
        given = {
            "hidden_dims": args.hidden_dims,
            "batch_size": args.batch_size,
            "utd": args.utd,
            "num_critics": args.num_critics,
            "critic_layer_norm": args.layer_norm,
            "layer_norm": args.layer_norm,
            "num_actions": args.num_actions,
        }
        kwargs = {k: v for k, v in given.items() if k in fields and v is not None}
        if "critic_loss" in fields and (args.algo != "riql" or args.critic_loss != "mse"):
            kwargs["critic_loss"] = _critic_loss(args, env)  # RIQL keeps its Huber default unless asked
        if args.algo == "cql" or args.algo == "calql":
            kwargs["num_min_critics"] = min(2, kwargs.get("num_critics", 2))
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
        return TrainConfig(
            algo=args.algo,
            env=env,
            total_steps=args.updates,
            eval_every=eval_every_or_default(args.eval_every, args.updates),
            num_eval_episodes=args.num_eval_episodes,
            agent=cls.Config(**kwargs),
            dataset=args.dataset,
            model_rollouts=rollouts,
        )
    if args.dataset is not None:
        raise ValueError(f"--algo {args.algo} trains online; --dataset is for the offline algorithms")
    if args.model_rollouts:
        raise ValueError(f"--model-rollouts augments offline datasets; --algo {args.algo} trains online")
    env = args.env if args.env is not None else DEFAULT_ENV
    critic_loss = _critic_loss(args, env)
    if args.algo == "ppo":
        agent_cfg = cls.Config(hidden_dims=args.hidden_dims or (64, 64), critic_loss=critic_loss)
        num_envs = args.num_envs or 4
    else:
        num_critics = args.num_critics or 2
        extra = {"num_min_critics": num_critics} if args.algo == "sac" else {}
        if args.activation is not None:
            extra["activation"] = args.activation
        agent_cfg = cls.Config(
            hidden_dims=args.hidden_dims or (256, 256),
            critic_loss=critic_loss,
            batch_size=args.batch_size or 256,
            utd=args.utd,
            num_critics=num_critics,
            critic_layer_norm=bool(args.layer_norm),
            **extra,
        )
        num_envs = args.num_envs or 1
    return TrainConfig(
        algo=args.algo,
        env=env,
        env_overrides=_pairs(args.env_override, "env-override"),
        total_steps=args.total_steps,
        num_envs=num_envs,
        learning_starts=args.learning_starts if args.algo != "ppo" else 0,
        buffer_size=args.buffer_size,
        eval_every=eval_every_or_default(args.eval_every, args.total_steps),
        num_eval_episodes=args.num_eval_episodes,
        agent=agent_cfg,
    )


def train(args: Train) -> dict:
    from jaxrl_hybrid.envs.names import check_env_name

    check_counts(args)  # these before JAX is imported or the dataset read
    check_out_early(args, args.out)
    if args.env is not None:
        check_env_name(args.env, "--env")
    from jaxrl_hybrid.agents import AGENTS, OFFLINE_AGENTS
    from jaxrl_hybrid.cli.experiment import parse_grid, run_cli_experiment

    grid = parse_grid((*args.hparam, *args.grid), AGENTS[args.algo].HParams)
    dataset = None
    if args.algo in OFFLINE_AGENTS and args.dataset is not None:
        from jaxrl_hybrid.data import load

        dataset = load(args.dataset)  # once: for the config, the program and the fingerprint
    config = build_config(args, dataset)
    env_slug = config.env.replace(":", "_").replace("/", "_")
    out = out_or_default(args.out, f"runs/{args.algo}_{env_slug}_s{args.seed}")
    return run_cli_experiment(config, args, out=out, grid=grid, dataset=dataset)


def _start_distributed(argv: list[str] | None) -> None:
    """The CPU device count (--host-devices) and `jax.distributed.initialize` from the
    multi-host flags (or JAX_* variables), before the command modules are imported:
    importing gymnax already starts a JAX backend."""
    import argparse

    from jaxrl_hybrid.engine.distributed import initialize_distributed
    from jaxrl_hybrid.engine.host import configure_host

    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--host-devices")
    parser.add_argument("--block-size")
    parser.add_argument("--coordinator")
    parser.add_argument("--num-processes", type=int)
    parser.add_argument("--process-id", type=int)
    parser.add_argument("--distributed", action="store_true")
    known, _ = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    # --block-size share trades layout independence for speed: XLA then sizes its own pool too.
    configure_host(known.host_devices, pin_threads=(known.block_size or "").strip().lower() != "share")
    initialize_distributed(known.coordinator, known.num_processes, known.process_id, known.distributed)


def _open_runs() -> list:
    """This process's uncommitted run folders (empty when no run folder module was loaded)."""
    module = sys.modules.get("jaxrl_hybrid.logging.run_dir")
    return module.OPEN_RUNS if module is not None else []


def _close_runs(start: int) -> list:
    """Forget the run folders a command opened after `start` and left uncommitted (it failed
    or was interrupted): resumable ones stay on disk for --resume and are returned, the rest
    (a report, a meta-eval) are removed."""
    runs = _open_runs()
    left, kept = runs[start:], []
    for run in left:
        if run.resumable:
            kept.append(run)
        else:
            run.discard()
    del runs[start:]
    return kept


def interrupted(argv: list[str], kept: list) -> str:
    """What an interrupt left, in one line: the unfinished run folder and the exact command
    that continues it, or that nothing was written."""
    import shlex

    if not kept:
        return "jaxrl-hybrid: interrupted; nothing was written"
    run = kept[-1]
    saves = [*(run.staging / "resume").glob("*/LATEST"), *(run.staging / "checkpoints").glob("es_state_gen*.npz")]
    state = "with a resume checkpoint" if saves else "no resume checkpoint yet (--checkpoint-every N), it restarts"
    args = list(argv) + ([] if "--resume" in argv else ["--resume"])
    if not any(a == "--out" or a.startswith("--out=") for a in args):
        args += ["--out", str(run.final)]
    return (
        f"jaxrl-hybrid: interrupted; the unfinished run is in {run.staging} ({state}); continue it with: "
        + " ".join(["jaxrl-hybrid", *map(shlex.quote, args)])
    )


def main(argv: list[str] | None = None) -> int:
    from jaxrl_hybrid.engine.interrupt import stop_on_sigterm

    stop_on_sigterm()  # `kill` stops as cleanly as Ctrl-C
    argv_given = list(sys.argv[1:] if argv is None else argv)
    start = len(_open_runs())  # main() may be called more than once in a process (tests, notebooks)
    try:
        return _main(argv)
    except KeyboardInterrupt:
        message = interrupted(argv_given, _close_runs(start))
        print("\n" + message, file=sys.stderr, flush=True)  # after a progress bar's \r
        return 130
    finally:
        _close_runs(start)


def _main(argv: list[str] | None = None) -> int:
    try:
        _start_distributed(argv)
    except ValueError as e:
        print(f"jaxrl-hybrid: error: {e}", file=sys.stderr)
        return 2
    from jaxrl_hybrid.cli import dataset
    from jaxrl_hybrid.cli.finetune import Finetune, finetune
    from jaxrl_hybrid.cli.gap import Gap, gap
    from jaxrl_hybrid.cli.hybrid import Hybrid, hybrid
    from jaxrl_hybrid.cli.meta import MetaEval, MetaTrain, meta_eval, meta_train
    from jaxrl_hybrid.cli.report import Report, report
    from jaxrl_hybrid.cli.sweep import Sweep, sweep

    commands = (
        Annotated[Train, tyro.conf.subcommand("train")]
        | Annotated[Finetune, tyro.conf.subcommand("finetune")]
        | Annotated[Hybrid, tyro.conf.subcommand("hybrid")]
        | Annotated[Gap, tyro.conf.subcommand("gap")]
        | Annotated[Sweep, tyro.conf.subcommand("sweep")]
        | Annotated[MetaTrain, tyro.conf.subcommand("meta-train")]
        | Annotated[MetaEval, tyro.conf.subcommand("meta-eval")]
        | Annotated[Report, tyro.conf.subcommand("report")]
        | Annotated[
            dataset.DatasetCommand,
            tyro.conf.subcommand("dataset", description="Generate, inspect and corrupt offline datasets."),
        ]
    )
    args = tyro.cli(commands, args=argv, prog="jaxrl-hybrid")
    try:
        if isinstance(args, Train):
            train(args)
        elif isinstance(args, Finetune):
            finetune(args)
        elif isinstance(args, Hybrid):
            hybrid(args)
        elif isinstance(args, Gap):
            gap(args)
        elif isinstance(args, Sweep):
            sweep(args)
        elif isinstance(args, MetaTrain):
            meta_train(args)
        elif isinstance(args, MetaEval):
            meta_eval(args)
        elif isinstance(args, Report):
            report(args)
        else:
            dataset.run(args)
    except (ValueError, TypeError, FileExistsError, FileNotFoundError, IsADirectoryError, NotImplementedError) as e:
        print(f"jaxrl-hybrid: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
