"""Where the time of one training step goes: a jax.profiler trace joined to XLA's optimised HLO.

Runs --steps steps of a program (an SAC/CQL/IQL update scan, or the whole online SAC chunk
the CLI runs: env step, replay, update, evaluation), traces one call with `jax.profiler`,
and sums the duration of every XLA thunk by the part of the model its HLO op came from
(the `op_name` metadata: critic forward / backward, actor, target, random numbers,
optimiser...). Not a test. Writes `profile_<name>.json` to --out and prints the table.

    python benchmarks/profile_update.py --program sac --hidden 256 --out benchmarks/results
    python benchmarks/profile_update.py --program online_sac --hidden 64 --activation swish --seeds 8
"""

from __future__ import annotations

import argparse
import collections
import glob
import gzip
import json
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import jax

# First matching rule names a thunk's part; op_name paths look like
# "jit(run)/vmap()/while/body/closed_call/transpose(jvp(QEnsemble))/vmap(...)/MLP_0/Dense_1/dot_general".
PARTS = [
    ("critic backward", r"transpose\(jvp\(QEnsemble"),
    ("critic forward (with grad)", r"jvp\(QEnsemble"),
    ("critic forward (target / no grad)", r"QEnsemble"),
    ("actor backward", r"transpose\(jvp\((TanhGaussianPolicy|TanhMeanGaussianPolicy)"),
    ("actor forward", r"(TanhGaussianPolicy|TanhMeanGaussianPolicy)"),
    ("value network", r"ValueNetwork"),
    ("random numbers", r"(threefry|_uniform|_normal|_randint|random_bits)"),
    ("environment", r"(step_env|reset_env|gymnax|env_step|_step)"),
    ("replay buffer / data gather", r"(gather|dynamic-update-slice|dynamic_update_slice|add_batch)"),
    ("evaluation loop", r"evaluate"),
]


def classify(op_name: str) -> str:
    for part, pattern in PARTS:
        if re.search(pattern, op_name):
            return part
    return "optimiser, losses and other elementwise"


def thunk_op_names(hlo: str) -> dict[str, str]:
    """Each instruction's op_name; for a fusion that holds a matrix product, the product's (XLA
    names a fusion after its root, e.g. the ReLU after a dense layer). Loops and calls are
    left out: their thunks' time is that of the thunks inside them."""
    line_re = re.compile(r"^\s*(?:ROOT )?%([\w.\-]+) = (.*)$")
    computations: dict[str, list[str]] = {}
    current = None
    for line in hlo.splitlines():
        head = re.match(r"^(?:ENTRY )?%([\w.\-]+) \(", line)
        if head:
            current = head.group(1)
            computations[current] = []
        elif current is not None:
            computations[current].append(line)
    names = {}
    for lines in computations.values():
        for line in lines:
            m = line_re.match(line)
            if not m:
                continue
            if re.search(r"\b(while|call|conditional)\(", m.group(2).split(" metadata=")[0]):
                continue  # a container: its thunk's time is its body's thunks, counted themselves
            op = re.search(r'op_name="([^"]*)"', m.group(2))
            name = op.group(1) if op else ""
            called = re.search(r"calls=%([\w.\-]+)", m.group(2))
            if called and called.group(1) in computations:
                for inner in computations[called.group(1)]:
                    if " dot(" in inner or "convolution(" in inner:
                        inner_op = re.search(r'op_name="([^"]*)"', inner)
                        if inner_op:
                            name = inner_op.group(1)
                            break
            names[m.group(1)] = name
    return names


def build(args):
    """(compiled function, its arguments, steps per call, seeds)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    if args.program == "online_sac":
        from jaxrl_hybrid.agents import SACConfig
        from jaxrl_hybrid.training import TrainConfig, make_program

        cfg = TrainConfig(
            algo="sac", env="gymnax:Pendulum-v1", total_steps=args.steps + 256, learning_starts=256,
            buffer_size=10_000, eval_every=args.steps, num_eval_episodes=10, batch_size=256,
            agent=SACConfig(hidden_dims=(args.hidden, args.hidden), activation=args.activation),
        )  # fmt: skip
        program = make_program(cfg)
        hp = program.default_hparams
        keys = jax.random.split(jax.random.PRNGKey(0), args.seeds)
        runner = jax.jit(jax.vmap(program.init, in_axes=(0, None)))(keys, hp)
        fn = jax.jit(jax.vmap(program.run_chunk, in_axes=(0, None))).lower(runner, hp).compile()
        return fn, (runner, hp)
    import updates

    agent = updates.make_agent(args.program, args.hidden, args.critic_loss)
    draw = updates.make_data(args.program, agent.spec, jax.random.PRNGKey(0), 256)
    run = updates.scanned_updates(agent, draw, args.steps)
    if args.seeds == 1:  # not vmapped: XLA rewrites unit-batch products and drops their op names
        key = jax.random.PRNGKey(1)
        state = jax.jit(agent.init)(key)
        return jax.jit(run).lower(state, key).compile(), (state, key)
    keys = jax.random.split(jax.random.PRNGKey(1), args.seeds)
    states = jax.jit(jax.vmap(agent.init))(keys)
    fn = jax.jit(jax.vmap(run)).lower(states, keys).compile()
    return fn, (states, keys)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--program", default="sac", choices=["sac", "cql", "iql", "online_sac"])
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--critic-loss", default="mse", choices=["mse", "hl_gauss"])
    parser.add_argument("--activation", default="relu", help="online_sac only")
    parser.add_argument("--out", default="benchmarks/results")
    args = parser.parse_args(argv)

    fn, call_args = build(args)
    jax.block_until_ready(fn(*call_args))  # warm-up (and, for a donated runner, a fresh one is not needed)
    t = time.perf_counter()
    jax.block_until_ready(fn(*call_args))
    wall = time.perf_counter() - t
    trace_dir = tempfile.mkdtemp(prefix="jaxrl-profile-")
    try:
        jax.profiler.start_trace(trace_dir, create_perfetto_trace=True)
        jax.block_until_ready(fn(*call_args))
        jax.profiler.stop_trace()
        trace = json.load(gzip.open(sorted(glob.glob(f"{trace_dir}/**/*.json.gz", recursive=True))[-1]))
    finally:
        shutil.rmtree(trace_dir, ignore_errors=True)
    op_names = thunk_op_names(fn.as_text())
    parts: collections.Counter = collections.Counter()
    kinds: collections.Counter = collections.Counter()
    thunks = 0
    for event in trace["traceEvents"]:
        name = event.get("name", "")
        if event.get("ph") != "X" or name.startswith(("ThunkExecutor", "$")) or name not in op_names:
            continue
        thunks += 1
        parts[classify(op_names[name])] += event.get("dur", 0)
        kinds[re.sub(r"\.\d+$", "", name)] += event.get("dur", 0)
    total = sum(parts.values())
    result = {
        "program": vars(args),
        "wall_s_per_call": wall,
        "steps_per_call": args.steps,
        "thunks_per_step": thunks / args.steps,
        "thunk_seconds": total / 1e6,
        "parts": {k: {"seconds": v / 1e6, "share": v / total} for k, v in parts.most_common()},
        "thunk_kinds": {k: v / 1e6 for k, v in kinds.most_common(12)},
    }
    print(f"{args.program} {args.hidden}x{args.hidden}, {args.seeds} seed(s): {1e3 * wall / args.steps:.2f} ms/step")
    for part, v in result["parts"].items():
        print(f"  {100 * v['share']:5.1f}%  {part}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = f"profile_{args.program}_{args.hidden}_{args.seeds}s_{args.critic_loss}.json"
    (out / name).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
