"""rejax SAC on gymnax Pendulum: end to end with its own Pendulum config, and update rate vs seeds.

Runs inside the rejax peer venv that `benchmarks/peers.py` creates, never in the project's
environment. Writes one JSON object to --out:

- `end_to_end`: `jit(vmap(train))` over --e2e-seeds seeds of --e2e-steps env steps with
  rejax's published Pendulum SAC config (64x64 swish, batch 256, lr 0.01, polyak 0.98, a
  10k buffer filled for 256 steps, observation normalisation), timed from building the
  algorithm to the results on the host, compilation included, plus the final evaluation
  return of every seed (--eval-episodes episodes of rejax's own `act`).
- `updates`: its SAC update (replay sample + actor, critic and temperature steps) at
  --hidden x --hidden, batch 256, scanned over --updates updates per call on a full
  buffer, at each --seeds count, vmapped as rejax's users vmap it.

    python benchmarks/peers/rejax_sac.py --out rejax.json
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import jax
import jax.numpy as jnp
import numpy as np

# rejax's configs/gymnax/pendulum.yaml, SAC section (total_timesteps and eval_freq set by flags).
PENDULUM_SAC = dict(
    env="Pendulum-v1",
    agent_kwargs={"activation": "swish"},
    num_envs=1,
    buffer_size=10_000,
    fill_buffer=256,
    batch_size=256,
    learning_rate=0.01,
    num_epochs=1,
    gamma=0.99,
    polyak=0.98,
    normalize_observations=True,
)


def end_to_end(num_seeds: int, total_steps: int, eval_every: int, eval_episodes: int) -> dict:
    from rejax import SAC
    from rejax.evaluate import evaluate

    t0 = time.perf_counter()
    algo = SAC.create(**PENDULUM_SAC, total_timesteps=total_steps, eval_freq=eval_every, skip_initial_evaluation=True)

    def eval_callback(algo, ts, rng):
        lengths, returns = evaluate(
            algo.make_act(ts), rng, algo.env, algo.env_params, eval_episodes, algo.env_params.max_steps_in_episode
        )
        return returns

    algo = algo.replace(eval_callback=eval_callback)
    keys = jax.random.split(jax.random.PRNGKey(0), num_seeds)
    _, returns = jax.block_until_ready(jax.jit(jax.vmap(algo.train))(keys))
    seconds = time.perf_counter() - t0
    returns = np.asarray(returns)  # (seeds, evals, episodes)
    final = returns[:, -1].mean(axis=-1)
    stats = jax.local_devices()[0].memory_stats() or {}  # None on a CPU
    return {
        "num_seeds": num_seeds,
        "total_steps": total_steps,
        "seconds_incl_compile": seconds,
        "peak_bytes": stats.get("peak_bytes_in_use"),
        "final_return_per_seed": final.tolist(),
        "final_return_mean": float(final.mean()),
        "curve_mean": returns.mean(axis=(0, 2)).tolist(),
    }


def update_rate(num_seeds: int, hidden: int, batch_size: int, num_updates: int, repeats: int) -> dict:
    from rejax import SAC

    algo = SAC.create(
        env="Pendulum-v1",
        hidden_layer_sizes=(hidden, hidden),
        batch_size=batch_size,
        buffer_size=10_000,
        skip_initial_evaluation=True,
    )

    def init(key):
        ts = algo.init_state(key)
        k = jax.random.split(key, 4)
        n = algo.buffer_size
        obs_dim = algo.env.observation_space(algo.env_params).shape[0]
        batch = ts.replay_buffer.data._replace(
            obs=jax.random.normal(k[0], (n, obs_dim)),
            action=jax.random.uniform(k[1], (n, 1), minval=-2, maxval=2),
            reward=jax.random.normal(k[2], (n,)),
            next_obs=jax.random.normal(k[3], (n, obs_dim)),
            done=jnp.zeros((n,), bool),
        )
        return ts.replace(replay_buffer=ts.replay_buffer.extend(batch))

    def run(ts):
        def body(ts, _):
            rng, rng_sample = jax.random.split(ts.rng)
            ts = ts.replace(rng=rng)
            minibatch = ts.replay_buffer.sample(algo.batch_size, rng_sample)
            return algo.update(ts, minibatch), None

        return jax.lax.scan(body, ts, None, length=num_updates)[0]

    keys = jax.random.split(jax.random.PRNGKey(1), num_seeds)
    states = jax.jit(jax.vmap(init))(keys)
    t = time.perf_counter()
    fn = jax.jit(jax.vmap(run)).lower(states).compile()
    compile_s = time.perf_counter() - t
    jax.block_until_ready(fn(states))
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(fn(states))
        best = min(best, time.perf_counter() - t)
    total = num_seeds * num_updates / best
    return {
        "peer": "rejax",
        "algo": "sac",
        "num_seeds": num_seeds,
        "seconds": best,
        "updates_per_s": total,
        "updates_per_s_per_seed": total / num_seeds,
        "compile_s": compile_s,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--e2e-seeds", type=int, default=8)
    parser.add_argument("--e2e-steps", type=int, default=20_000)
    parser.add_argument("--eval-every", type=int, default=2_000)
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--seeds", type=int, nargs="*", default=[1, 8, 64, 256])
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--updates", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--skip-e2e", action="store_true")
    args = parser.parse_args(argv)

    import rejax

    result = {
        "peer": "rejax",
        "rejax_version": getattr(rejax, "__version__", "0.1.3"),
        "jax_version": jax.__version__,
        "backend": jax.default_backend(),
        "machine": platform.machine(),
        "config": vars(args),
        "pendulum_config": PENDULUM_SAC,
    }
    if not args.skip_e2e:
        result["end_to_end"] = end_to_end(args.e2e_seeds, args.e2e_steps, args.eval_every, args.eval_episodes)
        e = result["end_to_end"]
        print(f"rejax e2e: {e['seconds_incl_compile']:.1f} s, final return {e['final_return_mean']:.1f}", flush=True)
    rows = []
    for n in args.seeds:
        rows.append(update_rate(n, args.hidden, args.batch_size, args.updates, args.repeats))
        print(f"rejax sac {n} seeds: {rows[-1]['updates_per_s']:.1f} updates/s", flush=True)
    result["rows"] = rows
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
