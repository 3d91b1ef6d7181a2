"""Parity with a reference implementation: the same HDF5 files trained by us and by d3rlpy 2.8.1.

For every (algorithm, dataset): ours trains `--seeds` seeds in one `jaxrl-hybrid train` program,
d3rlpy trains `--peer-seeds` seeds one process each (`peers/d3rlpy_parity.py`, in the d3rlpy
peer venv that `peers.py` makes), both at their own published defaults (256x256 networks,
batch 256 unless the paper says otherwise), the same number of updates, and the same
evaluation rule: the deterministic policy's mean return over `--episodes` episodes from the
env's own initial-state distribution (ours in gymnax's Pendulum, d3rlpy in gymnasium's, which
has the same dynamics, observations and rewards), normalised by the file's reference returns.
d3rlpy's policies are also exported as numpy and scored by our own evaluation in the file's env
(`peer_policy.py`, checked against d3rlpy's `predict`): a cross-check on Pendulum, and the only
score on other envs (`--env brax:hopper`, for example).

    python benchmarks/parity.py --out benchmarks/results/parity [--algos iql bc] [--datasets medium]
    python benchmarks/parity.py --sides ours & python benchmarks/parity.py --sides peer  # two cores
    python benchmarks/parity.py --sides peer --peer-jobs 2   # d3rlpy's two seeds at once

Data are generated once (`jaxrl-hybrid dataset generate`, cached in `--data-dir`); every run
folder or peer JSON that exists with the same settings is kept, so an interrupted suite resumes.
Writes `parity.json` and `parity.md` (IQM and 95% stratified-bootstrap CIs, seconds per run).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

ALGOS = ("bc", "td3bc", "iql", "cql", "calql")
DATASETS = ("medium", "medium-replay", "medium-expert")
ENV = "gymnax:Pendulum-v1"
README_BEGIN, README_END = "<!-- parity:begin -->", "<!-- parity:end -->"


def log(msg: str) -> None:
    print(f"[parity] {msg}", file=sys.stderr, flush=True)


def env_label(env: str) -> str:
    """Short name of an env in file and folder names: 'pendulum' for the default, else its id."""
    return "pendulum" if env == ENV else env.split(":", 1)[1].lower()


def cell_name(env: str, kind: str) -> str:
    """A dataset's row label and result folder: the kind for Pendulum (the suite's first files), else env-kind."""
    return kind if env == ENV else f"{env_label(env)}-{kind}"


def dataset_file(
    data_dir: Path, env: str, kind: str, size: int, train_steps: int | None = None, generate_args: str = ""
) -> Path:
    """The generated dataset of `kind` in `env` (made once; the generator's own stamp keeps it
    honest). `generate_args` are more `dataset generate` flags; a file made with any carries
    their hash in its name, so a cached file never stands in for different settings."""
    extra = shlex.split(generate_args)
    tag = "-" + hashlib.sha256(" ".join(extra).encode()).hexdigest()[:8] if extra else ""
    path = data_dir / f"{env_label(env)}-{kind}-{size}{tag}.hdf5"
    if not path.exists():
        log(f"generating {path.name}")
        cmd = [sys.executable, "-m", "jaxrl_hybrid.cli.main", "dataset", "generate", "--env", env, "--kind", kind]
        cmd += ["--size", str(size), "--out", str(path)]
        if train_steps is not None:
            cmd += ["--train-steps", str(train_steps)]
        subprocess.run([*cmd, *extra], cwd=ROOT, check=True)
    return path


def data_score(path: Path) -> float:
    """The dataset's own mean normalised episode return."""
    from jaxrl_hybrid.data import episode_returns, load
    from jaxrl_hybrid.data.stats import normalized_score

    dataset = load(str(path))
    refs = dataset.metadata["reference_returns"]
    return float(normalized_score(episode_returns(dataset).mean(), refs["random"], refs["expert"]))


def ours_finished(algo: str, path: Path, out: Path, args) -> bool:
    """Whether `out` holds our finished program of these settings."""
    stamp = {"algo": algo, "data": path.name, "updates": args.updates, "seeds": args.seeds, "episodes": args.episodes}
    stamp_file = out / "parity-stamp.json"
    kept = json.loads(stamp_file.read_text()) if stamp_file.exists() else {}
    return (out / "summary.json").exists() and all(kept.get(k) == v for k, v in stamp.items())


def peer_seed_finished(algo: str, path: Path, out: Path, args, seed: int) -> bool:
    """Whether peer seed `seed` of these settings finished in `out` (its JSON is written whole at its end)."""
    target = out / f"seed{seed}.json"
    cfg = {"data": str(path), "algo": algo, "updates": args.updates, "episodes": args.episodes, "seed": seed}
    done = json.loads(target.read_text()) if target.exists() else None
    return done is not None and all(done["config"].get(k) == v for k, v in cfg.items())


def peer_finished(algo: str, path: Path, out: Path, args) -> bool:
    """Whether every peer seed of these settings finished in `out`."""
    return all(peer_seed_finished(algo, path, out, args, seed) for seed in range(args.peer_seeds))


def run_ours(algo: str, path: Path, out: Path, args) -> dict:
    """One `jaxrl-hybrid train` program of `args.seeds` seeds; kept if it finished with these
    settings, continued from its last evaluation's checkpoint if it was killed."""
    stamp = {"algo": algo, "data": path.name, "updates": args.updates, "seeds": args.seeds, "episodes": args.episodes}
    summary, stamp_file = out / "summary.json", out / "parity-stamp.json"
    if ours_finished(algo, path, out, args):
        log(f"ours {algo} on {path.name}: finished before, kept")
    else:
        log(f"ours {algo} on {path.name}: {args.seeds} seeds x {args.updates} updates")
        cmd = [sys.executable, "-m", "jaxrl_hybrid.cli.main", "train", "--algo", algo, "--dataset", str(path)]
        cmd += ["--updates", str(args.updates), "--num-seeds", str(args.seeds), "--eval-every", str(args.eval_every)]
        cmd += ["--num-eval-episodes", str(args.episodes), "--out", str(out), "--overwrite"]
        # a checkpoint at every evaluation: a killed run (CQL's take hours here) continues from
        # its last one with identical numbers; its seconds are then those of the last process
        cmd += ["--checkpoint-every", "1", "--resume"]
        t = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, check=True)
        stamp["process_seconds"] = time.perf_counter() - t
        stamp_file.write_text(json.dumps(stamp))
    result = json.loads(summary.read_text())
    seconds = json.loads(stamp_file.read_text()).get("process_seconds")
    return {"scores": result["normalized"]["final_score"], "seconds": seconds, "seeds_per_process": args.seeds}


def run_peer(algo: str, path: Path, out: Path, args, python: Path) -> dict:
    """d3rlpy, one process per seed, `args.peer_jobs` of them at once; each seed's JSON kept if it
    finished with these settings.

    Each seed's policies are exported (`--export-dir`) and the final one is scored by our own
    evaluation in the file's env (`peer_policy.py`): for Pendulum beside d3rlpy's gymnasium score
    (a cross-check of the two envs), for every other env the only score."""
    import peer_policy

    in_gymnasium = args.env == ENV
    targets = [out / f"seed{seed}.json" for seed in range(args.peer_seeds)]
    todo = [seed for seed in range(args.peer_seeds) if not peer_seed_finished(algo, path, out, args, seed)]
    if todo:
        out.mkdir(parents=True, exist_ok=True)
        cmd = [str(python), str(HERE / "peers" / "d3rlpy_parity.py"), "--data", str(path), "--algo", algo]
        cmd += ["--updates", str(args.updates), "--eval-every", str(args.eval_every), "--episodes", str(args.episodes)]
        commands = {
            seed: [*cmd, "--export-dir", str(out / f"seed{seed}-policies"), "--seed", str(seed)]
            + ["--out", str(targets[seed])]
            for seed in todo
        }
        run_seeds(commands, args.peer_jobs, f"d3rlpy {algo} on {path.name}")
    scores, ours_env, seconds = [], [], []
    for seed, target in enumerate(targets):
        done = json.loads(target.read_text())
        final_policy = done["curve"][-1].get("policy")
        if final_policy and Path(final_policy).exists():
            scored = out / f"seed{seed}-our-env.json"
            if not scored.exists():
                scored.write_text(json.dumps(peer_policy.score(final_policy, str(path), args.episodes, seed)))
            ours_env.append(json.loads(scored.read_text())["score"])
        elif not in_gymnasium:
            raise SystemExit(f"{target}: no exported final policy to score in {args.env}; delete it to rerun the seed")
        scores.append(done["final_score"] if in_gymnasium else ours_env[-1])
        seconds.append(done["wall_seconds"])
    return {
        "scores": scores,
        "scores_our_env": ours_env,
        "seconds": float(np.mean(seconds)) if seconds else None,
        "seeds_per_process": 1,
    }


def run_seeds(commands: dict[int, list[str]], jobs: int, what: str) -> None:
    """Run one process per seed, at most `jobs` at once. With `jobs` > 1 each process is
    single-threaded unless the caller set `OMP_NUM_THREADS` (so `jobs` is the cores they take);
    one at a time, the environment is passed as it is. A failed seed stops the others (they are
    terminated; each peer process writes its JSON only at its end, so nothing half-written is
    kept) and is reported by seed, exit code and command; Ctrl-C terminates every running seed."""
    import os

    env = dict(os.environ)
    if jobs > 1:
        env.setdefault("OMP_NUM_THREADS", "1")
    pending, running = list(commands), {}
    try:
        while pending or running:
            while pending and len(running) < jobs:
                seed = pending.pop(0)
                log(f"{what}: seed {seed}")
                running[seed] = subprocess.Popen(commands[seed], cwd=ROOT, env=env)
            time.sleep(0.2)
            for seed, proc in list(running.items()):
                if proc.poll() is None:
                    continue
                del running[seed]
                if proc.returncode != 0:
                    failed = shlex.join(commands[seed])
                    raise SystemExit(f"{what}: seed {seed} failed (exit {proc.returncode}): {failed}")
    finally:
        for proc in running.values():
            proc.terminate()
        for proc in running.values():
            proc.wait()


def cell(scores) -> str:
    from jaxrl_hybrid.report.stats import summarize

    s = summarize(np.asarray(scores, np.float64))
    return f"{s['iqm']:.1f} [{s['ci95'][0]:.1f}, {s['ci95'][1]:.1f}]"


def write_table(rows: list[dict], out: Path, args) -> None:
    lines = [
        f"Final normalised score after {args.updates} updates, IQM [95% stratified-bootstrap CI] over "
        f"{args.seeds} seeds (ours) and {args.peer_seeds} (d3rlpy 2.8.1); {args.episodes} deterministic "
        "episodes per evaluation. d3rlpy is scored in gymnasium's Pendulum-v1 and, where its policy was "
        "exported, by our evaluation in the file's env (`peer_policy.py`); on other envs only by ours. "
        "Seconds: one process, start to exit (ours: all its seeds in one program).",
        "",
        "| dataset | data | algorithm | ours | d3rlpy | d3rlpy, our env | ours s / process | d3rlpy s / seed |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        peer = r.get("peer") or {}
        scored = cell(peer["scores"]) if peer.get("scores") else "not run"
        our_env = cell(peer["scores_our_env"]) if peer.get("scores_our_env") else "-"
        ours_s = f"{r['ours']['seconds']:.0f}" if r["ours"].get("seconds") else "?"
        peer_s = f"{peer['seconds']:.0f}" if peer.get("seconds") else "-"
        lines.append(
            f"| {r['dataset']} | {r['data_score']:.1f} | {r['algo']} | {cell(r['ours']['scores'])} | {scored} "
            f"| {our_env} | {ours_s} | {peer_s} |"
        )
    (out / "parity.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    if args.write_readme:
        from jaxrl_hybrid.report.render import write_between_markers

        readme = HERE / "README.md"
        lines = merged_rows(lines, readme.read_text())
        try:
            write_between_markers(readme, README_BEGIN, README_END, "\n" + "\n".join(lines) + "\n")
        except ValueError as e:
            raise SystemExit(str(e)) from None


def merged_rows(lines: list[str], readme: str) -> list[str]:
    """The new table `lines` with the README table's rows of other cells kept (run folders are
    not committed, so a run of some cells must not drop the others); rows ordered by dataset
    as the README had them, new datasets last."""
    old_body = readme.split(README_BEGIN, 1)[1].split(README_END, 1)[0] if README_BEGIN in readme else ""
    table_row = lambda line: line.startswith("| ") and not line.startswith(("| dataset", "|---"))  # noqa: E731
    key = lambda line: tuple(c.strip() for c in line.split("|")[1:4:2])  # (dataset, algorithm)  # noqa: E731
    new_rows = [line for line in lines if table_row(line)]
    fresh = {key(line) for line in new_rows}
    rows = [line for line in old_body.splitlines() if table_row(line) and key(line) not in fresh] + new_rows
    order = list(dict.fromkeys(key(line)[0] for line in rows))
    rows.sort(key=lambda line: order.index(key(line)[0]))  # stable: within a dataset, as they came
    return [line for line in lines if not table_row(line)] + rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="benchmarks/results/parity")
    parser.add_argument("--data-dir", default="runs/parity/data")
    parser.add_argument("--algos", nargs="+", default=list(ALGOS), choices=ALGOS)
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--env", default=ENV, help="the datasets' env (Pendulum: d3rlpy scored in gymnasium too)")
    parser.add_argument("--train-steps", type=int, default=None, help="behaviour SAC steps of the generator")
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument(
        "--generate-args",
        default="",
        help="more `dataset generate` flags, e.g. the CPU-sized brax Hopper of experiments/arsq_offline: "
        '"--hidden-dims 64 64 --num-snapshot-episodes 5 --num-reference-episodes 20" (with --train-steps 30000)',
    )
    parser.add_argument("--updates", type=int, default=20_000)
    parser.add_argument("--eval-every", type=int, default=5_000)
    parser.add_argument(
        "--episodes",
        type=int,
        default=50,
        help="evaluation episodes per seed; a medium Pendulum policy's return has a standard deviation of 18 "
        "normalised points across start states (medium data): a standard error of 5.8 over 10 episodes, 2.6 over 50",
    )
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--peer-seeds", type=int, default=2)
    parser.add_argument(
        "--peer-jobs",
        type=int,
        default=1,
        help="d3rlpy seeds run at once, one single-threaded process (one core) each; 2 on a 2-core "
        "machine when ours runs elsewhere or has finished",
    )
    parser.add_argument("--skip-peer", action="store_true", help="ours only")
    parser.add_argument(
        "--only-finished",
        action="store_true",
        help="train nothing: the table of the cells finished on both sides (the others are left out)",
    )
    parser.add_argument("--write-readme", action="store_true", help="put the table in benchmarks/README.md too")
    parser.add_argument(
        "--sides",
        nargs="+",
        default=["ours", "peer"],
        choices=["ours", "peer"],
        help="run only these sides (two processes, one per side, use two cores; a run with both sides "
        "afterwards keeps every finished run and writes the table)",
    )
    args = parser.parse_args(argv)
    if args.peer_jobs < 1:
        parser.error(f"--peer-jobs must be at least 1, got {args.peer_jobs}")
    if args.updates % args.eval_every:
        parser.error(f"--updates {args.updates} must be a multiple of --eval-every {args.eval_every}")

    out, data_dir = Path(args.out), Path(args.data_dir)
    out.mkdir(parents=True, exist_ok=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    if args.skip_peer:
        args.sides = [side for side in args.sides if side != "peer"]
    both = set(args.sides) == {"ours", "peer"} or args.skip_peer
    python = None
    if "peer" in args.sides:
        import peers

        python = peers.peer_python("d3rlpy")
    rows = []
    for kind in args.datasets:
        path = dataset_file(data_dir, args.env, kind, args.size, args.train_steps, args.generate_args)
        name, score = cell_name(args.env, kind), data_score(path)
        for algo in args.algos:
            if args.only_finished and not (
                ours_finished(algo, path, out / "ours" / name / algo, args)
                and peer_finished(algo, path, out / "d3rlpy" / name / algo, args)
            ):
                log(f"{algo} on {name}: not finished on both sides, left out (--only-finished)")
                continue
            row = {"dataset": name, "algo": algo, "data_score": score}
            if "ours" in args.sides:
                row["ours"] = run_ours(algo, path, out / "ours" / name / algo, args)
            if python is not None:
                row["peer"] = run_peer(algo, path, out / "d3rlpy" / name / algo, args, python)
            rows.append(row)
            if both:
                (out / "parity.json").write_text(json.dumps({"config": vars(args), "rows": rows}, indent=2))
    if both:
        write_table(rows, out, args)


if __name__ == "__main__":
    main()
