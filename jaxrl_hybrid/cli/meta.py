"""`jaxrl-hybrid meta-train` / `meta-eval`: learn a policy objective with ES, then test it.

    jaxrl-hybrid meta-train --objective ta-lpo --env gymnax:CartPole-v1 \
        --generations 32 --population 64 --out runs/meta
    jaxrl-hybrid meta-eval runs/meta --env gymnax:Acrobot-v1 --num-seeds 16
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Literal

import tyro

from jaxrl_hybrid.cli.options import out_or_default, parse_block_size


@dataclasses.dataclass
class MetaTrain:
    """Meta-train an LPO / TA-LPO drift (or an LPG / TA-LPG rule) with an evosax strategy over whole training runs.

    Every generation trains population x num-seeds PPO agents in one vmapped program; the
    ES state is checkpointed after each generation (--resume continues a killed run).
    """

    objective: Literal["lpo", "ta-lpo", "lpg", "ta-lpg"] = "ta-lpo"
    """lpo / ta-lpo: PPO's drift; lpg / ta-lpg: the LPG agent's whole update rule (a backward GRU)"""
    env: str = "gymnax:CartPole-v1"
    generations: int = 32
    population: int = 64
    """ES population (even: antithetic pairs)"""
    num_seeds: int = 2
    """inner PPO seeds per member; fitness is their mean final return"""
    strategy: str = "Open_ES"
    """evosax distribution-based strategy by name (Open_ES, SNES, PGPE, CMA_ES, Sep_CMA_ES, ...)"""
    lr: float = 0.03
    """ES learning rate (Adam on the search mean)"""
    sigma: float = 0.03
    """ES search std"""
    hidden: int | None = None
    """units of the drift network (default 128) or of the LPG rule's GRU (default 16)"""
    seed: int = 0
    out: str = "runs/meta"
    overwrite: bool = False
    resume: bool = False
    """continue an unfinished run in <out>.partial from its last generation checkpoint"""
    total_steps: int | None = None
    """inner PPO env steps per run; default: the env's preset (jaxrl_hybrid.meta.inner.INNER_PRESETS)"""
    num_envs: int | None = None
    num_steps: int | None = None
    inner_lr: float | None = None
    """inner PPO learning rate; default: the env's preset"""
    num_eval_episodes: int = 8
    host_devices: str = "auto"
    """CPU only: XLA CPU devices the population's inner runs are shared over ('auto': one per
    core, at most 8; or JAXRL_HOST_DEVICES); the numbers are the same for any device count"""
    block_size: str = "auto"
    """inner runs vectorised together: the numbers depend on it, never on the device count
    ('auto': 4 on CPU, 256 on an accelerator; an integer; 'share': one block per device)"""


@dataclasses.dataclass
class MetaEval:
    """Train PPO with a meta-run's learned objective and with PPO's clip on each --env, same
    seeds; IQM, 95% CIs and P(learned > PPO) of the final returns in <out>/report.md."""

    run: tyro.conf.Positional[str]
    """meta-train output folder"""
    env: Annotated[tuple[str, ...], tyro.conf.UseAppendAction] = ()
    """env to evaluate on (repeatable); default: the meta-training env"""
    num_seeds: int = 16
    seed: int = 1
    """seeds of the evaluation runs (fold_in(PRNGKey(seed), i)); meta-training drew its own"""
    out: str | None = None
    """default: <run>_eval"""
    overwrite: bool = False
    eval_points: int = 8
    """evaluations along each run (learning curves); the last is the final return"""
    total_steps: int | None = None
    """inner PPO env steps per run; default: each env's preset"""
    host_devices: str = "auto"
    """CPU only: XLA CPU devices ('auto': one per core, at most 8; or JAXRL_HOST_DEVICES)"""


def meta_train(args: MetaTrain) -> dict:
    from jaxrl_hybrid.envs import make_env
    from jaxrl_hybrid.meta import InnerConfig, MetaConfig
    from jaxrl_hybrid.meta import meta_train as run

    env, _ = make_env(args.env)  # an unknown env fails here, before anything is written
    if not env.spec.discrete:
        raise ValueError(
            f"--env {args.env}: meta-training runs PPO on discrete-action envs (gymnax classic control, bsuite, ...)"
        )
    inner = InnerConfig.for_env(
        args.env,
        total_steps=args.total_steps,
        num_envs=args.num_envs,
        num_steps=args.num_steps,
        lr=args.inner_lr,
        num_eval_episodes=args.num_eval_episodes,
    )
    config = MetaConfig(
        objective=args.objective,
        hidden=args.hidden,
        strategy=args.strategy,
        population=args.population,
        num_seeds=args.num_seeds,
        generations=args.generations,
        lr=args.lr,
        sigma=args.sigma,
        seed=args.seed,
        inner=inner,
    )
    return run(
        config, args.out, overwrite=args.overwrite, resume=args.resume, block_size=parse_block_size(args.block_size)
    )


def meta_eval(args: MetaEval) -> dict:
    from jaxrl_hybrid.envs import make_env
    from jaxrl_hybrid.meta.evaluate import meta_eval as run
    from jaxrl_hybrid.meta.train import read_config

    config = read_config(args.run)
    envs = list(args.env) or [config.inner.env]
    for name in envs:
        env, _ = make_env(name)
        if not env.spec.discrete:
            raise ValueError(
                f"--env {name}: the learned objective trains PPO's categorical policy; pick a discrete env"
            )
    overrides = {"total_steps": args.total_steps} if args.total_steps is not None else None
    out = out_or_default(args.out, f"{str(args.run).rstrip('/')}_eval")
    return run(
        args.run,
        envs,
        out,
        num_seeds=args.num_seeds,
        seed=args.seed,
        overwrite=args.overwrite,
        eval_points=args.eval_points,
        inner_overrides=overrides,
    )
