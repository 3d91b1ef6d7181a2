"""Q* search on jumanji's sliding-tile puzzle: transitions, value-iteration targets, and both
searches against breadth-first optimal solution lengths of the 8-puzzle."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl_hybrid.agents.qstar import (
    BatchedPuzzle,
    QStar,
    QStarConfig,
    astar_search,
    avi_loss,
    avi_target,
    heuristic_from_q,
    manhattan_q,
    qstar_search,
)
from jaxrl_hybrid.envs.puzzle import Board, Puzzle, optimal_distances

PUZZLE = Puzzle(3)


@pytest.fixture(scope="module")
def distances():
    return optimal_distances(3)


def _scrambles(moves: int, count: int, seed: int) -> Board:
    return jax.jit(jax.vmap(lambda k: PUZZLE.scramble(k, moves, moves)))(
        jax.random.split(jax.random.PRNGKey(seed), count)
    )


def _opt(distances, board) -> int:
    return distances[np.asarray(board.tiles, np.int8).reshape(-1).tobytes()]


def _replay(board, actions) -> np.ndarray:
    """Apply the blank's moves with numpy (up, right, down, left); an off-board move is an error."""
    tiles = np.asarray(board.tiles).copy()
    r, c = np.argwhere(tiles == 0)[0]
    for a in actions:
        dr, dc = [(-1, 0), (0, 1), (1, 0), (0, -1)][a]
        assert 0 <= r + dr < 3 and 0 <= c + dc < 3
        tiles[r, c], tiles[r + dr, c + dc] = tiles[r + dr, c + dc], 0
        r, c = r + dr, c + dc
    return tiles


def test_puzzle_children_are_numpy_swaps_and_breadth_first_covers_the_8_puzzle(distances):
    boards = _scrambles(30, 16, 0)
    kids, valid = jax.jit(PUZZLE.children)(boards)
    for i in range(16):
        board = jax.tree.map(lambda x, i=i: x[i], boards)
        for a in range(4):
            if valid[i, a]:
                np.testing.assert_array_equal(kids.tiles[i, a], _replay(board, [a]))
            else:
                np.testing.assert_array_equal(kids.tiles[i, a], board.tiles)  # off the board: unchanged
    assert len(distances) == 181_440 and max(distances.values()) == 31  # the 8-puzzle's known diameter
    assert _opt(distances, PUZZLE.goal) == 0 and int(PUZZLE.manhattan(PUZZLE.goal)) == 0
    goal = _scrambles(0, 1, 1)
    assert bool(PUZZLE.is_goal(goal)[0])
    # Manhattan distance never exceeds the true distance (the admissible reference)
    assert all(
        int(PUZZLE.manhattan(jax.tree.map(lambda x, i=i: x[i], boards)))
        <= _opt(distances, jax.tree.map(lambda x, i=i: x[i], boards))
        for i in range(16)
    )


def test_value_iteration_target_and_loss_against_numpy():
    rng = np.random.default_rng(0)
    kid_q = rng.uniform(1, 5, (3, 4, 4)).astype(np.float32)
    kid_valid = rng.uniform(size=(3, 4, 4)) < 0.7
    kid_valid[..., 0] = True
    kid_goal = np.array([[True, False, False, False], [False] * 4, [False, False, True, False]])
    ref = 1 + np.where(kid_goal, 0, np.where(kid_valid, kid_q, np.inf).min(-1))
    target = avi_target(jnp.asarray(kid_q), jnp.asarray(kid_valid), jnp.asarray(kid_goal))
    np.testing.assert_allclose(target, ref, rtol=1e-6)
    q = rng.uniform(1, 5, (3, 4)).astype(np.float32)
    valid = kid_valid[:, 0]
    ref_loss = np.array([np.mean((q[i] - ref[i])[valid[i]] ** 2) for i in range(3)])
    np.testing.assert_allclose(avi_loss(jnp.asarray(q), jnp.asarray(ref), jnp.asarray(valid)), ref_loss, rtol=1e-5)


def test_qstar_and_astar_with_an_admissible_q_find_shortest_solutions(distances):
    """Q = 1 + Manhattan distance of the child is admissible and >= the move's cost: both searches
    at weight 1 return breadth-first-optimal solutions; Q* generates fewer nodes than A*."""
    q_fn = manhattan_q(PUZZLE)
    q_help, a_help = (
        BatchedPuzzle(PUZZLE, q_fn, 1),
        BatchedPuzzle(PUZZLE, lambda b: heuristic_from_q(PUZZLE, q_fn)(b)[..., None], 1),
    )
    boards = _scrambles(14, 8, 2)
    q_generated = a_generated = 0
    for i in range(8):
        board = jax.tree.map(lambda x, i=i: x[i], boards)
        opt = _opt(distances, board)
        q_res = qstar_search(PUZZLE, q_fn, board, helpers=q_help)
        a_res = astar_search(PUZZLE, None, board, helpers=a_help)
        for res in (q_res, a_res):
            assert res.solved and res.length == opt, (opt, res)
            np.testing.assert_array_equal(_replay(board, res.actions), np.asarray(PUZZLE.goal.tiles))
        q_generated += q_res.generated
        a_generated += a_res.generated
    assert q_generated < a_generated, (q_generated, a_generated)


def test_a_trained_q_network_solves_shallow_scrambles_optimally(distances):
    """Approximate value iteration on 8-move scrambles (1,500 updates of 256 boards, 64x64), then
    Q* search (weight 1, one pair per iteration) on 20 fresh 8-move scrambles: all solved at their
    breadth-first length, generating one node per move. An untrained network does not."""
    qstar = QStar(PUZZLE, QStarConfig(hidden_dims=(64, 64), batch_size=256, max_moves=8, target_every=50, updates=1500))
    params, losses = qstar.train(jax.random.PRNGKey(0), chunks=1, log=None)
    assert np.isfinite(losses).all()
    boards = _scrambles(8, 20, 3)
    for trained in (True, False):
        p = params if trained else qstar.init(jax.random.PRNGKey(1))
        q_fn = lambda b, p=p: qstar.q(p, b)
        helpers = BatchedPuzzle(PUZZLE, q_fn, 1)
        results = [
            qstar_search(PUZZLE, q_fn, jax.tree.map(lambda x, i=i: x[i], boards), max_generated=2000, helpers=helpers)
            for i in range(20)
        ]
        optimal = [
            r.solved and r.length == _opt(distances, jax.tree.map(lambda x, i=i: x[i], boards))
            for i, r in enumerate(results)
        ]
        if trained:
            assert all(optimal), [(r.length, r.generated) for r in results]
            assert all(r.generated == r.length + 1 for r in results)  # straight to the goal
        else:
            assert sum(r.generated for r in results) > 3 * sum(r.length + 1 for r in results)
