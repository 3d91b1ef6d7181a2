"""How closely the `mjx:` port follows gymnasium's MuJoCo envs (issue 25): from the same initial
qpos/qvel and the same action sequence, the per-step observation error and the return difference.

    .venv/bin/python benchmarks/mjx_agreement.py --out benchmarks/results [--steps 1000]

For each task (HalfCheetah, Hopper, Walker2d v5) and each open-loop policy (zero torque, uniform
random, a sinusoidal gait), `--starts` initial states are drawn by gymnasium's own reset (seeds
0..starts-1); gymnasium steps them on the host in float64, the MJX env from the same state in one
vmapped program (float32). A run ends at `--steps` or when either side terminates. Writes
mjx_agreement.json and mjx_agreement.png (error against step, per task). A measurement: it never
asserts. The figures are in benchmarks/README.md; tests/test_mjx_env.py holds a tolerance chosen
from them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

TASKS = ("HalfCheetah-v5", "Hopper-v5", "Walker2d-v5")
POLICIES = ("zero", "random", "sine")


def actions_for(policy: str, steps: int, action_dim: int, seed: int) -> np.ndarray:
    """An open-loop action sequence in [-1, 1] (every task's bounds)."""
    if policy == "zero":
        return np.zeros((steps, action_dim), np.float32)
    if policy == "random":
        return np.random.default_rng(seed).uniform(-1, 1, (steps, action_dim)).astype(np.float32)
    t = np.arange(steps)[:, None]
    phase = np.random.default_rng(seed).uniform(0, 2 * np.pi, (1, action_dim))
    return (0.8 * np.sin(2 * np.pi * t / 25.0 + phase)).astype(np.float32)


def gymnasium_runs(task: str, starts: int, steps: int, policies=POLICIES):
    """Initial states, action sequences and gymnasium's trajectories (obs, rewards, end step)."""
    import gymnasium as gym

    from jaxrl_hybrid.envs.quiet import mujoco_warnings

    runs = []
    for policy in policies:
        for s in range(starts):
            with mujoco_warnings():  # not gymnasium's own asset warnings, nor MUJOCO_LOG.TXT in the cwd
                env = gym.make(task, disable_env_checker=True)
            env.reset(seed=s)
            u = env.unwrapped
            qpos, qvel = u.data.qpos.copy(), u.data.qvel.copy()
            acts = actions_for(policy, steps, env.action_space.shape[0], seed=1000 + s)
            obs, rewards, ended = [], [], steps
            for t in range(steps):
                o, r, terminated, truncated, _ = env.step(acts[t])
                obs.append(o)
                rewards.append(r)
                if terminated:
                    ended = t + 1
                    break
            runs.append(dict(policy=policy, start=s, qpos=qpos, qvel=qvel, actions=acts, obs=np.asarray(obs),
                             rewards=np.asarray(rewards), ended=ended))  # fmt: skip
    return runs


def mjx_runs(task: str, runs: list[dict], steps: int):
    import jax
    import jax.numpy as jnp

    from jaxrl_hybrid.envs import make_env

    env, params = make_env(f"mjx:{task}", max_steps_in_episode=steps + 1)

    def one(qpos, qvel, actions):
        return env.rollout(qpos, qvel, actions, params)

    qpos = jnp.asarray(np.stack([r["qpos"] for r in runs]), jnp.float32)
    qvel = jnp.asarray(np.stack([r["qvel"] for r in runs]), jnp.float32)
    acts = jnp.asarray(np.stack([r["actions"] for r in runs]))
    t0 = time.perf_counter()
    obs, rewards, terminated = jax.block_until_ready(jax.jit(jax.vmap(one))(qpos, qvel, acts))
    return np.asarray(obs), np.asarray(rewards), np.asarray(terminated), time.perf_counter() - t0


def compare(task: str, starts: int, steps: int) -> dict:
    runs = gymnasium_runs(task, starts, steps)
    obs, rewards, terminated, seconds = mjx_runs(task, runs, steps)
    rows = []
    for i, run in enumerate(runs):
        mjx_end = int(np.argmax(terminated[i])) + 1 if terminated[i].any() else steps
        n = min(run["ended"], mjx_end)
        err = np.abs(run["obs"][:n] - obs[i, :n]).max(axis=1)
        ret_g, ret_m = float(run["rewards"][:n].sum()), float(rewards[i, :n].sum())
        rows.append(
            dict(policy=run["policy"], start=run["start"], steps=n, gymnasium_end=run["ended"], mjx_end=mjx_end,
                 obs_error=err.tolist(), return_gymnasium=ret_g, return_mjx=ret_m, return_difference=ret_m - ret_g)
        )  # fmt: skip
    return {"task": task, "runs": rows, "mjx_seconds": seconds, "num_runs": len(runs)}


def summarise(result: dict, steps: int) -> list[str]:
    lines = []
    for policy in POLICIES:
        rows = [r for r in result["runs"] if r["policy"] == policy]
        at = {}
        for k in (1, 10, 100, steps):
            vals = [r["obs_error"][k - 1] for r in rows if len(r["obs_error"]) >= k]
            at[k] = max(vals) if vals else None
        diffs = [r["return_difference"] for r in rows]
        rel = [abs(r["return_difference"]) / max(abs(r["return_gymnasium"]), 1.0) for r in rows]
        ends = [f"{r['gymnasium_end']}/{r['mjx_end']}" for r in rows]
        cell = " | ".join("-" if at[k] is None else f"{at[k]:.1e}" for k in at)
        ret = f"{np.mean(diffs):+.1f} (max rel {max(rel):.2f})"
        lines.append(f"| {result['task']} | {policy} | {cell} | {ret} | {', '.join(ends)} |")
    return lines


def plot(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(5 * len(results), 3.6), squeeze=False)
    for ax, result in zip(axes[0], results, strict=True):
        for r in result["runs"]:
            color = {"zero": "tab:blue", "random": "tab:red", "sine": "tab:green"}[r["policy"]]
            ax.semilogy(np.arange(1, len(r["obs_error"]) + 1), np.maximum(r["obs_error"], 1e-9), color=color,
                        alpha=0.6, label=r["policy"] if r["start"] == 0 else None)  # fmt: skip
        ax.set_title(result["task"])
        ax.set_xlabel("step")
        ax.set_ylabel("max |obs_mjx - obs_gymnasium|")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="benchmarks/results")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--tasks", nargs="+", default=list(TASKS))
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for task in args.tasks:
        t0 = time.perf_counter()
        results.append(compare(task, args.starts, args.steps))
        print(f"{task}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    header = [
        f"| task | policy | obs error step 1 | step 10 | step 100 | step {args.steps} | return mjx - gymnasium "
        "(mean) | end step gymnasium/mjx |",
        "|---|---|---|---|---|---|---|---|",
    ]
    table = header + [line for r in results for line in summarise(r, args.steps)]
    print("\n".join(table))
    record = {"steps": args.steps, "starts": args.starts, "results": results, "table": table}
    (out / "mjx_agreement.json").write_text(json.dumps(record))
    plot(results, out / "mjx_agreement.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
