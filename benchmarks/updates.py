"""The fused TD / classification update: updates/s, FLOPs, utilisation, HL-Gauss cost, compile times.

Measures our SAC (gymnax Pendulum shapes: obs 3, action 1) and CQL / IQL (a HalfCheetah-sized
synthetic dataset: obs 17, action 6), 256x256 networks, batch 256, as the training loops run
them: `lax.scan` over (sample a batch, update) on a device-resident buffer or dataset, vmapped
over seeds. Not a test: it measures, never asserts. Writes `updates.json` to --out.

- `rows`: updates/s in aggregate and per seed at each --seeds count, on one device and (on a
  CPU with several cores) shared over one XLA CPU device per core, each device running its
  own executable, as the engine runs CLI experiments (`engine.host`).
- `flops_per_update`: XLA's cost analysis of one compiled update (one seed).
- `matmul_flops_per_s`: the float32 FLOP/s `jnp.dot` reaches on 1024x1024 matrices on this
  machine in this run; `utilisation` = FLOPs per update x updates/s / that.
- `loss_cost`: the same update with an HL-Gauss (101 bins) critic against MSE, time and FLOPs.
- `compile`: seconds to compile each program, and the number of XLA compilations of a CLI
  run with a 4-setting traced grid over several chunks (`compile_count`).

    python benchmarks/updates.py --out benchmarks/results [--seeds 1 8 64 256] [--quick]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

from jaxrl_hybrid.engine.host import configure_host

configure_host()  # before JAX starts its backend: one CPU device per core

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from jaxrl_hybrid.agents import CQL, IQL, SAC, CQLConfig, IQLConfig, SACConfig  # noqa: E402
from jaxrl_hybrid.data import from_arrays, sample  # noqa: E402
from jaxrl_hybrid.losses import CriticLoss  # noqa: E402
from jaxrl_hybrid.training import replay  # noqa: E402
from jaxrl_hybrid.types import EnvSpec, Transition  # noqa: E402

PENDULUM = EnvSpec("gymnax:Pendulum-v1", (3,), 1, False, 200)
HALFCHEETAH = EnvSpec("synthetic:halfcheetah", (17,), 6, False, 1000)
HL_GAUSS = {"num_bins": 101, "v_min": -1700.0, "v_max": 100.0}
# Seeds vmapped at once for programs whose activations would not fit in memory for all seeds
# at once (CQL's 30 sampled actions per example): the rest run as a lax.map over blocks.
MAX_BLOCK = {"cql": 32}


def make_agent(algo: str, hidden: int, loss: str):
    critic_loss = CriticLoss(loss, **HL_GAUSS) if loss != "mse" else CriticLoss()
    dims = (hidden, hidden)
    if algo == "sac":
        return SAC(SACConfig(hidden_dims=dims, critic_loss=critic_loss), PENDULUM)
    if algo == "cql":
        return CQL(CQLConfig(hidden_dims=dims, critic_loss=critic_loss), HALFCHEETAH)
    if algo == "iql":
        return IQL(IQLConfig(hidden_dims=dims, critic_loss=critic_loss), HALFCHEETAH)
    raise ValueError(f"unknown algo {algo!r}")


def make_data(algo: str, spec: EnvSpec, key, batch_size: int):
    """A full 10k replay buffer (SAC) or a 100k-transition synthetic offline dataset (CQL, IQL),
    as `draw(key)`: one update's batch, (1, batch_size) transitions (UTD 1)."""
    k = jax.random.split(key, 4)
    obs_dim, act_dim = spec.obs_shape[0], spec.action_dim
    if algo == "sac":
        n = 10_000
        data = Transition(
            obs=jax.random.normal(k[0], (n, obs_dim)),
            action=jax.random.uniform(k[1], (n, act_dim), minval=-1, maxval=1),
            reward=jax.random.normal(k[2], (n,)),
            next_obs=jax.random.normal(k[3], (n, obs_dim)),
            terminated=jnp.zeros((n,), bool),
            truncated=jnp.zeros((n,), bool),
        )
        buffer = replay.ReplayBuffer(data=data, position=jnp.zeros((), jnp.int32), size=jnp.asarray(n, jnp.int32))
        return lambda kk: replay.sample(buffer, kk, (1, batch_size))
    n = 100_000
    rng = np.random.default_rng(0)
    timeouts = np.zeros(n, bool)
    timeouts[999::1000] = True
    dataset = from_arrays(
        rng.standard_normal((n, obs_dim)),
        rng.uniform(-1, 1, (n, act_dim)),
        rng.standard_normal(n),
        rng.standard_normal((n, obs_dim)),
        np.zeros(n, bool),
        timeouts,
        source="synthetic halfcheetah-sized data",
    )
    return lambda kk: sample(dataset, kk, (1, batch_size))


def update_step(agent, draw):
    """Per seed: one (sample a batch, update) step, as the training loops run it."""
    hparams = agent.default_hparams()

    def step(state, key):
        k_sample, k_update = jax.random.split(key)
        return agent.update(state, draw(k_sample), k_update, hparams)

    return step


def scanned_updates(agent, draw, num_updates: int):
    """Per seed: `num_updates` update steps as one lax.scan."""
    step = update_step(agent, draw)

    def run(state, key):
        def body(state, k):
            state, metrics = step(state, k)
            return state, metrics["td_loss"]

        state, losses = jax.lax.scan(body, state, jax.random.split(key, num_updates))
        return state, losses[-1]

    return run


def updates_per_call(args, flops: float, num_seeds: int, rate: float | None = None) -> int:
    """Updates per timed call for about --seconds-per-call, at `rate` updates/s (all seeds)
    when one is known, else at an assumed 200 GFLOP/s."""
    rate = rate or 2e11 / flops
    return int(np.clip(args.seconds_per_call * rate / num_seeds, 2, args.max_updates))


def over_seeds(run, num_seeds: int, block: int | None):
    """vmap over seeds, in blocks of `block` seeds (a lax.map) when that is smaller."""
    if block is None or block >= num_seeds:
        return jax.vmap(run)
    return lambda states, keys: jax.lax.map(lambda sk: run(*sk), (states, keys), batch_size=block)


def time_program(agent, run, num_seeds: int, devices, block: int | None, repeats: int) -> dict:
    """Best-of-`repeats` seconds of one call over `num_seeds` seeds shared over `devices`.

    One executable per device (compiled in turn, timed), dispatched asynchronously; seeds
    that do not divide evenly are padded onto the last devices (their work is counted only
    once: the rate is for `num_seeds`).
    """
    nd = min(len(devices), num_seeds)
    devices = devices[:nd]
    share = -(-num_seeds // nd)
    fn = jax.jit(over_seeds(run, share, block), donate_argnums=0)
    keys = jax.random.split(jax.random.PRNGKey(1), share * nd).reshape(nd, share, -1)
    init = jax.jit(jax.vmap(agent.init))
    states = [jax.device_put(init(keys[d]), dev) for d, dev in enumerate(devices)]
    dkeys = [jax.device_put(keys[d], dev) for d, dev in enumerate(devices)]
    t = time.perf_counter()
    compiled = [fn.lower(states[d], dkeys[d]).compile() for d in range(nd)]
    compile_s = (time.perf_counter() - t) / nd

    def call(states):
        outs = [c(s, k) for c, s, k in zip(compiled, states, dkeys, strict=True)]
        jax.block_until_ready(outs)
        return [o[0] for o in outs]

    states = call(states)  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        states = call(states)
        best = min(best, time.perf_counter() - t)
    return {"seconds": best, "compile_s": compile_s, "devices": nd}


def flops_per_update(agent, draw) -> float:
    """XLA's cost analysis of one compiled (sample, update) step, one seed."""
    key = jax.random.PRNGKey(0)
    state = jax.jit(agent.init)(key)
    cost = jax.jit(update_step(agent, draw)).lower(state, key).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, list | tuple) else cost
    return float(cost["flops"])


def matmul_flops_per_s(m: int = 1024, k: int = 1024, n: int = 1024, batch: int = 0, repeats: int = 5) -> float:
    """float32 FLOP/s of jnp.matmul on (batch x) m x k @ k x n matrices: the best of `repeats`
    timings of a burst of asynchronously dispatched calls (about 2 GFLOP each burst), so the
    small shapes are measured the way an update runs them, one product after another."""
    lead = (batch,) if batch else ()
    a = jax.random.normal(jax.random.PRNGKey(0), (*lead, m, k), jnp.float32)
    b = jax.random.normal(jax.random.PRNGKey(1), (*lead, k, n), jnp.float32)
    f = jax.jit(jnp.matmul)
    jax.block_until_ready(f(a, b))
    flops = 2 * m * k * n * max(batch, 1)
    calls = max(1, int(2e9 // flops))
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready([f(a, b) for _ in range(calls)])
        best = min(best, time.perf_counter() - t)
    return flops * calls / best


def matmul_chain_flops_per_s(m: int, k: int, batch: int = 0, dtype=jnp.float32, precision=None, seconds=0.2) -> float:
    """FLOP/s of a chain of dependent products x <- x @ w, (batch x) m x k @ k x k, in one
    compiled loop: the rate an accelerator gives a stack of hidden layers inside one program,
    with no host dispatch between products (which bursts of single calls would time on a GPU).
    `precision` None is JAX's default (on an NVIDIA GPU float32 then runs as TF32; HIGHEST is
    true float32). The loop's length is set from a first timing to run about `seconds`."""
    lead = (batch,) if batch else ()
    x = jax.random.normal(jax.random.PRNGKey(0), (*lead, m, k), dtype)
    w = (
        jax.random.orthogonal(jax.random.PRNGKey(1), k, shape=lead)
        if batch
        else jax.random.orthogonal(jax.random.PRNGKey(1), k)
    ).astype(dtype)  # keeps x's scale along the chain
    chain = jax.jit(lambda x, w, n: jax.lax.fori_loop(0, n, lambda _, y: jnp.matmul(y, w, precision=precision), x))
    flops = 2 * m * k * k * max(batch, 1)
    n, elapsed = 4, 0.0
    while True:
        steps = jnp.int32(n)
        jax.block_until_ready(chain(x, w, steps))  # compiled once: the length is traced
        t = time.perf_counter()
        jax.block_until_ready(chain(x, w, steps))
        elapsed = time.perf_counter() - t
        if elapsed >= seconds / 4 or n >= 2**20:
            break
        n = int(n * min(64.0, max(2.0, seconds / max(elapsed, 1e-6))))
    return flops * n / elapsed


def matmul_ceilings(hidden: int, batch_size: int) -> dict:
    """FLOP/s of the matrix products an update is made of, one at a time: the hidden layer of a
    2-member ensemble on one batch (SAC, IQL) and on CQL's 31 action sets, and a plain one."""
    return {
        f"{batch_size}x{hidden}x{hidden}": matmul_flops_per_s(batch_size, hidden, hidden),
        f"2x{batch_size}x{hidden}x{hidden} (ensemble)": matmul_flops_per_s(batch_size, hidden, hidden, batch=2),
        f"2x{31 * batch_size}x{hidden}x{hidden} (CQL action sets)": matmul_flops_per_s(
            31 * batch_size, hidden, hidden, batch=2
        ),
    }


def loss_cost(args, algo: str, n: int, rounds: int = 4) -> dict:
    """HL-Gauss (101 bins) vs MSE: the same update program timed in alternation, best of each,
    so that a machine whose speed drifts during the run does not bias the ratio."""
    progs = {}
    for loss in ("mse", "hl_gauss"):
        agent = make_agent(algo, args.hidden, loss)
        draw = make_data(algo, agent.spec, jax.random.PRNGKey(0), args.batch_size)
        progs[loss] = (agent, draw, flops_per_update(agent, draw))
    num_updates = updates_per_call(args, progs["mse"][2], n)
    best = {loss: float("inf") for loss in progs}
    runs = {loss: (agent, scanned_updates(agent, draw, num_updates)) for loss, (agent, draw, _) in progs.items()}
    for _ in range(rounds):
        for loss, (agent, run) in runs.items():
            t = time_program(agent, run, n, jax.local_devices()[:1], MAX_BLOCK.get(algo), 1)
            best[loss] = min(best[loss], t["seconds"])
    return {
        "algo": algo,
        "num_seeds": n,
        "updates_per_call": num_updates,
        "mse_updates_per_s": n * num_updates / best["mse"],
        "hl_gauss_updates_per_s": n * num_updates / best["hl_gauss"],
        "time_ratio": best["hl_gauss"] / best["mse"],
        "flops_ratio": progs["hl_gauss"][2] / progs["mse"][2],
    }


def measure_updates(args, matmul: float) -> tuple[list[dict], list[dict]]:
    rows, cost_rows = [], []
    all_devices = jax.local_devices()
    layouts = [("1 device", all_devices[:1])]
    if len(all_devices) > 1:
        layouts.append((f"{len(all_devices)} host devices", all_devices))
    for algo in args.algos:
        agent = make_agent(algo, args.hidden, "mse")
        draw = make_data(algo, agent.spec, jax.random.PRNGKey(0), args.batch_size)
        flops = flops_per_update(agent, draw)
        block = MAX_BLOCK.get(algo)
        for label, devices in layouts:
            rate = None  # the last measured rate sizes the next seed count's calls
            for n in args.seeds:
                num_updates = updates_per_call(args, flops, n, rate)
                timing = time_program(agent, scanned_updates(agent, draw, num_updates), n, devices, block, args.repeats)
                rate = n * num_updates / timing["seconds"]
                row = {
                    "ours": True,
                    "algo": algo,
                    "critic_loss": "mse",
                    "layout": label,
                    "devices": timing["devices"],
                    "num_seeds": n,
                    "updates_per_call": num_updates,
                    "seconds": timing["seconds"],
                    "updates_per_s": rate,
                    "updates_per_s_per_seed": rate / n,
                    "compile_s": timing["compile_s"],
                    "flops_per_update": flops,
                    "utilisation": flops * rate / matmul,
                    "block": block if block and block < n else None,
                }
                rows.append(row)
                print(
                    f"{algo:4s} {label:16s} {n:4d} seeds: {rate:9.1f} updates/s ({rate / n:8.2f} per seed)  "
                    f"{100 * row['utilisation']:5.1f}% of matmul peak  compile {timing['compile_s']:.1f} s",
                    file=sys.stderr,
                    flush=True,
                )
        for n in args.loss_seeds:
            cost_rows.append(loss_cost(args, algo, n))
            c = cost_rows[-1]
            print(
                f"{algo:4s} {n:4d} seeds: HL-Gauss costs {c['time_ratio']:.2f}x MSE (FLOPs {c['flops_ratio']:.2f}x)",
                file=sys.stderr,
                flush=True,
            )
    return rows, cost_rows


def compile_counts(args) -> dict:
    """XLA compilations of CLI runs, each a fresh process with JAX_LOG_COMPILES=1: two `train`
    runs with traced grids (4 runs over 3 chunks, 8 runs over 6 chunks; the programs that
    matter, init and chunk per device, grow with neither) and a `sweep` of 2 static network
    widths x a traced grid (one set of programs per static value)."""
    import os
    import re
    import subprocess

    cli = Path(sys.executable).parent / "jaxrl-hybrid"
    pattern = re.compile(r"Finished XLA compilation of (.+?) in ([0-9.eE+-]+) sec")

    def run(argv: list[str]) -> dict:
        env = {**os.environ, "JAX_LOG_COMPILES": "1"}
        done = subprocess.run([str(cli), *argv], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"compile-count run failed: jaxrl-hybrid {' '.join(argv)}\n{done.stderr[-2000:]}")
        found = [(m.group(1), float(m.group(2))) for m in pattern.finditer(done.stderr)]
        big = sorted(found, key=lambda x: -x[1])[:4]
        return {
            "command": "jaxrl-hybrid " + " ".join(argv),
            "xla_compilations": len(found),
            "compile_seconds": sum(t for _, t in found),
            "largest": [{"program": n, "seconds": t} for n, t in big],
        }

    def count(grid: list[str], chunks: int, name: str) -> dict:
        return run([
            "train", "--algo", "sac", "--env", "gymnax:Pendulum-v1", "--num-seeds", "2",
            "--total-steps", str(100 + 100 * chunks), "--learning-starts", "100", "--eval-every", "100",
            "--num-eval-episodes", "1", "--hidden-dims", "32", "32", "--batch-size", "64", *grid,
            "--out", str(Path(args.out) / name), "--overwrite",
        ])  # fmt: skip

    sweep_file = Path(args.out) / "compile_count_sweep.toml"
    sweep_file.parent.mkdir(parents=True, exist_ok=True)
    sweep_file.write_text(
        'command = "train"\nnum_seeds = 2\nseed = 0\n\n[options]\nalgo = "sac"\nenv = "gymnax:Pendulum-v1"\n'
        "total_steps = 400\nlearning_starts = 100\neval_every = 100\nnum_eval_episodes = 1\nbatch_size = 64\n\n"
        "[grid]\ncritic_lr = [1e-3, 3e-4]\nhidden_dims = [[32, 32], [16, 16]]\n"
    )
    sweep = run(["sweep", str(sweep_file), "--out", str(Path(args.out) / "compile_count_sweep"), "--overwrite"])
    small = count(["--hparam", "critic_lr=1e-3,3e-4"], 3, "compile_count_small")
    large = count(["--hparam", "critic_lr=1e-3,3e-4", "--hparam", "tau=0.005,0.01"], 6, "compile_count_large")
    return {
        "runs": 4,
        "chunks": 3,
        **small,
        "largest_compile_s": small["largest"][0]["seconds"] if small["largest"] else 0.0,
        "runs_larger": 8,
        "chunks_larger": 6,
        "xla_compilations_larger": large["xla_compilations"],
        "larger": large,
        "sweep": {**sweep, "static_combinations": 2, "runs_each": 4, "chunks": 3},
        "devices": len(jax.local_devices()),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="benchmarks/results")
    parser.add_argument("--algos", nargs="+", default=["sac", "cql", "iql"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 8, 64, 256])
    parser.add_argument("--loss-seeds", type=int, nargs="+", default=[1, 8], help="seed counts of the HL-Gauss runs")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seconds-per-call", type=float, default=3.0)
    parser.add_argument("--max-updates", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="1 and 8 seeds, for a first look")
    parser.add_argument("--skip-updates", action="store_true", help="only the matmul rates and compile counts")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.loss_seeds, args.repeats, args.seconds_per_call = [1, 8], [1], 1, 1.0
    elif args.repeats < 3:
        args.repeats = 3  # this machine's timings swing by 10%: best of three

    matmul = matmul_flops_per_s()
    ceilings = matmul_ceilings(args.hidden, args.batch_size)
    print(f"float32 matmul 1024x1024: {matmul / 1e9:.1f} GFLOP/s", file=sys.stderr, flush=True)
    for shape, flops in ceilings.items():
        print(f"float32 matmul {shape}: {flops / 1e9:.1f} GFLOP/s ({100 * flops / matmul:.0f}%)", file=sys.stderr)
    rows, cost_rows = ([], []) if args.skip_updates else measure_updates(args, matmul)
    counts = compile_counts(args)
    print(
        f"CLI runs: {counts['xla_compilations']} XLA compilations for 4 runs x 3 chunks, "
        f"{counts['xla_compilations_larger']} for 8 runs x 6 chunks, "
        f"{counts['sweep']['xla_compilations']} for a sweep of 2 static widths x 4 runs",
        file=sys.stderr,
    )
    result = {
        "benchmark": "fused_update",
        "config": vars(args),
        "device": str(jax.devices()[0]),
        "local_devices": len(jax.local_devices()),
        "backend": jax.default_backend(),
        "jax_version": jax.__version__,
        "machine": platform.machine(),
        "matmul_flops_per_s": matmul,
        "matmul_flops_per_s_at_update_shapes": ceilings,
        "rows": rows,
        "loss_cost": cost_rows,
        "compile_count": counts,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "updates.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out / 'updates.json'}", file=sys.stderr)
    return result


if __name__ == "__main__":
    main()
