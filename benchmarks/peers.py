"""Ours vs rejax (JAX) and d3rlpy (PyTorch), measured in the same run on the same machine.

Peers run in their own virtual environments, made here from the pinned files in
benchmarks/peers/ (never in the project's lock file): `benchmarks/.venv-rejax` and
`benchmarks/.venv-d3rlpy` (two, because d3rlpy 2.8.1 pins gymnasium 1.0.0 and gymnax 1.x
refuses it). Not a test: it measures, never asserts. Writes to --out:

- `peers.json`: every measurement and the ratios below; `peers.md`: the same as tables;
  `peers_updates.png`, `peers_end_to_end.png`.
- End to end: SAC on gymnax Pendulum, 8 seeds x 20k env steps with rejax's published
  Pendulum config (64x64 swish, batch 256, lr 0.01, tau 0.02, a 10k buffer, 256 warm-up
  steps, evaluation every 2,000 steps with 10 episodes), each as a fresh process timed from
  start to exit (imports, compilation and the run included), with the final returns.
- Updates/s at 256x256, batch 256: ours (benchmarks/updates.py) for SAC, CQL and IQL at
  1, 8, 64, 256 seeds, rejax's SAC update at the same seed counts, d3rlpy's fit loop
  (one seed per process, so its aggregate equals its per-seed rate).

    python benchmarks/peers.py --out benchmarks/results [--quick] [--skip-end-to-end]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PEERS = {
    "rejax": (HERE / "peers" / "requirements-rejax.txt", HERE / ".venv-rejax"),
    "d3rlpy": (HERE / "peers" / "requirements-d3rlpy.txt", HERE / ".venv-d3rlpy"),
}
# rejax's configs/gymnax/pendulum.yaml SAC settings, in our CLI's terms. Our warm-up steps are
# extra env steps (rejax counts its 256 fill steps inside the 20,000): we do 256 more of both.
E2E_SEEDS, E2E_STEPS, E2E_EVAL_EVERY, E2E_EPISODES = 8, 20_000, 2_000, 10
OURS_E2E = [
    "train", "--algo", "sac", "--env", "gymnax:Pendulum-v1", "--num-seeds", str(E2E_SEEDS),
    "--total-steps", str(E2E_STEPS + 256), "--learning-starts", "256", "--buffer-size", "10000",
    "--batch-size", "256", "--hidden-dims", "64", "64", "--activation", "swish",
    "--eval-every", str(E2E_EVAL_EVERY), "--num-eval-episodes", str(E2E_EPISODES),
    "--hparam", "actor_lr=0.01", "--hparam", "critic_lr=0.01", "--hparam", "temp_lr=0.01", "--hparam", "tau=0.02",
    "--overwrite",
]  # fmt: skip


def log(msg: str) -> None:
    print(f"[peers] {msg}", file=sys.stderr, flush=True)


def peer_python(name: str) -> Path:
    """The peer's venv python, creating or refreshing the venv from its pinned requirements."""
    requirements, venv = PEERS[name]
    python = venv / "bin" / "python"
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()
    stamp = venv / ".requirements-sha256"
    if python.exists() and stamp.exists() and stamp.read_text().strip() == digest:
        return python
    log(f"creating {venv.relative_to(ROOT)} from {requirements.relative_to(ROOT)} (once)")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "-r", str(requirements)], check=True)
    stamp.write_text(digest + "\n")
    return python


def run_json(cmd: list[str], out_json: Path, env: dict | None = None) -> tuple[dict, float]:
    """Run `cmd` (which writes `out_json`), return its JSON and the process's wall seconds."""
    t = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seconds = time.perf_counter() - t
    tail = "\n".join(line for line in done.stdout.splitlines() if "Warning" not in line)[-3000:]
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} ... failed ({done.returncode}):\n{tail}")
    return json.loads(out_json.read_text()), seconds


def ours_end_to_end(out: Path, host_devices: str) -> dict:
    folder = out / f"e2e_ours_{host_devices.replace(' ', '')}"
    cmd = [str(Path(sys.executable).parent / "jaxrl-hybrid"), *OURS_E2E, "--host-devices", host_devices,
           "--out", str(folder)]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    summary, seconds = run_json(cmd, folder / "summary.json", env)
    finals = [float(x) for x in summary["final_return"]]
    return {
        "host_devices": host_devices,
        "layout": summary.get("layout"),
        "run_wall_s": summary.get("wall_time_s"),
        "process_wall_s": seconds,
        "final_return_per_seed": finals,
        "final_return_mean": float(sum(finals) / len(finals)),
        "command": "jaxrl-hybrid " + " ".join(OURS_E2E) + f" --host-devices {host_devices}",
    }


def ratio(a: float | None, b: float | None) -> float | None:
    return None if not a or not b else a / b


def combine(ours: dict, rejax: dict | None, d3: dict | None, e2e: dict) -> dict:
    """Ratios of ours to each peer, per algorithm and seed count (ours: its faster layout)."""
    best: dict[tuple[str, int], dict] = {}
    for r in ours["rows"]:
        if r["critic_loss"] != "mse":
            continue
        key = (r["algo"], r["num_seeds"])
        if key not in best or r["updates_per_s"] > best[key]["updates_per_s"]:
            best[key] = r
    d3_rate = {r["algo"]: r["updates_per_s"] for r in (d3 or {}).get("rows", [])}
    rejax_rate = {r["num_seeds"]: r["updates_per_s"] for r in (rejax or {}).get("rows", [])}
    table = []
    for (algo, n), r in sorted(best.items()):
        row = {
            "algo": algo,
            "num_seeds": n,
            "ours_updates_per_s": r["updates_per_s"],
            "ours_per_seed": r["updates_per_s_per_seed"],
            "ours_layout": r["layout"],
            "ours_utilisation": r["utilisation"],
            "d3rlpy_updates_per_s": d3_rate.get(algo),
            "vs_d3rlpy_aggregate": ratio(r["updates_per_s"], d3_rate.get(algo)),
            "vs_d3rlpy_per_seed": ratio(r["updates_per_s_per_seed"], d3_rate.get(algo)),
        }
        if algo == "sac":
            row["rejax_updates_per_s"] = rejax_rate.get(n)
            row["vs_rejax"] = ratio(r["updates_per_s"], rejax_rate.get(n))
        table.append(row)
    e2e_ratios = {}
    if e2e.get("rejax") and e2e.get("ours"):
        for variant in e2e["ours"]:
            e2e_ratios[variant["host_devices"]] = {
                "speedup_vs_rejax": e2e["rejax"]["process_wall_s"] / variant["process_wall_s"],
                "final_return_ours": variant["final_return_mean"],
                "final_return_rejax": e2e["rejax"]["final_return_mean"],
            }
    return {"updates": table, "end_to_end": e2e_ratios}


def markdown(result: dict) -> str:
    lines = ["# Ours vs peers (same machine, same run)", ""]
    e2e = result["end_to_end"]
    if e2e.get("rejax"):
        lines += [
            f"## End to end: SAC, gymnax Pendulum, {E2E_SEEDS} seeds x {E2E_STEPS:,} env steps, "
            "rejax's Pendulum config",
            "",
            "| run | process wall (s) | speed-up vs rejax | final return, mean of seeds |",
            "|---|---|---|---|",
            f"| rejax 0.1.3 (`jit(vmap(train))`) | {e2e['rejax']['process_wall_s']:.1f} | 1.00 | "
            f"{e2e['rejax']['final_return_mean']:.1f} |",
        ]
        for v in e2e.get("ours", []):
            speed = result["ratios"]["end_to_end"][v["host_devices"]]["speedup_vs_rejax"]
            lines.append(
                f"| ours, `jaxrl-hybrid train --host-devices {v['host_devices']}` | {v['process_wall_s']:.1f} | "
                f"{speed:.2f} | {v['final_return_mean']:.1f} |"
            )
        lines.append("")
    lines += [
        "## Updates/s at 256x256, batch 256 (aggregate over seeds; per seed in brackets)",
        "",
        "d3rlpy trains one seed per process: N seeds take N times as long, so its aggregate rate is "
        "its one-seed rate at every N, and ours/d3rlpy compares aggregates.",
        "",
        "| algo | seeds | ours | ours: % of matmul peak | rejax | ours/rejax | d3rlpy | ours/d3rlpy |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in result["ratios"]["updates"]:
        fmt = lambda x, p=1: "-" if x is None else f"{x:,.{p}f}"  # noqa: E731
        lines.append(
            f"| {r['algo']} | {r['num_seeds']} | {fmt(r['ours_updates_per_s'])} ({fmt(r['ours_per_seed'], 2)}) | "
            f"{100 * r['ours_utilisation']:.0f}% | {fmt(r.get('rejax_updates_per_s'))} | "
            f"{fmt(r.get('vs_rejax'), 2)} | {fmt(r['d3rlpy_updates_per_s'])} | {fmt(r['vs_d3rlpy_aggregate'], 2)} |"
        )
    ours = result["ours"]
    lines += [
        "",
        f"float32 matmul peak (1024x1024, this run): {ours['matmul_flops_per_s'] / 1e9:.0f} GFLOP/s",
        "",
        "## HL-Gauss (101 bins) vs MSE: cost of the full update",
        "",
        "| algo | seeds | time ratio | FLOPs ratio |",
        "|---|---|---|---|",
    ]
    for c in ours["loss_cost"]:
        lines.append(f"| {c['algo']} | {c['num_seeds']} | {c['time_ratio']:.2f} | {c['flops_ratio']:.2f} |")
    cc = ours["compile_count"]
    lines += [
        "",
        "## Compilation",
        "",
        "| program | seeds | compile (s) |",
        "|---|---|---|",
    ]
    for r in ours["rows"]:
        if r["layout"] == "1 device" and r["critic_loss"] == "mse":
            lines.append(f"| {r['algo']} update scan | {r['num_seeds']} | {r['compile_s']:.1f} |")
    lines += [
        "",
        f"A CLI run with a traced grid of {cc['runs']} runs over {cc['chunks']} chunks: "
        f"{cc['xla_compilations']} XLA compilations ({cc['compile_seconds']:.1f} s, the largest "
        f"{cc['largest_compile_s']:.1f} s) on {cc['devices']} device(s); "
        f"with {cc.get('runs_larger', '?')} runs over {cc.get('chunks_larger', '?')} chunks: "
        f"{cc.get('xla_compilations_larger', '?')}.",
        "",
    ]
    return "\n".join(lines)


def plot(result: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = result["ratios"]["updates"]
    algos = sorted({r["algo"] for r in table})
    fig, axes = plt.subplots(1, len(algos), figsize=(4.2 * len(algos), 3.4), squeeze=False)
    for ax, algo in zip(axes[0], algos, strict=True):
        rows = [r for r in table if r["algo"] == algo]
        seeds = [r["num_seeds"] for r in rows]
        ax.loglog(seeds, [r["ours_updates_per_s"] for r in rows], "o-", label="ours (aggregate)")
        if algo == "sac" and any(r.get("rejax_updates_per_s") for r in rows):
            ax.loglog(seeds, [r.get("rejax_updates_per_s") or float("nan") for r in rows], "s-", label="rejax")
        d3 = rows[0]["d3rlpy_updates_per_s"]
        if d3:
            ax.axhline(d3, color="C3", ls="--", label="d3rlpy (one seed at a time)")
        ax.set_title(f"{algo.upper()} 256x256, batch 256")
        ax.set_xlabel("seeds")
        ax.set_ylabel("updates / s")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "peers_updates.png", dpi=100)
    plt.close(fig)

    e2e = result["end_to_end"]
    if e2e.get("rejax"):
        labels = ["rejax"] + [f"ours\n--host-devices {v['host_devices']}" for v in e2e.get("ours", [])]
        secs = [e2e["rejax"]["process_wall_s"]] + [v["process_wall_s"] for v in e2e.get("ours", [])]
        fig, ax = plt.subplots(figsize=(5, 3.2))
        ax.bar(labels, secs, color=["C1"] + ["C0"] * (len(secs) - 1))
        ax.set_ylabel("seconds, process start to exit")
        ax.set_title(f"SAC Pendulum, {E2E_SEEDS} seeds x {E2E_STEPS // 1000}k steps")
        fig.tight_layout()
        fig.savefig(out / "peers_end_to_end.png", dpi=100)
        plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="benchmarks/results")
    parser.add_argument("--quick", action="store_true", help="1 and 8 seeds, short timings, no end-to-end runs")
    parser.add_argument("--skip-end-to-end", action="store_true")
    parser.add_argument("--skip-peers", action="store_true", help="ours only (no peer venvs)")
    args = parser.parse_args(argv)
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    seeds = ["1", "8"] if args.quick else ["1", "8", "64", "256"]

    log("ours: updates/s, FLOPs, HL-Gauss cost, compile counts (benchmarks/updates.py)")
    quick = ["--quick"] if args.quick else []
    ours, _ = run_json([sys.executable, str(HERE / "updates.py"), "--out", str(out), *quick], out / "updates.json")

    rejax = d3 = None
    if not args.skip_peers:
        log("rejax: SAC update rate vs seeds")
        rejax, _ = run_json(
            [str(peer_python("rejax")), str(HERE / "peers" / "rejax_sac.py"), "--out", str(out / "rejax.json"),
             "--skip-e2e", "--seeds", *seeds, *(["--updates", "5", "--repeats", "1"] if args.quick else [])],
            out / "rejax.json",
        )  # fmt: skip
        log("d3rlpy: SAC, CQL, IQL fit loops")
        d3, _ = run_json(
            [str(peer_python("d3rlpy")), str(HERE / "peers" / "d3rlpy_fit.py"), "--out", str(out / "d3rlpy.json"),
             *(["--steps", "100"] if args.quick else [])],
            out / "d3rlpy.json",
        )  # fmt: skip

    e2e: dict = {}
    if not (args.quick or args.skip_end_to_end):
        if not args.skip_peers:
            log(f"rejax: end to end, {E2E_SEEDS} seeds x {E2E_STEPS} steps (about two minutes on 2 cores)")
            data, seconds = run_json(
                [str(peer_python("rejax")), str(HERE / "peers" / "rejax_sac.py"), "--out",
                 str(out / "rejax_e2e.json"), "--seeds", "--e2e-seeds", str(E2E_SEEDS), "--e2e-steps", str(E2E_STEPS),
                 "--eval-every", str(E2E_EVAL_EVERY), "--eval-episodes", str(E2E_EPISODES)],
                out / "rejax_e2e.json",
            )  # fmt: skip
            e2e["rejax"] = {**data["end_to_end"], "process_wall_s": seconds}
        e2e["ours"] = []
        for host_devices in ("auto", "1"):
            log(f"ours: end to end, --host-devices {host_devices}")
            e2e["ours"].append(ours_end_to_end(out, host_devices))

    result = {
        "benchmark": "peers",
        "machine": platform.machine(),
        "cores": os.cpu_count(),
        "ours": ours,
        "rejax": rejax,
        "d3rlpy": d3,
        "end_to_end": e2e,
    }
    result["ratios"] = combine(ours, rejax, d3, e2e)
    (out / "peers.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "peers.md").write_text(markdown(result))
    plot(result, out)
    print(markdown(result))
    log(f"wrote {out / 'peers.json'}, peers.md and plots")


if __name__ == "__main__":
    main()
