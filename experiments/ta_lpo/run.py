"""Meta-learn LPO / TA-LPO drifts and LPG / TA-LPG rules on CartPole with OpenES; test them
against PPO on held-out envs.

    .venv/bin/python experiments/ta_lpo/run.py --write-readme      # about 40 minutes on a 2-core CPU

1. For each objective (TA-LPO, LPO, TA-LPG, LPG): `meta_train` with OpenES (population 64,
   lr 0.03, sigma 0.03, antithetic, centred-rank fitness) over 40 generations; every member
   trains PPO (the LPG agent, for the rules) on CartPole-v1 for 16,384 steps on 2 seeds
   (128 runs per generation in one program), fitness = mean final deterministic return.
   Resumable: a killed run continues from its last generation checkpoint when the script is
   started again.
2. `meta_eval` of each learned objective (rule) against PPO's clip on the same 16 fresh seeds:
   CartPole-v1 (the meta-training env and budget) and the held-out Acrobot-v1 and
   MountainCar-v0, each with its own preset budget (jaxrl_hybrid.meta.inner.INNER_PRESETS), so
   TA-LPO also sees training horizons N it was not trained on.
3. results.json and (--write-readme) the table in experiments/ta_lpo/README.md.

The paper meta-trains for hundreds of generations on MinAtar and Brax with full PureJaxRL
budgets; this is scaled to a 2-core CPU, so the held-out envs are classic control. (MinAtar and
bsuite envs run since our policies flatten image observations; the `lax.select` assertion this
note once blamed on gymnax was our MLP acting on their pixel axes.)
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
META_ENV = "gymnax:CartPole-v1"
EVAL_ENVS = ("gymnax:CartPole-v1", "gymnax:Acrobot-v1", "gymnax:MountainCar-v0", "gymnax:FourRooms-misc")
META = {"population": 64, "num_seeds": 2, "generations": 40, "lr": 0.03, "sigma": 0.03, "total_steps": 16_384}
OBJECTIVES = ("ta-lpo", "lpo", "ta-lpg", "lpg")
MARK_BEGIN, MARK_END = "<!-- results:begin -->", "<!-- results:end -->"


def run_objective(name: str, out: Path, args) -> None:
    from jaxrl_hybrid.logging.run_dir import staging_path
    from jaxrl_hybrid.meta import InnerConfig, MetaConfig, meta_train
    from jaxrl_hybrid.meta.evaluate import meta_eval

    meta_dir, eval_dir = out / name / "meta", out / name / "eval"
    config = MetaConfig(
        objective=name,
        population=args.population,
        num_seeds=META["num_seeds"],
        generations=args.generations,
        lr=META["lr"],
        sigma=META["sigma"],
        seed=0,
        inner=InnerConfig.for_env(META_ENV, total_steps=META["total_steps"]),
    )
    if not (meta_dir / "summary.json").is_file():
        meta_train(config, meta_dir, resume=staging_path(meta_dir).exists())
    if not (eval_dir / "results.json").is_file():
        meta_eval(meta_dir, list(args.envs), eval_dir, num_seeds=args.eval_seeds, seed=1)


def collect(out: Path, name: str) -> dict:
    history = [json.loads(line) for line in (out / name / "meta" / "history.jsonl").read_text().splitlines()]
    return {
        "meta": json.loads((out / name / "meta" / "summary.json").read_text()),
        "meta_minutes": sum(r["seconds"] for r in history) / 60,
        "eval": json.loads((out / name / "eval" / "results.json").read_text()),
    }


def table(results: dict, settings: dict) -> str:
    from jaxrl_hybrid.meta.evaluate import eval_table

    lines = [
        f"OpenES, population {settings['population']}, {settings['generations']} generations, 2 seeds per member, "
        f"CartPole-v1 at {META['total_steps']} steps per inner run; evaluation: {settings['eval_seeds']} fresh seeds "
        f"per env, final deterministic return over 8 episodes, IQM [95% stratified bootstrap CI]; measured "
        f"{settings['date']} on {settings['machine']}.",
        "",
    ]
    for name, r in results.items():
        m = r["meta"]
        lines += [
            f"**{name}**: population mean fitness {m['fitness_mean_first']:.1f} in generation 1, "
            f"{m['fitness_mean_last']:.1f} in generation {m['generations']} (best member {m['fitness_best']:.1f}); "
            f"meta-training took {r['meta_minutes']:.1f} min.",
            "",
            *eval_table(r["eval"]),
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/ta_lpo")
    parser.add_argument("--objectives", nargs="+", default=list(OBJECTIVES), choices=OBJECTIVES)
    parser.add_argument("--generations", type=int, default=META["generations"])
    parser.add_argument("--population", type=int, default=META["population"])
    parser.add_argument("--envs", nargs="+", default=list(EVAL_ENVS))
    parser.add_argument("--eval-seeds", type=int, default=16)
    parser.add_argument("--write-readme", action="store_true", help="rewrite the README results")
    args = parser.parse_args(argv)

    from jaxrl_hybrid.engine.host import configure_host

    configure_host("auto")  # the population is sharded over one CPU device per core
    import jax

    out = Path(args.out)
    t0 = time.perf_counter()
    for name in args.objectives:
        run_objective(name, out, args)
    # the table covers every objective measured under --out so far (runs are skipped once done)
    results = {name: collect(out, name) for name in OBJECTIVES if (out / name / "eval" / "results.json").is_file()}
    settings = {
        "population": args.population,
        "generations": args.generations,
        "eval_seeds": args.eval_seeds,
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()} {jax.default_backend()} ({jax.device_count()} devices)",
        "minutes": (time.perf_counter() - t0) / 60,  # this invocation (finished parts are skipped)
    }
    (out / "results.json").write_text(json.dumps({"settings": settings, "results": results}, indent=2) + "\n")
    text = table(results, settings)
    print(text)
    if args.write_readme:
        from jaxrl_hybrid.report.render import write_between_markers

        write_between_markers(HERE / "README.md", MARK_BEGIN, MARK_END, "\n" + text)
        print(f"wrote {HERE / 'README.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
