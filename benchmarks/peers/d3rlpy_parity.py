"""d3rlpy 2.8.1 trained on one of our HDF5 datasets, scored by our rule (peer of benchmarks/parity.py).

Runs inside the d3rlpy peer venv (`benchmarks/peers.py` makes it), never in the project's
environment. Reads the D4RL-layout file our `jaxrl-hybrid dataset generate` writes, trains one
algorithm at d3rlpy's own defaults (its 256x256 networks, batch 256 unless the paper says
otherwise), and evaluates the deterministic policy every `--eval-every` updates on
`--episodes` episodes of gymnasium's Pendulum-v1 (the same dynamics, observation and reward
as gymnax's, which our side evaluates in); actions are in our [-1, 1] convention, scaled to
Pendulum's [-2, 2] torque. Scores are normalised by the file's own reference returns.

    python benchmarks/peers/d3rlpy_parity.py --data medium.hdf5 --algo iql --updates 20000 \
        --seed 0 --out iql_s0.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

import numpy as np
from d3rlpy_fit import fit, peer_record  # this folder is on sys.path when run as a script

ALGOS = ("bc", "td3bc", "iql", "cql", "calql")


def load(path: str):
    """The file's arrays and our metadata (env, reference returns)."""
    import h5py

    with h5py.File(path, "r") as f:
        arrays = {k: np.asarray(f[k]) for k in ("observations", "actions", "rewards", "terminals", "timeouts")}
        meta = json.loads(f.attrs["jaxrl_hybrid_metadata"])
    return arrays, meta


def make_dataset(arrays):
    import d3rlpy

    timeouts = arrays["timeouts"].astype(np.float32).copy()
    timeouts[-1] = 1.0 if not arrays["terminals"][-1] else timeouts[-1]  # close the last episode
    return d3rlpy.dataset.MDPDataset(
        observations=arrays["observations"].astype(np.float32),
        actions=arrays["actions"].astype(np.float32),
        rewards=arrays["rewards"].astype(np.float32),
        terminals=arrays["terminals"].astype(np.float32),
        timeouts=timeouts,
    )


def make_algo(name: str, gamma: float):
    """d3rlpy's algorithm at its documented defaults (Cal-QL and CQL with a fixed alpha 5 as the
    papers' locomotion runs, TD3+BC alpha 2.5); gamma from the file."""
    import d3rlpy

    algos = d3rlpy.algos
    if name == "bc":
        return algos.BCConfig().create(device="cpu:0")
    if name == "td3bc":
        return algos.TD3PlusBCConfig(gamma=gamma).create(device="cpu:0")
    if name == "iql":
        return algos.IQLConfig(gamma=gamma).create(device="cpu:0")
    if name in ("cql", "calql"):
        cls = algos.CalQLConfig if name == "calql" else algos.CQLConfig
        return cls(gamma=gamma, alpha_learning_rate=0.0, conservative_weight=5.0).create(device="cpu:0")
    raise ValueError(f"unknown algo {name!r}; expected one of {ALGOS}")


def evaluate(algo, episodes: int, seed: int) -> list[float]:
    import gymnasium

    env = gymnasium.make("Pendulum-v1")
    returns = []
    for i in range(episodes):
        obs, _ = env.reset(seed=seed * 100_000 + i)
        total, done = 0.0, False
        while not done:
            action = algo.predict(obs[None].astype(np.float32))[0]
            obs, reward, terminated, truncated, _ = env.step(2.0 * np.clip(action, -1.0, 1.0))
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    return returns


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--algo", required=True, choices=ALGOS)
    parser.add_argument("--updates", type=int, default=20_000)
    parser.add_argument("--eval-every", type=int, default=5_000)
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)

    import d3rlpy

    arrays, meta = load(args.data)
    if meta.get("env") != "gymnax:Pendulum-v1" or meta.get("dynamics"):
        raise SystemExit(f"{args.data}: the peer evaluates in gymnasium's Pendulum-v1 only, not {meta.get('env')}")
    refs = meta.get("reference_returns") or {}
    if "random" not in refs or "expert" not in refs:
        raise SystemExit(f"{args.data}: metadata has no reference_returns (random, expert) to normalise by")
    low, high = float(refs["random"]), float(refs["expert"])
    d3rlpy.seed(args.seed)
    dataset = make_dataset(arrays)
    algo = make_algo(args.algo, float(meta.get("gamma") or 0.99))
    curve = []
    t0 = time.perf_counter()
    train_seconds = 0.0
    with tempfile.TemporaryDirectory() as logdir:
        done = 0
        while done < args.updates:
            steps = min(args.eval_every, args.updates - done)
            train_seconds += fit(algo, dataset, steps, logdir)
            done += steps
            returns = evaluate(algo, args.episodes, args.seed)
            score = 100.0 * (float(np.mean(returns)) - low) / (high - low)
            curve.append({"updates": done, "mean_return": float(np.mean(returns)), "score": score})
            print(f"d3rlpy {args.algo} seed {args.seed}: {done} updates, score {score:.1f}", flush=True)
    result = {
        **peer_record(args),
        "curve": curve,
        "final_score": curve[-1]["score"],
        "train_seconds": train_seconds,
        "wall_seconds": time.perf_counter() - t0,
    }
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
