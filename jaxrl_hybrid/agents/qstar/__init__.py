"""Q* search (Agostinelli et al., 2024, "A* Search Without Expansions: Learning Heuristic
Functions with Deep Q-Networks") on the sliding-tile puzzle (`envs.puzzle`).

A Q-network predicts, for a state, the cost-to-go of every action at once: Q(s, a) =
c(s, a) + h(T(s, a)). It is trained by approximate value iteration on states scrambled from the
goal (`train`): Q(s, a) <- 1 + (0 if T(s, a) is the goal else min_a' Q_target(T(s, a), a')).
Its output is 1 + softplus, so Q never underestimates the move's own cost, the condition of the
paper's optimality theorem beside not overestimating.

`qstar_search` is batch weighted A* over (node, action) pairs: popping a pair generates that one
child, and one forward pass on the batch of new children prices all of their actions, so a
node's children are ranked without being generated. `astar_search` is batch weighted A* with
the same network as a state heuristic, h(s) = min_a Q(s, a): expanding a node generates all its
children and evaluates each. Both count the nodes they generate.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import time
from collections.abc import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxrl_hybrid.envs.puzzle import Board, Puzzle
from jaxrl_hybrid.networks.mlp import MLP


@dataclasses.dataclass(frozen=True)
class QStarConfig:
    """Training settings: the network, `updates` steps of `batch_size` scrambled states, each
    scrambled by a uniform number of moves in [0, `max_moves`], the target network copied every
    `target_every` updates."""

    hidden_dims: tuple[int, ...] = (256, 256)
    layer_norm: bool = True
    batch_size: int = 1000
    max_moves: int = 50
    updates: int = 10_000
    target_every: int = 500
    lr: float = 1e-3

    def __post_init__(self):
        for name in ("batch_size", "max_moves", "updates", "target_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"QStarConfig.{name} must be >= 1, got {getattr(self, name)}")


class QNetwork(nn.Module):
    """Q(s, a) for every action: 1 + softplus of an MLP on the board's one-hot features."""

    hidden_dims: tuple[int, ...]
    num_actions: int
    layer_norm: bool = True

    @nn.compact
    def __call__(self, features: jax.Array) -> jax.Array:
        return 1.0 + nn.softplus(MLP(self.hidden_dims, self.num_actions, self.layer_norm)(features))


def avi_loss(q: jax.Array, target: jax.Array, valid: jax.Array) -> jax.Array:
    """Per-state squared error over the on-board actions: (batch, A) -> (batch,)."""
    return jnp.sum(jnp.where(valid, (q - target) ** 2, 0.0), axis=-1) / jnp.maximum(valid.sum(-1), 1)


def avi_target(kid_q: jax.Array, kid_valid: jax.Array, kid_goal: jax.Array) -> jax.Array:
    """Value-iteration target of every action: 1 + (0 if the child is the goal, else the child's
    cheapest on-board action by the target network). kid_q (batch, A, A), kid_valid (batch, A, A),
    kid_goal (batch, A) -> (batch, A)."""
    best = jnp.min(jnp.where(kid_valid, kid_q, jnp.inf), axis=-1)
    return 1.0 + jnp.where(kid_goal, 0.0, best)


class QStar:
    """The Q-network of a puzzle, its training and its two searches."""

    def __init__(self, puzzle: Puzzle, config: QStarConfig = QStarConfig()):
        self.puzzle, self.config = puzzle, config
        self.net = QNetwork(tuple(config.hidden_dims), puzzle.num_actions, config.layer_norm)
        self.tx = optax.adam(config.lr)

    def init(self, key: jax.Array):
        return self.net.init(key, jnp.zeros((1, self.puzzle.size**4)))

    def q(self, params, board: Board) -> jax.Array:
        """Q of every action of boards (..., n, n) -> (..., A)."""
        return self.net.apply(params, self.puzzle.features(board))

    def train(self, key: jax.Array, chunks: int = 10, log: Callable[[str], None] | None = print):
        """Approximate value iteration for `config.updates` updates, in `chunks` compiled chunks
        (progress between them). Returns (params, per-chunk mean losses)."""
        config, puzzle = self.config, self.puzzle
        key_init, key_train = jax.random.split(key)
        params = self.init(key_init)
        carry = (params, params, self.tx.init(params), jnp.zeros((), jnp.int32))

        def update(carry, key):
            params, target, opt, step = carry
            key_moves, key_walk = jax.random.split(key)
            moves = jax.random.randint(key_moves, (config.batch_size,), 0, config.max_moves + 1)
            boards = jax.vmap(lambda k, m: puzzle.scramble(k, m, config.max_moves))(
                jax.random.split(key_walk, config.batch_size), moves
            )
            kids, valid = puzzle.children(boards)  # (batch, A, ...)
            kid_valid = puzzle.valid_moves(kids.blank)
            target_q = avi_target(self.q(target, kids), kid_valid, puzzle.is_goal(kids))

            def objective(p):
                return avi_loss(self.q(p, boards), target_q, valid).mean()

            loss, grads = jax.value_and_grad(objective)(params)
            updates, opt = self.tx.update(grads, opt, params)
            params = optax.apply_updates(params, updates)
            step = step + 1
            target = jax.tree.map(lambda t, p: jnp.where(step % config.target_every == 0, p, t), target, params)
            return (params, target, opt, step), loss

        per_chunk = max(config.updates // chunks, 1)
        sizes = [per_chunk] * (config.updates // per_chunk)
        if config.updates % per_chunk:
            sizes.append(config.updates % per_chunk)  # exactly `updates` in all (one more compile)
        run = jax.jit(lambda c, k, n: jax.lax.scan(update, c, jax.random.split(k, n)), static_argnums=2)
        losses = []
        done = 0
        for size in sizes:
            key_train, key_chunk = jax.random.split(key_train)
            carry, chunk_losses = run(carry, key_chunk, size)
            done += size
            losses.append(float(chunk_losses.mean()))
            if log is not None:
                log(f"[qstar] {done}/{config.updates} updates  loss {losses[-1]:.4f}")
        return carry[0], losses


@dataclasses.dataclass
class SearchResult:
    """One search: solved, the solution's moves (actions of the blank), nodes generated, search
    iterations (batches popped), wall seconds."""

    solved: bool
    actions: list[int]
    generated: int
    iterations: int
    seconds: float

    @property
    def length(self) -> int:
        return len(self.actions)


class BatchedPuzzle:
    """A search's device calls, jitted at one padded batch size (one compile per size): `step`
    of popped (board, action) pairs, `children` of popped boards, and `q` (network values,
    on-board mask, goal flag) of new boards. Build one per (network, batch size) and pass it
    to every search as `helpers` to compile once."""

    def __init__(self, puzzle: Puzzle, q_fn: Callable, batch: int):
        self.puzzle, self.batch = puzzle, batch
        self._step = jax.jit(jax.vmap(puzzle.step))
        self._expand = jax.jit(puzzle.children)
        self._evaluate = jax.jit(lambda b: (q_fn(b), puzzle.valid_moves(b.blank), puzzle.is_goal(b)))

    def _pad(self, tiles: np.ndarray, blank: np.ndarray, rows: int):
        pad = rows - len(tiles)
        return Board(
            tiles=jnp.asarray(np.concatenate([tiles, np.repeat(tiles[:1], pad, 0)]) if pad else tiles),
            blank=jnp.asarray(np.concatenate([blank, np.repeat(blank[:1], pad, 0)]) if pad else blank),
        )

    def step(self, tiles, blank, actions):
        n = len(tiles)
        rows = self.batch
        board = self._pad(tiles, blank, rows)
        acts = jnp.asarray(np.concatenate([actions, np.zeros(rows - n, actions.dtype)]))
        out = self._step(board, acts)
        return np.asarray(out.tiles)[:n], np.asarray(out.blank)[:n]

    def q(self, tiles, blank):
        """Q (N, A), on-board mask (N, A), goal (N,) of N boards, in padded batches."""
        n, rows = len(tiles), self.batch * self.puzzle.num_actions
        qs, valids, goals = [], [], []
        for start in range(0, n, rows):
            t, b = tiles[start : start + rows], blank[start : start + rows]
            q, valid, goal = self._evaluate(self._pad(t, b, rows))  # one device call
            qs.append(np.asarray(q)[: len(t)])
            valids.append(np.asarray(valid)[: len(t)])
            goals.append(np.asarray(goal)[: len(t)])
        return np.concatenate(qs), np.concatenate(valids), np.concatenate(goals)

    def children(self, tiles, blank):
        board = self._pad(tiles, blank, self.batch)
        kids, valid = self._expand(board)
        n = len(tiles)
        return np.asarray(kids.tiles)[:n], np.asarray(kids.blank)[:n], np.asarray(valid)[:n]


class SearchTree:
    """The boards a search reached: tiles, blank, path cost g and (parent, action) per node. A
    board enters again only by a cheaper path (a new node; the old one goes stale)."""

    def __init__(self, tiles: np.ndarray, blank: np.ndarray):
        self.tiles, self.blank, self.g, self.parents = [tiles], [blank], [0], [(-1, -1)]
        self.best = {tiles.tobytes(): 0}

    def add(self, tiles: np.ndarray, blank: np.ndarray, parent: int, action: int) -> int | None:
        """The new node of `parent`'s child by `action`, or None when the board was reached as cheaply before."""
        g, key = self.g[parent] + 1, tiles.tobytes()
        if self.best.get(key, np.inf) <= g:
            return None
        self.best[key] = g
        self.tiles.append(tiles)
        self.blank.append(blank)
        self.g.append(g)
        self.parents.append((parent, action))
        return len(self.g) - 1

    def stale(self, node: int) -> bool:
        return self.g[node] > self.best[self.tiles[node].tobytes()]

    def boards(self, nodes) -> tuple[np.ndarray, np.ndarray]:
        return np.stack([self.tiles[i] for i in nodes]), np.stack([self.blank[i] for i in nodes])

    def path(self, node: int) -> list[int]:
        """The actions from the root to `node`."""
        actions = []
        while self.parents[node][0] >= 0:
            node, action = self.parents[node]
            actions.append(action)
        return actions[::-1]


def qstar_search(
    puzzle: Puzzle,
    q_fn: Callable[[Board], jax.Array],
    start: Board,
    weight: float = 1.0,
    batch_size: int = 1,
    max_generated: int = 200_000,
    helpers: BatchedPuzzle | None = None,
) -> SearchResult:
    """Batch weighted Q* search from one board. OPEN holds (node, action) pairs at priority
    weight * g(child) + h(child), with g(child) = g(node) + 1 and h(child) = Q(node, a) - 1;
    each iteration pops `batch_size` pairs, generates their children, stops at a goal child, and
    prices the new children's actions in one batched call of `q_fn` (boards -> (N, A))."""
    began = time.perf_counter()
    h = helpers or BatchedPuzzle(puzzle, q_fn, batch_size)
    tree = SearchTree(np.asarray(start.tiles), np.asarray(start.blank))
    tie = itertools.count()
    open_: list = []

    def push(nodes) -> list[int]:
        """Price the nodes' actions; push their on-board pairs; return the goal nodes among them."""
        q, valid, goal = h.q(*tree.boards(nodes))
        for row, node in enumerate(nodes):
            for a in np.flatnonzero(valid[row]):
                heapq.heappush(open_, (weight * (tree.g[node] + 1) + (q[row, a] - 1.0), next(tie), node, int(a)))
        return [nodes[i] for i in np.flatnonzero(goal)]

    generated, iterations = 1, 0
    if push([0]):
        return SearchResult(True, [], generated, iterations, time.perf_counter() - began)
    while open_ and generated < max_generated:
        iterations += 1
        popped = [heapq.heappop(open_) for _ in range(min(batch_size, len(open_)))]
        parents = [p[2] for p in popped]
        actions = np.array([p[3] for p in popped], np.int32)
        kid_tiles, kid_blank = h.step(*tree.boards(parents), actions)
        generated += len(popped)
        kids = zip(kid_tiles, kid_blank, parents, actions, strict=True)
        fresh = [node for node in (tree.add(t, b, p, int(a)) for t, b, p, a in kids) if node is not None]
        goals = push(fresh) if fresh else []
        if goals:
            node = min(goals, key=lambda n: tree.g[n])
            return SearchResult(True, tree.path(node), generated, iterations, time.perf_counter() - began)
    return SearchResult(False, [], generated, iterations, time.perf_counter() - began)


def astar_search(
    puzzle: Puzzle,
    h_fn: Callable[[Board], jax.Array] | None,
    start: Board,
    weight: float = 1.0,
    batch_size: int = 1,
    max_generated: int = 200_000,
    helpers: BatchedPuzzle | None = None,
) -> SearchResult:
    """Batch weighted A* from one board with a state heuristic `h_fn` (boards -> (N,)): pops
    `batch_size` nodes at priority weight * g + h, stops when it pops a goal, generates every
    on-board child of the others and evaluates h on the new children in one batched call.
    `h_fn` may be None when `helpers` (built on the heuristic, `h_fn(b)[..., None]`) are given."""
    began = time.perf_counter()
    if helpers is None and h_fn is None:
        raise ValueError("astar_search needs a heuristic h_fn or helpers built on one")
    h = helpers or BatchedPuzzle(puzzle, lambda b: h_fn(b)[..., None], batch_size)
    tree = SearchTree(np.asarray(start.tiles), np.asarray(start.blank))
    tie = itertools.count()
    open_ = [(float(h.q(*tree.boards([0]))[0][0, 0]), next(tie), 0)]
    generated, iterations = 1, 0
    goal_tiles = np.asarray(puzzle.goal.tiles)
    while open_ and generated < max_generated:
        iterations += 1
        popped = []
        while open_ and len(popped) < batch_size:
            _, _, node = heapq.heappop(open_)
            if tree.stale(node):
                continue  # a cheaper path to this board was found after it was pushed
            if np.array_equal(tree.tiles[node], goal_tiles):
                return SearchResult(True, tree.path(node), generated, iterations, time.perf_counter() - began)
            popped.append(node)
        if not popped:
            break
        kid_tiles, kid_blank, valid = h.children(*tree.boards(popped))
        fresh = []
        for row, node in enumerate(popped):
            for a in np.flatnonzero(valid[row]):
                generated += 1
                kid = tree.add(kid_tiles[row, a], kid_blank[row, a], node, int(a))
                if kid is not None:
                    fresh.append(kid)
        if not fresh:
            continue
        hs = h.q(*tree.boards(fresh))[0][:, 0]
        for node, hv in zip(fresh, hs, strict=True):
            heapq.heappush(open_, (weight * tree.g[node] + hv, next(tie), node))
    return SearchResult(False, [], generated, iterations, time.perf_counter() - began)


def heuristic_from_q(puzzle: Puzzle, q_fn: Callable[[Board], jax.Array]) -> Callable[[Board], jax.Array]:
    """The Q-network as a state heuristic: h(s) = 0 at the goal, else min over on-board actions of Q(s, a)."""

    def h(board: Board) -> jax.Array:
        valid = puzzle.valid_moves(board.blank)
        return jnp.where(puzzle.is_goal(board), 0.0, jnp.min(jnp.where(valid, q_fn(board), jnp.inf), axis=-1))

    return h


def manhattan_q(puzzle: Puzzle) -> Callable[[Board], jax.Array]:
    """Q(s, a) = 1 + Manhattan distance of the child: admissible and >= the move's cost, so Q*
    search with it at weight 1 returns shortest solutions (a reference, no learning)."""

    def q(board: Board) -> jax.Array:
        kids, _ = puzzle.children(board)
        return 1.0 + puzzle.manhattan(kids).astype(jnp.float32)

    return q
