"""A peer's exported policy, evaluated in the dataset's own env by our evaluation (parity's second rule).

`peers/d3rlpy_parity.py --export-dir` writes d3rlpy's deterministic policy as numpy arrays
(ReLU encoder layers W0, b0, W1, b1, ..., a mean head `head_W`, `head_b` with tanh on top) and
d3rlpy's own `predict` on 256 of the file's observations. Here the same MLP runs in JAX, is
checked against those actions, and is scored exactly as our agents are: `training.evaluation.
evaluate` in the env the file's metadata names (gymnax or brax, dynamics included), normalised by
the file's reference returns. For Pendulum this is a cross-check of the gymnasium evaluation;
for every other env it is the only one.

    .venv/bin/python benchmarks/peer_policy.py --policy policy_20000.npz --data medium.hdf5 [--episodes 50]
"""

from __future__ import annotations

import argparse
import json

import numpy as np


def load_policy(path: str, atol: float = 1e-4):
    """(params, act) of an exported policy, after checking `act` reproduces the peer's actions."""
    import jax.numpy as jnp

    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    missing = [k for k in ("W0", "b0", "head_W", "head_b", "check_obs", "check_actions") if k not in arrays]
    if missing:
        raise ValueError(f"{path}: not an exported policy, missing {missing}")
    depth = sum(1 for k in arrays if k.startswith("W") and k[1:].isdigit())
    params = {
        "layers": [(jnp.asarray(arrays[f"W{i}"]), jnp.asarray(arrays[f"b{i}"])) for i in range(depth)],
        "head": (jnp.asarray(arrays["head_W"]), jnp.asarray(arrays["head_b"])),
    }

    def act(params, obs):
        h = obs
        for w, b in params["layers"]:
            h = jnp.maximum(h @ w.T + b, 0.0)
        w, b = params["head"]
        return jnp.tanh(h @ w.T + b)

    got = np.asarray(act(params, jnp.asarray(arrays["check_obs"])))
    error = float(np.abs(got - arrays["check_actions"]).max())
    if error > atol:
        raise ValueError(f"{path}: our forward pass differs from the peer's predict by {error:.2e} (> {atol})")
    return params, act


def score(policy_path: str, data_path: str, episodes: int, seed: int) -> dict:
    """Mean return and normalised score of the exported policy over `episodes` deterministic episodes."""
    import jax

    from jaxrl_hybrid.data import load
    from jaxrl_hybrid.data.stats import normalized_score
    from jaxrl_hybrid.training.evaluation import evaluate
    from jaxrl_hybrid.training.offline import dataset_env

    dataset = load(data_path)
    dataset, env, env_params = dataset_env(dataset, data_path)
    params, act = load_policy(policy_path)
    run = jax.jit(lambda key: evaluate(key, env, env_params, lambda obs, _: act(params, obs), episodes))
    returns = np.asarray(run(jax.random.PRNGKey(seed)))
    refs = dataset.metadata.get("reference_returns") or {}
    mean = float(returns.mean())
    result = {"mean_return": mean, "episodes": episodes, "env": dataset.metadata.get("env")}
    if "random" in refs and "expert" in refs:
        result["score"] = float(normalized_score(mean, refs["random"], refs["expert"]))
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--policy", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--episodes", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(json.dumps(score(args.policy, args.data, args.episodes, args.seed)))


if __name__ == "__main__":
    main()
