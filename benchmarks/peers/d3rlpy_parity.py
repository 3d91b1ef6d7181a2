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
import os
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


def make_algo(name: str, gamma: float, hidden_dims: list[int] | None = None, batch_size: int | None = None):
    """d3rlpy's algorithm at its documented defaults (Cal-QL and CQL with a fixed alpha 5 as the
    papers' locomotion runs, TD3+BC alpha 2.5); gamma from the file. `hidden_dims` and
    `batch_size` replace d3rlpy's 256x256 networks and its batch size, for comparisons at an
    experiment's smaller settings."""
    import d3rlpy

    algos = d3rlpy.algos
    kw = {}
    if hidden_dims:
        encoder = d3rlpy.models.VectorEncoderFactory(hidden_units=list(hidden_dims))
        kw["encoder_factory" if name == "bc" else "actor_encoder_factory"] = encoder
        if name != "bc":
            kw["critic_encoder_factory"] = encoder
        if name == "iql":
            kw["value_encoder_factory"] = encoder
    if batch_size:
        kw["batch_size"] = batch_size
    if name == "bc":
        return algos.BCConfig(**kw).create(device="cpu:0")
    if name == "td3bc":
        return algos.TD3PlusBCConfig(gamma=gamma, **kw).create(device="cpu:0")
    if name == "iql":
        return algos.IQLConfig(gamma=gamma, **kw).create(device="cpu:0")
    if name in ("cql", "calql"):
        cls = algos.CalQLConfig if name == "calql" else algos.CQLConfig
        return cls(gamma=gamma, alpha_learning_rate=0.0, conservative_weight=5.0, **kw).create(device="cpu:0")
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


def export_policy(algo, observations: np.ndarray, path: str) -> None:
    """The deterministic policy's weights as numpy (`benchmarks/peer_policy.py` reads them):
    encoder layers W0, b0, W1, b1, ... (ReLU between), the mean head `head_W`, `head_b` (tanh on
    top: d3rlpy's `squashed_mu`, what `predict` returns), and `check_obs` / `check_actions`, d3rlpy's
    own `predict` on 256 of the file's observations, so the reader proves its forward pass is the same."""
    modules = algo.impl.modules
    policy = getattr(modules, "policy", None) or modules.imitator
    state = {k: v.detach().cpu().numpy() for k, v in policy.state_dict().items()}
    layers = sorted(
        {int(k.split(".")[2]) for k in state if k.startswith("_encoder._layers.") and k.endswith(".weight")}
    )
    arrays = {}
    for i, layer in enumerate(layers):
        arrays[f"W{i}"] = state[f"_encoder._layers.{layer}.weight"]
        arrays[f"b{i}"] = state[f"_encoder._layers.{layer}.bias"]
    head = "_fc" if "_fc.weight" in state else "_mu"
    arrays["head_W"], arrays["head_b"] = state[f"{head}.weight"], state[f"{head}.bias"]
    check = observations[:256].astype(np.float32)
    arrays["check_obs"], arrays["check_actions"] = check, np.asarray(algo.predict(check), np.float32)
    np.savez(path, **arrays)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--algo", required=True, choices=ALGOS)
    parser.add_argument("--updates", type=int, default=20_000)
    parser.add_argument("--eval-every", type=int, default=5_000)
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    parser.add_argument("--hidden-dims", type=int, nargs="+", default=None, help="default: d3rlpy's 256 256")
    parser.add_argument("--batch-size", type=int, default=None, help="default: d3rlpy's for the algorithm")
    parser.add_argument(
        "--export-dir",
        default=None,
        help="write the policy at every evaluation as policy_<updates>.npz here, for our side to evaluate in "
        "the file's own env (`benchmarks/peer_policy.py`); the only evaluation for envs other than Pendulum",
    )
    args = parser.parse_args(argv)

    import d3rlpy

    arrays, meta = load(args.data)
    in_gymnasium = meta.get("env") == "gymnax:Pendulum-v1" and not meta.get("dynamics")
    if not in_gymnasium and args.export_dir is None:
        raise SystemExit(
            f"{args.data}: the peer evaluates in gymnasium's Pendulum-v1 only, not {meta.get('env')}; "
            "pass --export-dir and evaluate the exported policies with benchmarks/peer_policy.py"
        )
    refs = meta.get("reference_returns") or {}
    if "random" not in refs or "expert" not in refs:
        raise SystemExit(f"{args.data}: metadata has no reference_returns (random, expert) to normalise by")
    low, high = float(refs["random"]), float(refs["expert"])
    d3rlpy.seed(args.seed)
    dataset = make_dataset(arrays)
    algo = make_algo(args.algo, float(meta.get("gamma") or 0.99), args.hidden_dims, args.batch_size)
    curve = []
    t0 = time.perf_counter()
    train_seconds = 0.0
    with tempfile.TemporaryDirectory() as logdir:
        done = 0
        while done < args.updates:
            steps = min(args.eval_every, args.updates - done)
            train_seconds += fit(algo, dataset, steps, logdir)
            done += steps
            point = {"updates": done}
            if args.export_dir is not None:
                os.makedirs(args.export_dir, exist_ok=True)
                point["policy"] = os.path.join(args.export_dir, f"policy_{done}.npz")
                export_policy(algo, arrays["observations"], point["policy"])
            if in_gymnasium:
                returns = evaluate(algo, args.episodes, args.seed)
                point["mean_return"] = float(np.mean(returns))
                point["score"] = 100.0 * (point["mean_return"] - low) / (high - low)
                print(f"d3rlpy {args.algo} seed {args.seed}: {done} updates, score {point['score']:.1f}", flush=True)
            curve.append(point)
    result = {
        **peer_record(args),
        "curve": curve,
        "final_score": curve[-1].get("score"),
        "train_seconds": train_seconds,
        "wall_seconds": time.perf_counter() - t0,
    }
    # written whole or not at all: parity.py keeps a seed whose JSON exists
    partial = f"{args.out}.partial"
    with open(partial, "w") as f:
        json.dump(result, f, indent=2)
    os.replace(partial, args.out)


if __name__ == "__main__":
    main()
