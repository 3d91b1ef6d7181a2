"""TD3+BC and IQL on a HalfCheetah dataset recorded here in gymnasium (Minari's DataCollector),
evaluated in gymnasium (stepped on the host) and in the MJX port (inside the compiled program),
side by side: the agreement of the two evaluations is the result.

    .venv/bin/python experiments/mujoco_small/run.py --write-readme

1. `jaxrl-hybrid dataset record --env gymnasium:HalfCheetah-v5 --policy medium`: a SAC policy
   trained in gymnasium for `--behaviour-steps` steps, its medium snapshot recorded for
   `--episodes` episodes into the Minari dataset `mujoco_small/halfcheetah/medium-v0` under
   `<out>/minari` (kept when present). D4RL's HalfCheetah reference returns normalise the scores.
2. Each algorithm trains twice from the same seeds, once evaluated in `gymnasium:HalfCheetah-v5`
   and once with `--env mjx:HalfCheetah-v5`. Offline training never touches the env, so both runs
   train the same agents (checked: their training losses are identical line for line); only the
   evaluation env differs. A finished run with the same command is kept.

The table is <out>/results.md (and the README's with `--write-readme`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from jaxrl_hybrid.experiment.studies import kept_run, publish

ROOT = Path(__file__).resolve().parents[2]
README = Path(__file__).resolve().parent / "README.md"
BEGIN, END = "<!-- mujoco_small:begin -->", "<!-- mujoco_small:end -->"
ALGOS = ("td3bc", "iql")
ENVS = ("gymnasium:HalfCheetah-v5", "mjx:HalfCheetah-v5")
DATASET_ID = "mujoco_small/halfcheetah/medium-v0"


def log(msg: str) -> None:
    print(f"[mujoco_small] {msg}", file=sys.stderr, flush=True)


def record(args, env: dict) -> None:
    from jaxrl_hybrid.data.minari_io import minari_path

    if minari_path(DATASET_ID).exists():
        log(f"{DATASET_ID}: recorded before, kept")
        return
    cmd = [sys.executable, "-m", "jaxrl_hybrid.cli.main", "dataset", "record", "--env", ENVS[0], "--dataset-id",
           DATASET_ID, "--policy", "medium", "--episodes", str(args.episodes), "--train-steps",
           str(args.behaviour_steps), "--hidden-dims", *map(str, args.behaviour_hidden_dims)]  # fmt: skip
    log(f"recording {DATASET_ID}: SAC {args.behaviour_steps} steps, {args.episodes} episodes")
    subprocess.run(cmd, cwd=ROOT, env=env, check=True)


def train_losses(run: Path) -> list[dict]:
    keep = ("critic_loss", "actor_loss", "value_loss", "q_mean")
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [{k: r[k] for k in keep if k in r} for r in rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/mujoco_small")
    parser.add_argument("--num-seeds", type=int, default=4)
    parser.add_argument("--updates", type=int, default=20_000)
    parser.add_argument("--eval-episodes", type=int, default=5)
    parser.add_argument("--behaviour-steps", type=int, default=100_000)
    parser.add_argument("--behaviour-hidden-dims", type=int, nargs="+", default=[64, 64])
    parser.add_argument("--episodes", type=int, default=20, help="recorded episodes (1,000 steps each)")
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args(argv)
    out = Path(args.out).absolute()
    out.mkdir(parents=True, exist_ok=True)
    os.environ["MINARI_DATASETS_PATH"] = str(out / "minari")
    env = {**os.environ}
    record(args, env)
    from jaxrl_hybrid.data import episode_returns, load, normalized_score

    data = load(DATASET_ID)
    refs = data.metadata["reference_returns"]
    data_score = float(normalized_score(np.asarray(episode_returns(data)).mean(), refs["random"], refs["expert"]))
    cells, seconds = {}, {}
    for algo in ALGOS:
        for env_name in ENVS:
            run = out / "runs" / f"{algo}-{env_name.split(':')[0]}"
            cmd = ["train", "--algo", algo, "--dataset", DATASET_ID, "--env", env_name, "--num-seeds",
                   str(args.num_seeds), "--updates", str(args.updates), "--eval-every", str(args.updates),
                   "--num-eval-episodes", str(args.eval_episodes), "--out", str(run)]  # fmt: skip
            log(f"{run.name}: {args.num_seeds} seeds x {args.updates} updates, evaluated in {env_name}")
            seconds[algo, env_name] = kept_run(cmd, run, "mujoco-small-stamp.json", log, cwd=ROOT)
            cells[algo, env_name] = json.loads((run / "summary.json").read_text())
        runs = [out / "runs" / f"{algo}-{e.split(':')[0]}" for e in ENVS]
        if train_losses(runs[0]) != train_losses(runs[1]):
            raise RuntimeError(f"{algo}: the two runs trained different agents (their losses differ)")
    publish(table(cells, seconds, data, data_score, args), out / "results.md", "TD3+BC and IQL on HalfCheetah: "
            "gymnasium vs MJX evaluation", README if args.write_readme else None, BEGIN, END)  # fmt: skip
    return 0


def table(cells, seconds, data, data_score, args) -> str:
    lines = [
        "",
        f"Data: `{DATASET_ID}`, {data.size:,} transitions ({data.num_episodes} episodes) of a "
        f"{'x'.join(map(str, args.behaviour_hidden_dims))} SAC policy trained {args.behaviour_steps:,} steps in "
        "gymnasium's HalfCheetah-v5 (its medium snapshot), normalised score "
        f"{data_score:.1f} (D4RL's reference returns). {args.updates:,} updates, {args.num_seeds} seeds, "
        f"{args.eval_episodes} deterministic 1,000-step episodes per seed; IQM [95% stratified-bootstrap CI] of "
        "the final normalised score; the same trained agents evaluated in each env. s = wall seconds of each "
        "run (training and its evaluation) on this 2-core CPU.",
        "",
        "| algo | gymnasium (host) | MJX (compiled) | per seed: gymnasium / MJX |",
        "|---|---|---|---|",
    ]
    for algo in ALGOS:
        g, m = (cells[algo, e]["normalized"] for e in ENVS)
        pairs = ", ".join(f"{a:.1f} / {b:.1f}" for a, b in zip(g["final_score"], m["final_score"], strict=True))
        lines.append(
            f"| {algo} | {g['iqm']:.1f} [{g['ci95'][0]:.1f}, {g['ci95'][1]:.1f}] ({seconds[algo, ENVS[0]]:.0f} s) "
            f"| {m['iqm']:.1f} [{m['ci95'][0]:.1f}, {m['ci95'][1]:.1f}] ({seconds[algo, ENVS[1]]:.0f} s) | {pairs} |"
        )
    return "\n".join(lines) + "\n\n"


if __name__ == "__main__":
    raise SystemExit(main())
