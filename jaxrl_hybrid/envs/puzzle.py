"""The sliding-tile puzzle (8-puzzle at size 3, 15-puzzle at 4) for search: jumanji's
`SlidingTilePuzzle` as pure, batched functions of (tiles, blank).

jumanji's env moves the blank tile (actions up, right, down, left; a move off the board leaves
the puzzle as it is) and knows the solved arrangement (1..n^2-1 in reading order, the blank
last). Search needs only its transition: every step here is jumanji's own `step`, vmapped.
Every move costs 1.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from jumanji.environments import SlidingTilePuzzle
from jumanji.environments.logic.sliding_tile_puzzle.constants import MOVES
from jumanji.environments.logic.sliding_tile_puzzle.generator import RandomWalkGenerator
from jumanji.environments.logic.sliding_tile_puzzle.types import State


@struct.dataclass
class Board:
    """Puzzles as arrays: `tiles` (..., n, n) int32 (0 the blank), `blank` (..., 2) its row, column."""

    tiles: jax.Array
    blank: jax.Array


class Puzzle:
    """Batched transitions of jumanji's sliding-tile puzzle of side `size`."""

    num_actions = 4  # the blank moves up, right, down, left (jumanji's MOVES)

    def __init__(self, size: int = 3):
        if size < 2:
            raise ValueError(f"a sliding-tile puzzle needs size >= 2, got {size}")
        self.size = size
        self.env = SlidingTilePuzzle(generator=RandomWalkGenerator(grid_size=size, num_random_moves=0))
        goal = jnp.asarray(self.env.solved_puzzle, jnp.int32)
        self.goal = Board(tiles=goal, blank=jnp.array([size - 1, size - 1], jnp.int32))

    def step(self, board: Board, action: jax.Array) -> Board:
        """jumanji's transition of one board (unbatched)."""
        state = State(
            puzzle=board.tiles, empty_tile_position=board.blank, key=jax.random.PRNGKey(0), step_count=jnp.int32(0)
        )
        nxt, _ = self.env.step(state, action)
        return Board(tiles=nxt.puzzle, blank=nxt.empty_tile_position)

    def children(self, board: Board) -> tuple[Board, jax.Array]:
        """Every action's successor of a batch of boards, (..., A, n, n), and whether the move is on
        the board, (..., A) (an off-board move's child is the board itself)."""
        step_all = jax.vmap(self.step, in_axes=(None, 0))
        actions = jnp.arange(self.num_actions)
        flat = jax.tree.map(lambda x: x.reshape((-1, *x.shape[board.tiles.ndim - 2 :])), board)
        kids = jax.vmap(lambda b: step_all(b, actions))(flat)
        kids = jax.tree.map(lambda x: x.reshape((*board.tiles.shape[:-2], *x.shape[1:])), kids)
        return kids, self.valid_moves(board.blank)

    def valid_moves(self, blank: jax.Array) -> jax.Array:
        """Which actions keep the blank on the board: blank (..., 2) -> (..., A)."""
        new = blank[..., None, :] + MOVES
        return jnp.all((new >= 0) & (new < self.size), axis=-1)

    def is_goal(self, board: Board) -> jax.Array:
        return jnp.all(board.tiles == self.goal.tiles, axis=(-2, -1))

    def scramble(self, key: jax.Array, moves: jax.Array, max_moves: int) -> Board:
        """The goal after `moves` (<= max_moves, traced) uniformly random on-board moves of the blank."""

        def body(i, carry):
            board, key = carry
            key, sub = jax.random.split(key)
            valid = self.valid_moves(board.blank)
            action = jax.random.choice(sub, self.num_actions, p=valid / valid.sum())
            moved = self.step(board, action)
            return jax.tree.map(lambda a, b: jnp.where(i < moves, a, b), moved, board), key

        board, _ = jax.lax.fori_loop(0, max_moves, body, (self.goal, key))
        return board

    def features(self, board: Board) -> jax.Array:
        """The network's input: one-hot tile per cell, (..., n^2 * n^2) float32."""
        cells = self.size * self.size
        flat = board.tiles.reshape((*board.tiles.shape[:-2], cells))
        return jax.nn.one_hot(flat, cells).reshape((*flat.shape[:-1], cells * cells))

    def manhattan(self, board: Board) -> jax.Array:
        """Sum over tiles of their grid distance to their solved cell (the blank not counted): a
        consistent heuristic, (...,)."""
        n = self.size
        tiles = board.tiles
        rows, cols = jnp.meshgrid(jnp.arange(n), jnp.arange(n), indexing="ij")
        goal_row, goal_col = (tiles - 1) // n, (tiles - 1) % n
        dist = jnp.abs(rows - goal_row) + jnp.abs(cols - goal_col)
        return jnp.sum(jnp.where(tiles > 0, dist, 0), axis=(-2, -1))


def optimal_distances(size: int = 3) -> dict[bytes, int]:
    """Breadth-first search from the goal over every reachable board (size 3: 181,440), on the
    host: the exact solution length of each, keyed by the tiles' bytes (int8, reading order)."""
    if size > 3:
        raise ValueError(f"exhaustive search is for the 8-puzzle (size 3); size {size} has too many states")
    n = size
    goal = tuple(list(range(1, n * n)) + [0])
    dist = {goal: 0}
    frontier = [goal]
    moves = [(-1, 0), (0, 1), (1, 0), (0, -1)]
    while frontier:
        nxt = []
        for state in frontier:
            z = state.index(0)
            r, c = divmod(z, n)
            for dr, dc in moves:
                rr, cc = r + dr, c + dc
                if 0 <= rr < n and 0 <= cc < n:
                    s = list(state)
                    s[z], s[rr * n + cc] = s[rr * n + cc], 0
                    t = tuple(s)
                    if t not in dist:
                        dist[t] = dist[state] + 1
                        nxt.append(t)
        frontier = nxt
    return {np.asarray(k, np.int8).tobytes(): v for k, v in dist.items()}
