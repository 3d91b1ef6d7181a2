"""d3rlpy's fit loop on a synthetic dataset: SAC, CQL, IQL updates/s (peer of benchmarks/updates.py).

Runs inside the d3rlpy peer venv that `benchmarks/peers.py` creates (PyTorch CPU build), never
in the project's environment. Writes one JSON object to --out. d3rlpy trains one seed per
process, so its aggregate rate at N seeds run one after another equals its per-seed rate.

    python benchmarks/peers/d3rlpy_fit.py --out d3rlpy.json [--steps 300] [--algos sac cql iql]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time

import numpy as np

# (obs dim, action dim) of each benchmark task, as in benchmarks/updates.py.
TASKS = {"sac": (3, 1), "cql": (17, 6), "iql": (17, 6)}


def synthetic_dataset(obs_dim: int, action_dim: int, size: int, seed: int):
    import d3rlpy

    rng = np.random.default_rng(seed)
    terminals = np.zeros(size, np.float32)
    timeouts = np.zeros(size, np.float32)
    timeouts[999::1000] = 1.0  # 1000-step episodes, as in the HalfCheetah datasets
    timeouts[-1] = 1.0
    return d3rlpy.dataset.MDPDataset(
        observations=rng.standard_normal((size, obs_dim)).astype(np.float32),
        actions=rng.uniform(-1, 1, (size, action_dim)).astype(np.float32),
        rewards=rng.standard_normal(size).astype(np.float32),
        terminals=terminals,
        timeouts=timeouts,
    )


def make_algo(name: str, hidden: int, batch_size: int):
    import d3rlpy

    enc = d3rlpy.models.VectorEncoderFactory([hidden, hidden])
    common = dict(batch_size=batch_size, actor_encoder_factory=enc, critic_encoder_factory=enc)
    if name == "sac":
        return d3rlpy.algos.SACConfig(**common).create(device="cpu:0")
    if name == "cql":
        # Fixed penalty weight (no Lagrange step), as ours: alpha_learning_rate 0.
        return d3rlpy.algos.CQLConfig(alpha_learning_rate=0.0, n_action_samples=10, **common).create(device="cpu:0")
    if name == "iql":
        return d3rlpy.algos.IQLConfig(value_encoder_factory=enc, **common).create(device="cpu:0")
    raise ValueError(f"unknown algo {name!r}")


def fit(algo, dataset, steps: int, logdir: str) -> float:
    """`steps` more updates of `algo` (one epoch, no logging, no saving); their seconds."""
    import d3rlpy

    t = time.perf_counter()
    algo.fit(
        dataset,
        n_steps=steps,
        n_steps_per_epoch=steps,
        show_progress=False,
        logger_adapter=d3rlpy.logging.NoopAdapterFactory(),
        save_interval=10**9,
        experiment_name=f"{logdir}/run",
    )
    return time.perf_counter() - t


def time_fit(algo, dataset, steps: int, logdir: str) -> float:
    fit(algo, dataset, min(steps, 20), logdir)  # build + warm-up
    return fit(algo, dataset, steps, logdir)


def peer_record(args) -> dict:
    """The peer's versions, threads and machine, and the script's arguments (head of its JSON)."""
    import d3rlpy
    import torch

    return {
        "peer": "d3rlpy",
        "d3rlpy_version": d3rlpy.__version__,
        "torch_version": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "machine": platform.machine(),
        "config": vars(args),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--algos", nargs="+", default=list(TASKS))
    parser.add_argument("--steps", type=int, default=300, help="timed updates per algo (CQL: a fifth)")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args(argv)

    import d3rlpy

    d3rlpy.seed(0)
    rows = []
    with tempfile.TemporaryDirectory() as logdir:
        for name in args.algos:
            obs_dim, action_dim = TASKS[name]
            dataset = synthetic_dataset(obs_dim, action_dim, 100_000, 0)
            algo = make_algo(name, args.hidden, args.batch_size)
            steps = max(args.steps // 5, 20) if name == "cql" else args.steps
            seconds = time_fit(algo, dataset, steps, logdir)
            rate = steps / seconds
            rows.append({"peer": "d3rlpy", "algo": name, "updates": steps, "seconds": seconds, "updates_per_s": rate})
            print(f"d3rlpy {name}: {rate:.1f} updates/s", flush=True)
    result = {**peer_record(args), "rows": rows}
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
