"""SQIRL against PPO and DQN on gymnax envs with sticky actions.

Laidlaw et al. (2023, "Bridging RL Theory and Practice with the Effective Horizon") argue that
where a few steps of planning on the random policy's Q-values suffice (a small effective
horizon), SQIRL's random exploration plus k-step fitted-Q iteration learns as well as deep RL.
Their stochastic benchmarks use sticky actions. This runs every agent at its defaults on gymnax
envs whose actions stick with probability 0.25 (`--env-override sticky_actions=0.25`, in
training and evaluation alike) and reports where each wins:

    .venv/bin/python experiments/sqirl_sticky/run.py --write-readme

For every (env, algo) one `jaxrl-hybrid train` program trains all seeds (kept on rerun when
finished with the same command); `jaxrl-hybrid report` compares the three per env with IQM,
95% stratified-bootstrap CIs and probabilities of improvement. The table is <out>/results.md
(and the README's with `--write-readme`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from jaxrl_hybrid.experiment.studies import compare_runs, kept_run, publish

ROOT = Path(__file__).resolve().parents[2]
README = Path(__file__).resolve().parent / "README.md"
BEGIN, END = "<!-- sqirl_sticky:begin -->", "<!-- sqirl_sticky:end -->"
ALGOS = ("sqirl", "ppo", "dqn")
ENVS = ("gymnax:CartPole-v1", "gymnax:Acrobot-v1", "gymnax:MountainCar-v0")


def log(msg: str) -> None:
    print(f"[sqirl_sticky] {msg}", file=sys.stderr, flush=True)


def slug(env: str) -> str:
    return env.split(":", 1)[1].lower()


def train(env: str, algo: str, out: Path, args) -> tuple[Path, float]:
    run = out / "runs" / f"{slug(env)}-{algo}"
    cmd = ["train", "--algo", algo, "--env", env, "--env-override", f"sticky_actions={args.sticky}"]
    cmd += ["--num-seeds", str(args.num_seeds), "--total-steps", str(args.total_steps)]
    cmd += ["--eval-every", str(args.total_steps // 5), "--out", str(run)]
    if algo == "dqn":
        cmd += ["--learning-starts", "0"]  # chunks of eval_every cover the whole budget
    log(f"{run.name}: {args.num_seeds} seeds x {args.total_steps} env steps, sticky {args.sticky}")
    return run, kept_run(cmd, run, "sqirl-sticky-stamp.json", log, cwd=ROOT)


def winner(agg: dict) -> str:
    """The algorithm whose IQM CI lies above every other's, else the set whose CIs overlap the best's."""
    best = max(agg, key=lambda a: agg[a]["iqm"]["value"])
    low = agg[best]["iqm"]["ci95"][0]
    tied = [a for a in agg if a != best and agg[a]["iqm"]["ci95"][1] >= low]
    return best if not tied else "tie: " + ", ".join([best, *tied])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/sqirl_sticky")
    parser.add_argument("--envs", nargs="+", default=list(ENVS))
    parser.add_argument("--num-seeds", type=int, default=8)
    parser.add_argument("--total-steps", type=int, default=200_000)
    parser.add_argument("--sticky", type=float, default=0.25)
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args(argv)
    out = Path(args.out)
    rows = []
    for env in args.envs:
        trained = {algo: train(env, algo, out, args) for algo in ALGOS}
        runs = {a: run for a, (run, _) in trained.items()}
        title = f"SQIRL, PPO and DQN on {env} with sticky actions"
        comparison = compare_runs(runs, out / "reports" / slug(env), title, cwd=ROOT)
        steps = {
            a: json.loads((run / "summary.json").read_text())["total_env_steps"] for a, (run, _) in trained.items()
        }
        rows.append((env, comparison, {a: s for a, (_, s) in trained.items()}, steps))
    body = table(rows, args)
    publish(
        body,
        out / "results.md",
        "SQIRL vs PPO and DQN with sticky actions",
        README if args.write_readme else None,
        BEGIN,
        END,
    )
    return 0


def table(rows, args) -> str:
    lines = [
        "",
        f"Final evaluation return (10 deterministic episodes per seed, sticky actions {args.sticky} in evaluation "
        f"too), IQM [95% stratified-bootstrap CI] over {args.num_seeds} seeds, about {args.total_steps:,} env steps "
        "(each agent's whole iterations: the exact count is in parentheses); s = seconds per program on this machine.",
        "",
        "| env | " + " | ".join(ALGOS) + " | P(sqirl > ppo) | P(sqirl > dqn) | wins |",
        "|---" * (len(ALGOS) + 4) + "|",
    ]
    for env, comparison, seconds, steps in rows:
        agg = comparison["aggregates"]
        cells = [
            f"{agg[a]['iqm']['value']:.1f} [{agg[a]['iqm']['ci95'][0]:.1f}, {agg[a]['iqm']['ci95'][1]:.1f}] "
            f"({steps[a]:,}; {seconds[a]:.0f} s)"
            for a in ALGOS
        ]
        poi = comparison["probability_of_improvement"]
        p = [poi[f"sqirl > {b}"] for b in ("ppo", "dqn")]  # the report has every ordered pair
        lines.append(
            f"| {env} | " + " | ".join(cells) + f" | {p[0]['value']:.2f} | {p[1]['value']:.2f} | {winner(agg)} |"
        )
    return "\n".join(lines) + "\n\n"


if __name__ == "__main__":
    raise SystemExit(main())
