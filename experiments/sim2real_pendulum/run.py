"""Sim-to-real on Pendulum: H2O (both gap estimators) against CQL on the real data, SAC in the
simulator, and naive sim + real mixing, for every Pendulum shift of `jaxrl_hybrid.envs.shifts`.

    .venv/bin/python experiments/sim2real_pendulum/run.py --write-readme     # about 45 min on 2 CPU cores
    .venv/bin/python experiments/sim2real_pendulum/run.py --brax --num-seeds 4   # hopper, for an accelerator
    .venv/bin/python experiments/sim2real_pendulum/run.py --brax --smoke         # every stage, tiny budget (CPU)

Per shift:
1. Real data (cached in runs/data/): a behaviour SAC trained in the shift's real dynamics, its
   medium snapshot rolled out into 10,000 transitions.
2. Five methods, 8 seeds each, every run one vmapped program, all scored in the real dynamics:
   - H2O with the discriminator gap and with the model gap (`jaxrl-hybrid hybrid --method h2o`);
   - SAC on the simulator only, and SAC on naive 50/50 sim + real batches;
   - CQL on the real data only (`jaxrl-hybrid train --algo cql`), for as many updates as the
     others make.
3. results.json and, with --write-readme, the IQM [95% CI] table in this folder's README.

Settings are scaled for a 2-core CPU: 64x64 networks (discriminators and dynamics model too),
batch 128, learning rates 1e-3, 6,000 simulator steps (1,000 random warm-up) and so 5,000
updates per seed. The run is resumable: finished runs (summary.json present, same settings) are kept.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
PENDULUM_SHIFTS = ["pendulum-heavy-pole", "pendulum-long-pole", "pendulum-weak-motor", "pendulum-high-gravity"]
BEHAVIOUR = {"train_steps": 6000, "hidden_dims": [64, 64], "batch_size": 128, "learning_rate": 1e-3}
SETTINGS = {
    "hidden_dims": [64, 64],
    "batch_size": 128,
    "learning_rate": 1e-3,
    "total_steps": 6000,
    "learning_starts": 1000,
    "eval_every": 1000,
    "num_eval_episodes": 10,
    "dynamics_epochs": 50,
    "cql_num_actions": 4,
}
BRAX = {
    "shift": "hopper-high-gravity",
    "behaviour": {"train_steps": 100_000, "hidden_dims": [256, 256], "batch_size": 256, "learning_rate": 3e-4},
    "settings": {
        **SETTINGS,
        "hidden_dims": [256, 256],
        "batch_size": 256,
        "learning_rate": 3e-4,
        "total_steps": 100_000,
        "learning_starts": 5000,
        "eval_every": 10_000,
        "dynamics_epochs": 100,
    },
}
# --smoke: every stage of the pipeline (data, dynamics model, discriminators, all five methods)
# at a budget that finishes on a CPU, to check a setup before spending accelerator time on it.
SMOKE = {
    "behaviour": {"train_steps": 2000, "hidden_dims": [32, 32], "batch_size": 64, "learning_rate": 1e-3},
    "settings": {
        **SETTINGS,
        "hidden_dims": [32, 32],
        "batch_size": 64,
        "total_steps": 1500,
        "learning_starts": 500,
        "eval_every": 500,
        "num_eval_episodes": 2,
        "dynamics_epochs": 3,
    },
}
METHODS = {
    "h2o-discriminator": "H2O, discriminator gap",
    "h2o-model": "H2O, model gap (ours)",
    "cql": "CQL, real data only",
    "sac-sim": "SAC, simulator only",
    "sac-mix": "SAC, naive sim + real mix",
}


def data_settings(shift: str, env: str, behaviour: dict) -> dict:
    return {
        "env": env,
        "shift": shift,
        "side": "real",
        "kind": "medium",
        "size": 10_000,
        "seed": 0,
        "behaviour": behaviour,
    }


def method_config(method: str, shift: str, data_file: Path, s: dict):
    from jaxrl_hybrid.agents import CQLConfig, SACConfig
    from jaxrl_hybrid.agents.h2o import H2OConfig
    from jaxrl_hybrid.envs.shifts import get_shift
    from jaxrl_hybrid.models.dynamics import DynamicsConfig
    from jaxrl_hybrid.models.gap import DiscriminatorConfig
    from jaxrl_hybrid.training import TrainConfig
    from jaxrl_hybrid.training.hybrid import HybridConfig

    dims, batch = tuple(s["hidden_dims"]), s["batch_size"]
    updates = s["total_steps"] - s["learning_starts"]
    if method == "cql":
        agent = CQLConfig(hidden_dims=dims, num_actions=s["cql_num_actions"])
        return TrainConfig(
            algo="cql",
            env=get_shift(shift).env_name,
            total_steps=updates,
            eval_every=s["eval_every"],
            num_eval_episodes=s["num_eval_episodes"],
            batch_size=batch,
            agent=agent,
            dataset=str(data_file),
        )
    if method.startswith("h2o"):
        agent = H2OConfig(
            hidden_dims=dims,
            discriminator=DiscriminatorConfig(hidden_dims=dims),
            dynamics=DynamicsConfig(hidden_dims=dims, max_epochs=s["dynamics_epochs"]),
        )
    else:
        agent = SACConfig(hidden_dims=dims)
    return HybridConfig(
        method="h2o" if method.startswith("h2o") else method,
        gap=method.removeprefix("h2o-") if method.startswith("h2o") else "discriminator",
        shift=shift,
        total_steps=s["total_steps"],
        learning_starts=s["learning_starts"],
        eval_every=s["eval_every"],
        num_eval_episodes=s["num_eval_episodes"],
        buffer_size=s["total_steps"],
        batch_size=batch,
        agent=agent,
        dataset=str(data_file),
    )


def run_method(method, shift, data_file, dataset, s, out: Path, num_seeds: int, seed: int) -> dict:
    """One method's run folder (kept if already finished with the same settings)."""
    from jaxrl_hybrid.experiment import run_experiment

    folder = out / shift / method
    stamp = {"method": method, "shift": shift, "settings": s, "num_seeds": num_seeds, "seed": seed}
    if (folder / "summary.json").exists() and (folder / "experiment.json").exists():
        if json.loads((folder / "experiment.json").read_text()) == stamp:
            print(f"{shift} / {method}: finished before, kept", flush=True)
            return json.loads((folder / "summary.json").read_text())
    print(f"\n== {shift} / {METHODS[method]} ==", flush=True)
    lr = s["learning_rate"]
    grid = [{"actor_lr": lr, "critic_lr": lr, "temp_lr": lr}] if method != "cql" else None  # CQL: paper rates
    summary = run_experiment(
        method_config(method, shift, data_file, s),
        num_seeds=num_seeds,
        seed=seed,
        out=str(folder),
        overwrite=True,
        hparam_grid=grid,
        dataset=dataset,
        extra_config={"experiment": stamp},
    )
    (folder / "experiment.json").write_text(json.dumps(stamp, indent=2))
    return summary


def table(results: dict) -> str:
    shifts = list(results)
    head = "| method | " + " | ".join(f"`{s}`" for s in shifts) + " |"
    lines = [head, "|---" * (len(shifts) + 1) + "|"]
    for method, label in METHODS.items():
        cells = []
        for s in shifts:
            r = results[s].get(method)
            cells.append("—" if r is None else f"{r['iqm']:.1f} [{r['ci95'][0]:.1f}, {r['ci95'][1]:.1f}]")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    data = [f"{results[s]['_data']['score']:.1f}" for s in shifts]
    lines.append("| *the real data itself* | " + " | ".join(data) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/sim2real_pendulum")
    parser.add_argument("--data-dir", default="runs/data")
    parser.add_argument("--num-seeds", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shifts", nargs="*", default=PENDULUM_SHIFTS)
    parser.add_argument("--methods", nargs="*", default=list(METHODS))
    parser.add_argument("--brax", action="store_true", help="the hopper variant (one shift; meant for an accelerator)")
    parser.add_argument("--smoke", action="store_true", help="tiny budgets: check that every stage runs")
    parser.add_argument("--write-readme", action="store_true", help="put the table into this folder's README.md")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.methods) - set(METHODS))
    if unknown:
        parser.error(f"unknown methods {unknown}; known: {list(METHODS)}")

    from jaxrl_hybrid.data import episode_returns, load
    from jaxrl_hybrid.data.stats import normalized_score
    from jaxrl_hybrid.envs.shifts import get_shift
    from jaxrl_hybrid.report import summarize
    from jaxrl_hybrid.training.collect import cached_dataset

    t0 = time.perf_counter()
    shifts, behaviour, s = args.shifts, BEHAVIOUR, SETTINGS
    if args.brax:
        shifts, behaviour, s = [BRAX["shift"]], BRAX["behaviour"], BRAX["settings"]
    if args.smoke:
        shifts, behaviour, s = shifts[:1], SMOKE["behaviour"], SMOKE["settings"]
    out = Path(args.out + ("_brax" if args.brax else "") + ("_smoke" if args.smoke else ""))
    results: dict = {}
    for shift in shifts:
        env = get_shift(shift).env_name
        name = f"{shift}-real-medium{'-smoke' if args.smoke else ''}.hdf5"
        data_file = cached_dataset(Path(args.data_dir) / name, data_settings(shift, env, behaviour), stream=sys.stdout)
        dataset = load(data_file)
        refs = dataset.metadata["reference_returns"]
        data_return = float(np.mean(episode_returns(dataset)))
        score = float(normalized_score(data_return, refs["random"], refs["expert"]))
        results[shift] = {"_data": {"return": data_return, "score": score, "reference_returns": refs}}
        for method in args.methods:
            summary = run_method(method, shift, data_file, dataset, s, out, args.num_seeds, args.seed)
            scores = summary["normalized"]["final_score"]
            results[shift][method] = {"final_score": scores, **summarize(scores, seed=args.seed)}
            print(f"{shift} / {method}: IQM {results[shift][method]['iqm']:.1f}", flush=True)
    results["_settings"] = {"settings": s, "behaviour": behaviour, "num_seeds": args.num_seeds, "seed": args.seed}
    results["_wall_time_s"] = time.perf_counter() - t0
    (out / "results.json").write_text(json.dumps(results, indent=2))
    shown = {k: v for k, v in results.items() if not k.startswith("_")}
    text = table(shown)
    print("\nNormalised final score in the real dynamics, IQM [95% CI] over seeds:\n" + text)
    if args.write_readme and not (args.brax or args.smoke):
        readme = HERE / "README.md"
        empty = "# Sim-to-real on Pendulum\n\n<!-- table -->\n<!-- /table -->\n"
        body = readme.read_text() if readme.exists() else empty
        start, end = body.index("<!-- table -->"), body.index("<!-- /table -->")
        body = body[: start + len("<!-- table -->")] + "\n" + text + "\n" + body[end:]
        readme.write_text(body)
        print(f"wrote the table into {readme}")
    print(f"results: {out / 'results.json'} ({results['_wall_time_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
