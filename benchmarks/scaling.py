"""Aggregate throughput and memory per seed as the number of vmapped seeds grows (1 -> 1024).

Not a test: it measures and never asserts. For each seed count it builds the whole training
program the CLI runs (SAC on gymnax Pendulum: env steps, replay buffer, one update per env
step, a deterministic evaluation per chunk), runs it through the engine's executable
(`engine.core.blocked`, one device, all seeds in one block), and times chunks after a
warm-up chunk. Memory comes from XLA's memory analysis of the compiled chunk (arguments,
outputs, temporaries) and from the runner's shapes (state that lives on the device).

    python benchmarks/scaling.py --out benchmarks/results                     # CPU here
    python benchmarks/scaling.py --out results --seeds 1 16 256 1024 4096     # on a GPU

Writes scaling.json and scaling.png under --out.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import jax
import numpy as np

from jaxrl_hybrid.agents import SACConfig
from jaxrl_hybrid.engine.core import blocked, runner_bytes_per_run, with_health
from jaxrl_hybrid.training import TrainConfig, make_program
from jaxrl_hybrid.training.program import seed_keys


def program_for(args) -> object:
    config = TrainConfig(
        algo="sac",
        env="gymnax:Pendulum-v1",
        total_steps=args.learning_starts + args.chunk_steps * 3,
        learning_starts=args.learning_starts,
        eval_every=args.chunk_steps,
        buffer_size=args.buffer_size,
        num_eval_episodes=1,
        batch_size=args.batch_size,
        agent=SACConfig(hidden_dims=tuple(args.hidden_dims)),
    )
    return make_program(config)


def measure(program, num_seeds: int, repeats: int) -> dict:
    keys = seed_keys(0, num_seeds)
    hparams = jax.tree.map(lambda x: np.broadcast_to(x, (num_seeds, *np.shape(x))), program.default_hparams)
    init = jax.jit(blocked(program.init, num_seeds))
    chunk = jax.jit(blocked(with_health(program.run_chunk), num_seeds), donate_argnums=0)
    t0 = time.perf_counter()
    runner = jax.block_until_ready(init(keys, hparams))
    compiled = chunk.lower(runner, hparams).compile()
    compile_s = time.perf_counter() - t0
    runner, _ = compiled(runner, hparams)  # warm-up chunk
    jax.block_until_ready(runner)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        runner, metrics = compiled(runner, hparams)
        jax.block_until_ready(metrics)
        times.append(time.perf_counter() - t)
    seconds = float(np.median(times))
    mem = compiled.memory_analysis()
    chunk_bytes = None
    if mem is not None:
        chunk_bytes = int(mem.argument_size_in_bytes + mem.output_size_in_bytes + mem.temp_size_in_bytes)
    env_steps = program.steps_per_chunk * num_seeds
    return {
        "num_seeds": num_seeds,
        "chunk_seconds": seconds,
        "env_steps_per_s": env_steps / seconds,  # one update per env step
        "env_steps_per_s_per_seed": program.steps_per_chunk / seconds,
        "compile_s": compile_s,
        "state_bytes_per_seed": runner_bytes_per_run(program.init, keys[:1], jax.tree.map(lambda x: x[:1], hparams)),
        "chunk_bytes": chunk_bytes,
        "chunk_bytes_per_seed": None if chunk_bytes is None else chunk_bytes / num_seeds,
    }


def machine_record() -> dict:
    """What ran a benchmark: backend, device, cores, platform and JAX version (every JSON's header)."""
    device = jax.devices()[0]
    return {
        "backend": jax.default_backend(),
        "device": getattr(device, "device_kind", str(device)),
        "cpu_count": __import__("os").cpu_count(),
        "platform": platform.platform(),
        "jax_version": jax.__version__,
    }


def write_record(out: Path, name: str, args, rows: list[dict]) -> dict:
    """<out>/<name>.json: the benchmark's settings, the machine and its rows; returns the record."""
    out.mkdir(parents=True, exist_ok=True)
    record = {"benchmark": name, "settings": vars(args), **machine_record(), "rows": rows}
    (out / f"{name}.json").write_text(json.dumps(record, indent=2))
    return record


def plot(rows: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seeds = [r["num_seeds"] for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    a.loglog(seeds, [r["env_steps_per_s"] for r in rows], "o-", label="aggregate")
    a.loglog(seeds, [r["env_steps_per_s_per_seed"] for r in rows], "s--", label="per seed")
    a.set_xlabel("seeds (vmapped)")
    a.set_ylabel("env steps (= updates) per second")
    a.legend()
    a.set_title(title)
    b.semilogx(seeds, [r["state_bytes_per_seed"] / 2**20 for r in rows], "o-", label="runner state")
    if rows[0]["chunk_bytes_per_seed"] is not None:
        b.semilogx(seeds, [r["chunk_bytes_per_seed"] / 2**20 for r in rows], "s--", label="compiled chunk (XLA)")
    b.set_xlabel("seeds (vmapped)")
    b.set_ylabel("MiB per seed")
    b.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="benchmarks/results")
    parser.add_argument("--seeds", type=int, nargs="*", default=[1, 4, 16, 64, 256, 1024])
    parser.add_argument("--hidden-dims", type=int, nargs="*", default=[64, 64])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--chunk-steps", type=int, default=50)
    parser.add_argument("--learning-starts", type=int, default=64)
    parser.add_argument("--buffer-size", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    program = program_for(args)
    rows = []
    for n in args.seeds:
        row = measure(program, n, args.repeats)
        rows.append(row)
        print(
            f"{n:5d} seeds: {row['env_steps_per_s']:9.0f} env steps/s aggregate, "
            f"{row['env_steps_per_s_per_seed']:8.1f} per seed, "
            f"state {row['state_bytes_per_seed'] / 2**10:.0f} KiB/seed, "
            f"compile {row['compile_s']:.1f}s",
            flush=True,
        )
    out = Path(args.out)
    record = write_record(out, "scaling", args, rows)
    plot(rows, out / "scaling.png", f"SAC Pendulum {args.hidden_dims}, batch {args.batch_size} ({record['device']})")
    print(f"wrote {out / 'scaling.json'} and {out / 'scaling.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
