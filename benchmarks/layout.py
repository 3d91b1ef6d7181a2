"""What the layout-independent default costs: env steps/s by block size and thread-pool setting.

Not a test: it measures and never asserts. Each configuration runs in its own process (the
XLA CPU device count and intra-op thread pool are fixed when JAX starts): the CLI's SAC on
gymnax Pendulum (256x256 networks, batch 256, one update per env step; chunks of --work env
steps summed over the seeds) through
`engine.core.run_phase` with one CPU device per core, timing chunks after the first.

- `share`: the old default, one block per device share (block = seeds / devices), with
  XLA's own thread pool (one thread per core): fastest, but numbers depend on the machine.
- `B=k`: a fixed block of k runs and the pool pinned to `engine.host.INTRA_OP_THREADS`
  threads, as the CLI now does by default: numbers independent of the machine.

    python benchmarks/layout.py --out benchmarks/results            # 1, 8 and 64 seeds
    python benchmarks/layout.py --out results --seeds 8 --blocks 4  # one point

Writes layout.json under --out and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path


def child(seeds: int, block: str, chunk_steps: int, chunks: int) -> dict:
    from jaxrl_hybrid.engine.host import configure_host

    configure_host("auto", pin_threads=block != "share")
    if os.environ.get("BENCH_NPROC"):  # a pool size to compare (not the default)
        os.environ["NPROC"] = os.environ["BENCH_NPROC"]
    import jax
    import numpy as np

    from jaxrl_hybrid.engine import core
    from jaxrl_hybrid.training import TrainConfig, make_program
    from jaxrl_hybrid.training.program import seed_keys

    config = TrainConfig(  # the program `jaxrl-hybrid train --algo sac` compiles: SACConfig's defaults
        algo="sac",
        env="gymnax:Pendulum-v1",
        learning_starts=chunk_steps,
        eval_every=chunk_steps,
        total_steps=chunk_steps * (chunks + 1),
        num_eval_episodes=1,
    )
    program = make_program(config)
    keys = seed_keys(0, seeds)
    hp = jax.tree.map(lambda x: np.broadcast_to(np.asarray(x), (seeds, *np.shape(x))).copy(), program.default_hparams)
    stamps: list[float] = []
    execution = core.Execution(block_size=block if block == "share" else int(block), max_parallel=None)
    result = core.run_phase(
        "bench",
        program.init,
        program.run_chunk,
        keys,
        hp,
        program.num_chunks,
        execution=execution,
        on_progress=lambda g, n, c, m: stamps.append(time.perf_counter()),
        log=lambda msg: None,
    )
    # stamps[0]: compiled; stamps[1]: first chunk (random actions, no updates); then timed chunks.
    times = np.diff(stamps[1:])
    return {
        "seeds": seeds,
        "block": block,
        "layout": result.layout,
        "chunk_s": float(np.median(times)),
        "steps_per_s": float(seeds * chunk_steps / np.median(times)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 8, 64])
    parser.add_argument("--blocks", nargs="+", default=["share", "2", "4", "8"])
    parser.add_argument("--work", type=int, default=800, help="env steps per timed chunk, all seeds together")
    parser.add_argument("--chunks", type=int, default=5)
    parser.add_argument("--child", nargs=2, metavar=("SEEDS", "BLOCK"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        seeds = int(args.child[0])
        print(json.dumps(child(seeds, args.child[1], max(1, args.work // seeds), args.chunks)))
        return
    rows = []
    for seeds in args.seeds:
        seen = set()
        for block in args.blocks:
            effective = block if block == "share" else min(int(block), seeds)
            if effective in seen:
                continue  # the block is min(block, seeds): the same program as one already timed
            seen.add(effective)
            cmd = [sys.executable, __file__, "--child", str(seeds), block]
            cmd += ["--work", str(args.work), "--chunks", str(args.chunks)]
            env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "NPROC", "JAXRL_HOST_DEVICES")}
            out = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if out.returncode != 0:
                sys.exit(f"{' '.join(cmd)} failed:\n{out.stderr[-3000:]}")
            row = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(f"seeds {seeds:3d}  block {block:>5}: {row['steps_per_s']:8.1f} env steps/s", flush=True)
    base = {r["seeds"]: r["steps_per_s"] for r in rows if r["block"] == "share"}
    print("\n| seeds | block | env steps/s | vs share |\n|---|---|---|---|")
    for r in rows:
        rel = r["steps_per_s"] / base[r["seeds"]] - 1 if r["seeds"] in base else float("nan")
        print(f"| {r['seeds']} | {r['block']} | {r['steps_per_s']:,.1f} | {rel:+.1%} |")
    args.out.mkdir(parents=True, exist_ok=True)
    record = {"machine": platform.processor() or platform.machine(), "cores": os.cpu_count(), "rows": rows}
    (args.out / "layout.json").write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
