"""Offline RL on generated Pendulum data: every offline algorithm x {mse, hl_gauss} x 8 seeds.

    .venv/bin/python experiments/offline_pendulum/run.py --write-readme  # everything (resumable)
    .venv/bin/python experiments/offline_pendulum/run.py --table    # only rewrite the README table

1. Behaviour policies: one SAC run on gymnax Pendulum-v1 (the generator's defaults), its
   snapshots scored; medium = the snapshot closest to a third of the expert's normalised score.
2. Datasets (cached in runs/offline_pendulum/data/): medium, medium-replay, medium-expert,
   and medium with 30% of rows randomly corrupted in the rewards or in the observations.
3. Every offline algorithm with an MSE and an HL-Gauss critic (BC has no critic: once) on the
   three clean datasets, and IQL vs RIQL on the two corrupted ones, each one `jaxrl-hybrid train`
   run of 8 seeds in one vmapped program. A run whose summary.json exists is skipped, so an
   interrupted experiment resumes where it stopped.
4. The table (final normalised score: IQM and 95% stratified-bootstrap CI over seeds) goes
   into results.json and between the markers of this folder's README.md.

Defaults are what the README's table was measured with on a 2-core CPU: 64x64 networks, batch
64, 3,000 updates, CQL/Cal-QL with 4 sampled actions per set (the papers: 256x256, batch 256,
10 actions, 1M updates; pass --updates, --batch-size, --hidden-dims, --cql-num-actions to scale).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ALGOS = ("bc", "td3bc", "rebrac", "iql", "riql", "cql", "calql")
LOSSES = ("mse", "hl_gauss")
CLEAN = ("medium", "medium-replay", "medium-expert")
CORRUPTED = {"medium-corrupt-rewards": "rewards", "medium-corrupt-observations": "observations"}
# The behaviour SAC: the generator's Pendulum defaults (20k steps) with 64x64 networks.
BEHAVIOUR_HIDDEN = (64, 64)
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


def make_datasets(out: Path, size: int, seed: int, behaviour_steps: int | None) -> dict[str, Path]:
    """Generate (or reuse) every dataset file; returns name -> path."""
    import jax

    from jaxrl_hybrid.data import corrupt, load, save
    from jaxrl_hybrid.training.collect import CollectConfig, collect, train_behaviour_policies

    behaviour = CollectConfig(hidden_dims=BEHAVIOUR_HIDDEN, train_steps=behaviour_steps)

    data_dir = out / "data"
    paths = {name: data_dir / f"pendulum-{name}.hdf5" for name in (*CLEAN, *CORRUPTED)}
    if all(p.exists() for p in paths.values()):
        return paths
    data_dir.mkdir(parents=True, exist_ok=True)
    policies = None
    for kind in CLEAN:
        if not paths[kind].exists():
            if policies is None:
                policies = train_behaviour_policies(behaviour, seed=seed)
            save(collect(policies, kind, size, seed), paths[kind])
    medium = load(paths["medium"])
    for i, (name, target) in enumerate(CORRUPTED.items()):
        if not paths[name].exists():
            key = jax.random.fold_in(jax.random.PRNGKey(seed), 1000 + i)
            save(corrupt(medium, key, target=target, kind="random", rate=0.3, scale=1.0), paths[name])
    return paths


def _regression(algo: str) -> str:
    """The regression loss of an algorithm: RIQL's is Huber (part of the method), the others' MSE."""
    return "huber" if algo == "riql" else "mse"


def runs(args) -> list[tuple[str, str, str, str, int]]:
    """(run key, dataset, algo, loss, updates) of every run in the experiment.

    The grid runs `args.updates` updates; the robustness study (IQL vs RIQL on clean and
    corrupted medium data) runs `args.robust_updates`, enough for their V functions to learn.
    """
    out = []
    for name in CLEAN:
        for algo in ALGOS:
            for loss in ("mse",) if algo == "bc" else LOSSES:
                loss = _regression(algo) if loss == "mse" else loss
                out.append((f"{name}/{algo}-{loss}", name, algo, loss, args.updates))
    for name in ("medium", *CORRUPTED):
        for algo in ("iql", "riql"):  # each with its own regression loss: IQL MSE, RIQL Huber
            out.append((f"robustness/{name}/{algo}", name, algo, _regression(algo), args.robust_updates))
    return out


def train_one(path: Path, algo: str, loss: str, updates: int, out: Path, args) -> dict:
    from jaxrl_hybrid.cli.main import main

    eval_every = max(1, updates // 3)
    argv = ["train", "--algo", algo, "--dataset", str(path), "--num-seeds", str(args.num_seeds),
            "--seed", str(args.seed), "--updates", str(updates), "--eval-every", str(eval_every),
            "--num-eval-episodes", str(args.num_eval_episodes), "--hidden-dims", *map(str, args.hidden_dims),
            "--batch-size", str(args.batch_size), "--out", str(out), "--overwrite"]  # fmt: skip
    if algo in ("cql", "calql"):
        argv += ["--num-actions", str(args.cql_num_actions)]
    if algo != "bc":
        argv += ["--critic-loss", loss]
    if main(argv) != 0:
        raise RuntimeError(f"jaxrl-hybrid {' '.join(argv)} failed")
    return json.loads((out / "summary.json").read_text())


def dataset_scores(paths: dict[str, Path]) -> dict[str, float]:
    """Mean normalised score of each clean dataset's own episodes (what the behaviour policy reached).

    Corrupted rewards would misstate it, so the corrupted datasets are scored by their clean source.
    """
    from jaxrl_hybrid.data import episode_returns, load, normalized_score

    scores = {}
    for name in CLEAN:
        path = paths[name]
        ds = load(path)
        refs = ds.metadata["reference_returns"]
        scores[name] = float(normalized_score(episode_returns(ds).mean(), refs["random"], refs["expert"]))
    return scores


def table(results: dict) -> str:
    """Markdown: one row per algorithm and loss, one column per dataset (IQM [95% CI])."""

    def cell(name, algo, loss):
        r = results["runs"].get(name if algo is None else f"{name}/{algo}-{loss}")
        if r is None:
            return "not run"
        n = r["normalized"]
        return f"{n['iqm']:.1f} [{n['ci95'][0]:.1f}, {n['ci95'][1]:.1f}]"

    data = results["dataset_scores"]
    lines = ["| algorithm | critic loss | " + " | ".join(CLEAN) + " |", "|---|---|" + "---|" * len(CLEAN)]
    lines.append("| *dataset mean* | | " + " | ".join(f"*{data[n]:.1f}*" for n in CLEAN) + " |")
    for algo in ALGOS:
        for loss in ("mse",) if algo == "bc" else LOSSES:
            loss = _regression(algo) if loss == "mse" else loss
            label = "(none)" if algo == "bc" else loss
            lines.append(f"| {algo} | {label} | " + " | ".join(cell(n, algo, loss) for n in CLEAN) + " |")
    robust = ("medium", *CORRUPTED)
    updates = results["settings"]["robust_updates"]
    lines += ["", f"| algorithm ({updates} updates) | " + " | ".join(robust) + " |", "|---|" + "---|" * len(robust)]
    lines.append("| *dataset mean (clean medium)* | " + " | ".join(f"*{data['medium']:.1f}*" for _ in robust) + " |")
    for algo in ("iql", "riql"):
        lines.append(f"| {algo} | " + " | ".join(cell(f"robustness/{n}/{algo}", None, None) for n in robust) + " |")
    return "\n".join(lines)


def write_readme(results: dict) -> None:
    from jaxrl_hybrid.report.render import write_between_markers

    s = results["settings"]
    body = (
        f"\n{s['num_seeds']} seeds, {s['updates']} updates, {'x'.join(map(str, s['hidden_dims']))} networks, "
        f"batch {s['batch_size']}, CQL/Cal-QL {s['cql_num_actions']} sampled actions per set, "
        f"{s['size']} transitions per dataset; final normalised score "
        f"over {s['num_eval_episodes']} deterministic episodes (IQM [95% stratified bootstrap CI]); "
        f"measured {results['date']} on {results['machine']} in {results['wall_time_s'] / 60:.0f} min.\n\n"
        + "".join(f"Rerun {r['date']}: {r['rows']} ({r['why']}).\n\n" for r in results.get("reruns", ()))
        + table(results)
        + "\n"
    )
    write_between_markers(HERE / "README.md", BEGIN, END, body)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="runs/offline_pendulum")
    p.add_argument("--updates", type=int, default=3_000)
    p.add_argument("--robust-updates", type=int, default=15_000, help="updates of the IQL vs RIQL study")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--hidden-dims", type=int, nargs="+", default=[64, 64])
    p.add_argument("--cql-num-actions", type=int, default=4, help="CQL / Cal-QL sampled actions per set")
    p.add_argument("--num-seeds", type=int, default=8)
    p.add_argument("--num-eval-episodes", type=int, default=10)
    p.add_argument("--size", type=int, default=10_000, help="transitions per dataset")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--only", default=None, help="comma-separated algorithms to run (default: all)")
    p.add_argument("--behaviour-steps", type=int, default=None, help="SAC steps of the behaviour policies")
    p.add_argument("--write-readme", action="store_true", help="copy results.json here and rewrite README's table")
    p.add_argument("--table", action="store_true", help="only rewrite README.md from this folder's results.json")
    args = p.parse_args(argv)
    out = Path(args.out)
    if args.table:
        write_readme(json.loads((HERE / "results.json").read_text()))
        return 0
    settings = {
        k: getattr(args, k)
        for k in ("updates", "robust_updates", "batch_size", "hidden_dims", "cql_num_actions", "num_seeds",
                  "num_eval_episodes", "size", "seed", "behaviour_steps")
    }  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    settings_path = out / "settings.json"
    if settings_path.exists() and json.loads(settings_path.read_text()) != settings:
        raise SystemExit(
            f"{settings_path} records other settings ({settings_path.read_text().strip()}); "
            "resuming would mix them: pass another --out"
        )
    settings_path.write_text(json.dumps(settings) + "\n")
    results_path = out / "results.json"

    import datetime
    import platform

    import jax

    t0 = time.perf_counter()
    paths = make_datasets(out, args.size, args.seed, args.behaviour_steps)
    plan = [r for r in runs(args) if args.only is None or r[2] in args.only.split(",")]
    results = {"runs": {}}
    if results_path.exists():
        results = json.loads(results_path.read_text())
    for i, (key, name, algo, loss, updates) in enumerate(plan, 1):
        run_out = out / key
        summary_path = run_out / "summary.json"
        if summary_path.exists():
            summary = json.loads(summary_path.read_text())
        else:
            print(f"[{i}/{len(plan)}] {algo} ({loss}) on {name}, {updates} updates", file=sys.stderr, flush=True)
            summary = train_one(paths[name], algo, loss, updates, run_out, args)
        last = json.loads((run_out / "metrics.jsonl").read_text().splitlines()[-1])
        results["runs"][key] = {
            "normalized": summary["normalized"],
            "final_return": summary["final_return"],
            "wall_time_s": summary["wall_time_s"],
            "updates": updates,
            # Diagnostic: how far the critic got (Pendulum's discounted returns are in the hundreds).
            "final_q_mean": float(sum(last["q_mean"]) / len(last["q_mean"])) if "q_mean" in last else None,
        }
    results.update(
        settings=settings,
        dataset_scores=dataset_scores(paths),
        date=datetime.date.today().isoformat(),
        machine=f"{platform.machine()} {jax.default_backend()} ({jax.device_count()} device, {os.cpu_count()} cores)",
        wall_time_s=sum(r["wall_time_s"] for r in results["runs"].values()),
        elapsed_this_invocation_s=time.perf_counter() - t0,
    )
    results_path.write_text(json.dumps(results, indent=1) + "\n")
    if args.write_readme:
        (HERE / "results.json").write_text(json.dumps(results, indent=1) + "\n")
        write_readme(results)
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
