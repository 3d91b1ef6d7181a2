"""Stop Regressing at small scale: HL-Gauss vs two-hot vs C51 vs MSE critics for DQN and PQN.

Farebrother et al. (2024) report that training value functions by classification (HL-Gauss
above all) beats regression on Atari-like value-based tasks. This reruns that comparison on
gymnax envs, whatever it shows:

    .venv/bin/python experiments/stop_regressing/run.py                     # cartpole preset
    .venv/bin/python experiments/stop_regressing/run.py --preset minatar    # + two MinAtar games

For every (env, algo, loss) one `jaxrl-hybrid train` program trains all seeds (run folders under
<out>/runs, kept and reused when a rerun finds them finished with the same settings, so an
interrupted study resumes); `jaxrl-hybrid report` then compares the four losses per (env, algo)
with IQM, 95% stratified-bootstrap CIs, probability of improvement and learning curves with CI
bands (<out>/reports/<env>-<algo>/). <out>/results.md holds the table; `--write-readme` puts it
in experiments/stop_regressing/README.md too.

Every agent runs at its defaults (`DQNConfig`, `PQNConfig`: PQN with purejaxql's CartPole
settings); the classification losses use 101 bins over the env's default support
(`envs.names.DEFAULT_VALUE_RANGES`). The `minatar` preset gives PQN purejaxql's MinAtar
lambda (0.65) and no reward scale, as its MinAtar config.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from jaxrl_hybrid.experiment.studies import compare_runs, kept_run, publish

ROOT = Path(__file__).resolve().parents[2]
README = Path(__file__).resolve().parent / "README.md"
BEGIN, END = "<!-- stop_regressing:begin -->", "<!-- stop_regressing:end -->"
LOSSES = ("mse", "hl_gauss", "two_hot", "c51")
ALGOS = ("dqn", "pqn")


@dataclasses.dataclass(frozen=True)
class Task:
    env: str
    total_steps: int
    eval_every: int
    hparams: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)  # per algo: NAME=V


CARTPOLE = Task("gymnax:CartPole-v1", 100_000, 10_000)
MINATAR_PQN = ("q_lambda=0.65", "reward_scale=1.0")
PRESETS = {
    "cartpole": (CARTPOLE,),
    "minatar": (
        CARTPOLE,
        Task("gymnax:Breakout-MinAtar", 1_000_000, 100_000, {"pqn": MINATAR_PQN}),
        Task("gymnax:Asterix-MinAtar", 1_000_000, 100_000, {"pqn": MINATAR_PQN}),
    ),
}


def log(msg: str) -> None:
    print(f"[stop_regressing] {msg}", file=sys.stderr, flush=True)


def slug(env: str) -> str:
    return env.split(":", 1)[1].lower()


def train(task: Task, algo: str, loss: str, out: Path, num_seeds: int) -> tuple[Path, float]:
    """One program of `num_seeds` seeds; a finished run folder with the same command is kept."""
    run = out / "runs" / f"{slug(task.env)}-{algo}-{loss}"
    args = ["train", "--algo", algo, "--env", task.env]
    args += ["--critic-loss", loss, "--num-seeds", str(num_seeds), "--total-steps", str(task.total_steps)]
    args += ["--eval-every", str(task.eval_every), "--out", str(run)]
    if algo == "dqn":
        args += ["--learning-starts", "0"]  # chunks of eval_every cover the whole budget
    for spec in task.hparams.get(algo, ()):
        args += ["--hparam", spec]
    log(f"{run.name}: {num_seeds} seeds x {task.total_steps} env steps")
    return run, kept_run(args, run, "stop-regressing-stamp.json", log, cwd=ROOT)


def table(results: list[tuple[Task, str, dict, dict[str, float], int]]) -> str:
    """The README table; env steps are the runs' own (whole chunks of each agent's iterations:
    PQN's 2,048-step updates make 100,000 into 98,304)."""
    lines = [
        "",
        "Final evaluation return (10 deterministic episodes per seed), IQM [95% stratified-bootstrap CI] over seeds;",
        "P(HL-Gauss > MSE) is the probability that a run with HL-Gauss beats one with MSE.",
        "",
        "| env | algo | env steps | " + " | ".join(LOSSES) + " | P(HL-Gauss > MSE) | s / program |",
        "|---" * (len(LOSSES) + 5) + "|",
    ]
    for task, algo, comparison, seconds, steps in results:
        agg = comparison["aggregates"]
        cells = []
        for loss in LOSSES:
            iqm = agg[loss]["iqm"]
            cells.append(f"{iqm['value']:.1f} [{iqm['ci95'][0]:.1f}, {iqm['ci95'][1]:.1f}]")
        poi = comparison["probability_of_improvement"].get("hl_gauss > mse")
        poi_cell = f"{poi['value']:.2f} [{poi['ci95'][0]:.2f}, {poi['ci95'][1]:.2f}]" if poi else "-"
        secs = "/".join(f"{seconds[loss]:.0f}" for loss in LOSSES)
        lines.append(f"| {task.env} | {algo} | {steps:,} | " + " | ".join(cells) + f" | {poi_cell} | {secs} |")
    return "\n".join(lines) + "\n\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", choices=sorted(PRESETS), default="cartpole")
    parser.add_argument("--out", default="runs/stop_regressing")
    parser.add_argument("--num-seeds", type=int, default=8)
    parser.add_argument("--algos", nargs="+", choices=ALGOS, default=list(ALGOS))
    parser.add_argument("--total-steps", type=int, default=None, help="override every task's budget (tests)")
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args(argv)
    out = Path(args.out)
    results = []
    for task in PRESETS[args.preset]:
        if args.total_steps is not None:
            task = dataclasses.replace(task, total_steps=args.total_steps, eval_every=max(1, args.total_steps // 2))
        for algo in args.algos:
            trained = {loss: train(task, algo, loss, out, args.num_seeds) for loss in LOSSES}
            runs = {loss: run for loss, (run, _) in trained.items()}
            seconds = {loss: secs for loss, (_, secs) in trained.items()}
            steps = json.loads((runs[LOSSES[0]] / "summary.json").read_text())["total_env_steps"]
            title = f"{algo.upper()} on {task.env}: critic losses"
            comparison = compare_runs(runs, out / "reports" / f"{slug(task.env)}-{algo}", title, cwd=ROOT)
            results.append((task, algo, comparison, seconds, steps))
    body = table(results)
    publish(
        body,
        out / "results.md",
        f"Stop Regressing, preset {args.preset}",
        README if args.write_readme else None,
        BEGIN,
        END,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
