"""`jaxrl-hybrid hybrid`: learn from a real dataset and a simulator at once (H2O and baselines).

    jaxrl-hybrid hybrid --method h2o --gap model --shift pendulum-heavy-pole \
        --dataset real.hdf5 --num-seeds 8 --total-steps 20000 --out runs/h2o
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Literal

import tyro

from jaxrl_hybrid.cli.options import RunOptions, check_out_early, eval_every_or_default, out_or_default, run_and_report


@dataclasses.dataclass
class Hybrid(RunOptions):
    """Train in the simulator of a dynamics shift with the real data, evaluated in the real dynamics.

    --method h2o (H2O, --gap discriminator|model), sac-mix (SAC on the same half-real batches),
    sac-sim (SAC on the simulator alone). For CQL on the real data alone: `train --algo cql`.
    """

    method: Literal["h2o", "sac-mix", "sac-sim"] = "h2o"
    gap: Literal["discriminator", "model"] = "discriminator"
    """H2O's dynamics-gap estimator: its discriminators, or the learned real-dynamics ensemble"""
    shift: str = "pendulum-heavy-pole"
    """sim/real pair from jaxrl_hybrid.envs.shifts; the dataset must come from its real side"""
    dataset: str = ""
    """real dataset (HDF5 file, Minari folder or local Minari id)"""
    num_seeds: int = 8
    seed: int = 0
    total_steps: int = 20_000
    """simulator env steps per seed"""
    learning_starts: int = 1_000
    eval_every: int | None = None
    """sim steps between evaluations in the real dynamics; default a tenth of the run"""
    num_eval_episodes: int = 10
    num_envs: int = 1
    buffer_size: int = 100_000
    real_fraction: float = 0.5
    """share of real rows in every batch (h2o, sac-mix)"""
    hidden_dims: tuple[int, ...] = (256, 256)
    critic_out_init: float = 1.0
    """the critics' output-layer init scale (std / sqrt(fan_avg)); see agents.sac.config.SACConfig"""
    batch_size: int = 256
    disc_hidden_dims: tuple[int, ...] = (256, 256)
    """H2O discriminator widths"""
    model_hidden_dims: tuple[int, ...] = (200, 200, 200)
    """real-dynamics ensemble widths (--gap model)"""
    model_epochs: int = 100
    """most epochs of the dynamics model's training (early stopping on a held-out split)"""
    hparam: Annotated[tuple[str, ...], tyro.conf.UseAppendAction] = ()
    """traced hyperparameter NAME=V or a grid NAME=V1,V2 (repeatable), e.g. h2o_beta=0.01,0.1"""
    out: str | None = None
    """run folder; default runs/<method>_<shift>_s<seed>"""
    overwrite: bool = False


def build_hybrid_config(args: Hybrid):
    from jaxrl_hybrid.agents import SACConfig
    from jaxrl_hybrid.agents.h2o import H2OConfig
    from jaxrl_hybrid.envs.shifts import get_shift
    from jaxrl_hybrid.models.dynamics import DynamicsConfig
    from jaxrl_hybrid.models.gap import DiscriminatorConfig
    from jaxrl_hybrid.training.hybrid import HybridConfig

    if not args.dataset:
        raise ValueError("--dataset is required: the real data (e.g. `jaxrl-hybrid dataset generate --shift ...`)")
    get_shift(args.shift)
    if args.method == "h2o":
        agent = H2OConfig(
            hidden_dims=args.hidden_dims,
            critic_out_init=args.critic_out_init,
            discriminator=DiscriminatorConfig(hidden_dims=args.disc_hidden_dims),
            dynamics=DynamicsConfig(hidden_dims=args.model_hidden_dims, max_epochs=args.model_epochs),
        )
    else:
        agent = SACConfig(hidden_dims=args.hidden_dims, critic_out_init=args.critic_out_init)
    return HybridConfig(
        method=args.method,
        shift=args.shift,
        gap=args.gap,
        total_steps=args.total_steps,
        learning_starts=args.learning_starts,
        eval_every=eval_every_or_default(args.eval_every, args.total_steps),
        num_envs=args.num_envs,
        buffer_size=args.buffer_size,
        num_eval_episodes=args.num_eval_episodes,
        real_fraction=args.real_fraction,
        batch_size=args.batch_size,
        agent=agent,
        dataset=args.dataset,
    )


def hybrid(args: Hybrid) -> dict:
    check_out_early(args, args.out)  # before JAX is imported
    from jaxrl_hybrid.agents import SAC
    from jaxrl_hybrid.agents.h2o import H2O
    from jaxrl_hybrid.data import load
    from jaxrl_hybrid.experiment import parse_grid

    config = build_hybrid_config(args)
    dataset = load(args.dataset)
    # The agent class names the hparams; building the program here too would build the env twice.
    grid = parse_grid(args.hparam, (H2O if args.method == "h2o" else SAC).HParams)
    out = out_or_default(args.out, f"runs/{config.algo}_{args.shift}_s{args.seed}")
    return run_and_report(config, args, out=out, grid=grid, dataset=dataset, what="final return in the real dynamics")
