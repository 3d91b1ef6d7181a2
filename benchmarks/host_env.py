"""Env steps per second of online SAC when the env is stepped on the host (`gymnasium:`) beside the
compiled paths (`gymnax:`, `mjx:`), in the same program shape the CLI runs.

Not a test: it measures and never asserts. For each env it builds `jaxrl-hybrid train --algo sac`'s
program (64x64, batch 256, one update per env step, `--num-envs 1`) and times whole chunks of
`--chunk-steps` env steps (updates and one 1-episode evaluation included) after a warm-up chunk,
with `benchmarks/scaling.py`'s `measure`, at each seed count.

    python benchmarks/host_env.py --out benchmarks/results

Writes host_env.json under --out; benchmarks/README.md ("Host-stepped envs") has the figures.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scaling import measure, write_record  # noqa: E402

from jaxrl_hybrid.agents import SACConfig  # noqa: E402
from jaxrl_hybrid.training import TrainConfig, make_program  # noqa: E402

ENVS = ("gymnax:Pendulum-v1", "gymnasium:Pendulum-v1", "gymnasium:HalfCheetah-v5", "mjx:HalfCheetah-v5")


def program_for(env: str, chunk_steps: int):
    config = TrainConfig(
        algo="sac",
        env=env,
        total_steps=chunk_steps * 4 + 1_000,
        learning_starts=1_000,
        eval_every=chunk_steps,
        num_eval_episodes=1,
        buffer_size=100_000,
        agent=SACConfig(hidden_dims=(64, 64)),
    )
    return make_program(config)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="benchmarks/results")
    parser.add_argument("--envs", nargs="+", default=list(ENVS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--chunk-steps", type=int, default=2_000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    rows = []
    for env in args.envs:
        program = program_for(env, args.chunk_steps)
        for n in args.seeds:
            row = {"env": env, **measure(program, n, args.repeats)}
            rows.append(row)
            print(
                f"{env:28s} {n:3d} seeds: {row['env_steps_per_s']:9.0f} env steps/s "
                f"({row['env_steps_per_s_per_seed']:7.0f} per seed), compile {row['compile_s']:.1f} s",
                flush=True,
            )
    write_record(Path(args.out), "host_env", args, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
