"""Env steps per second of PQN beside DQN and PPO, on the same envs, at each agent's defaults.

Not a test: it measures and never asserts. For each (env, algo, seed count) it builds the whole
program the CLI runs (`jaxrl-hybrid train --algo ALGO --env ENV` at the agent's default network,
parallel envs and batch: PPO 4 envs x 128 steps, DQN 4 envs with one update per 4 env steps on
batches of 128, PQN 32 envs x 64 steps of 4 epochs x 16 minibatches), and times whole chunks of
`--chunk-steps` env steps (updates and one evaluation episode included) after a warm-up chunk,
with `benchmarks/scaling.py`'s `measure`. Every agent is timed in the same process, one after
another, so the ratios hold on the machine that ran them.

    python benchmarks/value_based.py --out benchmarks/results
    python benchmarks/value_based.py --envs gymnax:CartPole-v1 --seeds 1 16 --chunk-steps 16384

Writes value_based.json and value_based.png under --out.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scaling import measure, write_record  # noqa: E402

from jaxrl_hybrid.agents.registry import agent_info  # noqa: E402
from jaxrl_hybrid.envs.names import DEFAULT_VALUE_RANGES  # noqa: E402
from jaxrl_hybrid.losses import CriticLoss  # noqa: E402
from jaxrl_hybrid.training import TrainConfig, make_program  # noqa: E402

ALGOS = ("ppo", "dqn", "pqn")


def program_for(algo: str, env: str, chunk_steps: int, loss: str):
    """The CLI's program for `algo` on `env` at its defaults, in chunks of `chunk_steps` env steps."""
    from jaxrl_hybrid.agents.registry import agent_class

    cls = agent_class(algo).Config
    kwargs = {}
    if loss != "mse":
        v_min, v_max = DEFAULT_VALUE_RANGES[env]
        kwargs["critic_loss"] = CriticLoss(loss, 101, v_min, v_max)
    info = agent_info(algo)
    config = TrainConfig(
        algo=algo,
        env=env,
        total_steps=chunk_steps * 3 + (1_000 if info.loop == "off_policy" else 0),
        num_envs=info.num_envs,
        learning_starts=1_000 if info.loop == "off_policy" else 0,
        eval_every=chunk_steps,
        num_eval_episodes=1,
        buffer_size=100_000,
        agent=cls(**kwargs),
    )
    return make_program(config)


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    envs = sorted({r["env"] for r in rows})
    fig, axes = plt.subplots(1, len(envs), figsize=(5 * len(envs), 4), squeeze=False)
    for ax, env in zip(axes[0], envs, strict=True):
        for algo in ALGOS:
            mine = [r for r in rows if r["env"] == env and r["algo"] == algo]
            if mine:
                ax.loglog([r["num_seeds"] for r in mine], [r["env_steps_per_s"] for r in mine], "o-", label=algo)
        ax.set_xlabel("seeds (vmapped)")
        ax.set_ylabel("env steps per second, aggregate")
        ax.set_title(env)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="benchmarks/results")
    parser.add_argument("--envs", nargs="+", default=["gymnax:CartPole-v1", "gymnax:Breakout-MinAtar"])
    parser.add_argument("--algos", nargs="+", default=list(ALGOS), choices=ALGOS)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--chunk-steps", type=int, default=8192, help="a multiple of every agent's steps per update")
    parser.add_argument("--critic-loss", default="hl_gauss", choices=["mse", "hl_gauss", "two_hot", "c51"])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    rows = []
    for env in args.envs:
        for algo in args.algos:
            loss = "mse" if algo == "ppo" and args.critic_loss == "c51" else args.critic_loss
            program = program_for(algo, env, args.chunk_steps, loss)
            for n in args.seeds:
                row = {"env": env, "algo": algo, "critic_loss": loss, **measure(program, n, args.repeats)}
                rows.append(row)
                write_record(Path(args.out), "value_based", args, rows)  # after every row: a cut run keeps its rows
                print(
                    f"{env:28s} {algo:4s} {n:5d} seeds: {row['env_steps_per_s']:9.0f} env steps/s aggregate, "
                    f"{row['env_steps_per_s_per_seed']:8.1f} per seed, compile {row['compile_s']:.1f}s",
                    flush=True,
                )
    out = Path(args.out)
    write_record(out, "value_based", args, rows)
    plot(rows, out / "value_based.png")
    print(f"wrote {out / 'value_based.json'} and {out / 'value_based.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
