"""ARSQ against IQL and CQL on suboptimal offline data: Pendulum and brax Hopper, medium and
medium-replay.

ARSQ (Zhang et al., 2025) learns from suboptimal data by coding continuous actions
coarse-to-fine and predicting each dimension's soft advantage auto-regressively. Here it runs
offline (`agents.arsq`, with CQL(H)'s penalty in its exact form) beside IQL and CQL, every agent
at its own defaults, on datasets this script generates (`jaxrl-hybrid dataset generate`, kept and
reused when present):

    .venv/bin/python experiments/arsq_offline/run.py --write-readme

Each (dataset, algo) is one `jaxrl-hybrid train` program of all seeds; a run folder finished
with the same command is kept, so an interrupted study resumes. The table is <out>/results.md
(and the README's with `--write-readme`): final normalised score, IQM [95% stratified-bootstrap
CI] over seeds, beside the data's own score, and seconds per program.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from jaxrl_hybrid.experiment.studies import kept_run, publish

ROOT = Path(__file__).resolve().parents[2]
README = Path(__file__).resolve().parent / "README.md"
BEGIN, END = "<!-- arsq_offline:begin -->", "<!-- arsq_offline:end -->"
ALGOS = ("arsq", "iql", "cql")


@dataclasses.dataclass(frozen=True)
class Data:
    name: str
    env: str
    kind: str
    size: int
    generate: tuple[str, ...] = ()  # extra `dataset generate` flags


HOPPER_GENERATOR = tuple(
    "--train-steps 30000 --hidden-dims 64 64 --num-snapshot-episodes 5 --num-reference-episodes 20".split()
)
DATASETS = (
    Data("pendulum-medium", "gymnax:Pendulum-v1", "medium", 100_000),
    Data("pendulum-medium-replay", "gymnax:Pendulum-v1", "medium-replay", 100_000),
    # brax Hopper at a CPU's budget: a 64x64 behaviour SAC trained 30,000 steps
    Data("hopper-medium", "brax:hopper", "medium", 50_000, HOPPER_GENERATOR),
    Data("hopper-medium-replay", "brax:hopper", "medium-replay", 50_000, HOPPER_GENERATOR),
)


def log(msg: str) -> None:
    print(f"[arsq_offline] {msg}", file=sys.stderr, flush=True)


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "jaxrl_hybrid.cli.main", *args]


def dataset(data: Data, data_dir: Path) -> Path:
    path = data_dir / f"{data.name}-{data.size}.hdf5"
    if path.exists():
        return path
    log(f"generating {path}")
    cmd = cli("dataset", "generate", "--env", data.env, "--kind", data.kind, "--size", str(data.size))
    subprocess.run([*cmd, *data.generate, "--out", str(path)], cwd=ROOT, check=True)
    return path


def train(algo: str, path: Path, out: Path, args) -> tuple[Path, float]:
    """One program of all seeds; a finished run folder with the same command is kept."""
    run = out / "runs" / f"{path.stem}-{algo}"
    cmd = ["train", "--algo", algo, "--dataset", str(path), "--num-seeds", str(args.num_seeds)]
    cmd += ["--updates", str(args.updates), "--eval-every", str(args.updates // 4)]
    cmd += ["--num-eval-episodes", str(args.episodes), "--hidden-dims", *map(str, args.hidden_dims)]
    cmd += ["--out", str(run)]
    log(f"{run.name}: {args.num_seeds} seeds x {args.updates} updates")
    return run, kept_run(cmd, run, "arsq-offline-stamp.json", log, cwd=ROOT)


def data_score(path: Path) -> tuple[float, int]:
    """The dataset's own mean normalised episode return, and its transitions (medium-replay
    holds at most the requested size: the tail of the behaviour run's replay)."""
    from jaxrl_hybrid.data import episode_returns, load, normalized_score

    ds = load(str(path))
    refs = ds.metadata["reference_returns"]
    score = float(normalized_score(np.asarray(episode_returns(ds)).mean(), refs["random"], refs["expert"]))
    return score, int(ds.size)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/arsq_offline")
    parser.add_argument("--data-dir", default="runs/arsq_offline/data")
    parser.add_argument("--datasets", nargs="+", choices=[d.name for d in DATASETS], default=[d.name for d in DATASETS])
    parser.add_argument("--algos", nargs="+", choices=ALGOS, default=list(ALGOS))
    parser.add_argument("--num-seeds", type=int, default=4)
    parser.add_argument("--updates", type=int, default=10_000)
    parser.add_argument("--episodes", type=int, default=10, help="evaluation episodes per seed")
    parser.add_argument("--hidden-dims", type=int, nargs="+", default=[64, 64], help="every agent's widths")
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args(argv)
    out, data_dir = Path(args.out), Path(args.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for data in DATASETS:
        if data.name not in args.datasets:
            continue
        path = dataset(data, data_dir)
        cells = {}
        for algo in args.algos:
            run, seconds = train(algo, path, out, args)
            summary = json.loads((run / "summary.json").read_text())["normalized"]
            cells[algo] = (summary["iqm"], summary["ci95"], seconds)
        rows.append((data, *data_score(path), cells))
    body = table(rows, args)
    readme = README if args.write_readme else None
    publish(body, out / "results.md", "ARSQ vs IQL and CQL offline", readme, BEGIN, END)
    return 0


def table(rows, args) -> str:
    algos = [a for a in ALGOS if a in args.algos]
    lines = [
        "",
        f"Final normalised score after {args.updates:,} updates ({args.num_seeds} seeds, {args.episodes} deterministic "
        f"episodes each, every agent {'x'.join(map(str, args.hidden_dims))} at its other defaults): IQM "
        "[95% stratified-bootstrap CI]; s = seconds per program of all seeds on this machine.",
        "",
        "| dataset | data | " + " | ".join(algos) + " |",
        "|---" * (len(algos) + 2) + "|",
    ]
    for data, score, size, cells in rows:
        row = [f"{cells[a][0]:.1f} [{cells[a][1][0]:.1f}, {cells[a][1][1]:.1f}] ({cells[a][2]:.0f} s)" for a in algos]
        lines.append(f"| {data.name} ({size:,} transitions) | {score:.1f} | " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n\n"


if __name__ == "__main__":
    raise SystemExit(main())
