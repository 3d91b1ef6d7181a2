"""Q* search vs A* search with the same learned network, on the 8-puzzle.

Agostinelli et al. (2024) price every child of a node with one forward pass of a deep
Q-network, so search generates one node per iteration instead of all of a node's children. This
trains one Q-network on jumanji's 3x3 SlidingTilePuzzle by approximate value iteration
(`agents.qstar.QStar`), then solves the same held-out boards (random walks of 100 moves from the
goal) with

- Q* search: OPEN holds (node, action) pairs at weight * g(child) + Q(node, a) - 1;
- A* search: the same network as a state heuristic, h(s) = min_a Q(s, a), expanding nodes;

each at weight 1 and at weight 0.7 with 10 pairs/nodes popped per iteration (batch weighted
A*, as the paper runs it), and reports solve rate, solution length against the breadth-first
optimum of every board, nodes generated, iterations and seconds, with IQM and 95% bootstrap
CIs over boards:

    .venv/bin/python experiments/qstar_puzzle/run.py --write-readme

<out>/results.json holds every board's numbers, <out>/results.md the table; `--write-readme`
puts the table in experiments/qstar_puzzle/README.md too. The network is saved in <out> and
reused by a rerun with the same settings.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pickle
import sys
import time
from pathlib import Path

import jax
import numpy as np

from jaxrl_hybrid.agents.qstar import BatchedPuzzle, QStar, QStarConfig, astar_search, heuristic_from_q, qstar_search
from jaxrl_hybrid.envs.puzzle import Puzzle, optimal_distances
from jaxrl_hybrid.experiment.studies import publish
from jaxrl_hybrid.report.stats import summarize

README = Path(__file__).resolve().parent / "README.md"
BEGIN, END = "<!-- qstar_puzzle:begin -->", "<!-- qstar_puzzle:end -->"
SETTINGS = ((1.0, 1), (0.7, 10))  # (weight, batch size)


def log(msg: str) -> None:
    print(f"[qstar_puzzle] {msg}", file=sys.stderr, flush=True)


def trained(puzzle: Puzzle, config: QStarConfig, seed: int, out: Path):
    """The trained network's parameters: loaded when <out>/network.pkl has the same settings."""
    path = out / "network.pkl"
    stamp = {"config": dataclasses.asdict(config), "seed": seed}
    qstar = QStar(puzzle, config)
    if path.exists():
        saved = pickle.loads(path.read_bytes())
        if saved["stamp"] == json.loads(json.dumps(stamp)):
            log("network trained before, reused")
            return qstar, saved["params"], saved["seconds"]
    log(f"training: {config.updates} updates of {config.batch_size} boards")
    began = time.perf_counter()
    params, _ = qstar.train(jax.random.PRNGKey(seed), log=log)
    seconds = time.perf_counter() - began
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(
        pickle.dumps({"stamp": json.loads(json.dumps(stamp)), "params": jax.device_get(params), "seconds": seconds})
    )
    tmp.replace(path)
    return qstar, params, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/qstar_puzzle")
    parser.add_argument("--boards", type=int, default=100)
    parser.add_argument("--scramble", type=int, default=100, help="random moves from the goal per board")
    parser.add_argument("--updates", type=int, default=QStarConfig.updates)
    parser.add_argument("--target-every", type=int, default=100)
    parser.add_argument("--max-generated", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    puzzle = Puzzle(3)
    config = QStarConfig(updates=args.updates, target_every=args.target_every)
    qstar, params, train_seconds = trained(puzzle, config, args.seed, out)
    q_fn = lambda b: qstar.q(params, b)
    h_fn = heuristic_from_q(puzzle, q_fn)

    distances = optimal_distances(3)
    keys = jax.random.split(jax.random.PRNGKey(args.seed + 1), args.boards)
    boards = jax.jit(jax.vmap(lambda k: puzzle.scramble(k, args.scramble, args.scramble)))(keys)
    optimal = [distances[np.asarray(t, np.int8).reshape(-1).tobytes()] for t in np.asarray(boards.tiles)]
    h_error = (np.asarray(jax.jit(h_fn)(boards)) - np.asarray(optimal)).tolist()

    rows = {}
    for weight, batch in SETTINGS:
        q_help = BatchedPuzzle(puzzle, q_fn, batch)
        a_help = BatchedPuzzle(puzzle, lambda b: h_fn(b)[..., None], batch)
        for name, search, helpers in (("Q*", qstar_search, q_help), ("A*", astar_search, a_help)):
            fn = q_fn if name == "Q*" else h_fn
            search(
                puzzle, fn, jax.tree.map(lambda x: x[0], boards), weight, batch, args.max_generated, helpers
            )  # compile
            results = []
            for i in range(args.boards):
                board = jax.tree.map(lambda x, i=i: x[i], boards)
                r = search(puzzle, fn, board, weight, batch, args.max_generated, helpers)
                results.append(
                    {
                        "solved": r.solved,
                        "length": r.length,
                        "optimal": optimal[i],
                        "generated": r.generated,
                        "iterations": r.iterations,
                        "seconds": r.seconds,
                    }
                )
            key = f"{name} weight {weight} batch {batch}"
            rows[key] = results
            solved = [r for r in results if r["solved"]]
            log(
                f"{key}: solved {len(solved)}/{args.boards}, nodes generated mean "
                f"{np.mean([r['generated'] for r in results]):.0f}"
            )
    (out / "results.json").write_text(
        json.dumps(
            {
                "config": dataclasses.asdict(config),
                "train_seconds": train_seconds,
                "boards": args.boards,
                "scramble": args.scramble,
                "heuristic_error": h_error,
                "searches": rows,
                "machine": {"jax": jax.__version__, "backend": jax.default_backend()},
            },
            indent=1,
        )
    )
    body = table(rows, h_error, optimal, config, train_seconds, args)
    publish(
        body, out / "results.md", "Q* search vs A* on the 8-puzzle", README if args.write_readme else None, BEGIN, END
    )
    return 0


def _cell(values) -> str:
    s = summarize(np.asarray(values, float))
    return f"{s['iqm']:.1f} [{s['ci95'][0]:.1f}, {s['ci95'][1]:.1f}]"


def table(rows, h_error, optimal, config, train_seconds, args) -> str:
    over = np.asarray(h_error) > 0
    lines = [
        "",
        f"{args.boards} boards, each {args.scramble} random moves from the goal (breadth-first optimum: mean "
        f"{np.mean(optimal):.1f}, max {max(optimal)} moves). Network: {'x'.join(map(str, config.hidden_dims))} "
        f"with LayerNorm, {config.updates:,} updates of {config.batch_size} boards scrambled 0-{config.max_moves} "
        f"moves, target copied every {config.target_every} ({train_seconds:.0f} s on this machine). Its heuristic "
        f"min_a Q(s, a) on these boards: mean error {np.mean(h_error):+.2f} moves, overestimates on "
        f"{100 * over.mean():.0f}% of boards.",
        "",
        "IQM [95% bootstrap CI] over boards; nodes generated counts every child made (Q*: one per popped pair).",
        "",
        "| search | solved | length | excess over optimum | optimal | nodes generated | iterations | s / board |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, results in rows.items():
        solved = [r for r in results if r["solved"]]
        lines.append(
            f"| {key} | {len(solved)}/{len(results)} | "
            + (_cell([r["length"] for r in solved]) if solved else "-")
            + " | "
            + (_cell([r["length"] - r["optimal"] for r in solved]) if solved else "-")
            + f" | {sum(r['length'] == r['optimal'] for r in solved)}/{len(results)} | "
            + _cell([r["generated"] for r in results])
            + " | "
            + _cell([r["iterations"] for r in results])
            + " | "
            + f"{np.mean([r['seconds'] for r in results]):.3f} |"
        )
    return "\n".join(lines) + "\n\n"


if __name__ == "__main__":
    raise SystemExit(main())
