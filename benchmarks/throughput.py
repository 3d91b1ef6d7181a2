"""SAC update throughput vs number of vmapped seeds (not a test: it measures, never asserts).

For each seed count it jits `vmap(scan(update))` over a device-resident replay buffer and
times `--updates` SAC updates after a warm-up call, reporting updates/s in aggregate (all
seeds) and per seed. As a peer measured in the same run, the 8-seed case is also timed as a
Python loop over seeds of the single-seed program: what vmapping saves.

    python benchmarks/throughput.py --out benchmarks/results [--seeds 1 8 64 256]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp

from jaxrl_hybrid.agents import SAC, SACConfig
from jaxrl_hybrid.envs import make_env
from jaxrl_hybrid.losses import CriticLoss
from jaxrl_hybrid.training import replay
from jaxrl_hybrid.types import Transition


def make_step(agent, buffer, hparams, num_updates):
    def run(state, key):
        def body(state, k):
            k_sample, k_update = jax.random.split(k)
            batch = replay.sample(buffer, k_sample, (agent.config.utd, agent.config.batch_size))
            state, metrics = agent.update(state, batch, k_update, hparams)
            return state, metrics["critic_loss"]

        return jax.lax.scan(body, state, jax.random.split(key, num_updates))

    return run


def filled_buffer(spec, size, key):
    k = jax.random.split(key, 4)
    data = Transition(
        obs=jax.random.normal(k[0], (size, *spec.obs_shape)),
        action=jax.random.uniform(k[1], (size, spec.action_dim), minval=-1, maxval=1),
        reward=jax.random.normal(k[2], (size,)),
        next_obs=jax.random.normal(k[3], (size, *spec.obs_shape)),
        terminated=jnp.zeros((size,), bool),
        truncated=jnp.zeros((size,), bool),
    )
    return replay.ReplayBuffer(data=data, position=jnp.zeros((), jnp.int32), size=jnp.asarray(size, jnp.int32))


def time_call(fn, *args, repeats):
    jax.block_until_ready(fn(*args))  # compile + warm-up
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(fn(*args))
        best = min(best, time.perf_counter() - t)
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="benchmarks/results")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 8, 64, 256])
    parser.add_argument("--updates", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--critic-loss", default="mse", choices=["mse", "huber", "hl_gauss", "two_hot"])
    args = parser.parse_args(argv)

    env, _ = make_env("gymnax:Pendulum-v1")
    loss = CriticLoss(args.critic_loss, num_bins=101, v_min=-1700.0, v_max=100.0)
    agent = SAC(
        SACConfig(hidden_dims=(args.hidden, args.hidden), batch_size=args.batch_size, critic_loss=loss), env.spec
    )
    hparams = agent.default_hparams()
    buffer = filled_buffer(env.spec, 10_000, jax.random.PRNGKey(0))
    run = make_step(agent, buffer, hparams, args.updates)

    rows = []
    for n in args.seeds:
        keys = jax.random.split(jax.random.PRNGKey(1), n)
        states = jax.jit(jax.vmap(agent.init))(keys)
        fn = jax.jit(jax.vmap(run))
        seconds = time_call(fn, states, keys, repeats=args.repeats)
        total = n * args.updates / seconds
        rows.append(
            {
                "method": "vmap",
                "num_seeds": n,
                "seconds": seconds,
                "updates_per_s": total,
                "updates_per_s_per_seed": total / n,
            }
        )
        print(f"vmap   {n:4d} seeds: {total:12.1f} updates/s ({total / n:10.1f} per seed)", file=sys.stderr)

    # Peer: the same 8 seeds as a Python loop over the single-seed program.
    n = 8
    keys = jax.random.split(jax.random.PRNGKey(1), n)
    single = jax.jit(run)
    states = [jax.jit(agent.init)(k) for k in keys]
    loop = lambda: [single(s, k) for s, k in zip(states, keys, strict=True)]  # noqa: E731
    seconds = time_call(lambda: loop(), repeats=args.repeats)
    total = n * args.updates / seconds
    rows.append(
        {
            "method": "python_loop",
            "num_seeds": n,
            "seconds": seconds,
            "updates_per_s": total,
            "updates_per_s_per_seed": total / n,
        }
    )
    print(f"loop   {n:4d} seeds: {total:12.1f} updates/s ({total / n:10.1f} per seed)", file=sys.stderr)

    result = {
        "benchmark": "sac_update_throughput",
        "config": vars(args),
        "device": str(jax.devices()[0]),
        "backend": jax.default_backend(),
        "jax_version": jax.__version__,
        "machine": platform.machine(),
        "rows": rows,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "throughput.json").write_text(json.dumps(result, indent=2) + "\n")
    plot(rows, out / "throughput.png")
    print(f"wrote {out / 'throughput.json'}", file=sys.stderr)


def plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    vm = [r for r in rows if r["method"] == "vmap"]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.loglog([r["num_seeds"] for r in vm], [r["updates_per_s"] for r in vm], "o-", label="vmap (aggregate)")
    for r in rows:
        if r["method"] == "python_loop":
            ax.loglog([r["num_seeds"]], [r["updates_per_s"]], "s", label="python loop over seeds")
    ax.set_xlabel("seeds")
    ax.set_ylabel("SAC updates / s")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main()
