"""`jaxrl-hybrid gap`: where can the simulator be trusted? Fit both dynamics-gap estimators for a
(simulator, real dataset) pair and compare them with the true gap.

    jaxrl-hybrid gap --sim gymnax:Pendulum-v1 --shift pendulum-heavy-pole \
        --dataset real.hdf5 --out runs/gap
"""

from __future__ import annotations

import dataclasses
import time


@dataclasses.dataclass
class Gap:
    """Train the real-dynamics model and H2O's discriminators, then report estimated vs true gap.

    The true gap needs both dynamics stepped from the same observed state (envs whose
    observation is their state: Pendulum, CartPole, MountainCarContinuous).
    """

    sim: str = "gymnax:Pendulum-v1"
    """the simulator env; must be the env of --shift"""
    shift: str = "pendulum-heavy-pole"
    """sim/real pair from jaxrl_hybrid.envs.shifts"""
    dataset: str = ""
    """real dataset (from the shift's real side)"""
    out: str = "runs/gap"
    overwrite: bool = False
    seed: int = 0
    model_hidden_dims: tuple[int, ...] = (200, 200, 200)
    model_members: int = 5
    model_epochs: int = 100
    disc_hidden_dims: tuple[int, ...] = (256, 256)
    disc_steps: int = 10_000
    disc_noise: float = 0.1
    """H2O's Gaussian input noise of the discriminators"""
    num_next_samples: int = 10
    """copies of s' (perturbed by --next-state-noise) averaged in the discriminator's u(s, a)"""
    next_state_noise: float = 0.1
    slice_dim: int = 0
    """observation dim on the heat map's x axis (its y axis is the action; Pendulum uses the pole angle)"""


def gap(args: Gap) -> dict:
    import jax

    from jaxrl_hybrid.data import load
    from jaxrl_hybrid.envs.registry import get_shift, make_pair
    from jaxrl_hybrid.logging import RunDir
    from jaxrl_hybrid.models.dynamics import DynamicsConfig
    from jaxrl_hybrid.models.gap import DiscriminatorConfig, GapStudyConfig, fit_gap_estimators, gap_functions
    from jaxrl_hybrid.report.gap import write_gap_report
    from jaxrl_hybrid.training.hybrid import check_real_dataset

    if not args.dataset:
        raise ValueError("--dataset is required: real data from the shift's real side")
    shift = get_shift(args.shift)
    if args.sim != shift.env_name:
        raise ValueError(f"--sim {args.sim} is not the env of --shift {args.shift} ({shift.env_name})")
    dataset = load(args.dataset)
    check_real_dataset(dataset, args.shift, args.dataset)
    pair = make_pair(args.shift)
    pair.env.state_from_obs(dataset.observations[0], pair.sim_params)  # fails early for envs without it
    run_dir = RunDir(args.out, overwrite=args.overwrite, resumable=False)  # gap has no --resume
    config = GapStudyConfig(
        dynamics=DynamicsConfig(
            num_members=args.model_members, hidden_dims=args.model_hidden_dims, max_epochs=args.model_epochs
        ),
        discriminator=DiscriminatorConfig(hidden_dims=args.disc_hidden_dims, input_noise=args.disc_noise),
        disc_steps=args.disc_steps,
        num_next_samples=args.num_next_samples,
        next_state_noise=args.next_state_noise,
    )
    t0 = time.perf_counter()
    print(f"fitting the real-dynamics model and the discriminators on {dataset.size} transitions ...", flush=True)
    fit = jax.jit(lambda key: fit_gap_estimators(key, pair.env, pair.sim_params, dataset, config))
    fitted = fit(jax.random.PRNGKey(args.seed))
    print(f"fitted in {time.perf_counter() - t0:.1f}s", flush=True)
    summary = write_gap_report(
        run_dir.staging,
        shift=args.shift,
        env=pair.env,
        sim_params=pair.sim_params,
        real_params=pair.real_params,
        dataset=dataset,
        fitted=fitted,
        gap_fns=gap_functions(fitted, pair.env, pair.sim_params, config),
        slice_dim=args.slice_dim,
        settings={"cli": dataclasses.asdict(args)},
    )
    path = run_dir.commit()
    for name, rho in summary["spearman"].items():
        print(f"{name} gap: Spearman {rho['holdout']:.3f} on held-out rows, {rho['slice']:.3f} on the slice")
    print(f"report: {path}/report.md  heat map: {path}/gap_heatmap.png")
    summary["out"] = str(path)
    return summary
